"""Pages of the consultation: notice, comments, receipts, moderation, responses, report, exports."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.identity import confirmed_user
from portal.auth.models import Role
from portal.auth.permissions import authenticated, public, require, roles, signed_in
from portal.consultation import exports, intake, operations, queries
from portal.consultation.forms import (
    ActionForm,
    CommentForm,
    ExtendForm,
    OfflineCommentForm,
    OpenConsultationForm,
    RejectForm,
    ResponseForm,
    to_local_naive,
    to_utc,
)
from portal.consultation.models import (
    MIN_PERIOD,
    CommentGroup,
    CommentStatus,
    Consultation,
)
from portal.consultation.permissions import can_manage, can_see_identity, can_view_receipt, ensure_can_manage
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.i18n import chosen_locale
from portal.core.models import utcnow
from portal.core.ratelimits import throttled
from portal.core.utils import page_arg
from portal.decisions import permissions as decision_permissions

bp = Blueprint("consultation", __name__)

#: Officials run consultations; admins may step in. Object-level checks follow in each view.
staff = roles(Role.OFFICIAL, Role.ADMIN)
#: What the department's list can show (allowlist of the ``view`` parameter).
MANAGE_VIEWS = ("pending", "unanswered", "published", "rejected", "withdrawn")
MANAGE_VIEW_LABELS = {
    "pending": _l("待审核"),
    "unanswered": _l("待答复"),
    "published": _l("已公开"),
    "rejected": _l("未予公开"),
    "withdrawn": _l("已撤回"),
}
MANAGE_PER_PAGE = 20


def _decision_or_404(slug: str):
    decision = queries.decision_by_slug(slug)
    # A draft not yet public does not exist for anyone outside its department (IDOR by slug).
    if decision is None or not decision_permissions.can_view(current_user, decision):
        abort(404)
    return decision


def _consultation_or_404(decision) -> Consultation:
    consultation = queries.consultation_for(decision)
    if consultation is None:
        abort(404)
    return consultation


def _comment_or_404(tracking: str):
    comment = queries.comment_by_tracking(tracking)
    if comment is None:
        abort(404)
    return comment


def _group_or_404(group_id: int) -> CommentGroup:
    group = db.session.get(CommentGroup, group_id)
    if group is None:
        abort(404)
    return group


def _form_error(form, field, exc: DomainError) -> None:
    db.session.rollback()
    getattr(form, field).errors = [*getattr(form, field).errors, str(exc.message)]


def panel(decision, comment_form: CommentForm | None = None) -> dict:
    """What the consultation section of a decision page shows (a Jinja global; reads list parameters).

    Bad list parameters are ignored here (the section lives on pages it does not own); the
    page number is bounded; only known articles and sort orders are used.
    """
    consultation = queries.consultation_for(decision)
    context: dict = {"consultation": consultation, "can_manage": can_manage(current_user, decision)}
    if consultation is None:
        return context
    now = utcnow()
    articles = queries.current_articles(decision)
    anchors = {a.anchor for a in articles}
    article = request.args.get("carticle", "")
    if article != "whole" and article not in anchors:
        article = ""
    sort = request.args.get("csort", "oldest")
    if sort not in queries.SORTS:
        sort = "oldest"
    comments = queries.paged(
        queries.published_comments(consultation, article=article or None, sort=sort), page_arg("cpage")
    )
    form = comment_form
    if form is None and consultation.is_open(now) and current_user.is_authenticated:
        form = CommentForm(formdata=None)
        form.set_articles(articles)
        anchor = request.args.get("comment_on", "")
        if anchor in anchors:
            form.article.data = anchor
    context.update(
        now=now,
        status=consultation.status(now),
        time_left=consultation.time_left(now),
        articles=articles,
        article=article,
        sort=sort,
        comments=comments,
        sizes=queries.group_sizes(c.group_id for c in comments.items),
        stats=queries.adoption_stats(consultation),
        form=form,
        show_identity=can_see_identity(current_user, decision),
        page_url=_section_page_url,
    )
    return context


def paged_url(number: int, param: str = "page", anchor: str = "") -> str:
    """This page's URL with another page number, keeping the other list parameters (a Jinja global)."""
    # The URL's own parameters (the slug) win over query parameters of the same name.
    params = {k: v for k, v in request.args.items() if k not in (request.view_args or {})}
    params[param] = number
    return url_for(request.endpoint, **(request.view_args or {}), **params) + (f"#{anchor}" if anchor else "")


def _section_page_url(number: int) -> str:
    return paged_url(number, "cpage", "consultation-comments")


def _page(decision, comment_form=None, status: int = 200):
    return render_template("consultation/page.html", decision=decision, comment_form=comment_form), status


@bp.get("/decisions/<slug>/consultation")
@require(public)
def page(slug: str):
    decision = _decision_or_404(slug)
    return _page(decision)


@bp.route("/decisions/<slug>/consultation/open", methods=["GET", "POST"])
@require(staff)
def open_consultation(slug: str):
    decision = _decision_or_404(slug)
    ensure_can_manage(current_user, decision)
    if queries.consultation_for(decision) is not None:
        flash(_("该决策事项已经开展过公开征求意见。"), "info")
        return redirect(url_for(".manage", slug=slug))
    form = OpenConsultationForm()
    if request.method == "GET":
        start = to_local_naive(utcnow() + timedelta(minutes=5))
        form.starts_at.data = start
        form.ends_at.data = start + MIN_PERIOD
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("consultation/open.html", decision=decision, form=form), status
    try:
        operations.open_consultation(
            current_user,
            decision,
            starts_at=to_utc(form.starts_at.data),
            ends_at=to_utc(form.ends_at.data),
            emergency_reason=form.emergency_reason.data,
            notice=form.notice.data,
        )
    except DomainError as exc:
        target = "emergency_reason" if exc.code == "period_too_short" else "ends_at"
        if exc.code == "start_in_past":
            target = "starts_at"
        _form_error(form, target, exc)
        return render_template("consultation/open.html", decision=decision, form=form), exc.status
    db.session.commit()
    flash(_("已开始公开征求意见。"), "success")
    return redirect(url_for(".manage", slug=slug))


@bp.route("/decisions/<slug>/consultation/extend", methods=["GET", "POST"])
@require(staff)
def extend(slug: str):
    decision = _decision_or_404(slug)
    ensure_can_manage(current_user, decision)
    consultation = _consultation_or_404(decision)
    form = ExtendForm()
    if request.method == "GET":
        form.ends_at.data = to_local_naive(consultation.ends_at + timedelta(days=7))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("consultation/extend.html", decision=decision, c=consultation, form=form), status
    try:
        operations.extend_consultation(
            current_user, consultation, ends_at=to_utc(form.ends_at.data), reason=form.reason.data
        )
    except DomainError as exc:
        _form_error(form, "reason" if exc.code in ("reason_required", "too_long") else "ends_at", exc)
        return render_template("consultation/extend.html", decision=decision, c=consultation, form=form), exc.status
    db.session.commit()
    flash(_("征求意见期已延长,延长理由已公布。"), "success")
    return redirect(url_for(".manage", slug=slug))


@bp.post("/decisions/<slug>/consultation/comments")
@require(signed_in)
@throttled("comment")
def submit_comment(slug: str):
    # Under a surge this is the busiest page (issue 8). An accepted comment reads nothing here:
    # the account (enabled, still logged in), the decision's visibility and the period are
    # checked by the intake's transaction, once per batch (operations.submit_comments). The
    # database is read here only for a decision not known to be public, or to show the form again.
    consultation_id = queries.known_comment_target(slug)
    if consultation_id is None:
        user = confirmed_user()
        if not user.is_authenticated:
            return _login_again(slug)
        consultation_id = _comment_target_or_404(slug, user)
    # The app-wide CSRFProtect checked the form's token before this view, as for every POST: the
    # form need not check it again nor sign a fresh one (a tenth of the request's CPU, issue 8).
    # A form shown again gets its token field back (_comment_form_again).
    form = CommentForm(meta={"csrf": False}) if _csrf_checked_by_app() else CommentForm()
    # The article choices are only shown, never validated (validate_choice is off): build them
    # only when the form is shown again.
    if not form.validate_on_submit():
        return _comment_form_again(slug, form, 400)
    submission = operations.CommentSubmission(
        author_id=current_user.id,
        session_token=current_user.session_token,
        consultation_id=consultation_id,
        body=form.body.data,
        article_anchor=form.article.data,
        anonymous=form.anonymous.data,
        submission_token=form.submission_token.data,
        locale=chosen_locale(),
    )
    try:
        # Stored and committed, with its ledger entry and receipt, by this process's intake (intake.py).
        receipt = intake.submit(submission)
    except DomainError as exc:
        if exc.code == "login_required":
            return _login_again(slug)
        _form_error(form, "article" if exc.code == "unknown_article" else "body", exc)
        return _comment_form_again(slug, form, exc.status)
    # The receipt page says it was received (no flash message: the session cookie is not rewritten).
    return redirect(url_for(".receipt", tracking=receipt.tracking_number, submitted=1))


def _comment_target_or_404(slug: str, user) -> int:
    """The consultation of a decision ``user`` may see, remembered when the decision is public."""
    target = queries.comment_target(slug)
    if target is None:
        abort(404)
    decision, consultation, has_published_version = target
    # A draft not yet public does not exist for anyone outside its department (IDOR by slug).
    if consultation is None or not decision_permissions.can_view(
        user, decision, has_published_version=has_published_version
    ):
        abort(404)
    if decision_permissions.is_public(decision, has_published_version=has_published_version):
        queries.remember_comment_target(slug, consultation.id)
    return consultation.id


def _csrf_checked_by_app() -> bool:
    """True when CSRFProtect checks every POST before the view (the default; tests may turn it off)."""
    config = current_app.config
    return bool(config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True))


def _comment_form_again(slug: str, form: CommentForm, status: int):
    """The consultation page with the form and its messages (the account is read now, for the page)."""
    if not confirmed_user().is_authenticated:
        return _login_again(slug)
    if not hasattr(form, "csrf_token"):  # built without its token field: the page needs one
        shown = CommentForm()
        for name, field in form._fields.items():
            shown[name].errors = list(field.errors)
        form = shown
    decision = _decision_or_404(slug)
    form.set_articles(queries.current_articles(decision))
    return _page(decision, form, status)


def _login_again(slug: str):
    """The session names an account that was disabled or logged out everywhere since."""
    flash(_("您的登录已失效,请重新登录后再提交意见。"), "info")
    return redirect(url_for("auth.login", next=url_for(".page", slug=slug)))


@bp.get("/comments/<tracking>/receipt")
@require(authenticated)
def receipt(tracking: str):
    comment = _comment_or_404(tracking)
    if not can_view_receipt(current_user, comment):
        abort(403)
    consultation = comment.consultation
    notice = None
    if request.args.get("submitted") == "1" and comment.author_id == current_user.id:
        if comment.status == CommentStatus.UNCONFIRMED.value:
            notice = _(
                "您的意见已收到,编号 %(no)s,提交时间已记录。请先确认您的邮箱:确认后意见才进入审核并计入统计。",
                no=comment.tracking_number,
            )
        else:
            notice = _("您的意见已提交,编号 %(no)s。审核通过后将公开。", no=comment.tracking_number)
    return render_template(
        "consultation/receipt.html",
        notice=notice,
        comment=comment,
        decision=consultation.decision,
        consultation=consultation,
        can_withdraw=comment.author_id == current_user.id
        and comment.status
        in (CommentStatus.UNCONFIRMED.value, CommentStatus.PENDING.value, CommentStatus.PUBLISHED.value)
        and consultation.is_open(),
        form=ActionForm(formdata=None),
    )


@bp.post("/comments/<tracking>/withdraw")
@require(authenticated)
def withdraw(tracking: str):
    comment = _comment_or_404(tracking)
    if comment.author_id != current_user.id:
        abort(403)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    operations.withdraw_comment(current_user, comment)
    db.session.commit()
    flash(_("意见 %(no)s 已撤回。", no=comment.tracking_number), "success")
    return redirect(url_for(".receipt", tracking=comment.tracking_number))


@bp.get("/decisions/<slug>/consultation/report")
@require(public)
def report(slug: str):
    decision = _decision_or_404(slug)
    consultation = _consultation_or_404(decision)
    return render_template(
        "consultation/report.html",
        decision=decision,
        consultation=consultation,
        report=queries.build_report(consultation),
        status=consultation.status(),
    )


@bp.get("/decisions/<slug>/consultation/manage")
@require(staff)
def manage(slug: str):
    decision = _decision_or_404(slug)
    ensure_can_manage(current_user, decision)
    consultation = queries.consultation_for(decision)
    if consultation is None:
        return render_template("consultation/manage.html", decision=decision, consultation=None)
    view = request.args.get("view", "pending")
    if view not in MANAGE_VIEWS:
        abort(400)
    page_no = page_arg()
    groups = firsts = comments = None
    if view == "pending":
        groups = queries.pending_groups(consultation, page_no, MANAGE_PER_PAGE)
        firsts = queries.first_comments([g for g, _n in groups.items], CommentStatus.PENDING.value)
    elif view == "unanswered":
        groups = queries.unanswered_groups(consultation, page_no, MANAGE_PER_PAGE)
        firsts = queries.first_comments([g for g, _n in groups.items], CommentStatus.PUBLISHED.value)
    else:
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload, selectinload

        from portal.consultation.models import Comment

        stmt = (
            select(Comment)
            .options(joinedload(Comment.author), selectinload(Comment.response))
            .where(Comment.consultation_id == consultation.id, Comment.status == view)
            .order_by(Comment.id.desc())
        )
        comments = queries.paged(stmt, page_no, MANAGE_PER_PAGE)
    return render_template(
        "consultation/manage.html",
        decision=decision,
        consultation=consultation,
        view=view,
        views=MANAGE_VIEWS,
        groups=groups,
        firsts=firsts,
        comments=comments,
        counts=queries.status_counts(consultation),
        unanswered=queries.unanswered_count(consultation),
        status=consultation.status(),
        action_form=ActionForm(formdata=None),
        export_links={fmt: exports.make_token(current_user, consultation, fmt) for fmt in exports.FORMATS},
    )


@bp.get("/comments/<tracking>/moderate")
@require(staff)
def moderate(tracking: str):
    comment = _comment_or_404(tracking)
    ensure_can_manage(current_user, comment.consultation.decision)
    return _moderate_page(comment)


def _moderate_page(comment, reject_form=None, response_form=None, status: int = 200):
    if response_form is None:
        response_form = ResponseForm(formdata=None, obj=comment.response)
    return render_template(
        "consultation/moderate.html",
        comment=comment,
        decision=comment.consultation.decision,
        size=queries.group_sizes([comment.group_id]).get(comment.group_id, 1),
        action_form=ActionForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
        response_form=response_form,
    ), status


@bp.post("/comments/<tracking>/publish")
@require(staff)
def publish(tracking: str):
    comment = _comment_or_404(tracking)
    ensure_can_manage(current_user, comment.consultation.decision)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.publish_comment(current_user, comment)
    db.session.commit()
    flash(_("意见 %(no)s 已公开。", no=comment.tracking_number), "success")
    if request.form.get("back") == "moderate":
        return redirect(url_for(".moderate", tracking=tracking))
    return redirect(url_for(".manage", slug=comment.consultation.decision.slug))


@bp.post("/comments/<tracking>/reject")
@require(staff)
def reject(tracking: str):
    comment = _comment_or_404(tracking)
    ensure_can_manage(current_user, comment.consultation.decision)
    form = RejectForm()
    if not form.validate_on_submit():
        return _moderate_page(comment, reject_form=form, status=400)
    try:
        operations.reject_comment(current_user, comment, reason=form.reason.data, note=form.note.data)
    except DomainError as exc:
        _form_error(form, "reason", exc)
        return _moderate_page(comment, reject_form=form, status=exc.status)
    db.session.commit()
    flash(_("意见 %(no)s 不予公开。", no=comment.tracking_number), "success")
    return redirect(url_for(".manage", slug=comment.consultation.decision.slug))


@bp.post("/comments/<tracking>/respond")
@require(staff)
def respond(tracking: str):
    comment = _comment_or_404(tracking)
    ensure_can_manage(current_user, comment.consultation.decision)
    form = ResponseForm()
    if not form.validate_on_submit():
        return _moderate_page(comment, response_form=form, status=400)
    try:
        operations.respond(current_user, comment, disposition=form.disposition.data, reason=form.reason.data)
    except DomainError as exc:
        _form_error(form, "reason", exc)
        return _moderate_page(comment, response_form=form, status=exc.status)
    db.session.commit()
    flash(_("已答复意见 %(no)s,并通知提交人。", no=comment.tracking_number), "success")
    return redirect(url_for(".manage", slug=comment.consultation.decision.slug, view="unanswered"))


def _group_page(group, response_form=None, status: int = 200):
    consultation = db.session.get(Consultation, group.consultation_id)
    return render_template(
        "consultation/group.html",
        group=group,
        decision=consultation.decision,
        consultation=consultation,
        comments=queries.paged(_group_stmt(group), page_arg(), 50),
        sizes=queries.group_sizes([group.id]),
        counts=_group_counts(group),
        action_form=ActionForm(formdata=None),
        response_form=response_form or ResponseForm(formdata=None),
    ), status


def _group_stmt(group):
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload, selectinload

    from portal.consultation.models import Comment

    return (
        select(Comment)
        .options(joinedload(Comment.author), selectinload(Comment.response))
        .where(Comment.group_id == group.id, Comment.status != CommentStatus.UNCONFIRMED.value)
        .order_by(Comment.id)
    )


def _group_counts(group) -> dict[str, int]:
    from sqlalchemy import func, select

    from portal.consultation.models import Comment

    rows = db.session.execute(
        select(Comment.status, func.count(Comment.id))
        .where(Comment.group_id == group.id, Comment.status != CommentStatus.UNCONFIRMED.value)
        .group_by(Comment.status)
    ).all()
    counts = {s.value: 0 for s in CommentStatus if s is not CommentStatus.UNCONFIRMED}
    counts.update(dict(rows))
    return counts


@bp.get("/comment-groups/<int:group_id>")
@require(staff)
def group(group_id: int):
    found = _group_or_404(group_id)
    ensure_can_manage(current_user, db.session.get(Consultation, found.consultation_id).decision)
    return _group_page(found)


@bp.post("/comment-groups/<int:group_id>/publish")
@require(staff)
def publish_group(group_id: int):
    found = _group_or_404(group_id)
    consultation = db.session.get(Consultation, found.consultation_id)
    ensure_can_manage(current_user, consultation.decision)
    if not ActionForm().validate_on_submit():
        abort(400)
    n = operations.publish_group(current_user, found)
    db.session.commit()
    flash(_("已公开这一组的 %(n)s 条意见。", n=n), "success")
    return redirect(url_for(".manage", slug=consultation.decision.slug))


@bp.post("/comment-groups/<int:group_id>/respond")
@require(staff)
def respond_group(group_id: int):
    found = _group_or_404(group_id)
    consultation = db.session.get(Consultation, found.consultation_id)
    ensure_can_manage(current_user, consultation.decision)
    form = ResponseForm()
    if not form.validate_on_submit():
        return _group_page(found, response_form=form, status=400)
    try:
        n = operations.respond_group(current_user, found, disposition=form.disposition.data, reason=form.reason.data)
    except DomainError as exc:
        _form_error(form, "reason", exc)
        return _group_page(found, response_form=form, status=exc.status)
    db.session.commit()
    flash(_("已答复这一组的 %(n)s 条意见。", n=n), "success")
    return redirect(url_for(".manage", slug=consultation.decision.slug, view="unanswered"))


@bp.route("/decisions/<slug>/consultation/offline", methods=["GET", "POST"])
@require(staff)
def offline(slug: str):
    decision = _decision_or_404(slug)
    ensure_can_manage(current_user, decision)
    consultation = _consultation_or_404(decision)
    form = OfflineCommentForm()
    form.set_choices(queries.current_articles(decision))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("consultation/offline.html", decision=decision, form=form), status
    try:
        comment = operations.enter_offline_comment(
            current_user,
            consultation,
            channel=form.channel.data,
            sender_name=form.sender_name.data,
            body=form.body.data,
            article_anchor=form.article.data,
            anonymous=form.anonymous.data,
            publish=form.publish.data,
        )
    except DomainError as exc:
        _form_error(form, "article" if exc.code == "unknown_article" else "body", exc)
        return render_template("consultation/offline.html", decision=decision, form=form), exc.status
    db.session.commit()
    flash(_("已录入意见,编号 %(no)s。", no=comment.tracking_number), "success")
    return redirect(url_for(".offline", slug=slug))


@bp.get("/decisions/<slug>/consultation/export.<fmt>")
@require(staff)
def export(slug: str, fmt: str):
    decision = _decision_or_404(slug)
    if fmt not in exports.FORMATS:
        abort(404)
    ensure_can_manage(current_user, decision)
    consultation = _consultation_or_404(decision)
    if not exports.check_token(request.args.get("token", ""), current_user, consultation, fmt):
        abort(403)
    comments = queries.all_comments_for_export(consultation)
    stamp = utcnow().strftime("%Y%m%d")
    filename = f"{decision.slug}-comments-{stamp}.{fmt}"
    if fmt == "csv":
        body, mimetype = exports.to_csv(comments), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(comments, decision.title)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store, private"
    return response
