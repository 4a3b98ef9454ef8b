"""Follow and unfollow; create notifications (in the site and by e-mail); send due reminders.

Following is a personal preference, not a step of the procedure, so it is not recorded in the
public ledger (who follows what is nobody else's business). Notifications never break the
action that causes them: rows are added in the same transaction, mail goes after commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import delete, select, update

from portal.auth.models import User
from portal.core.extensions import db
from portal.core.i18n import local_time
from portal.core.mail import send_mail
from portal.core.models import utcnow
from portal.decisions.models import Decision
from portal.notifications.models import KINDS, SUBJECTS, Follow, Notification

log = logging.getLogger("portal.notifications")


def path_for(endpoint: str, **values) -> str:
    """A local URL path, also outside a request (CLI, seed)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


def render_text(template: str, **context) -> str:
    """Render a text (e-mail) template, also outside a request (CLI, seed)."""
    if has_request_context():
        return render_template(template, **context)
    with current_app.test_request_context("/"):
        return render_template(template, **context)


#: app.extensions key: the gettext callables of ``render_mail``, by catalogue.
_MAIL_GETTEXT = "portal_mail_gettext"


def render_mail(template: str, **context) -> str:
    """A mail template, in the current locale, rendered with only what it is given.

    ``render_text`` goes through Flask's ``render_template`` (context processors, signals), and
    each ``_()`` through Flask-Babel's search for the current catalogue; a receipt per comment made
    that a sixth of the intake writer's time (issue 8). This renders the template with the app's
    environment and hands it ``gettext`` and ``ngettext`` bound to the current catalogue (the
    template's context comes before the environment's globals). Mail templates use what they are
    passed, the environment's filters and globals (``url_for``) and ``_``: nothing from the page
    context processors.
    """
    translations = get_translations()
    cache = current_app.extensions.setdefault(_MAIL_GETTEXT, {})
    found = cache.get(id(translations))
    if found is None or found[0] is not translations:
        if len(cache) > 32:
            cache.clear()
        found = cache[id(translations)] = (translations, _bound_gettext(translations))
    compiled = current_app.jinja_env.get_template(template)
    if has_request_context():
        return compiled.render(**found[1], **context)
    with current_app.test_request_context("/"):  # url_for in a template needs one
        return compiled.render(**found[1], **context)


def _bound_gettext(translations) -> dict:
    """Jinja's "newstyle" gettext and ngettext (as Flask-Babel installs them) for one catalogue."""

    @pass_context
    def gettext(context, string: str, **variables) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (our own catalogue, as Jinja's i18n extension does)
        return text % variables

    @pass_context
    def ngettext(context, singular: str, plural: str, number: int, **variables) -> str:
        variables.setdefault("num", number)
        text = translations.ungettext(singular, plural, number)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (our own catalogue, as Jinja's i18n extension does)
        return text % variables

    return {"gettext": gettext, "ngettext": ngettext}


def absolute(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def decision_path(decision: Decision) -> str:
    """The public page of a decision: the catalogue's page when it exists, else its consultation page."""
    for endpoint in ("decisions.detail", "consultation.page"):
        if endpoint in current_app.view_functions:
            return path_for(endpoint, slug=decision.slug)
    return "/"


def format_local(moment: datetime) -> str:
    """A time as shown in notifications (portal timezone, locale-neutral digits)."""
    return local_time(moment, "yyyy-MM-dd HH:mm")


def is_following(user, decision: Decision) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(Follow, (user.id, decision.id)) is not None


def follow(user: User, decision: Decision) -> Follow:
    """Follow ``decision`` (idempotent)."""
    found = db.session.get(Follow, (user.id, decision.id))
    if found is None:
        found = Follow(user_id=user.id, decision_id=decision.id)
        db.session.add(found)
        db.session.flush()
    return found


def unfollow(user: User, decision: Decision) -> None:
    """Stop following ``decision`` (idempotent)."""
    db.session.execute(delete(Follow).where(Follow.user_id == user.id, Follow.decision_id == decision.id))
    db.session.flush()


def notify(
    user: User,
    kind: str,
    *,
    decision: Decision | None,
    url: str,
    dedupe_key: str | None = None,
    email: bool = True,
    **params,
) -> Notification | None:
    """One notification for ``user`` in the site and by e-mail; None when already sent (dedupe_key)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if dedupe_key is not None:
        exists = db.session.scalar(
            select(Notification.id).where(Notification.user_id == user.id, Notification.dedupe_key == dedupe_key)
        )
        if exists is not None:
            return None
    notification = Notification(
        user_id=user.id,
        kind=kind,
        decision_id=decision.id if decision else None,
        params=json.dumps(params, ensure_ascii=False, sort_keys=True),
        url=url[:300],
        dedupe_key=dedupe_key,
    )
    db.session.add(notification)
    db.session.flush()
    if email and user.is_enabled:
        _mail(user, notification)
    return notification


def _mail(user: User, notification: Notification) -> None:
    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    try:
        with force_locale(locale):
            subject = str(SUBJECTS.get(notification.kind, notification.kind))
            body = render_text(
                "notifications/emails/notification.txt",
                user=user,
                message=notification.message,
                link=absolute(notification.url),
                settings_link=absolute(path_for("notifications.index")),
            )
    except Exception:  # a template problem must not undo the user's action
        log.exception("notification mail for user %s not built", user.id)
        return
    send_mail(user.email, subject, body)


def followers(decision: Decision) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Follow, Follow.user_id == User.id)
            .where(Follow.decision_id == decision.id, User.is_enabled.is_(True))
            .order_by(User.id)
        )
    )


def notify_followers(
    decision: Decision,
    kind: str,
    *,
    url: str | None = None,
    exclude: Iterable[int] = (),
    dedupe_key: str | None = None,
    **params,
) -> int:
    """Notify everyone following ``decision``; returns how many were notified.

    ``params`` fill the sentence of ``kind`` (``title`` is added). Call it from the operation
    that causes the event (opening a consultation, publishing a version), inside its transaction.
    """
    skip = set(exclude)
    params.setdefault("title", decision.title)
    target = url or decision_path(decision)
    count = 0
    for user in followers(decision):
        if user.id in skip:
            continue
        if notify(user, kind, decision=decision, url=target, dedupe_key=dedupe_key, **params) is not None:
            count += 1
    return count


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_all_read(user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.flush()
    return result.rowcount or 0


def mark_read(user: User, notification: Notification) -> None:
    if notification.user_id != user.id:
        from flask_babel import lazy_gettext as _l

        from portal.core.errors import NotAllowed

        raise NotAllowed(_l("这不是您的通知。"))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def send_due(now: datetime | None = None) -> list[str]:
    """Send the reminders that are due: three days before a followed consultation closes.

    Run by ``flask notifications send-due`` (e.g. hourly from cron); each reminder goes once.
    """
    from portal.consultation.models import REMINDER_BEFORE, Consultation

    now = now or utcnow()
    lines: list[str] = []
    due = db.session.scalars(
        select(Consultation)
        .where(
            Consultation.reminder_sent_at.is_(None),
            Consultation.starts_at <= now,
            Consultation.ends_at > now,
            Consultation.ends_at <= now + REMINDER_BEFORE,
        )
        .order_by(Consultation.id)
    ).all()
    for consultation in due:
        decision = consultation.decision
        sent = notify_followers(
            decision,
            "consultation_closing",
            dedupe_key=f"closing:{consultation.id}:{consultation.ends_at:%Y%m%d%H%M}",
            ends=format_local(consultation.ends_at),
        )
        consultation.reminder_sent_at = now
        lines.append(f"{decision.slug}: reminded {sent} follower(s)")
    db.session.flush()
    return lines
