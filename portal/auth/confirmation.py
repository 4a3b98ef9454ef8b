"""E-mail confirmation links: signed, expiring, bound to the account, its address and the purpose.

The token is an itsdangerous timed signature over ``{"u": user id, "e": digest of the address,
"p": purpose}`` with a salt of its own, so no other signed value of the portal (export links,
the session) passes for it, and a link sent to an address the account no longer has is refused.
Only a digest of the address travels in the link (links end up in logs and browser histories).
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.auth.models import User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.mail import send_mail

SALT = "portal.email-confirmation"
PURPOSE = "confirm-email"
#: Longer tokens are not ours; refuse them before any work.
TOKEN_MAX = 500


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:32]


def make_token(user: User) -> str:
    """A confirmation token for ``user``'s current address."""
    return _serializer().dumps({"u": user.id, "e": _address_digest(user.email), "p": PURPOSE})


def user_for_token(token: str) -> User:
    """The account a valid link confirms; raises DomainError (400) for every kind of bad link."""
    invalid = DomainError(
        _l("确认链接无效:链接不完整或已被改动。请从邮件中完整复制链接,或登录后重新发送确认邮件。"),
        code="link_invalid",
    )
    if not token or len(token) > TOKEN_MAX:
        raise invalid
    try:
        data = _serializer().loads(token, max_age=int(current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]))
    except SignatureExpired as exc:
        raise DomainError(
            _l("确认链接已过期。请登录后在“个人资料”页面重新发送确认邮件。"), code="link_expired"
        ) from exc
    except BadSignature as exc:
        raise invalid from exc
    if not isinstance(data, dict) or data.get("p") != PURPOSE or not isinstance(data.get("u"), int):
        raise invalid
    user = db.session.get(User, data["u"])
    if user is None or not user.is_enabled:
        raise invalid
    if data.get("e") != _address_digest(user.email):
        raise DomainError(
            _l("此确认链接是发给该账号以前使用的邮箱地址的,已失效。请登录后重新发送确认邮件。"), code="link_stale"
        )
    return user


def send_confirmation(user: User) -> bool:
    """Queue the confirmation e-mail (delivered after commit; to the outbox unless SMTP is set)."""
    token = make_token(user)
    context = None if has_request_context() else current_app.test_request_context("/")
    if context is not None:
        context.push()
    try:
        link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.confirm_email", token=token)
        days = int(current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]) // 86400
        # In the account's language when it chose one, else in the language of the page in use.
        with force_locale(user.locale) if user.locale else nullcontext():
            text = render_template("auth/emails/confirm.txt", user=user, link=link, days=days)
    finally:
        if context is not None:
            context.pop()
    subject, _sep, body = text.strip().partition("\n")
    return send_mail(user.email, subject.strip(), body.strip())
