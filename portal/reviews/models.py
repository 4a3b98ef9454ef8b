"""Expert pool, committees, signed reviews, risk assessments, legality reviews, collective discussions.

Signed reviews, risk assessments, filed legality opinions and meeting opinions are never changed
in place: a change is a new row (an amendment, a reassessment, a new submission). The models refuse
updates themselves (``_refuse_update``) and the migration adds database triggers that refuse them
too, as the ledger does.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow
from portal.decisions.models import Decision, DraftVersion
from portal.trace.canonical import canonical, format_time, sha256_hex

#: Field limits shared by models, forms, operations and the API.
FIELD_MAX = 80
TITLE_MAX = 80
ORGANISATION_MAX = 120
BIO_MAX = 2000
INTEREST_MAX = 120
NOTE_MAX = 2000
REVIEW_TEXT_MAX = 5000
URL_MAX = 500
SUMMARY_MAX = 10_000
MINUTES_MAX = 50_000
STATEMENT_MAX = 5000


class InterestKind(enum.StrEnum):
    ORGANISATION = "organisation"
    SUBJECT = "subject"

    @property
    def label(self) -> str:
        return str(LABELS[InterestKind][self])


class Declaration(enum.StrEnum):
    NO_INTEREST = "no_interest"
    INTEREST = "interest"

    @property
    def label(self) -> str:
        return str(LABELS[Declaration][self])


class Rating(enum.StrEnum):
    """One scale for every part of a review, so that ratings read the same across parts."""

    NONE = "none"
    MINOR = "minor"
    SIGNIFICANT = "significant"
    SERIOUS = "serious"

    @property
    def label(self) -> str:
        return str(LABELS[Rating][self])


#: The structured parts of a review (art. 20), in the order of the form.
ASPECTS: tuple[tuple[str, object], ...] = (
    ("necessity", _l("必要性")),
    ("feasibility", _l("可行性")),
    ("soundness", _l("科学性")),
    ("legality", _l("合法性问题")),
    ("risks", _l("风险")),
    ("cost_benefit", _l("成本与效益")),
)
ASPECT_CODES = tuple(code for code, _label in ASPECTS)


class Recommendation(enum.StrEnum):
    SUPPORT = "support"
    CONDITIONAL = "conditional"
    OPPOSE = "oppose"

    @property
    def label(self) -> str:
        return str(LABELS[Recommendation][self])


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self) -> str:
        return str(LABELS[RiskLevel][self])


class LegalityResult(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (a result code)
    PASS_WITH_CHANGES = "pass_with_changes"  # noqa: S105
    FAIL = "fail"

    @property
    def label(self) -> str:
        return str(LABELS[LegalityResult][self])

    @property
    def passes(self) -> bool:
        return self is not LegalityResult.FAIL


class MeetingKind(enum.StrEnum):
    EXECUTIVE = "executive"
    PLENARY = "plenary"

    @property
    def label(self) -> str:
        return str(LABELS[MeetingKind][self])


class Position(enum.StrEnum):
    AGREE = "agree"
    DISSENT = "dissent"
    ABSTAIN = "abstain"

    @property
    def label(self) -> str:
        return str(LABELS[Position][self])


class Outcome(enum.StrEnum):
    ADOPT = "adopt"
    ADOPT_WITH_CHANGES = "adopt_with_changes"
    REJECT = "reject"
    POSTPONE = "postpone"

    @property
    def label(self) -> str:
        return str(LABELS[Outcome][self])

    @property
    def decides(self) -> bool:
        """Whether this outcome ends the deliberation (a postponement does not)."""
        return self is not Outcome.POSTPONE


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CLOSED = "closed"


#: Labels of every choice, lazy so they are translated when shown (forms reuse them).
LABELS: dict[type, dict] = {
    InterestKind: {InterestKind.ORGANISATION: _l("单位"), InterestKind.SUBJECT: _l("事项")},
    Declaration: {
        Declaration.NO_INTEREST: _l("声明无直接利害关系"),
        Declaration.INTEREST: _l("申报存在直接利害关系(回避)"),
    },
    Rating: {
        Rating.NONE: _l("无明显问题"),
        Rating.MINOR: _l("问题较小"),
        Rating.SIGNIFICANT: _l("问题较大"),
        Rating.SERIOUS: _l("问题严重"),
    },
    Recommendation: {
        Recommendation.SUPPORT: _l("赞成"),
        Recommendation.CONDITIONAL: _l("有条件赞成"),
        Recommendation.OPPOSE: _l("不赞成"),
    },
    RiskLevel: {RiskLevel.LOW: _l("低"), RiskLevel.MEDIUM: _l("中"), RiskLevel.HIGH: _l("高")},
    LegalityResult: {
        LegalityResult.PASS: _l("合法,通过"),
        LegalityResult.PASS_WITH_CHANGES: _l("修改后通过"),
        LegalityResult.FAIL: _l("不合法,不予通过"),
    },
    MeetingKind: {MeetingKind.EXECUTIVE: _l("常务会议"), MeetingKind.PLENARY: _l("全体会议")},
    Position: {Position.AGREE: _l("同意"), Position.DISSENT: _l("不同意"), Position.ABSTAIN: _l("弃权")},
    Outcome: {
        Outcome.ADOPT: _l("通过"),
        Outcome.ADOPT_WITH_CHANGES: _l("修改后通过"),
        Outcome.REJECT: _l("不予通过"),
        Outcome.POSTPONE: _l("暂缓决定,另行讨论"),
    },
}


class ExpertProfile(TimestampMixin, db.Model):
    """A member of the expert pool (专家库)."""

    __tablename__ = "expert_profile"
    trace_kind = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The account (role ``expert``) this profile belongs to; one profile per account.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    #: Field of expertise (专业领域), searchable.
    field: Mapped[str] = mapped_column(String(FIELD_MAX), index=True)
    #: Professional title (职称).
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    #: Employer (工作单位).
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX), default="")
    #: Short biography.
    bio: Mapped[str] = mapped_column(Text, default="")
    #: Inactive experts stay on record but are not assigned.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Last change of the profile (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    interests: Mapped[list[ExpertInterest]] = relationship(
        back_populates="profile", order_by="ExpertInterest.id", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return self.user.display_name


class ExpertInterest(TimestampMixin, db.Model):
    """A declared interest: an organisation or a subject the expert has a stake in."""

    __tablename__ = "expert_interest"
    __table_args__ = (UniqueConstraint("profile_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The expert.
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profile.id", ondelete="CASCADE"), index=True)
    #: ``organisation`` or ``subject``.
    kind: Mapped[str] = mapped_column(String(16))
    #: The organisation's name or code, or a subject keyword.
    value: Mapped[str] = mapped_column(String(INTEREST_MAX))

    profile: Mapped[ExpertProfile] = relationship(back_populates="interests")

    @property
    def kind_label(self) -> str:
        return InterestKind(self.kind).label


class CommitteeMember(TimestampMixin, db.Model):
    """An expert assigned to a decision's committee, with the interest declaration."""

    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("decision_id", "profile_id"),)
    trace_kind = "committee_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision reviewed.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: The expert.
    profile_id: Mapped[int] = mapped_column(ForeignKey("expert_profile.id"), index=True)
    #: The official who assigned the expert.
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: ``no_interest`` or ``interest`` once the expert has declared; None before.
    declaration: Mapped[str | None] = mapped_column(String(16))
    #: The expert's words with the declaration (required when declaring an interest).
    declaration_note: Mapped[str] = mapped_column(Text, default="")
    #: When the expert declared (UTC).
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when the department released the expert from the committee, with the reason.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(Text)

    decision: Mapped[Decision] = relationship()
    profile: Mapped[ExpertProfile] = relationship(lazy="joined")
    reviews: Mapped[list[Review]] = relationship(back_populates="member", order_by="Review.version")

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def declared_no_interest(self) -> bool:
        return self.declaration == Declaration.NO_INTEREST.value

    @property
    def recused(self) -> bool:
        return self.declaration == Declaration.INTEREST.value

    @property
    def declaration_label(self) -> str:
        return Declaration(self.declaration).label if self.declaration else ""

    @property
    def current_review(self) -> Review | None:
        return self.reviews[-1] if self.reviews else None

    @property
    def must_review(self) -> bool:
        """Active members without a declared interest owe a signed review."""
        return self.active and not self.recused


class Review(TimestampMixin, db.Model):
    """A signed feasibility review (论证意见); one row per version, never updated."""

    __tablename__ = "expert_review"
    __table_args__ = (UniqueConstraint("member_id", "version"),)
    trace_kind = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision reviewed (denormalised from the member for queries).
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: The committee member who signed it.
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id"), index=True)
    #: 1 for the first review, then 2, 3… for amendments.
    version: Mapped[int] = mapped_column(Integer)
    #: The version this one supersedes (None for the first).
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("expert_review.id"))
    #: The draft version the expert reviewed (the current published one when signed).
    draft_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))

    necessity_rating: Mapped[str] = mapped_column(String(16))
    necessity_text: Mapped[str] = mapped_column(Text)
    feasibility_rating: Mapped[str] = mapped_column(String(16))
    feasibility_text: Mapped[str] = mapped_column(Text)
    soundness_rating: Mapped[str] = mapped_column(String(16))
    soundness_text: Mapped[str] = mapped_column(Text)
    legality_rating: Mapped[str] = mapped_column(String(16))
    legality_text: Mapped[str] = mapped_column(Text)
    risks_rating: Mapped[str] = mapped_column(String(16))
    risks_text: Mapped[str] = mapped_column(Text)
    cost_benefit_rating: Mapped[str] = mapped_column(String(16))
    cost_benefit_text: Mapped[str] = mapped_column(Text)
    #: ``support``, ``conditional`` or ``oppose``.
    recommendation: Mapped[str] = mapped_column(String(16))
    #: Conditions of a conditional support (and any the expert adds).
    conditions: Mapped[str] = mapped_column(Text, default="")
    #: Why an amendment was made (empty for version 1).
    amendment_reason: Mapped[str] = mapped_column(Text, default="")
    #: The signature: the expert's name and the time of signing, and the SHA-256 of the content.
    signed_name: Mapped[str] = mapped_column(String(120))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_sha256: Mapped[str] = mapped_column(String(64))

    member: Mapped[CommitteeMember] = relationship(back_populates="reviews")
    decision: Mapped[Decision] = relationship()
    draft_version: Mapped[DraftVersion | None] = relationship()
    supersedes: Mapped[Review | None] = relationship(remote_side="Review.id")

    @property
    def aspects(self) -> list[tuple[str, str, Rating, str]]:
        """(code, label, rating, text) for each part, in order."""
        return [
            (code, str(label), Rating(getattr(self, f"{code}_rating")), getattr(self, f"{code}_text"))
            for code, label in ASPECTS
        ]

    @property
    def recommendation_enum(self) -> Recommendation:
        return Recommendation(self.recommendation)

    def content_document(self) -> dict:
        """What the signature covers: every part of the review, who signed, when, what it supersedes."""
        return {
            "decision_id": self.decision_id,
            "member_id": self.member_id,
            "version": self.version,
            "supersedes_id": self.supersedes_id,
            "draft_version_id": self.draft_version_id,
            "aspects": {
                code: {"rating": getattr(self, f"{code}_rating"), "text": getattr(self, f"{code}_text")}
                for code in ASPECT_CODES
            },
            "recommendation": self.recommendation,
            "conditions": self.conditions or "",
            "amendment_reason": self.amendment_reason or "",
            "signed_name": self.signed_name,
            "signed_at": format_time(self.signed_at),
        }

    def compute_sha256(self) -> str:
        return sha256_hex(canonical(self.content_document()))

    @property
    def signature_valid(self) -> bool:
        """Whether the stored content still matches the hash recorded when it was signed."""
        return self.compute_sha256() == self.content_sha256


class RiskAssessment(TimestampMixin, db.Model):
    """A social-stability / safety risk assessment (风险评估) of one draft version; never updated."""

    __tablename__ = "risk_assessment"
    trace_kind = "risk_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: The draft version assessed (the current published version when recorded).
    draft_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))
    #: ``low``, ``medium`` or ``high``.
    level: Mapped[str] = mapped_column(String(10))
    #: Whether the risk was judged controllable.
    controllable: Mapped[bool] = mapped_column(Boolean)
    #: The findings (风险评估报告), Markdown.
    findings: Mapped[str] = mapped_column(Text)
    #: The mitigation measures (防范化解措施), Markdown.
    mitigation: Mapped[str] = mapped_column(Text)
    #: Who recorded it.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    decision: Mapped[Decision] = relationship()
    draft_version: Mapped[DraftVersion | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def level_enum(self) -> RiskLevel:
        return RiskLevel(self.level)


class LegalityReview(db.Model):
    """A submission to the legality-review office (合法性审查) and, once filed, its opinion.

    The opinion is filed once; the database refuses any change after that.
    """

    __tablename__ = "legality_review"
    trace_kind = "legality_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: The draft version submitted.
    draft_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))
    #: The materials submitted with the draft, as described by the department.
    materials: Mapped[str] = mapped_column(Text)
    #: Who submitted it, and when (UTC): the reviewer's time runs from here.
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``pass``, ``pass_with_changes`` or ``fail``; None while under review.
    result: Mapped[str | None] = mapped_column(String(20), active_history=True)
    #: The reviewer's opinion (审查意见), Markdown.
    opinion: Mapped[str] = mapped_column(Text, default="")
    #: Changes the reviewer requires (for ``pass_with_changes``).
    required_changes: Mapped[str] = mapped_column(Text, default="")
    #: The reviewer and the filing time (UTC).
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 of the canonical opinion, recorded in the ledger when filed.
    opinion_sha256: Mapped[str | None] = mapped_column(String(64))

    decision: Mapped[Decision] = relationship()
    draft_version: Mapped[DraftVersion | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    @property
    def result_enum(self) -> LegalityResult | None:
        return LegalityResult(self.result) if self.result else None

    @property
    def is_filed(self) -> bool:
        return self.result is not None

    def opinion_document(self) -> dict:
        return {
            "legality_review_id": self.id,
            "decision_id": self.decision_id,
            "draft_version_id": self.draft_version_id,
            "result": self.result,
            "opinion": self.opinion or "",
            "required_changes": self.required_changes or "",
            "reviewer_id": self.reviewer_id,
            "filed_at": format_time(self.filed_at) if self.filed_at else None,
        }


class DeliberationMaterials(db.Model):
    """What the department prepares for the collective discussion beyond the earlier steps' records:
    the link to the report on how public comments were adopted, and how expert opinions were adopted."""

    __tablename__ = "deliberation_materials"
    trace_kind = "deliberation_materials"

    #: The decision (one row per decision).
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    #: Link to the comment adoption report (公众意见采纳情况): a site path or an https URL.
    comment_report_url: Mapped[str] = mapped_column(String(URL_MAX), default="")
    #: How the expert opinions were adopted (专家论证意见采纳情况), Markdown.
    expert_adoption: Mapped[str] = mapped_column(Text, default="")
    #: Last change (UTC) and who made it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    @property
    def id(self) -> int:
        return self.decision_id


class Meeting(TimestampMixin, db.Model):
    """A collective discussion (集体讨论) of a decision by the deciding body."""

    __tablename__ = "deliberation_meeting"
    trace_kind = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision discussed.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    #: ``executive`` (常务会议) or ``plenary`` (全体会议).
    kind: Mapped[str] = mapped_column(String(16))
    #: The meeting's date (local calendar date).
    meeting_date: Mapped[date] = mapped_column(Date)
    #: ``scheduled`` until the head's decision closes it.
    status: Mapped[str] = mapped_column(String(12), default=MeetingStatus.SCHEDULED.value)
    #: The head (行政首长) presiding; speaks last and decides.
    head_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: Who scheduled it.
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    # The five materials of art. 29, fixed when the meeting is scheduled.
    #: The draft version discussed.
    draft_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_version.id"))
    #: Link to the comment adoption report.
    comment_report_url: Mapped[str] = mapped_column(String(URL_MAX), default="")
    #: How expert opinions were adopted (copied from the materials).
    expert_adoption: Mapped[str] = mapped_column(Text, default="")
    #: The risk assessment relied on (None when none was required).
    risk_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("risk_assessment.id"))
    #: The legality review relied on.
    legality_review_id: Mapped[int | None] = mapped_column(ForeignKey("legality_review.id"))

    # The head's decision.
    #: ``adopt``, ``adopt_with_changes``, ``reject`` or ``postpone``.
    outcome: Mapped[str | None] = mapped_column(String(20))
    #: The head's statement, as said.
    head_statement: Mapped[str] = mapped_column(Text, default="")
    #: Why the head decided against the majority (required then).
    departure_reason: Mapped[str] = mapped_column(Text, default="")
    #: Full minutes (internal: 政府信息公开条例 art. 16).
    minutes: Mapped[str] = mapped_column(Text, default="")
    #: Summary for the public.
    public_summary: Mapped[str] = mapped_column(Text, default="")
    #: When the head decided (UTC).
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decision: Mapped[Decision] = relationship()
    head: Mapped[User] = relationship(foreign_keys=[head_id])
    scheduled_by: Mapped[User | None] = relationship(foreign_keys=[scheduled_by_id])
    attendees: Mapped[list[User]] = relationship(secondary="meeting_attendee", order_by="User.display_name")
    opinions: Mapped[list[MeetingOpinion]] = relationship(back_populates="meeting", order_by="MeetingOpinion.id")
    draft_version: Mapped[DraftVersion | None] = relationship()
    risk_assessment: Mapped[RiskAssessment | None] = relationship()
    legality_review: Mapped[LegalityReview | None] = relationship()

    @property
    def kind_enum(self) -> MeetingKind:
        return MeetingKind(self.kind)

    @property
    def outcome_enum(self) -> Outcome | None:
        return Outcome(self.outcome) if self.outcome else None

    @property
    def is_closed(self) -> bool:
        return self.status == MeetingStatus.CLOSED.value

    @property
    def members(self) -> list[User]:
        """Those present who speak before the head."""
        return [u for u in self.attendees if u.id != self.head_id]

    def opinion_of(self, user) -> MeetingOpinion | None:
        return next((o for o in self.opinions if o.member_id == getattr(user, "id", None)), None)

    @property
    def waiting_for(self) -> list[User]:
        """Members whose opinion is not recorded yet."""
        spoken = {o.member_id for o in self.opinions}
        return [u for u in self.members if u.id not in spoken]

    def tally(self) -> dict[str, int]:
        counts = {p.value: 0 for p in Position}
        for opinion in self.opinions:
            counts[opinion.position] += 1
        return counts

    def majority(self) -> Position | None:
        """The position of the majority of those who took one (agree or dissent); None on a tie."""
        counts = self.tally()
        if counts[Position.AGREE] > counts[Position.DISSENT]:
            return Position.AGREE
        if counts[Position.DISSENT] > counts[Position.AGREE]:
            return Position.DISSENT
        return None

    def ensure_open(self) -> None:
        if self.is_closed:
            raise DomainError(_l("会议已结束,记录的意见和决定不能再更改。"), code="meeting_closed", status=409)


class MeetingAttendee(db.Model):
    """A leader present at the meeting."""

    __tablename__ = "meeting_attendee"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("deliberation_meeting.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)


class MeetingOpinion(db.Model):
    """One member's opinion at the meeting, recorded as said; never updated."""

    __tablename__ = "meeting_opinion"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)
    trace_kind = "meeting_opinion"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The meeting.
    meeting_id: Mapped[int] = mapped_column(ForeignKey("deliberation_meeting.id"), index=True)
    #: The leader who spoke.
    member_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: ``agree``, ``dissent`` or ``abstain``.
    position: Mapped[str] = mapped_column(String(10))
    #: The statement, verbatim.
    statement: Mapped[str] = mapped_column(Text)
    #: When it was recorded (UTC).
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="opinions")
    member: Mapped[User] = relationship(lazy="joined")

    @property
    def position_enum(self) -> Position:
        return Position(self.position)


def _refuse_update(_mapper, _connection, target) -> None:
    raise DomainError(_l("已签署或已记录的内容不能修改。"), code="immutable", status=409)


for _model in (Review, RiskAssessment, MeetingOpinion):
    event.listen(_model, "before_update", _refuse_update)
    event.listen(_model, "before_delete", _refuse_update)


@event.listens_for(LegalityReview, "before_update")
def _refuse_refiling(_mapper, _connection, target) -> None:
    history = inspect(target).attrs.result.history
    before = history.deleted[0] if history.deleted else (history.unchanged[0] if history.unchanged else None)
    if before is not None:
        raise DomainError(_l("合法性审查意见已出具,不能修改。"), code="immutable", status=409)
