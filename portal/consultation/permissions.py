"""Object-level rules of the consultation feature; each has its own test."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.auth.models import Role
from portal.auth.permissions import can_manage_department
from portal.core.errors import NotAllowed


def can_manage(user, decision) -> bool:
    """Officials of the decision's department (and admins) run its consultation."""
    return can_manage_department(user, decision.department)


def ensure_can_manage(user, decision) -> None:
    if not can_manage(user, decision):
        raise NotAllowed(_l("只有承办单位的工作人员可以办理此事项。"))


def can_see_identity(user, decision) -> bool:
    """Who may see the name behind an anonymous comment: the department, auditors, admins."""
    if can_manage(user, decision):
        return True
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.AUDITOR))


def is_author(user, comment) -> bool:
    return bool(getattr(user, "is_authenticated", False) and comment.author_id == user.id)


def can_view_receipt(user, comment) -> bool:
    """The author, and those who may see the identity behind the comment."""
    return is_author(user, comment) or can_see_identity(user, comment.consultation.decision)
