"""After publication: implementation updates, citizens' feedback with responses, proposals for a
post-evaluation, post-evaluation reports (决策后评估), adjustments and suspensions.

Post-evaluations and adjustments are never changed (a new row is a new report or decision); the
database refuses it (migration 0008).
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow
from portal.decisions.models import Decision, Stage

#: Field limits shared by model, forms, operations and API.
TITLE_MAX = 200
UPDATE_MAX = 20_000
FEEDBACK_MAX = 5000
RESPONSE_MAX = 5000
REPORT_MAX = 100_000
REASON_MAX = 5000
TOKEN_MAX = 64

#: Stages in which a decision is in force: updates, feedback, evaluation and adjustments apply.
IN_FORCE_STAGES = frozenset({Stage.PUBLISHED.value, Stage.IMPLEMENTATION.value, Stage.EVALUATION.value})
#: Shown instead of the name of a citizen who chose to stay anonymous.
ANONYMOUS_LABEL = _l("匿名公众")


class FeedbackStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(FEEDBACK_STATUS_LABELS[self])


FEEDBACK_STATUS_LABELS = {
    FeedbackStatus.PENDING: _l("待审核"),
    FeedbackStatus.PUBLISHED: _l("已公开"),
    FeedbackStatus.REJECTED: _l("未予公开"),
}

#: Reasons for not publishing feedback (stable codes).
REJECTION_REASONS = {
    "abusive": _l("含有辱骂、攻击性内容"),
    "off_topic": _l("与本决策执行无关"),
    "advertising": _l("广告或推销信息"),
    "personal_data": _l("含有他人个人信息"),
}

#: How the department handled a report (stable codes).
DISPOSITIONS = {
    "resolved": _l("已处理"),
    "explained": _l("已解释说明"),
    "referred": _l("已转有关单位办理"),
    "for_evaluation": _l("纳入决策后评估"),
}

#: Conclusions of a post-evaluation (art. 36–37).
CONCLUSIONS = {
    "continue": _l("继续执行"),
    "adjust": _l("建议调整"),
    "suspend": _l("建议暂停执行"),
    "terminate": _l("建议停止执行"),
}


class AdjustmentKind(enum.StrEnum):
    ADJUST = "adjust"
    SUSPEND = "suspend"
    RESUME = "resume"

    @property
    def label(self) -> str:
        return str(ADJUSTMENT_LABELS[self])


ADJUSTMENT_LABELS = {
    AdjustmentKind.ADJUST: _l("调整"),
    AdjustmentKind.SUSPEND: _l("暂停执行"),
    AdjustmentKind.RESUME: _l("恢复执行"),
}


class ImplementationUpdate(TimestampMixin, db.Model):
    """A progress report by the executing department."""

    __tablename__ = "implementation_update"
    trace_kind = "implementation_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision carried out.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: Headline.
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: The report, Markdown.
    body: Mapped[str] = mapped_column(Text)
    #: The official who posted it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    decision: Mapped[Decision] = relationship()
    created_by: Mapped[User | None] = relationship()


class FeedbackCounter(db.Model):
    """The last feedback tracking number issued per year; its row is locked while a number is taken."""

    __tablename__ = "feedback_counter"

    #: Calendar year (portal timezone).
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The last number issued that year.
    last: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(TimestampMixin, db.Model):
    """A citizen's report of a problem with a decision in force; tracking number ``FK-2026-000123``."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("author_id", "submission_token"),
        UniqueConstraint("year", "number"),
        Index("ix_feedback_decision_status", "decision_id", "status", "id"),
    )
    trace_kind = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision concerned.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"))
    #: Year and number of the tracking number.
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    #: ``FK-YYYY-NNNNNN``.
    tracking_number: Mapped[str] = mapped_column(String(20), unique=True)
    #: The citizen who wrote it.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: Shown publicly as 匿名公众; the department still sees who wrote it.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The report, Markdown.
    body: Mapped[str] = mapped_column(Text)
    #: ``pending``, ``published`` or ``rejected``.
    status: Mapped[str] = mapped_column(String(12), default=FeedbackStatus.PENDING.value)
    #: A key of ``REJECTION_REASONS`` when rejected.
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    #: Who published or rejected it, and when (UTC).
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: One-time token of the form that sent it: a double submit finds the first report.
    submission_token: Mapped[str | None] = mapped_column(String(TOKEN_MAX))

    decision: Mapped[Decision] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    response: Mapped[FeedbackResponse | None] = relationship(back_populates="feedback", uselist=False)

    @property
    def status_enum(self) -> FeedbackStatus:
        return FeedbackStatus(self.status)

    @property
    def is_published(self) -> bool:
        return self.status == FeedbackStatus.PUBLISHED.value

    @property
    def public_name(self) -> str:
        if self.anonymous or self.author is None:
            return str(ANONYMOUS_LABEL)
        return self.author.display_name


class FeedbackResponse(TimestampMixin, db.Model):
    """The department's answer to a published report."""

    __tablename__ = "feedback_response"
    trace_kind = "feedback_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The report answered.
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), unique=True)
    #: A key of ``DISPOSITIONS``.
    disposition: Mapped[str] = mapped_column(String(20))
    #: The answer, Markdown.
    body: Mapped[str] = mapped_column(Text)
    #: Who answered, and the last change (UTC).
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    feedback: Mapped[Feedback] = relationship(back_populates="response")

    @property
    def disposition_label(self) -> str:
        return str(DISPOSITIONS.get(self.disposition, self.disposition))


class EvaluationProposal(db.Model):
    """Made once per decision when its feedback passes ``FEEDBACK_EVALUATION_THRESHOLD``."""

    __tablename__ = "evaluation_proposal"
    trace_kind = "evaluation_proposal"

    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    #: How many reports there were, and the threshold in force, when it was made.
    feedback_count: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    #: When (UTC).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def id(self) -> int:
        return self.decision_id


class PostEvaluation(TimestampMixin, db.Model):
    """A post-evaluation report (决策后评估报告); never changed, a later one is a new row."""

    __tablename__ = "post_evaluation"
    trace_kind = "post_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision evaluated.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: Who filed it (not whoever did the pre-decision assessment).
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: A key of ``CONCLUSIONS``.
    conclusion: Mapped[str] = mapped_column(String(20))
    #: The report, Markdown.
    report: Mapped[str] = mapped_column(Text)
    #: Feedback reports received and published when it was filed (what it drew on).
    feedback_received: Mapped[int] = mapped_column(Integer, default=0)
    feedback_published: Mapped[int] = mapped_column(Integer, default=0)
    #: SHA-256 of the report (recorded in the ledger).
    report_sha256: Mapped[str] = mapped_column(String(64))

    decision: Mapped[Decision] = relationship()
    evaluator: Mapped[User | None] = relationship()

    @property
    def conclusion_label(self) -> str:
        return str(CONCLUSIONS.get(self.conclusion, self.conclusion))


class Adjustment(TimestampMixin, db.Model):
    """An adjustment, suspension or resumption of a decision in force, with its reason."""

    __tablename__ = "decision_adjustment"
    trace_kind = "decision_adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: ``adjust``, ``suspend`` or ``resume``.
    kind: Mapped[str] = mapped_column(String(12))
    #: Why, and what changes (Markdown).
    reason: Mapped[str] = mapped_column(Text)
    #: Who decided it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    decision: Mapped[Decision] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def kind_enum(self) -> AdjustmentKind:
        return AdjustmentKind(self.kind)


def _refuse_change(_mapper, _connection, _target) -> None:
    raise DomainError(_l("已记录的内容不能修改。"), code="immutable", status=409)


for _model in (PostEvaluation, Adjustment):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
