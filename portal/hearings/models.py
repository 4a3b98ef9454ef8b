"""Hearings (听证会): the notice, participant categories, registrations, observers, the draw,
the record (听证笔录) and the report (听证报告).

A hearing moves draft -> published -> drawn -> recorded -> reported; each move is a method here
that refuses an illegal one. The secret seed of the draw lives in its own table that only
``operations.run_draw`` reads; the draw itself is a row the database refuses to change.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from fractions import Fraction

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow
from portal.decisions.models import Decision

#: Field limits shared by the model, the forms and the API.
TITLE_MAX = 200
SLUG_MAX = 160
TEXT_MAX = 20_000
PLACE_MAX = 300
URL_MAX = 500
SELECTION_MAX = 5000
CODE_MAX = 32
CATEGORY_NAME_MAX = 60
REAL_NAME_MAX = 80
CONTACT_MAX = 120
PUBLIC_NAME_MAX = 80
STATEMENT_MAX = 5000
INTEREST_MAX = 2000
NEEDS_MAX = 500
OBJECTION_MAX = 5000
TRANSCRIPT_MAX = 200_000
REPORT_MAX = 50_000
SEATS_MAX = 500
OBSERVER_SEATS_MAX = 5000
SHARE_DEN_MAX = 100
CATEGORIES_MAX = 8


_clock: ContextVar[datetime | None] = ContextVar("hearing_clock", default=None)


def current_time() -> datetime:
    """Now, in UTC. One function so every rule of this feature reads the same clock."""
    return _clock.get() or utcnow()


@contextmanager
def clock_set_to(moment: datetime) -> Iterator[None]:
    """Run the block as if it were ``moment`` (demo data of past hearings, tests of deadlines)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    token = _clock.set(moment)
    try:
        yield
    finally:
        _clock.reset(token)


def setting(name: str) -> int:
    """An integer hearing setting (``HEARING_*`` in the config; defaults set in ``init_app``)."""
    return int(current_app.config[name])


class HearingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DRAWN = "drawn"
    RECORDED = "recorded"
    REPORTED = "reported"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    HearingStatus.DRAFT: _l("草稿"),
    HearingStatus.PUBLISHED: _l("已发布公告"),
    HearingStatus.DRAWN: _l("已抽选参加人"),
    HearingStatus.RECORDED: _l("笔录确认中"),
    HearingStatus.REPORTED: _l("已发布听证报告"),
}

#: The only moves a hearing makes.
TRANSITIONS = {
    HearingStatus.DRAFT: HearingStatus.PUBLISHED,
    HearingStatus.PUBLISHED: HearingStatus.DRAWN,
    HearingStatus.DRAWN: HearingStatus.RECORDED,
    HearingStatus.RECORDED: HearingStatus.REPORTED,
}


class Position(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    NEUTRAL = "neutral"

    @property
    def label(self) -> str:
        return str(POSITION_LABELS[self])


POSITION_LABELS = {Position.SUPPORT: _l("支持"), Position.OPPOSE: _l("反对"), Position.NEUTRAL: _l("中立")}


class RegistrationStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # held until the registrant confirms their e-mail; not drawn
    TOO_LATE = "too_late"  # the e-mail was confirmed after registration closed; not drawn
    REGISTERED = "registered"  # waiting for the draw
    WITHDRAWN = "withdrawn"  # withdrew before registration closed
    SELECTED = "selected"  # drawn (or promoted), asked to confirm
    WAITLISTED = "waitlisted"  # drawn onto the waitlist
    CONFIRMED = "confirmed"  # will take part
    DECLINED = "declined"  # said no
    LAPSED = "lapsed"  # did not answer in time

    @property
    def label(self) -> str:
        return str(REGISTRATION_LABELS[self])


REGISTRATION_LABELS = {
    RegistrationStatus.UNCONFIRMED: _l("待确认邮箱:确认后报名生效"),
    RegistrationStatus.TOO_LATE: _l("报名截止后才确认邮箱,未参加抽选"),
    RegistrationStatus.REGISTERED: _l("已报名,待抽选"),
    RegistrationStatus.WITHDRAWN: _l("已撤回"),
    RegistrationStatus.SELECTED: _l("已入选,待确认"),
    RegistrationStatus.WAITLISTED: _l("候补"),
    RegistrationStatus.CONFIRMED: _l("已确认参加"),
    RegistrationStatus.DECLINED: _l("已放弃"),
    RegistrationStatus.LAPSED: _l("逾期未确认"),
}

#: Registrations that never entered the draw: withdrawn, or held for e-mail confirmation.
NOT_ENTERED = frozenset(
    {RegistrationStatus.WITHDRAWN.value, RegistrationStatus.UNCONFIRMED.value, RegistrationStatus.TOO_LATE.value}
)

#: Registrations that hold a participant seat.
SEATED = frozenset({RegistrationStatus.SELECTED.value, RegistrationStatus.CONFIRMED.value})


class RecordResponse(enum.StrEnum):
    CONFIRMED = "confirmed"
    OBJECTED = "objected"

    @property
    def label(self) -> str:
        return str(_l("确认无误")) if self is RecordResponse.CONFIRMED else str(_l("提出异议"))


class Hearing(TimestampMixin, db.Model):
    __tablename__ = "hearing"
    __table_args__ = (
        CheckConstraint("observer_seats >= 0", name="observer_seats"),
        CheckConstraint("ends_at > starts_at", name="times"),
        CheckConstraint("registration_closes_at > registration_opens_at", name="window"),
        CheckConstraint("sequence >= 0", name="sequence"),
        Index("ix_hearing_status_starts_at", "status", "starts_at"),
    )
    trace_kind = "hearing"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable name for the CLI and links (``2026-water-price-hearing``).
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    #: The decision the hearing is about; its department organises the hearing.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: Title of the notice.
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: Purpose (听证事项), Markdown.
    purpose: Mapped[str] = mapped_column(Text, default="")
    #: Agenda (听证程序), Markdown.
    agenda: Mapped[str] = mapped_column(Text, default="")
    #: When the hearing begins and ends (UTC).
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Where it is held.
    place: Mapped[str] = mapped_column(String(PLACE_MAX))
    #: Optional live-stream address.
    stream_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    #: Observer seats (旁听席), separate from participant seats.
    observer_seats: Mapped[int] = mapped_column(Integer, default=0)
    #: Registration window (UTC); participants and observers register inside it.
    registration_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The selection method in words (遴选办法), published with the notice.
    selection_method: Mapped[str] = mapped_column(Text, default="")
    #: A ``HearingStatus`` code.
    status: Mapped[str] = mapped_column(String(12), default=HearingStatus.DRAFT.value, index=True)
    #: iCalendar SEQUENCE: rises each time the hearing is rescheduled.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    #: SHA-256 (hex) of the secret seed, public from publication on.
    commitment: Mapped[str | None] = mapped_column(String(64))
    #: When and by whom the notice was published.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: The seed, revealed by the draw (None until then).
    seed: Mapped[str | None] = mapped_column(String(64))
    #: When the draw ran; the participant list is published at the same moment.
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the participant list was published.
    list_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the materials were sent to the selected participants.
    materials_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The transcript (听证笔录), Markdown; fixed once entered.
    transcript: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 (hex) of the transcript's UTF-8 text: what participants confirm.
    transcript_sha256: Mapped[str | None] = mapped_column(String(64))
    transcript_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Participants confirm or object to the record until then (UTC).
    record_confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The report (听证报告), Markdown, and how each side's opinions were handled.
    report_body: Mapped[str | None] = mapped_column(Text)
    report_support: Mapped[str | None] = mapped_column(Text)
    report_oppose: Mapped[str | None] = mapped_column(Text)
    report_neutral: Mapped[str | None] = mapped_column(Text)
    report_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the accessibility needs of registrants were erased (after the hearing).
    needs_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who created it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Last change of the notice (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    decision: Mapped[Decision] = relationship(lazy="joined")
    categories: Mapped[list[HearingCategory]] = relationship(
        back_populates="hearing", order_by="HearingCategory.position", cascade="all, delete-orphan"
    )

    # State ------------------------------------------------------------------------------------

    @property
    def status_enum(self) -> HearingStatus:
        return HearingStatus(self.status)

    @property
    def department(self):
        return self.decision.department

    @property
    def is_public(self) -> bool:
        return self.status != HearingStatus.DRAFT.value

    @property
    def is_drawn(self) -> bool:
        return self.seed is not None

    def advance(self, target: HearingStatus) -> None:
        """Move to ``target``; only the next step of the procedure is allowed."""
        if TRANSITIONS.get(self.status_enum) != target:
            raise DomainError(
                _l("听证会当前状态为“%(a)s”,不能转为“%(b)s”。", a=self.status_enum.label, b=target.label),
                code="bad_status",
                status=409,
            )
        self.status = target.value

    @property
    def total_seats(self) -> int:
        return sum(c.seats for c in self.categories)

    def category(self, code: str) -> HearingCategory | None:
        return next((c for c in self.categories if c.code == code), None)

    def registration_state(self, now: datetime | None = None) -> str:
        """``not_open``, ``open`` or ``closed`` (always ``closed`` once drawn, ``not_open`` for drafts)."""
        now = now or current_time()
        if self.status == HearingStatus.DRAFT.value:
            return "not_open"
        if self.status != HearingStatus.PUBLISHED.value or now >= self.registration_closes_at:
            return "closed"
        if now < self.registration_opens_at:
            return "not_open"
        return "open"

    def ensure_open_for_registration(self, now: datetime | None = None) -> None:
        state = self.registration_state(now)
        if state == "not_open":
            raise DomainError(
                _l(
                    "报名尚未开始,报名时间为 %(a)s 至 %(b)s(北京时间)。",
                    a=_local(self.registration_opens_at),
                    b=_local(self.registration_closes_at),
                ),
                code="registration_not_open",
                status=409,
            )
        if state == "closed":
            raise DomainError(_l("报名已截止。"), code="registration_closed", status=409)

    @property
    def draw_deadline(self) -> datetime:
        """The latest moment the draw may run: the configured number of days before the hearing."""
        return self.starts_at - timedelta(days=setting("HEARING_DRAW_MIN_DAYS"))

    @property
    def list_on_time(self) -> bool:
        return self.list_published_at is not None and self.list_published_at <= self.draw_deadline

    @property
    def materials_on_time(self) -> bool:
        return self.materials_delivered_at is not None and self.materials_delivered_at <= self.draw_deadline

    def record_confirmation_complete(self, registrations: list[Registration], now: datetime | None = None) -> bool:
        """Every participant who attended has answered, or the time to answer is over."""
        if self.transcript_recorded_at is None:
            return False
        now = now or current_time()
        attendees = [r for r in registrations if r.attended]
        if all(r.record_response for r in attendees):
            return True
        return self.record_confirm_by is not None and now >= self.record_confirm_by

    @property
    def has_started(self) -> bool:
        return current_time() >= self.starts_at

    @property
    def is_over(self) -> bool:
        return current_time() >= self.ends_at

    def __repr__(self) -> str:
        return f"<Hearing {self.slug} {self.status}>"


def _local(value: datetime) -> str:
    from portal.core.i18n import local_time

    return local_time(value)


class HearingCategory(db.Model):
    """A participant category (消费者, 经营者…) with its seats and optional minimum share."""

    __tablename__ = "hearing_category"
    __table_args__ = (
        UniqueConstraint("hearing_id", "code"),
        CheckConstraint("seats > 0", name="seats"),
        CheckConstraint(
            "(min_share_num IS NULL AND min_share_den IS NULL) OR "
            "(min_share_num > 0 AND min_share_den >= min_share_num)",
            name="min_share",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The hearing.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id", ondelete="CASCADE"), index=True)
    #: Stable code used in the draw (``consumers``): part of every draw key.
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    #: Name shown to people (消费者).
    name: Mapped[str] = mapped_column(String(CATEGORY_NAME_MAX))
    #: Participant seats of the category.
    seats: Mapped[int] = mapped_column(Integer)
    #: Minimum share of all participant seats, as an exact fraction (2/5), or None.
    min_share_num: Mapped[int | None] = mapped_column(Integer)
    min_share_den: Mapped[int | None] = mapped_column(Integer)
    #: Display and draw order.
    position: Mapped[int] = mapped_column(Integer, default=0)

    hearing: Mapped[Hearing] = relationship(back_populates="categories")

    @property
    def min_share(self) -> Fraction | None:
        if self.min_share_num is None or self.min_share_den is None:
            return None
        return Fraction(self.min_share_num, self.min_share_den)

    @property
    def min_share_text(self) -> str:
        return f"{self.min_share_num}/{self.min_share_den}" if self.min_share_num else ""


class HearingSecret(db.Model):
    """The secret seed until the draw. Only ``operations.run_draw`` reads this table; no page,
    API, ledger payload or relationship reaches it, and the draw deletes the row."""

    __tablename__ = "hearing_secret"

    #: The hearing.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id", ondelete="CASCADE"), primary_key=True)
    #: 64 hex characters (32 random bytes).
    seed: Mapped[str] = mapped_column(String(64))


class Registration(TimestampMixin, db.Model):
    """A participant registration. Real name, contact and needs are for the department only."""

    __tablename__ = "hearing_registration"
    __table_args__ = (
        # One registration per person per hearing, whatever the form or the timing of requests.
        UniqueConstraint("hearing_id", "user_id"),
        Index("ix_hearing_registration_hearing_status", "hearing_id", "status"),
    )
    trace_kind = "hearing_registration"

    #: Also the public registration number, an input of the draw.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The hearing.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    #: The registrant's account.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: The category registered in.
    category_id: Mapped[int] = mapped_column(ForeignKey("hearing_category.id"))
    #: Real name (department only).
    real_name: Mapped[str] = mapped_column(String(REAL_NAME_MAX))
    #: Telephone or address (department only).
    contact: Mapped[str] = mapped_column(String(CONTACT_MAX))
    #: The name or agreed pseudonym published in the participant list.
    public_name: Mapped[str] = mapped_column(String(PUBLIC_NAME_MAX))
    #: A ``Position`` code.
    position: Mapped[str] = mapped_column(String(10))
    #: The registrant's statement of views.
    statement: Mapped[str] = mapped_column(Text)
    #: Whether the registrant has an interest in the matter, and what it is.
    has_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    interest_declaration: Mapped[str] = mapped_column(Text, default="")
    #: Accessibility needs (sign language, wheelchair…); department only, erased after the hearing.
    accessibility_needs: Mapped[str | None] = mapped_column(String(NEEDS_MAX))
    #: A ``RegistrationStatus`` code.
    status: Mapped[str] = mapped_column(String(12), default=RegistrationStatus.REGISTERED.value)
    #: Position in the category's draw order (1 = first) and the key that put it there.
    draw_rank: Mapped[int | None] = mapped_column(Integer)
    draw_key: Mapped[str | None] = mapped_column(String(64))
    #: A selected participant confirms or declines before this moment (UTC).
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the hearing materials were sent to this participant.
    materials_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Attendance on the day (None until marked).
    attended: Mapped[bool | None] = mapped_column(Boolean)
    attendance_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Answer to the transcript: a ``RecordResponse`` code, with the objection and the time.
    record_response: Mapped[str | None] = mapped_column(String(10))
    record_objection: Mapped[str | None] = mapped_column(Text)
    record_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hearing: Mapped[Hearing] = relationship()
    user: Mapped[User] = relationship()
    category: Mapped[HearingCategory] = relationship(lazy="joined")

    @property
    def status_enum(self) -> RegistrationStatus:
        return RegistrationStatus(self.status)

    @property
    def position_enum(self) -> Position:
        return Position(self.position)

    @property
    def is_seated(self) -> bool:
        return self.status in SEATED

    @property
    def waitlist_place(self) -> int | None:
        """1-based place on the waitlist as drawn, for waitlisted registrations."""
        if self.status != RegistrationStatus.WAITLISTED.value or self.draw_rank is None:
            return None
        return self.draw_rank - self.category.seats


class ObserverStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class Observer(TimestampMixin, db.Model):
    """An observer seat (旁听), first come first served. The seat number is unique per hearing
    and never above the hearing's observer seats, so concurrent bookings cannot overbook."""

    __tablename__ = "hearing_observer"
    __table_args__ = (
        UniqueConstraint("hearing_id", "user_id"),
        UniqueConstraint("hearing_id", "seat_no"),
        CheckConstraint("seat_no IS NULL OR seat_no >= 1", name="seat_no"),
    )
    trace_kind = "hearing_observer"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The hearing.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    #: The observer's account.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: Real name and contact for admission (department only).
    real_name: Mapped[str] = mapped_column(String(REAL_NAME_MAX))
    contact: Mapped[str] = mapped_column(String(CONTACT_MAX))
    #: Accessibility needs; department only, erased after the hearing.
    accessibility_needs: Mapped[str | None] = mapped_column(String(NEEDS_MAX))
    #: Seat 1..observer_seats while booked; None once cancelled (frees the seat).
    seat_no: Mapped[int | None] = mapped_column(Integer)
    #: An ``ObserverStatus`` code.
    status: Mapped[str] = mapped_column(String(10), default=ObserverStatus.BOOKED.value)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Attendance on the day (None until marked).
    attended: Mapped[bool | None] = mapped_column(Boolean)

    hearing: Mapped[Hearing] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_booked(self) -> bool:
        return self.status == ObserverStatus.BOOKED.value


class HearingDraw(db.Model):
    """The draw, once per hearing (unique hearing_id); database triggers refuse UPDATE and DELETE."""

    __tablename__ = "hearing_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The hearing; unique, so a second draw cannot be stored even by concurrent requests.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), unique=True)
    #: The revealed seed and the commitment published before registration opened.
    seed: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    #: ``draw.ALGORITHM`` at the time.
    algorithm: Mapped[str] = mapped_column(String(32))
    #: The result, canonical JSON (see draw.compute).
    result: Mapped[str] = mapped_column(Text)
    #: When and by whom.
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    drawn_by: Mapped[User | None] = relationship()

    @property
    def result_data(self) -> dict:
        return json.loads(self.result)


class HearingMessage(TimestampMixin, db.Model):
    """An in-site message to a registrant (notice of selection, promotion, rescheduling…)."""

    __tablename__ = "hearing_message"
    __table_args__ = (Index("ix_hearing_message_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Recipient.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: The hearing it is about.
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearing.id"), index=True)
    #: Subject line and plain-text body.
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)

    hearing: Mapped[Hearing] = relationship()
