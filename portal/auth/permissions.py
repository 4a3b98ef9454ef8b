"""Access rules. Every view declares one with ``@require(rule)``; a hook enforces it.

Enforcement is central and fails closed: an endpoint that declares nothing answers 403 (and a
test walks the URL map so that never ships). Object-level checks (is this official in the
decision's department?) are permission functions below, used by views and operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from portal.auth.models import Role
from portal.core.errors import is_api_request

ACCESS_ATTR = "portal_access"


@dataclass(frozen=True)
class Rule:
    """Who may use an endpoint."""

    name: str
    login_required: bool
    roles: frozenset[str] = field(default_factory=frozenset)
    #: A POST may enter on the signed session alone: its operation confirms the account
    #: (still enabled, same session token) in its own transaction (``portal/auth/identity.py``).
    checked_by_operation: bool = False

    def allows(self, user) -> bool:
        if not self.login_required:
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        return not self.roles or user.has_role(*self.roles)


#: Anyone, logged in or not.
public = Rule("public", login_required=False)
#: Any logged-in account.
authenticated = Rule("authenticated", login_required=True)
#: Any logged-in account; a POST enters on the signed session alone, without reading the account,
#: and the operation confirms it. Only for a view whose operation does that (the comment intake,
#: issue 8): ``portal/auth/identity.py``.
signed_in = Rule("signed-in", login_required=True, checked_by_operation=True)


def roles(*codes: Role | str) -> Rule:
    """Logged-in users holding at least one of ``codes``."""
    valid = {r.value for r in Role}
    names = frozenset(str(c) for c in codes)
    unknown = names - valid
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Rule("roles:" + ",".join(sorted(names)), login_required=True, roles=names)


admin_only = roles(Role.ADMIN)


def require(rule: Rule) -> Callable:
    """Declare who may use the decorated view (function or MethodView class)."""

    def decorate(view):
        setattr(view, ACCESS_ATTR, rule)
        return view

    return decorate


def rule_for(view) -> Rule | None:
    """The rule declared on a view function, its MethodView class, or None."""
    found = getattr(view, ACCESS_ATTR, None)
    if found is None and hasattr(view, "view_class"):
        found = getattr(view.view_class, ACCESS_ATTR, None)
    return found


def declare_endpoint(app: Flask, endpoint: str, rule: Rule) -> None:
    """Declare a rule for an endpoint some library registered (static files, OpenAPI document)."""
    app.extensions.setdefault("portal_access", {})[endpoint] = rule


def rule_for_endpoint(app: Flask, endpoint: str) -> Rule | None:
    """The rule that applies to ``endpoint``: declared on its view, or for it at registration."""
    declared = app.extensions.get("portal_access", {}).get(endpoint)
    return declared or rule_for(app.view_functions.get(endpoint))


def enforce_access():
    """before_request hook: apply the endpoint's rule; refuse when none was declared."""
    if request.endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    rule = rule_for_endpoint(current_app, request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s declares no access rule; refused", request.endpoint)
        raise Forbidden()
    if rule.allows(current_user):
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            raise Unauthorized()
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
    raise Forbidden()


# Object-level permission functions: each a named rule with its own test.


def can_manage_department(user, department) -> bool:
    """Officials who belong to the department, and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.OFFICIAL) and user.is_member_of(department)
