"""Object-level permission rules of the review steps, each a named function with its own test."""

from __future__ import annotations

from portal.auth.models import Role
from portal.auth.permissions import can_manage_department
from portal.decisions.models import ORDER, Stage

#: Stages from which a decision's records are published (reviews, risk, legality result).
PUBLIC_STAGES = frozenset(ORDER[ORDER.index(Stage.PUBLISHED) :])
#: Stages in which experts may still be assigned to a committee.
ASSIGNABLE_STAGES = frozenset(ORDER[: ORDER.index(Stage.EXPERT_REVIEW) + 1])
#: Stages in which reviews, risk assessments and legality submissions may still be filed.
OPEN_STAGES = frozenset(ORDER[: ORDER.index(Stage.DECIDED)])


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_published(decision) -> bool:
    """Whether the decision has been published (or gone further), so its review records are public."""
    return decision.stage in PUBLIC_STAGES


def can_manage_experts(user) -> bool:
    """Officials (of any department) and admins keep the expert pool."""
    return _authenticated(user) and user.has_role(Role.OFFICIAL, Role.ADMIN)


def can_declare_interests(user, profile) -> bool:
    """Experts add interests to their own profile; the pool's keepers to any profile."""
    return can_manage_experts(user) or (_authenticated(user) and user.id == profile.user_id)


def can_see_interests(user, profile) -> bool:
    """Declared interests are shown to the pool's keepers, overseers and the expert."""
    return can_declare_interests(user, profile) or (_authenticated(user) and user.has_role(Role.AUDITOR, Role.LEADER))


def can_manage_decision(user, decision) -> bool:
    """The responsible department's officials, and admins."""
    return can_manage_department(user, decision.department)


def is_insider(user, decision) -> bool:
    """Who reads a decision's records before they are public: its department, the deciding body,
    the legality reviewers, overseers and admins."""
    if not _authenticated(user):
        return False
    if user.has_role(Role.ADMIN, Role.AUDITOR, Role.LEADER, Role.LEGAL_REVIEWER):
        return True
    return user.has_role(Role.OFFICIAL) and user.is_member_of(decision.department_id)


def can_see_reviews(user, decision) -> bool:
    """Officials see reviews at once; the public once the decision is published."""
    return is_published(decision) or is_insider(user, decision)


def can_see_review(user, review) -> bool:
    """A review is also always visible to the expert who signed it."""
    if can_see_reviews(user, review.decision):
        return True
    return _authenticated(user) and review.member.profile.user_id == user.id


def can_see_internal_records(user, decision) -> bool:
    """Full minutes and opinions as said: the department, the deciding body, overseers, admins (never public)."""
    if not _authenticated(user):
        return False
    if user.has_role(Role.ADMIN, Role.AUDITOR, Role.LEADER):
        return True
    return user.is_member_of(decision.department_id)


def can_file_legality_opinion(user) -> bool:
    """Legality reviewers file opinions."""
    return _authenticated(user) and user.has_role(Role.LEGAL_REVIEWER)


def can_schedule_meeting(user, decision) -> bool:
    """The department prepares the meeting; members of the deciding body may also convene it."""
    return can_manage_decision(user, decision) or (_authenticated(user) and user.has_role(Role.LEADER))
