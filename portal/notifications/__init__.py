"""Following decisions, in-site notifications and their e-mails."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import gettext as _


class NotificationsLabel:
    """The navigation label "通知", with the unread count, worked out when the menu is drawn."""

    def __str__(self) -> str:
        from flask_login import current_user

        n = unread_for_request(current_user)
        return _("通知(%(n)s)", n=n) if n else _("通知")


def unread_for_request(user) -> int:
    """Unread notifications of ``user``, counted once per request."""
    from portal.notifications.operations import unread_count

    if "portal_unread" not in g:
        g.portal_unread = unread_count(user)
    return g.portal_unread


def init_app(app: Flask) -> None:
    """Register the pages, the follow button on decision pages, the unread count and the CLI."""
    from flask_login import current_user

    from portal.auth.permissions import authenticated
    from portal.core.hooks import add_decision_section, add_listener, add_nav_link
    from portal.notifications import models  # noqa: F401
    from portal.notifications.cli import notifications_cli
    from portal.notifications.operations import is_following
    from portal.notifications.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(notifications_cli)
    add_listener(app, "version.published", _version_published)
    add_decision_section(app, 5, "notifications/_follow.html")
    add_nav_link(app, 90, "notifications.index", NotificationsLabel(), authenticated)
    app.jinja_env.globals["is_following"] = is_following

    @app.context_processor
    def unread_notifications():
        # A callable, so pages that do not show it cost no query.
        return {"unread_notification_count": lambda: unread_for_request(current_user)}


def _version_published(*, decision, version, actor) -> None:
    """Followers hear of every new published version (issue 3, point 8)."""
    from portal.notifications.operations import notify_followers

    exclude = [actor.id] if getattr(actor, "id", None) else []
    notify_followers(
        decision, "version_published", number=version.number, exclude=exclude, dedupe_key=f"version:{version.id}"
    )
