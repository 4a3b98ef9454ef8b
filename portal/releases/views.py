"""Pages: releases (list, one release, earlier texts, the spokesperson's forms) and the publication
of a decision (the form for the department, the public page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.models import Role
from portal.auth.permissions import public, require, roles
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.markdown import render_markdown
from portal.core.utils import page_arg
from portal.decisions.models import Decision
from portal.decisions.queries import visible_decision_or_none
from portal.releases import operations, queries
from portal.releases.forms import (
    ActionForm,
    CorrectionForm,
    PublicationForm,
    ReleaseForm,
    ScheduleForm,
    to_local_naive,
    to_utc,
)
from portal.releases.models import Release, ReleaseKind

bp = Blueprint("releases", __name__)

SPOKESPERSONS = roles(Role.SPOKESPERSON)
DRAFT_READERS = roles(Role.SPOKESPERSON, Role.AUDITOR, Role.ADMIN)
MANAGERS = roles(Role.OFFICIAL, Role.ADMIN)


@bp.before_request
def _publish_due():
    """Scheduled releases go out by the clock; the first page view after their time records it."""
    if request.method in ("GET", "HEAD"):
        operations.observe_due_releases()


def _release(release_id: int) -> Release:
    found = queries.release_or_none(release_id, current_user)
    if found is None:
        abort(404)
    return found


def _decision_from_slug(slug: str | None) -> Decision | None:
    """The decision named in a form, or a DomainError that says what is wrong."""
    slug = (slug or "").strip()
    if not slug:
        return None
    decision = visible_decision_or_none(slug, current_user)
    if decision is None:
        raise DomainError(_("找不到网址名称为“%(slug)s”的已公开决策事项。", slug=slug[:120]), code="unknown_decision")
    return decision


def _form_values(form: ReleaseForm) -> dict:
    return {
        "kind": form.kind.data,
        "title": form.title.data,
        "summary": form.summary.data or "",
        "body": form.body.data,
        "public_adoption": form.public_adoption.data or "",
        "expert_adoption": form.expert_adoption.data or "",
    }


FIELD_FOR_CODE = {
    "unknown_decision": "decision",
    "decision_required": "decision",
    "decision_not_published": "decision",
    "decision_not_public": "decision",
    "adoption_required": "public_adoption",
    "bad_kind": "kind",
}


def _refuse(form, exc: DomainError) -> None:
    db.session.rollback()
    name = FIELD_FOR_CODE.get(exc.code)
    if name and name in form:
        form[name].errors = [*form[name].errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


# Public pages ----------------------------------------------------------------------------------


@bp.get("/releases")
@require(public)
def index():
    kind = request.args.get("kind", "")
    if kind not in ReleaseKind._value2member_map_:
        kind = ""
    pagination = db.paginate(
        queries.public_releases(kind=kind or None), page=page_arg(), per_page=queries.PER_PAGE, error_out=False
    )
    return render_template(
        "releases/index.html",
        pagination=pagination,
        kind=kind,
        kinds=queries.kinds(),
        can_write=operations.can_write_releases(current_user),
        can_see_drafts=operations.can_see_drafts(current_user),
    )


@bp.get("/releases/<int:release_id>")
@require(public)
def detail(release_id: int):
    release = _release(release_id)
    return render_template(
        "releases/detail.html",
        release=release,
        text=render_markdown(release.current_text),
        can_write=operations.can_write_releases(current_user),
        published=release.is_published(),
        schedule_form=ScheduleForm(formdata=None),
        action_form=ActionForm(formdata=None),
    )


@bp.get("/releases/<int:release_id>/texts/<int:number>")
@require(public)
def text(release_id: int, number: int):
    release = _release(release_id)
    found = release.text_number(number)
    if found is None or not release.is_published():
        abort(404)
    correction = next((c for c in release.corrections if c.number == number), None)
    return render_template(
        "releases/text.html", release=release, number=number, correction=correction, text=render_markdown(found)
    )


# The spokesperson's pages ---------------------------------------------------------------------


@bp.get("/releases/manage")
@require(DRAFT_READERS)
def manage():
    pagination = db.paginate(queries.unpublished_releases(), page=page_arg(), per_page=50, error_out=False)
    return render_template(
        "releases/manage.html", pagination=pagination, can_write=operations.can_write_releases(current_user)
    )


def _render_form(form, release=None, status=200):
    return render_template("releases/form.html", form=form, release=release), status


@bp.route("/releases/new", methods=["GET", "POST"])
@require(SPOKESPERSONS)
def create():
    form = ReleaseForm()
    if request.method == "GET":
        slug = (request.args.get("decision") or "").strip()[:120]
        kind = request.args.get("kind", "")
        if kind in ReleaseKind._value2member_map_:
            form.kind.data = kind
        decision = visible_decision_or_none(slug, current_user) if slug else None
        if decision is not None:
            form.decision.data = decision.slug
            if form.kind.data == ReleaseKind.INTERPRETATION.value:
                publication = queries.publication_for(decision)
                form.title.data = _("《%(title)s》政策解读", title=publication.title if publication else decision.title)
                if publication is not None:
                    form.public_adoption.data = publication.public_adoption
                    form.expert_adoption.data = publication.expert_adoption
                else:
                    form.public_adoption.data, form.expert_adoption.data = queries.adoption_prefill(decision)
        return _render_form(form)
    if not form.validate_on_submit():
        return _render_form(form, status=400)
    try:
        decision = _decision_from_slug(form.decision.data)
        release = operations.create_release(current_user, decision=decision, **_form_values(form))
    except DomainError as exc:
        _refuse(form, exc)
        return _render_form(form, status=exc.status)
    db.session.commit()
    flash(_("稿件已保存为草稿。核对后可立即发布或设置定时发布。"), "success")
    return redirect(url_for(".detail", release_id=release.id))


@bp.route("/releases/<int:release_id>/edit", methods=["GET", "POST"])
@require(SPOKESPERSONS)
def edit(release_id: int):
    release = _release(release_id)
    release.ensure_editable()  # a published release: the 409 page says to append a correction
    form = ReleaseForm(obj=release)
    if request.method == "GET":
        form.decision.data = release.decision.slug if release.decision else ""
        return _render_form(form, release)
    if not form.validate_on_submit():
        return _render_form(form, release, 400)
    try:
        decision = _decision_from_slug(form.decision.data)
        operations.update_release(current_user, release, decision=decision, **_form_values(form))
    except DomainError as exc:
        _refuse(form, exc)
        return _render_form(form, _release(release_id), exc.status)
    db.session.commit()
    flash(_("稿件已保存。"), "success")
    return redirect(url_for(".detail", release_id=release_id))


def _render_detail_error(release: Release, *, schedule_form=None, status=400):
    return render_template(
        "releases/detail.html",
        release=release,
        text=render_markdown(release.current_text),
        can_write=True,
        published=release.is_published(),
        schedule_form=schedule_form or ScheduleForm(formdata=None),
        action_form=ActionForm(formdata=None),
    ), status


@bp.post("/releases/<int:release_id>/schedule")
@require(SPOKESPERSONS)
def schedule(release_id: int):
    release = _release(release_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _render_detail_error(release, schedule_form=form)
    try:
        try:
            scheduled_at = to_utc(form.scheduled_at.data)
        except (OverflowError, ValueError) as exc:  # a year like 0001 has no UTC equivalent
            raise DomainError(_("发布时间无效,请重新填写。"), code="bad_time") from exc
        operations.schedule_release(current_user, release, scheduled_at=scheduled_at)
    except DomainError as exc:
        db.session.rollback()
        form.scheduled_at.errors = [*form.scheduled_at.errors, str(exc.message)]
        return _render_detail_error(_release(release_id), schedule_form=form, status=exc.status)
    db.session.commit()
    when = to_local_naive(release.scheduled_at).strftime("%Y-%m-%d %H:%M")
    flash(_("已设置定时发布:%(when)s(北京时间)。到时自动发布。", when=when), "success")
    return redirect(url_for(".detail", release_id=release_id))


@bp.post("/releases/<int:release_id>/unschedule")
@require(SPOKESPERSONS)
def unschedule(release_id: int):
    release = _release(release_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.unschedule_release(current_user, release)  # DomainError: the 409 page with its message
    db.session.commit()
    flash(_("已取消定时发布,稿件回到草稿状态。"), "success")
    return redirect(url_for(".detail", release_id=release_id))


@bp.post("/releases/<int:release_id>/publish")
@require(SPOKESPERSONS)
def publish(release_id: int):
    release = _release(release_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    operations.publish_release(current_user, release)  # DomainError: the error page with its message
    db.session.commit()
    flash(_("稿件已发布。"), "success")
    return redirect(url_for(".detail", release_id=release_id))


@bp.route("/releases/<int:release_id>/correct", methods=["GET", "POST"])
@require(SPOKESPERSONS)
def correct(release_id: int):
    release = _release(release_id)
    if not release.is_published():
        raise DomainError(_("稿件尚未发布,可以直接修改,无须更正。"), code="not_published", status=409)
    form = CorrectionForm()
    if request.method == "GET":
        form.body.data = release.current_text
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("releases/correct.html", form=form, release=release), status
    try:
        operations.correct_release(current_user, release, note=form.note.data, body=form.body.data)
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        return render_template("releases/correct.html", form=form, release=_release(release_id)), exc.status
    db.session.commit()
    flash(_("更正已发布,原文仍可查阅。"), "success")
    return redirect(url_for(".detail", release_id=release_id))


# Publication of a decision ----------------------------------------------------------------------


def _decision(slug: str) -> Decision:
    decision = visible_decision_or_none(slug, current_user, full=True)
    if decision is None:
        abort(404)
    return decision


@bp.get("/decisions/<slug>/publication")
@require(public)
def publication(slug: str):
    decision = _decision(slug)
    found = queries.publication_for(decision)
    if found is None:
        abort(404)
    return render_template(
        "releases/publication.html",
        decision=decision,
        publication=found,
        text=render_markdown(found.final_text),
        links=queries.publication_links(decision),
        releases=queries.releases_for_decision(decision),
    )


@bp.route("/decisions/<slug>/publication/new", methods=["GET", "POST"])
@require(MANAGERS)
def publish_decision(slug: str):
    decision = _decision(slug)
    if not operations.can_publish_decision(current_user, decision):
        abort(403)
    if queries.publication_for(decision) is not None:
        return redirect(url_for(".publication", slug=slug))
    form = PublicationForm()
    if request.method == "GET":
        form.title.data = decision.title.replace("(征求意见稿)", "").replace("（征求意见稿）", "")
        form.document_number.data = decision.document_number or ""
        version = decision.current_version
        form.final_text.data = version.body if version else ""
        form.public_adoption.data, form.expert_adoption.data = queries.adoption_prefill(decision)
    context = {"decision": decision, "form": form, "links": queries.publication_links(decision)}
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("releases/publication_form.html", **context), status
    try:
        operations.publish_decision(
            current_user,
            decision,
            title=form.title.data,
            document_number=form.document_number.data,
            final_text=form.final_text.data,
            effective_date=form.effective_date.data,
            public_adoption=form.public_adoption.data,
            expert_adoption=form.expert_adoption.data,
        )
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        context["decision"] = _decision(slug)
        return render_template("releases/publication_form.html", **context), exc.status
    db.session.commit()
    flash(_("决定已公布,并已发布责任记录检查点。"), "success")
    return redirect(url_for(".publication", slug=slug))
