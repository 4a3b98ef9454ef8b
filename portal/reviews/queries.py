"""Reads of the review steps, shared by views, the API, gates and the decision-page sections."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, User, UserRole
from portal.core.extensions import db
from portal.decisions.models import Decision
from portal.reviews.models import (
    CommitteeMember,
    DeliberationMaterials,
    ExpertInterest,
    ExpertProfile,
    LegalityReview,
    Meeting,
    MeetingStatus,
    Review,
    RiskAssessment,
)


def decision_by_slug(slug: str) -> Decision | None:
    if not slug or len(slug) > 120:
        return None
    return db.session.scalar(select(Decision).where(Decision.slug == slug))


def experts_stmt(*, field: str = "", q: str = "", active_only: bool = True):
    """The expert pool, filtered by field (substring) and name/organisation (substring)."""
    stmt = select(ExpertProfile).join(ExpertProfile.user)
    if active_only:
        stmt = stmt.where(ExpertProfile.active.is_(True))
    if field:
        stmt = stmt.where(func.lower(ExpertProfile.field).contains(field.lower(), autoescape=True))
    if q:
        stmt = stmt.where(
            or_(
                User.display_name.contains(q, autoescape=True),
                func.lower(ExpertProfile.organisation).contains(q.lower(), autoescape=True),
                func.lower(ExpertProfile.title).contains(q.lower(), autoescape=True),
            )
        )
    return stmt.order_by(ExpertProfile.field, User.display_name, ExpertProfile.id)


def expert_fields() -> list[str]:
    """The distinct fields of active experts, for the filter."""
    return list(
        db.session.scalars(
            select(ExpertProfile.field).where(ExpertProfile.active.is_(True)).distinct().order_by(ExpertProfile.field)
        )
    )


def profile_for_user(user) -> ExpertProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user.id))


def expert_accounts_without_profile() -> list[User]:
    """Accounts holding the expert role that have no profile yet."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.EXPERT.value, User.is_enabled.is_(True))
            .where(~select(ExpertProfile.id).where(ExpertProfile.user_id == User.id).exists())
            .order_by(User.display_name)
        )
    )


def leaders() -> list[User]:
    """Enabled accounts holding the leader role."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.LEADER.value, User.is_enabled.is_(True))
            .order_by(User.display_name)
        )
    )


def committee(decision: Decision, *, include_removed: bool = False) -> list[CommitteeMember]:
    stmt = (
        select(CommitteeMember)
        .where(CommitteeMember.decision_id == decision.id)
        .options(selectinload(CommitteeMember.reviews))
        .order_by(CommitteeMember.id)
    )
    if not include_removed:
        stmt = stmt.where(CommitteeMember.removed_at.is_(None))
    return list(db.session.scalars(stmt))


def membership(decision: Decision, user) -> CommitteeMember | None:
    """The user's active place on the decision's committee, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(CommitteeMember)
        .join(ExpertProfile, CommitteeMember.profile_id == ExpertProfile.id)
        .where(
            CommitteeMember.decision_id == decision.id,
            ExpertProfile.user_id == user.id,
            CommitteeMember.removed_at.is_(None),
        )
    )


def assignments_of(user) -> list[CommitteeMember]:
    """The committees an expert sits on, newest first."""
    return list(
        db.session.scalars(
            select(CommitteeMember)
            .join(ExpertProfile, CommitteeMember.profile_id == ExpertProfile.id)
            .where(ExpertProfile.user_id == user.id, CommitteeMember.removed_at.is_(None))
            .options(selectinload(CommitteeMember.reviews), selectinload(CommitteeMember.decision))
            .order_by(CommitteeMember.id.desc())
        )
    )


def reviews_of(decision: Decision) -> list[Review]:
    """Every version of every review of the decision, grouped by member, oldest version first."""
    return list(
        db.session.scalars(
            select(Review).where(Review.decision_id == decision.id).order_by(Review.member_id, Review.version)
        )
    )


def current_reviews(decision: Decision) -> list[Review]:
    """The newest version of each active member's review."""
    latest: dict[int, Review] = {}
    for review in reviews_of(decision):
        if review.member.active:
            latest[review.member_id] = review
    return list(latest.values())


def risk_assessments(decision: Decision) -> list[RiskAssessment]:
    return list(
        db.session.scalars(
            select(RiskAssessment).where(RiskAssessment.decision_id == decision.id).order_by(RiskAssessment.id)
        )
    )


def latest_risk(decision: Decision) -> RiskAssessment | None:
    return db.session.scalar(
        select(RiskAssessment)
        .where(RiskAssessment.decision_id == decision.id)
        .order_by(RiskAssessment.id.desc())
        .limit(1)
    )


def legality_reviews(decision: Decision) -> list[LegalityReview]:
    return list(
        db.session.scalars(
            select(LegalityReview).where(LegalityReview.decision_id == decision.id).order_by(LegalityReview.id)
        )
    )


def latest_legality(decision: Decision) -> LegalityReview | None:
    return db.session.scalar(
        select(LegalityReview)
        .where(LegalityReview.decision_id == decision.id)
        .order_by(LegalityReview.id.desc())
        .limit(1)
    )


def pending_legality_reviews() -> list[LegalityReview]:
    """Submissions waiting for an opinion, oldest first (the legality office's queue)."""
    return list(
        db.session.scalars(
            select(LegalityReview).where(LegalityReview.result.is_(None)).order_by(LegalityReview.submitted_at)
        )
    )


def recent_legality_opinions(limit: int = 20) -> list[LegalityReview]:
    return list(
        db.session.scalars(
            select(LegalityReview)
            .where(LegalityReview.result.is_not(None))
            .order_by(LegalityReview.filed_at.desc())
            .limit(limit)
        )
    )


def materials_record(decision: Decision) -> DeliberationMaterials | None:
    return db.session.get(DeliberationMaterials, decision.id)


def meetings_of(decision: Decision) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.decision_id == decision.id)
            .options(selectinload(Meeting.opinions), selectinload(Meeting.attendees))
            .order_by(Meeting.id)
        )
    )


def open_meeting(decision: Decision) -> Meeting | None:
    return db.session.scalar(
        select(Meeting).where(Meeting.decision_id == decision.id, Meeting.status == MeetingStatus.SCHEDULED.value)
    )


def deciding_meeting(decision: Decision) -> Meeting | None:
    """The closed meeting whose head took a decision (not a postponement), if any."""
    for meeting in reversed(meetings_of(decision)):
        if meeting.is_closed and meeting.outcome_enum and meeting.outcome_enum.decides:
            return meeting
    return None


def meetings_for_leader(user) -> list[Meeting]:
    """Meetings a leader attends, open ones first."""
    from portal.reviews.models import MeetingAttendee

    return list(
        db.session.scalars(
            select(Meeting)
            .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
            .where(MeetingAttendee.user_id == user.id)
            .order_by(Meeting.status.desc(), Meeting.meeting_date.desc(), Meeting.id.desc())
        )
    )


def interest_by_id(profile: ExpertProfile, interest_id: int) -> ExpertInterest | None:
    interest = db.session.get(ExpertInterest, interest_id)
    return interest if interest is not None and interest.profile_id == profile.id else None
