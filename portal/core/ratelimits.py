"""Per-account and per-address rate limits on the actions a flood would use.

Each action has two config keys, ``<ACTION>_RATE_PER_ACCOUNT`` and ``<ACTION>_RATE_PER_ADDRESS``
(Flask-Limiter syntax, several limits separated by ``;``; an empty value turns the limit off).
The limits are shared by every route of the action, so the HTML form and the API draw on the
same allowance. The address is ``client_address()``: the socket's peer, or the client named by
a trusted proxy only when ``PORTAL_PROXY_COUNT`` is set. A refused request gets 429 with
``Retry-After`` (a page, or the JSON error shape under ``/api/``), in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_login import current_user

from portal.core.extensions import client_address, limiter

#: Values that mean "no limit" besides the empty string.
_OFF = frozenset({"", "0", "off", "none", "false"})


def configured_limit(key: str) -> Callable[[], str]:
    """The limit string of config ``key``, read at request time; empty means no limit."""

    def provider() -> str:
        value = str(current_app.config.get(key) or "").strip()
        return "" if value.lower() in _OFF else value

    return provider


def account_key() -> str:
    """The logged-in account (falls back to the address for a visitor, who is refused anyway)."""
    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return "address:" + client_address()


def address_key() -> str:
    return client_address()


def throttled(action: str, *, per_account: Callable[[], str] = account_key, methods=("POST",)):
    """Decorate a view with the per-account and per-address limits of ``action`` (e.g. ``comment``)."""
    prefix = action.upper()
    by_account = limiter.shared_limit(
        configured_limit(f"{prefix}_RATE_PER_ACCOUNT"),
        scope=f"{action}-account",
        key_func=per_account,
        methods=list(methods),
    )
    by_address = limiter.shared_limit(
        configured_limit(f"{prefix}_RATE_PER_ADDRESS"),
        scope=f"{action}-address",
        key_func=address_key,
        methods=list(methods),
    )

    def decorate(view):
        return by_address(by_account(view))

    return decorate


def drop_idle_request_check(app) -> bool:
    """Remove Flask-Limiter's check before every request when it can find nothing to check.

    Flask-Limiter checks each request twice: before the view, for application, default and
    blueprint limits, and in each decorated view, for that view's limits. The portal sets only
    per-view limits (``throttled``, ``limiter.limit`` on a view), so the first check resolves
    an empty list on every request. It was a tenth of the comment POST's CPU under a surge
    (issue 8). It stays when any such limit is configured. Call after every blueprint is
    registered. Returns whether it was removed.
    """
    manager = limiter.limit_manager
    config = app.config
    if (
        manager.application_limits
        or manager.default_limits
        or getattr(manager, "_blueprint_limits", True)
        or any(config.get(key) for key in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META"))
    ):
        return False
    checks = app.before_request_funcs.get(None, [])
    check = getattr(limiter, "_check_request_limit", None)
    if check is None or check not in checks:
        return False
    checks.remove(check)
    return True
