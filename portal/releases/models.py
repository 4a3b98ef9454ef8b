"""Spokesperson releases (新闻发布, 政策解读), their corrections, and the publication of decisions.

A published release is never edited in place: a correction is a new row carrying the corrected
text, so every earlier text stays readable. The database refuses changes to a published release's
text and any change to a correction or a publication record (migration 0008 adds the triggers).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import Department, User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow
from portal.decisions.models import ORDER, Decision, Stage

#: Field limits shared by the model, the forms, the operations and the API.
TITLE_MAX = 200
SUMMARY_MAX = 500
BODY_MAX = 50_000
ADOPTION_MAX = 10_000
NOTE_MAX = 2000
DOC_NUMBER_MAX = 80
FINAL_TEXT_MAX = 200_000

#: Stages in which a decision counts as published (an interpretation may explain it).
PUBLISHED_STAGES = frozenset(ORDER[ORDER.index(Stage.PUBLISHED) :])


class ReleaseKind(enum.StrEnum):
    NEWS = "news"
    INTERPRETATION = "interpretation"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {ReleaseKind.NEWS: _l("新闻发布"), ReleaseKind.INTERPRETATION: _l("政策解读")}


class ReleaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ReleaseStatus.DRAFT: _l("草稿"),
    ReleaseStatus.SCHEDULED: _l("定时发布"),
    ReleaseStatus.PUBLISHED: _l("已发布"),
}


class Release(TimestampMixin, db.Model):
    """A release written by a spokesperson; Markdown, optionally about one decision."""

    __tablename__ = "press_release"
    __table_args__ = (
        Index("ix_release_status_scheduled", "status", "scheduled_at"),
        Index("ix_release_status_published", "status", "published_at"),
    )
    trace_kind = "release"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``news`` (新闻发布) or ``interpretation`` (政策解读, needs a published decision).
    kind: Mapped[str] = mapped_column(String(20), default=ReleaseKind.NEWS.value)
    #: Headline.
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: Short plain-text summary for lists and feeds (optional; derived from the body when empty).
    summary: Mapped[str] = mapped_column(Text, default="")
    #: The text as first published, Markdown (corrections carry later texts).
    body: Mapped[str] = mapped_column(Text)
    #: How public opinions were adopted (interpretations; Decree 713 art. 32).
    public_adoption: Mapped[str] = mapped_column(Text, default="")
    #: How expert opinions were adopted (interpretations).
    expert_adoption: Mapped[str] = mapped_column(Text, default="")
    #: The decision the release is about, if any.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"), index=True)
    #: The department the release concerns (the decision's, else the author's): feeds per department.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    #: ``draft``, ``scheduled`` or ``published``. A scheduled release whose time has come is
    #: published whoever reads it first (see ``is_published``); the row follows on first sight.
    status: Mapped[str] = mapped_column(String(12), default=ReleaseStatus.DRAFT.value)
    #: When a scheduled release goes out (UTC, server clock).
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it went out (UTC): the scheduled time for a scheduled release.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The spokesperson who wrote it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Last change of the draft (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    decision: Mapped[Decision | None] = relationship()
    department: Mapped[Department | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    corrections: Mapped[list[ReleaseCorrection]] = relationship(
        back_populates="release", order_by="ReleaseCorrection.number"
    )

    @property
    def kind_enum(self) -> ReleaseKind:
        return ReleaseKind(self.kind)

    @property
    def is_interpretation(self) -> bool:
        return self.kind == ReleaseKind.INTERPRETATION.value

    def is_published(self, now: datetime | None = None) -> bool:
        """Published, or scheduled and its time has come (by the server's clock; no job needed)."""
        if self.status == ReleaseStatus.PUBLISHED.value:
            return True
        return (
            self.status == ReleaseStatus.SCHEDULED.value
            and self.scheduled_at is not None
            and self.scheduled_at <= (now or utcnow())
        )

    def effective_status(self, now: datetime | None = None) -> ReleaseStatus:
        return ReleaseStatus.PUBLISHED if self.is_published(now) else ReleaseStatus(self.status)

    def public_time(self) -> datetime | None:
        """When the public could first read it."""
        return self.published_at or (self.scheduled_at if self.status == ReleaseStatus.SCHEDULED.value else None)

    @property
    def current_text(self) -> str:
        """The newest text: the last correction's, else the original."""
        return self.corrections[-1].body if self.corrections else self.body

    def text_number(self, n: int) -> str | None:
        """Text ``n``: 0 is the original, 1… the corrected texts."""
        if n == 0:
            return self.body
        for correction in self.corrections:
            if correction.number == n:
                return correction.body
        return None

    def ensure_editable(self, now: datetime | None = None) -> None:
        if self.is_published(now):
            raise DomainError(
                _l("已发布的稿件不能直接修改;如需更正,请追加更正说明,原文将保留。"), code="immutable", status=409
            )

    def __repr__(self) -> str:
        return f"<Release {self.id} {self.status}>"


class ReleaseCorrection(db.Model):
    """A dated correction appended to a published release, with the corrected text; never changed."""

    __tablename__ = "release_correction"
    __table_args__ = (UniqueConstraint("release_id", "number"),)
    trace_kind = "release_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The release corrected.
    release_id: Mapped[int] = mapped_column(ForeignKey("press_release.id"), index=True)
    #: 1, 2, 3… within the release.
    number: Mapped[int] = mapped_column(Integer)
    #: What was wrong and what changed (shown with the date).
    note: Mapped[str] = mapped_column(Text)
    #: The whole corrected text, Markdown.
    body: Mapped[str] = mapped_column(Text)
    #: Who corrected it, and when (UTC).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="corrections")
    created_by: Mapped[User | None] = relationship()


class DecisionPublication(db.Model):
    """The published decision (art. 32): final text, document number, effective date, adoption."""

    __tablename__ = "decision_publication"
    trace_kind = "decision_publication"

    #: The decision (one publication per decision).
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    #: The title as published (without 征求意见稿).
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: Document number (文号).
    document_number: Mapped[str] = mapped_column(String(DOC_NUMBER_MAX))
    #: The final text, Markdown.
    final_text: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the final text as stored (recorded in the ledger, checked by the archive).
    text_sha256: Mapped[str] = mapped_column(String(64))
    #: The date it takes effect (local calendar date).
    effective_date: Mapped[date] = mapped_column(Date)
    #: How public opinions were adopted.
    public_adoption: Mapped[str] = mapped_column(Text)
    #: How expert opinions were adopted.
    expert_adoption: Mapped[str] = mapped_column(Text)
    #: Who published it, and when (UTC).
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    decision: Mapped[Decision] = relationship()
    published_by: Mapped[User | None] = relationship()

    @property
    def id(self) -> int:
        return self.decision_id

    def in_force(self, today: date) -> bool:
        return today >= self.effective_date


def _refuse_change(_mapper, _connection, _target) -> None:
    raise DomainError(_l("已发布的内容不能修改。"), code="immutable", status=409)


for _model in (ReleaseCorrection, DecisionPublication):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)


#: Columns of a release that are its published content.
CONTENT_COLUMNS = ("kind", "title", "summary", "body", "public_adoption", "expert_adoption", "decision_id")


@event.listens_for(Release, "before_update")
def _refuse_published_edit(_mapper, _connection, target: Release) -> None:
    from sqlalchemy import inspect

    state = inspect(target)
    status = state.attrs.status.history
    # The stored status: the one being replaced, else the current one (loaded if it was expired).
    was = status.deleted[0] if status.deleted else target.status
    if was != ReleaseStatus.PUBLISHED.value:
        return
    if any(state.attrs[name].history.has_changes() for name in CONTENT_COLUMNS):
        raise DomainError(
            _l("已发布的稿件不能直接修改;如需更正,请追加更正说明,原文将保留。"), code="immutable", status=409
        )
