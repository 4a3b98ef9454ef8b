"""Availability of comment intake: probe results, server-error buckets, outages and the extensions they caused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.consultation.models import Consultation, ConsultationExtension
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime


class ExtensionOutcome:
    """What an outage did to a consultation that was open during it."""

    EXTENDED = "extended"  # still open when applied: the end moved later
    REOPENED = "reopened"  # already closed when applied: reopened from that moment
    NOT_REOPENED = "not_reopened"  # closed and the decision has left the consultation stage: recorded only

    ALL = (EXTENDED, REOPENED, NOT_REOPENED)


class AvailabilityProbe(db.Model):
    """One end-to-end probe of comment intake by the watcher (``flask availability probe``)."""

    __tablename__ = "availability_probe"
    __table_args__ = (Index("ix_availability_probe_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random id given by the watcher, so a buffered result replayed twice is stored once.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    #: When the probe was sent (UTC).
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Whether intake answered correctly (HTTP 200 and a database write) within the timeout.
    ok: Mapped[bool] = mapped_column(Boolean)
    #: Round-trip time in milliseconds (None when no answer came).
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    #: HTTP status received (None when no answer came).
    status_code: Mapped[int | None] = mapped_column(Integer)
    #: What went wrong, short and technical (empty when ok).
    error: Mapped[str] = mapped_column(Text, default="")
    #: The URL probed.
    target: Mapped[str] = mapped_column(String(500), default="")
    #: When the row reached the database (later than ``at`` for results buffered while it was down).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Whether the result waited in the watcher's local buffer file.
    replayed: Mapped[bool] = mapped_column(Boolean, default=False)


class IntakeErrorBucket(db.Model):
    """Server errors (5xx) answered by a comment-submission endpoint, counted per minute."""

    __tablename__ = "intake_error_bucket"
    __table_args__ = (UniqueConstraint("minute", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Start of the minute (UTC).
    minute: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Flask endpoint that answered with the error.
    endpoint: Mapped[str] = mapped_column(String(120))
    #: Number of 5xx answers in that minute.
    count: Mapped[int] = mapped_column(Integer, default=0)


class AvailabilityHeartbeat(db.Model):
    """One row the probe endpoint writes, proving the database accepts writes."""

    __tablename__ = "availability_heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Last successful write (UTC).
    beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Outage(TimestampMixin, db.Model):
    """An interval in which comment intake was unavailable, derived from probes and error buckets."""

    __tablename__ = "availability_outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Start: the last good probe before the failures (in the citizen's favour), UTC.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: End: the first good probe after the failures; None while it lasts.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Failed probes inside the interval.
    failed_probes: Mapped[int] = mapped_column(Integer, default=0)
    #: Server errors of comment submission inside the interval.
    server_errors: Mapped[int] = mapped_column(Integer, default=0)
    #: The first error seen (technical, shown to admins).
    first_error: Mapped[str] = mapped_column(Text, default="")
    #: When the interval was last recomputed (UTC).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    extensions: Mapped[list[OutageExtension]] = relationship(
        back_populates="outage", order_by="OutageExtension.id", cascade="all, delete-orphan"
    )

    trace_kind = "availability_outage"

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    def duration_seconds(self, now: datetime | None = None) -> int:
        from portal.core.models import utcnow

        end = self.ended_at or now or utcnow()
        return max(0, int((end - self.started_at).total_seconds()))

    @property
    def duration_minutes(self) -> int:
        return -(-self.duration_seconds() // 60)


class OutageExtension(TimestampMixin, db.Model):
    """What one outage did to one consultation open during it (an extension, a reopening, or a note)."""

    __tablename__ = "availability_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The outage.
    outage_id: Mapped[int] = mapped_column(ForeignKey("availability_outage.id", ondelete="CASCADE"), index=True)
    #: The consultation affected.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    #: The public extension it made (None when not reopened).
    consultation_extension_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_extension.id", ondelete="SET NULL")
    )
    #: extended, reopened or not_reopened (see ExtensionOutcome).
    outcome: Mapped[str] = mapped_column(String(16))
    #: Minutes of extension granted by this row (0 when not reopened).
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: Outage length (minutes) this row accounts for; a later top-up covers growth of a late-known outage.
    outage_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: The published reason, in Chinese.
    reason_zh: Mapped[str] = mapped_column(Text)
    #: The published reason, in English.
    reason_en: Mapped[str] = mapped_column(Text)

    outage: Mapped[Outage] = relationship(back_populates="extensions")
    consultation: Mapped[Consultation] = relationship()
    consultation_extension: Mapped[ConsultationExtension | None] = relationship()

    def reason(self, english: bool) -> str:
        return self.reason_en if english else self.reason_zh
