"""The notification list, marking read, and following decisions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.auth.permissions import authenticated, require
from portal.consultation.forms import ActionForm
from portal.consultation.queries import decision_by_slug
from portal.core.extensions import db
from portal.core.utils import page_arg, safe_next
from portal.decisions.permissions import can_view
from portal.notifications import operations
from portal.notifications.models import Follow, Notification

bp = Blueprint("notifications", __name__)

PER_PAGE = 20


@bp.get("/notifications")
@require(authenticated)
def index():
    stmt = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    pagination = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, error_out=False)
    follows = db.session.scalars(
        select(Follow).where(Follow.user_id == current_user.id).order_by(Follow.created_at.desc()).limit(100)
    ).all()
    return render_template(
        "notifications/index.html",
        pagination=pagination,
        follows=follows,
        unread=operations.unread_count(current_user),
        form=ActionForm(formdata=None),
    )


@bp.post("/notifications/read")
@require(authenticated)
def mark_all_read():
    if not ActionForm().validate_on_submit():
        abort(400)
    n = operations.mark_all_read(current_user)
    db.session.commit()
    flash(_("已将 %(n)s 条通知标为已读。", n=n), "success")
    return redirect(url_for(".index"))


@bp.post("/notifications/<int:notification_id>/open")
@require(authenticated)
def open_notification(notification_id: int):
    """Mark one notification read and go to what it is about."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.mark_read(current_user, notification)
    db.session.commit()
    return redirect(safe_next(notification.url, url_for(".index")))


def _decision_or_404(slug: str):
    decision = decision_by_slug(slug)
    # Following a draft not yet public would confirm it exists (IDOR by slug): 404 like any unknown slug.
    if decision is None or not can_view(current_user, decision):
        abort(404)
    return decision


@bp.post("/decisions/<slug>/follow")
@require(authenticated)
def follow(slug: str):
    decision = _decision_or_404(slug)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    operations.follow(current_user, decision)
    db.session.commit()
    flash(_("已关注。草案有新版本、开始征求意见、截止前三天以及您的意见有答复时,我们会通知您。"), "success")
    return redirect(safe_next(form_next(), operations.decision_path(decision)))


@bp.post("/decisions/<slug>/unfollow")
@require(authenticated)
def unfollow(slug: str):
    decision = _decision_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.unfollow(current_user, decision)
    db.session.commit()
    flash(_("已取消关注。"), "success")
    return redirect(safe_next(form_next(), operations.decision_path(decision)))


def form_next() -> str | None:
    from flask import request

    return request.form.get("next")
