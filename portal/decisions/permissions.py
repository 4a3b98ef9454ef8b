"""Object-level rules for decisions: who sees a decision not yet public, who manages it."""

from __future__ import annotations

from portal.auth.models import Role
from portal.auth.permissions import can_manage_department
from portal.decisions.models import Decision, Stage

#: Roles that read every decision, public or not (the deciding body and oversight).
INSIDER_ROLES = (Role.ADMIN.value, Role.LEADER.value, Role.AUDITOR.value)


def is_public(decision: Decision, *, has_published_version: bool | None = None) -> bool:
    """Public once a version is published or the decision has left drafting (and was not withdrawn unseen)."""
    if has_published_version is None:
        has_published_version = decision.current_version is not None
    if has_published_version:
        return True
    return decision.stage not in (Stage.DRAFTING.value, Stage.WITHDRAWN.value)


def is_insider(user, decision: Decision) -> bool:
    """Members of the owning department, leaders, auditors and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(*INSIDER_ROLES) or user.is_member_of(decision.department_id)


def can_view(user, decision: Decision, *, has_published_version: bool | None = None) -> bool:
    """Everyone sees public decisions; a draft not yet public is for insiders only."""
    return is_public(decision, has_published_version=has_published_version) or is_insider(user, decision)


def can_manage(user, decision: Decision) -> bool:
    """Officials of the owning department, and admins: edit, versions, attachments, stage moves."""
    return can_manage_department(user, decision.department)


def can_create(user) -> bool:
    """Officials who belong to a department, and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICIAL) and bool(user.departments)


def can_move_stage(user, decision: Decision) -> bool:
    """The department's officials, leaders (the deciding body) and admins."""
    if can_manage(user, decision):
        return True
    return getattr(user, "is_authenticated", False) and user.has_role(Role.LEADER)


def can_override(user) -> bool:
    """Passing a closed gate with a stated reason: admins and leaders only."""
    return getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN, Role.LEADER)
