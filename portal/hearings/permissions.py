"""Who may do what with a hearing: named rules, each with its own test."""

from __future__ import annotations

from portal.auth.models import Role
from portal.auth.permissions import can_manage_department


def can_manage_hearings_of(user, decision) -> bool:
    """Officials of the decision's department (承办单位), and admins, organise its hearings."""
    return decision is not None and can_manage_department(user, decision.department)


def can_manage_hearing(user, hearing) -> bool:
    """Officials of the owning decision's department, and admins."""
    return hearing is not None and can_manage_hearings_of(user, hearing.decision)


def can_see_hearing(user, hearing) -> bool:
    """Published hearings are public; drafts only for those who manage them (and auditors)."""
    if hearing is None:
        return False
    if hearing.is_public:
        return True
    if getattr(user, "is_authenticated", False) and user.has_role(Role.AUDITOR):
        return True
    return can_manage_hearing(user, hearing)


def can_read_transcript(user, hearing, registration=None) -> bool:
    """The transcript: the department, auditors, and the participants who attended."""
    if hearing is None or hearing.transcript is None or not getattr(user, "is_authenticated", False):
        return False
    if can_manage_hearing(user, hearing) or user.has_role(Role.AUDITOR):
        return True
    return registration is not None and registration.user_id == user.id and bool(registration.attended)
