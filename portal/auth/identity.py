"""Who the request is: the user loader, and the account a session names without reading it.

Flask-Login calls ``load_user`` with the id the signed session cookie (or the remember-me
cookie) carries, ``"<user id>:<session token>"``, after its own session protection checks. It
reads the account and its roles in one query and refuses a disabled account or a token that
was rotated since (logged out everywhere, password changed).

An endpoint declared with the rule ``signed_in`` (``portal/auth/permissions.py``) skips that
read: its ``current_user`` is a ``SessionAccount`` holding the id and the token, and the
operation behind the view confirms the account in its own transaction. The comment intake does
that once per batch of comments (issue 8, surge), where reading the account on every request
cost a sixth of taking a comment. Anything beyond the id and the token (the roles to draw a
page, the preferred language) reads the account then: ``confirmed_user()``.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import joinedload

from portal.auth.models import User
from portal.core.extensions import db


def parse_id(user_id: str) -> tuple[int, str] | None:
    ident, _, token = str(user_id or "").partition(":")
    if not ident.isdigit() or not token:
        return None
    return int(ident), token


def stored_user(user_id: str) -> User | None:
    """The enabled account ``user_id`` names, if its session token is still current."""
    parsed = parse_id(user_id)
    if parsed is None:
        return None
    # One query for the user and the roles (the relationship alone would take a second).
    user = db.session.get(User, parsed[0], options=[joinedload(User.role_rows)])
    if user is None or not user.is_enabled or user.session_token != parsed[1]:
        return None
    return user


def load_user(user_id: str):
    """Flask-Login's user loader."""
    if _checked_by_operation():
        parsed = parse_id(user_id)
        return SessionAccount(*parsed) if parsed else None
    return stored_user(user_id)


def _checked_by_operation() -> bool:
    from portal.auth.permissions import rule_for_endpoint

    if not has_request_context() or request.method != "POST" or request.endpoint is None:
        return False
    rule = rule_for_endpoint(current_app, request.endpoint)
    return rule is not None and rule.checked_by_operation


class SessionAccount:
    """The account a signed session names, not read from the database.

    Only the id and the session token are known; the operation checks them against the stored
    account. Any other attribute is an error: read the account with ``confirmed_user()`` first.
    """

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user_id: int, session_token: str):
        self.id = user_id
        self.session_token = session_token

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def locale(self) -> str | None:
        """The preferred language needs the stored account (page shown again, e-mail)."""
        user = confirmed_user()
        return getattr(user, "locale", None)

    def __repr__(self) -> str:
        return f"<SessionAccount {self.id}>"


def confirmed_user():
    """``current_user``, read from the database if it was only a ``SessionAccount``.

    A session whose account was disabled or logged out everywhere since becomes the anonymous
    user, as on any other page.
    """
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if isinstance(user, SessionAccount):
        stored = stored_user(user.get_id())
        # What Flask-Login keeps the request's user in: later reads of current_user see this one.
        g._login_user = stored if stored is not None else current_app.login_manager.anonymous_user()
    return current_user._get_current_object()  # type: ignore[attr-defined]
