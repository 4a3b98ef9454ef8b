"""Pages: a decision in force (updates, feedback, evaluations, adjustments) and the department's forms."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.models import Role
from portal.auth.permissions import authenticated, public, require, roles
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.decisions.queries import visible_decision_or_none
from portal.implementation import operations, queries
from portal.implementation.forms import (
    ActionForm,
    AdjustmentForm,
    EvaluationForm,
    FeedbackForm,
    RejectForm,
    RespondForm,
    UpdateForm,
)
from portal.implementation.models import Feedback

bp = Blueprint("implementation", __name__)

MANAGERS = roles(Role.OFFICIAL, Role.ADMIN)
DECIDERS = roles(Role.LEADER, Role.ADMIN)


def _decision(slug: str):
    decision = visible_decision_or_none(slug, current_user, full=True)
    if decision is None:
        abort(404)
    return decision


def _managed(slug: str):
    decision = _decision(slug)
    if not operations.can_report(current_user, decision):
        abort(403)
    return decision


def _render(decision, *, status=200, update_form=None, feedback_form=None, adjustment_form=None):
    reporter = operations.can_report(current_user, decision)
    return render_template(
        "implementation/page.html",
        decision=decision,
        in_force=operations.is_in_force(decision),
        suspended=operations.is_suspended(decision),
        updates=queries.updates_for(decision),
        feedback=queries.public_feedback(decision),
        counts=queries.feedback_counts(decision),
        evaluations=queries.evaluations_for(decision),
        adjustments=queries.adjustments_for(decision),
        proposal=queries.proposal_for(decision),
        can_report=reporter,
        can_evaluate=operations.can_evaluate(current_user, decision),
        can_adjust=operations.can_adjust(current_user, decision),
        update_form=update_form or UpdateForm(formdata=None),
        feedback_form=feedback_form or FeedbackForm(formdata=None),
        adjustment_form=adjustment_form or AdjustmentForm(formdata=None),
    ), status


def _refuse(form, field, exc: DomainError) -> None:
    db.session.rollback()
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


@bp.get("/decisions/<slug>/implementation")
@require(public)
def page(slug: str):
    return _render(_decision(slug))


@bp.post("/decisions/<slug>/implementation/updates")
@require(MANAGERS)
def post_update(slug: str):
    decision = _managed(slug)
    form = UpdateForm()
    if not form.validate_on_submit():
        return _render(decision, status=400, update_form=form)
    try:
        operations.post_update(current_user, decision, title=form.title.data, body=form.body.data)
    except DomainError as exc:
        _refuse(form, None, exc)
        return _render(_decision(slug), status=exc.status, update_form=form)
    db.session.commit()
    flash(_("执行情况已发布。"), "success")
    return redirect(url_for(".page", slug=slug) + "#updates")


@bp.post("/decisions/<slug>/feedback")
@require(authenticated)
def submit_feedback(slug: str):
    decision = _decision(slug)
    form = FeedbackForm()
    if not form.validate_on_submit():
        return _render(decision, status=400, feedback_form=form)
    try:
        feedback = operations.submit_feedback(
            current_user,
            decision,
            body=form.body.data,
            anonymous=form.anonymous.data,
            submission_token=form.token.data,
        )
    except DomainError as exc:
        _refuse(form, form.body, exc)
        return _render(_decision(slug), status=exc.status, feedback_form=form)
    db.session.commit()
    flash(_("反馈已提交,编号 %(no)s。审核后公开,承办单位将答复。", no=feedback.tracking_number), "success")
    return redirect(url_for(".receipt", tracking=feedback.tracking_number))


def _feedback(tracking: str) -> Feedback:
    found = queries.feedback_by_tracking(tracking)
    if found is None or not queries.can_see_feedback(current_user, found):
        abort(404)
    return found


@bp.get("/feedback/<tracking>")
@require(authenticated)
def receipt(tracking: str):
    feedback = _feedback(tracking)
    return render_template("implementation/receipt.html", feedback=feedback, decision=feedback.decision)


def _render_manage(decision, status=200, errors=None):
    return render_template(
        "implementation/manage.html",
        decision=decision,
        pending=queries.pending_feedback(decision),
        unanswered=queries.unanswered_feedback(decision),
        counts=queries.feedback_counts(decision),
        proposal=queries.proposal_for(decision),
        reject_form=RejectForm(formdata=None),
        respond_form=RespondForm(formdata=None),
        action_form=ActionForm(formdata=None),
        errors=errors or [],
    ), status


@bp.get("/decisions/<slug>/feedback/manage")
@require(MANAGERS)
def manage(slug: str):
    return _render_manage(_managed(slug))


def _managed_feedback(tracking: str) -> Feedback:
    feedback = queries.feedback_by_tracking(tracking)
    if feedback is None:
        abort(404)
    if not operations.can_report(current_user, feedback.decision):
        abort(403)
    return feedback


@bp.post("/feedback/<tracking>/publish")
@require(MANAGERS)
def publish(tracking: str):
    feedback = _managed_feedback(tracking)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.publish_feedback(current_user, feedback)  # DomainError: the error page with its message
    db.session.commit()
    flash(_("反馈 %(no)s 已公开。", no=feedback.tracking_number), "success")
    return redirect(url_for(".manage", slug=feedback.decision.slug))


@bp.post("/feedback/<tracking>/reject")
@require(MANAGERS)
def reject(tracking: str):
    feedback = _managed_feedback(tracking)
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_manage(feedback.decision, 400, [str(e) for e in form.reason.errors] or [_("请求无效。")])
    try:
        operations.reject_feedback(current_user, feedback, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        return _render_manage(_managed_feedback(tracking).decision, exc.status, [str(exc.message)])
    db.session.commit()
    flash(_("反馈 %(no)s 不予公开。", no=feedback.tracking_number), "success")
    return redirect(url_for(".manage", slug=feedback.decision.slug))


@bp.post("/feedback/<tracking>/respond")
@require(MANAGERS)
def respond(tracking: str):
    feedback = _managed_feedback(tracking)
    form = RespondForm()
    if not form.validate_on_submit():
        messages = [str(e) for errors in form.errors.values() for e in errors]
        return _render_manage(feedback.decision, 400, messages)
    try:
        operations.respond_feedback(current_user, feedback, disposition=form.disposition.data, body=form.body.data)
    except DomainError as exc:
        db.session.rollback()
        return _render_manage(_managed_feedback(tracking).decision, exc.status, [str(exc.message)])
    db.session.commit()
    flash(_("已答复反馈 %(no)s。", no=feedback.tracking_number), "success")
    return redirect(url_for(".manage", slug=feedback.decision.slug))


@bp.route("/decisions/<slug>/evaluation/new", methods=["GET", "POST"])
@require(MANAGERS)
def evaluate(slug: str):
    decision = _managed(slug)
    form = EvaluationForm()
    context = {
        "decision": decision,
        "form": form,
        "counts": queries.feedback_counts(decision),
        "allowed": operations.can_evaluate(current_user, decision),
    }
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("implementation/evaluation_form.html", **context), status
    try:
        operations.file_evaluation(current_user, decision, conclusion=form.conclusion.data, report=form.report.data)
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        context["decision"] = _managed(slug)
        return render_template("implementation/evaluation_form.html", **context), exc.status
    db.session.commit()
    flash(_("决策后评估报告已提交并公开。"), "success")
    return redirect(url_for(".page", slug=slug) + "#evaluations")


@bp.post("/decisions/<slug>/adjustments")
@require(DECIDERS)
def adjust(slug: str):
    decision = _decision(slug)
    form = AdjustmentForm()
    if not form.validate_on_submit():
        return _render(decision, status=400, adjustment_form=form)
    try:
        operations.adjust(current_user, decision, kind=form.kind.data, reason=form.reason.data)
    except DomainError as exc:
        _refuse(form, form.reason, exc)
        return _render(_decision(slug), status=exc.status, adjustment_form=form)
    db.session.commit()
    flash(_("已记录:%(kind)s。", kind=dict(form.kind.choices)[form.kind.data]), "success")
    return redirect(url_for(".page", slug=slug) + "#adjustments")
