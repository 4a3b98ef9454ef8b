"""Consultation periods (公开征求意见), comments, duplicate groups, responses (采纳情况)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow
from portal.decisions.models import Decision, DraftVersion

#: Decree 713 art. 15: at least 30 days unless a reason is published with the notice.
MIN_PERIOD = timedelta(days=30)
#: Field limits shared by model, forms, API and CLI.
COMMENT_MAX = 5000
REASON_MAX = 2000
NOTICE_MAX = 5000
NOTE_MAX = 1000
SENDER_MAX = 80
TOKEN_MAX = 64
#: Tolerance for a start time entered a little in the past (the form was open a while).
START_TOLERANCE = timedelta(minutes=15)
#: Followers are reminded this long before the period closes.
REMINDER_BEFORE = timedelta(days=3)
#: Shown publicly instead of the name of a citizen who chose to stay anonymous.
ANONYMOUS_LABEL = _l("匿名公众")


class ConsultationStatus(enum.StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ConsultationStatus.UPCOMING: _l("尚未开始"),
    ConsultationStatus.OPEN: _l("正在征求意见"),
    ConsultationStatus.CLOSED: _l("征求意见已结束"),
}


class CommentStatus(enum.StrEnum):
    #: Held until the author confirms their e-mail: not moderated, counted, shown or exported.
    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(COMMENT_STATUS_LABELS[self])


COMMENT_STATUS_LABELS = {
    CommentStatus.UNCONFIRMED: _l("待确认邮箱"),
    CommentStatus.PENDING: _l("待审核"),
    CommentStatus.PUBLISHED: _l("已公开"),
    CommentStatus.REJECTED: _l("未予公开"),
    CommentStatus.WITHDRAWN: _l("已撤回"),
}

#: Statuses left out of every count, report and export: withdrawn, or held for e-mail confirmation.
NOT_COUNTED = (CommentStatus.WITHDRAWN.value, CommentStatus.UNCONFIRMED.value)

#: The fixed list of reasons for not publishing a comment (codes are stable, in the API).
REJECTION_REASONS = {
    "abusive": _l("含有辱骂、攻击性内容"),
    "off_topic": _l("与本决策事项无关"),
    "advertising": _l("广告或推销信息"),
    "personal_data": _l("含有他人个人信息"),
}

#: How a comment reached the department.
CHANNELS = {
    "portal": _l("网站"),
    "letter": _l("信函"),
    "phone": _l("电话"),
    "hotline_12345": _l("12345 热线"),
    "email": _l("电子邮件"),
    "other": _l("其他"),
}
OFFLINE_CHANNELS = {code: label for code, label in CHANNELS.items() if code != "portal"}

#: Dispositions of a response (采纳情况).
DISPOSITIONS = {
    "adopted": _l("采纳"),
    "partly_adopted": _l("部分采纳"),
    "not_adopted": _l("不予采纳"),
    "for_reference": _l("作为参考"),
}


def channel_label(code: str) -> str:
    return str(CHANNELS.get(code, code))


def disposition_label(code: str) -> str:
    return str(DISPOSITIONS.get(code, code))


def rejection_label(code: str) -> str:
    return str(REJECTION_REASONS.get(code, code))


class Consultation(TimestampMixin, db.Model):
    """The public-notice period of a decision; its status follows from the server's clock."""

    __tablename__ = "consultation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision consulted on; one consultation per decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), unique=True)
    #: The published version current when the consultation opened.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))
    #: Start of the period (UTC).
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: End of the period (UTC); extensions move it.
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The end first announced, so a public reader sees what was extended.
    original_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why the period is shorter than 30 days (shown publicly); None for a full period.
    emergency_reason: Mapped[str | None] = mapped_column(Text)
    #: Other ways to comment (address for letters, phone), Markdown, shown publicly.
    notice: Mapped[str] = mapped_column(Text, default="")
    #: The official who opened it.
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: When ``consultation.closed`` was recorded in the ledger (recorded once, lazily).
    closed_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When followers were reminded that it closes soon (once).
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decision: Mapped[Decision] = relationship()
    version: Mapped[DraftVersion | None] = relationship()
    opened_by: Mapped[User | None] = relationship()
    extensions: Mapped[list[ConsultationExtension]] = relationship(
        back_populates="consultation", order_by="ConsultationExtension.id", cascade="all, delete-orphan"
    )

    trace_kind = "consultation"

    def status(self, now: datetime | None = None) -> ConsultationStatus:
        now = now or utcnow()
        if now < self.starts_at:
            return ConsultationStatus.UPCOMING
        if now < self.ends_at:
            return ConsultationStatus.OPEN
        return ConsultationStatus.CLOSED

    def is_open(self, now: datetime | None = None) -> bool:
        return self.status(now) == ConsultationStatus.OPEN

    def is_closed(self, now: datetime | None = None) -> bool:
        return self.status(now) == ConsultationStatus.CLOSED

    def time_left(self, now: datetime | None = None) -> timedelta:
        return max(self.ends_at - (now or utcnow()), timedelta(0))

    @property
    def period(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def is_shortened(self) -> bool:
        return self.period < MIN_PERIOD

    def ensure_accepting(self, now: datetime | None = None) -> None:
        """Refuse a comment outside the period."""
        status = self.status(now)
        if status == ConsultationStatus.UPCOMING:
            raise DomainError(_l("征求意见尚未开始,暂不能提交意见。"), code="not_open_yet")
        if status == ConsultationStatus.CLOSED:
            raise DomainError(_l("征求意见期已结束,不能再提交意见。"), code="closed")

    def __repr__(self) -> str:
        return f"<Consultation {self.id} decision={self.decision_id}>"


class ConsultationExtension(TimestampMixin, db.Model):
    """One extension of the period, with its reason (shown publicly)."""

    __tablename__ = "consultation_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The consultation extended.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    #: End before the extension (UTC).
    previous_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: End after the extension (UTC).
    new_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why it was extended.
    reason: Mapped[str] = mapped_column(Text)
    #: Who extended it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    consultation: Mapped[Consultation] = relationship(back_populates="extensions")


class TrackingCounter(db.Model):
    """The last tracking number issued per year; its row is locked while a number is taken."""

    __tablename__ = "tracking_counter"

    #: Calendar year (in the portal's timezone).
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The last number issued that year.
    last: Mapped[int] = mapped_column(Integer, default=0)


class CommentGroup(TimestampMixin, db.Model):
    """Comments with the same or nearly the same text (a campaign); every comment has one."""

    __tablename__ = "comment_group"
    __table_args__ = (Index("ix_comment_group_consultation_length", "consultation_id", "text_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The consultation.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the first comment's normalised text.
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: The first comment's normalised text, compared with new comments for near-duplicates.
    normalised: Mapped[str] = mapped_column(Text)
    #: Length of ``normalised``, so only groups of similar length are compared.
    text_length: Mapped[int] = mapped_column(Integer)


class Comment(TimestampMixin, db.Model):
    """A comment on the whole draft or one article; tracking number ``GY-2026-000123``."""

    __tablename__ = "comment"
    __table_args__ = (
        UniqueConstraint("author_id", "submission_token"),
        UniqueConstraint("year", "number"),
        Index("ix_comment_consultation_status", "consultation_id", "status", "published_at", "id"),
        Index("ix_comment_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The consultation.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    #: Year and number of the tracking number.
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    #: ``GY-YYYY-NNNNNN``.
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    #: The citizen who wrote it; None for comments received outside the portal.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: Shown publicly as 匿名公众; the department still sees who wrote it.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Name of the sender of a letter, call or e-mail (entered by an official).
    sender_name: Mapped[str | None] = mapped_column(String(SENDER_MAX))
    #: A key of ``CHANNELS``.
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    #: The official who entered an off-portal comment.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: The version commented on.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))
    #: Article anchor (``art-3``); None for the whole draft.
    article_anchor: Mapped[str | None] = mapped_column(String(40))
    #: Article label as written (``第三条``) when the comment was made.
    article_label: Mapped[str | None] = mapped_column(String(40))
    #: Markdown text.
    body: Mapped[str] = mapped_column(Text)
    #: A ``CommentStatus`` code.
    status: Mapped[str] = mapped_column(String(12), default=CommentStatus.PENDING.value)
    #: The duplicate group.
    group_id: Mapped[int] = mapped_column(ForeignKey("comment_group.id"))
    #: One-time token of the form that sent it: a double submit finds the first comment.
    submission_token: Mapped[str | None] = mapped_column(String(TOKEN_MAX))
    #: A key of ``REJECTION_REASONS`` when rejected.
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    #: The moderator's note on a rejection (internal).
    rejection_note: Mapped[str | None] = mapped_column(Text)
    #: Who published or rejected it, and when.
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was published (UTC).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When its author withdrew it (UTC).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultation: Mapped[Consultation] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    group: Mapped[CommentGroup] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="comment", uselist=False)

    trace_kind = "comment"

    @property
    def status_enum(self) -> CommentStatus:
        return CommentStatus(self.status)

    @property
    def is_published(self) -> bool:
        return self.status == CommentStatus.PUBLISHED.value

    @property
    def public_name(self) -> str:
        """The name the public sees."""
        if self.anonymous:
            return str(ANONYMOUS_LABEL)
        if self.author is not None:
            return self.author.display_name
        return self.sender_name or str(ANONYMOUS_LABEL)

    @property
    def internal_name(self) -> str:
        """The name the department sees."""
        if self.author is not None:
            return self.author.display_name
        return self.sender_name or "—"

    @property
    def channel_label(self) -> str:
        return channel_label(self.channel)

    def __repr__(self) -> str:
        return f"<Comment {self.tracking_number} {self.status}>"


class ReceiptQueueItem(db.Model):
    """A receipt mail not yet sent, queued in the transaction that stored its comment (issue 8).

    The intake's writer queues one row per comment it stores, in the same transaction, instead
    of writing the mail itself; a sender (``intake.ReceiptSender``, or ``flask consultation
    send-receipts``) writes the mails and removes the rows. So a receipt survives a worker that
    dies after the commit, and under a surge the mails wait until the comments are stored."""

    __tablename__ = "comment_receipt_queue"

    #: The stored comment the mail confirms.
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), primary_key=True)
    #: The language the mail is written in (the page the comment was sent from).
    locale: Mapped[str] = mapped_column(String(10))
    #: When it was queued (UTC): the oldest are sent first.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Response(TimestampMixin, db.Model):
    """The department's answer to one published comment: disposition and reason."""

    __tablename__ = "comment_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The comment answered.
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), unique=True)
    #: A key of ``DISPOSITIONS``.
    disposition: Mapped[str] = mapped_column(String(20))
    #: Why (Markdown).
    reason: Mapped[str] = mapped_column(Text)
    #: Who answered.
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Last change (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="response")

    trace_kind = "comment_response"

    @property
    def disposition_label(self) -> str:
        return disposition_label(self.disposition)
