"""Pages: the catalogue, a decision, its versions and diff, the officials' forms, attachment downloads."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from portal.auth.models import Department, Role, User
from portal.auth.permissions import can_manage_department, public, require, roles
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.utils import page_arg
from portal.decisions import operations, permissions, queries
from portal.decisions.attachments import Attachment, can_download, content_disposition, max_bytes, storage_path
from portal.decisions.diff import diff_texts
from portal.decisions.forms import (
    AdvanceForm,
    AttachmentForm,
    DecisionForm,
    PublishForm,
    VersionForm,
    WithdrawForm,
)
from portal.decisions.models import CATEGORIES, ORDER, STAGE_LABELS, Decision, Stage
from portal.decisions.operations import GateClosed

bp = Blueprint("decisions", __name__)

MANAGERS = roles(Role.OFFICIAL, Role.ADMIN)
MOVERS = roles(Role.OFFICIAL, Role.LEADER, Role.ADMIN)
STAFF = roles(Role.OFFICIAL, Role.LEADER, Role.AUDITOR, Role.ADMIN)


def _load(slug: str, *, full: bool = False) -> Decision:
    """The decision if this user may see it; 404 otherwise (a draft not yet public does not exist for others)."""
    decision = queries.visible_decision_or_none(slug, current_user, full=full)
    if decision is None:
        abort(404)
    return decision


def _load_managed(slug: str, *, full: bool = False) -> Decision:
    decision = _load(slug, full=full)
    if not permissions.can_manage(current_user, decision):
        abort(403)
    return decision


def _filter_context(filters: queries.CatalogueFilters) -> dict:
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    first = db.session.scalar(select(func.min(Decision.created_at)))
    newest_year = queries.utc_now_year()
    oldest_year = max(queries.YEAR_MIN, first.year if first else newest_year)
    return {
        "filters": filters,
        "departments": departments,
        **_choice_labels(str(get_locale())),
        "years": list(range(newest_year, oldest_year - 1, -1)),
    }


@lru_cache(maxsize=8)
def _choice_labels(locale: str) -> dict:
    """Translated option labels of the filter form, computed once per language."""
    with force_locale(locale):
        return {
            "stages": [(s.value, str(STAGE_LABELS[s])) for s in Stage],
            "categories": [(code, str(label)) for code, label in CATEGORIES.items()],
            "sorts": [(code, str(label)) for code, label in queries.SORTS.items()],
        }


# Catalogue.


@bp.get("/decisions")
@require(public)
def index():
    filters = queries.read_filters(request.args)
    stmt = queries.catalogue(
        stage=filters.stage,
        department=filters.department,
        category=filters.category,
        year=filters.year,
        sort=filters.sort,
    )
    pagination = db.paginate(stmt, page=page_arg(), per_page=queries.PER_PAGE, error_out=False)
    return render_template("decisions/index.html", pagination=pagination, **_filter_context(filters))


@bp.get("/decisions/mine")
@require(STAFF)
def mine():
    filters = queries.read_filters(request.args)
    everyone = current_user.has_role(*permissions.INSIDER_ROLES)
    department_ids = None if everyone else [d.id for d in current_user.departments]
    stmt = queries.catalogue(
        stage=filters.stage,
        department=filters.department,
        category=filters.category,
        year=filters.year,
        sort=filters.sort,
        public_only=False,
        department_ids=department_ids,
    )
    pagination = db.paginate(stmt, page=page_arg(), per_page=queries.PER_PAGE, error_out=False)
    public_ids = queries.public_ids([d.id for d in pagination.items])
    return render_template(
        "decisions/mine.html",
        pagination=pagination,
        public_ids=public_ids,
        can_create=permissions.can_create(current_user),
        **_filter_context(filters),
    )


# Create and edit.


def _department_choices(user) -> list[Department]:
    if user.has_role(Role.ADMIN):
        return list(db.session.scalars(select(Department).where(Department.active).order_by(Department.code)))
    return [d for d in user.departments if d.active and can_manage_department(user, d)]


def _responsible_choices(departments: list[Department]) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for department in departments:
        for member in department.members:
            seen.setdefault(member.id, f"{member.display_name}({department.name})")
    return list(seen.items())


def _users(ids) -> list[User]:
    ids = [i for i in (ids or []) if isinstance(i, int)]
    return list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []


FIELD_FOR_CODE = {
    "invalid_title": "title",
    "invalid_slug": "slug",
    "duplicate_slug": "slug",
    "slug_locked": "slug",
    "invalid_category": "category",
    "invalid_responsible": "responsible",
    "inactive_department": "department",
}


def _attach_error(form, exc: DomainError) -> str | None:
    """Put the message on the field it concerns; returns it when it concerns the whole form."""
    name = FIELD_FOR_CODE.get(exc.code)
    if name and name in form:
        form[name].errors = [*form[name].errors, str(exc.message)]
        return None
    return str(exc.message)


@bp.route("/decisions/new", methods=["GET", "POST"])
@require(MANAGERS)
def create():
    departments = _department_choices(current_user)
    if not departments:
        abort(403)
    form = DecisionForm()
    form.department.choices = [(d.code, d.name) for d in departments]
    form.responsible.choices = _responsible_choices(departments)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("decisions/form.html", form=form, decision=None), status
    department = next(d for d in departments if d.code == form.department.data)
    try:
        decision = operations.create_decision(
            current_user,
            department=department,
            title=form.title.data,
            slug=form.slug.data or "",
            summary=form.summary.data or "",
            category=form.category.data,
            legal_basis=form.legal_basis.data or "",
            document_number=form.document_number.data or None,
            affects_stability=form.affects_stability.data,
            responsible=_users(form.responsible.data),
        )
    except DomainError as exc:
        db.session.rollback()
        error = _attach_error(form, exc)
        return render_template("decisions/form.html", form=form, decision=None, error=error), exc.status
    db.session.commit()
    flash(_("事项已创建。下一步:起草第一个版本。"), "success")
    return redirect(url_for(".new_version", slug=decision.slug))


@bp.route("/decisions/<slug>/edit", methods=["GET", "POST"])
@require(MANAGERS)
def edit(slug: str):
    decision = _load_managed(slug, full=True)
    form = DecisionForm(obj=decision)
    del form.department
    form.responsible.choices = _responsible_choices([decision.department])
    if request.method == "GET":
        form.responsible.data = [u.id for u in decision.responsible]
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("decisions/form.html", form=form, decision=decision), status
    try:
        changes = operations.update_decision(
            current_user,
            decision,
            title=form.title.data,
            slug=form.slug.data or "",
            summary=form.summary.data or "",
            category=form.category.data,
            legal_basis=form.legal_basis.data or "",
            document_number=form.document_number.data or None,
            affects_stability=form.affects_stability.data,
            responsible=_users(form.responsible.data),
        )
    except DomainError as exc:
        db.session.rollback()
        error = _attach_error(form, exc)
        decision = _load_managed(slug, full=True)
        return render_template("decisions/form.html", form=form, decision=decision, error=error), exc.status
    db.session.commit()
    flash(_("已保存修改。") if changes else _("没有需要保存的修改。"), "success" if changes else "info")
    return redirect(url_for(".detail", slug=decision.slug))


# The public page.

#: Names of catalogue fields, for the timeline's "changed: …" line.
FIELD_LABELS = {
    "title": _l("标题"),
    "slug": _l("网址名称"),
    "summary": _l("摘要"),
    "category": _l("类别"),
    "legal_basis": _l("法律依据"),
    "document_number": _l("文号"),
    "affects_stability": _l("涉及社会稳定或公共安全"),
    "responsible": _l("直接责任人"),
}


@lru_cache(maxsize=8)
def _page_labels(locale: str) -> dict:
    """Stage and field names for the decision page, computed once per language."""
    with force_locale(locale):
        return {
            "stage_labels": {s.value: str(STAGE_LABELS[s]) for s in Stage},
            "field_labels": {k: str(v) for k, v in FIELD_LABELS.items()},
        }


def _stage_steps(decision: Decision, labels: dict) -> list[dict]:
    """The procedure as a list of steps with the decision's position on it."""
    current = decision.stage_enum
    index = ORDER.index(current) if current in ORDER else None
    steps = []
    for i, stage in enumerate(ORDER):
        if index is None:
            state = "other"
        elif i < index:
            state = "done"
        elif i == index:
            state = "current"
        else:
            state = "todo"
        steps.append({"code": stage.value, "label": labels[stage.value], "state": state})
    return steps


def _render_detail(decision: Decision, *, status: int = 200, advance_form=None, withdraw_form=None, gate_unmet=None):
    version = decision.current_version
    manage = permissions.can_manage(current_user, decision)
    mover = permissions.can_move_stage(current_user, decision)
    insider = permissions.is_insider(current_user, decision)
    targets = [s for s in ORDER if decision.can_move_to(s)]
    if mover and advance_form is None:
        advance_form = AdvanceForm(formdata=None)
    if advance_form is not None:
        advance_form.target.choices = [(s.value, s.label) for s in targets]
    if mover and withdraw_form is None and decision.can_move_to(Stage.WITHDRAWN):
        withdraw_form = WithdrawForm(formdata=None)
    unmet = operations.pending_conditions(decision, targets[0]) if (mover and targets) else []
    labels = _page_labels(str(get_locale()))
    return (
        render_template(
            "decisions/detail.html",
            decision=decision,
            version=version,
            text=queries.rendered_text(version) if version else None,
            explanation=queries.rendered_explanation(version) if version else None,
            attachments=queries.decision_attachments(decision),
            timeline=queries.timeline(decision, current_user),
            steps=_stage_steps(decision, labels["stage_labels"]),
            category_label=CATEGORIES.get(decision.category, decision.category),
            published_versions=decision.published_versions,
            drafts=[v for v in decision.versions if not v.is_published] if insider else [],
            can_manage=manage,
            can_move=mover,
            can_override=permissions.can_override(current_user),
            is_public=permissions.is_public(decision),
            advance_form=advance_form if mover and targets else None,
            withdraw_form=withdraw_form,
            unmet=unmet,
            gate_unmet=gate_unmet,
            **labels,
        ),
        status,
    )


@bp.get("/decisions/<slug>")
@require(public)
def detail(slug: str):
    return _render_detail(_load(slug, full=True))


# Versions.


@bp.route("/decisions/<slug>/versions/new", methods=["GET", "POST"])
@require(MANAGERS)
def new_version(slug: str):
    decision = _load_managed(slug, full=True)
    previous = decision.versions[-1] if decision.versions else None
    if previous is not None and not previous.is_published:
        flash(_("第 %(n)s 版草稿尚未公布,请继续修改它。", n=previous.number), "info")
        return redirect(url_for(".edit_version", slug=slug, number=previous.number))
    form = VersionForm()
    if request.method == "GET" and previous is not None:
        form.body.data = previous.body
        form.explanation.data = previous.explanation
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("decisions/version_form.html", form=form, decision=decision, version=None), status
    try:
        version = operations.create_version(
            current_user,
            decision,
            body=form.body.data,
            explanation=form.explanation.data or "",
            change_note=form.change_note.data or "",
        )
    except DomainError as exc:
        db.session.rollback()
        decision = _load_managed(slug, full=True)
        return render_template(
            "decisions/version_form.html", form=form, decision=decision, version=None, error=str(exc.message)
        ), exc.status
    db.session.commit()
    flash(_("第 %(n)s 版草稿已保存。核对无误后请公布。", n=version.number), "success")
    return redirect(url_for(".version", slug=slug, number=version.number))


def _version_or_404(decision: Decision, number: int, *, drafts: bool):
    version = queries.version_by_number(decision, number)
    if version is None or (not version.is_published and not drafts):
        abort(404)
    return version


@bp.get("/decisions/<slug>/versions/<int:number>")
@require(public)
def version(slug: str, number: int):
    decision = _load(slug, full=True)
    insider = permissions.is_insider(current_user, decision)
    found = _version_or_404(decision, number, drafts=insider)
    published = decision.published_versions
    previous = next((v for v in reversed(published) if v.number < found.number), None)
    return render_template(
        "decisions/version.html",
        decision=decision,
        version=found,
        text=queries.rendered_text(found),
        explanation=queries.rendered_explanation(found),
        previous=previous,
        can_manage=permissions.can_manage(current_user, decision),
        publish_form=PublishForm(formdata=None),
    )


@bp.route("/decisions/<slug>/versions/<int:number>/edit", methods=["GET", "POST"])
@require(MANAGERS)
def edit_version(slug: str, number: int):
    decision = _load_managed(slug, full=True)
    found = _version_or_404(decision, number, drafts=True)
    found.ensure_editable()  # a published version: 400 page saying a change is a new version
    form = VersionForm(obj=found)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("decisions/version_form.html", form=form, decision=decision, version=found), status
    try:
        operations.update_version(
            current_user,
            found,
            body=form.body.data,
            explanation=form.explanation.data or "",
            change_note=form.change_note.data or "",
        )
    except DomainError as exc:
        db.session.rollback()
        decision = _load_managed(slug, full=True)
        found = _version_or_404(decision, number, drafts=True)
        return render_template(
            "decisions/version_form.html", form=form, decision=decision, version=found, error=str(exc.message)
        ), exc.status
    db.session.commit()
    flash(_("第 %(n)s 版草稿已保存。", n=number), "success")
    return redirect(url_for(".version", slug=slug, number=number))


@bp.post("/decisions/<slug>/versions/<int:number>/publish")
@require(MANAGERS)
def publish_version(slug: str, number: int):
    decision = _load_managed(slug, full=True)
    found = _version_or_404(decision, number, drafts=True)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    operations.publish_version(current_user, found)  # DomainError: the 400 page with its message
    db.session.commit()
    flash(_("第 %(n)s 版已公布。", n=number), "success")
    return redirect(url_for(".detail", slug=slug))


def _version_number(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 6:
        return -1
    return int(raw)


@bp.get("/decisions/<slug>/diff")
@require(public)
def diff(slug: str):
    decision = _load(slug, full=True)
    insider = permissions.is_insider(current_user, decision)
    choosable = [v for v in decision.versions if v.is_published or insider]
    by_number = {v.number: v for v in choosable}
    old_n, new_n = _version_number("from"), _version_number("to")
    error = None
    old = new = None
    if old_n is None and new_n is None:
        published = decision.published_versions
        if len(published) >= 2:
            old, new = published[-2], published[-1]
    else:
        old, new = by_number.get(old_n), by_number.get(new_n)
        if old is None or new is None:
            error = _("请选择两个已有的版本进行比较。")
            old = new = None
    result = diff_texts(old.body, new.body) if old and new else None
    return render_template(
        "decisions/diff.html",
        decision=decision,
        versions=choosable,
        old=old,
        new=new,
        result=result,
        error=error,
    ), (400 if error else 200)


# Stage moves.


@bp.post("/decisions/<slug>/advance")
@require(MOVERS)
def advance(slug: str):
    decision = _load(slug, full=True)
    if not permissions.can_move_stage(current_user, decision):
        abort(403)
    form = AdvanceForm()
    form.target.choices = [(s.value, s.label) for s in ORDER if decision.can_move_to(s)]
    if not form.validate_on_submit():
        return _render_detail(decision, status=400, advance_form=form)
    try:
        operations.advance(current_user, decision, form.target.data, override_reason=form.override_reason.data)
    except DomainError as exc:
        db.session.rollback()
        decision = _load(slug, full=True)
        form.target.errors = [*form.target.errors, str(exc.message)]
        unmet = exc.unmet if isinstance(exc, GateClosed) else None
        return _render_detail(decision, status=exc.status, advance_form=form, gate_unmet=unmet)
    db.session.commit()
    flash(_("事项已进入“%(stage)s”阶段。", stage=STAGE_LABELS[Stage(form.target.data)]), "success")
    return redirect(url_for(".detail", slug=slug))


@bp.post("/decisions/<slug>/withdraw")
@require(MOVERS)
def withdraw(slug: str):
    decision = _load(slug, full=True)
    if not permissions.can_move_stage(current_user, decision):
        abort(403)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _render_detail(decision, status=400, withdraw_form=form)
    try:
        operations.withdraw(current_user, decision, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        decision = _load(slug, full=True)
        form.reason.errors = [*form.reason.errors, str(exc.message)]
        return _render_detail(decision, status=exc.status, withdraw_form=form)
    db.session.commit()
    flash(_("事项已撤回。"), "success")
    return redirect(url_for(".detail", slug=slug))


# Attachments.


@bp.route("/decisions/<slug>/attachments/new", methods=["GET", "POST"])
@require(MANAGERS)
def add_attachment(slug: str):
    decision = _load_managed(slug)
    form = AttachmentForm()
    limit_mb = max_bytes() // (1024 * 1024)
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(
            "decisions/attachment_form.html", form=form, decision=decision, limit_mb=limit_mb
        ), status
    try:
        attachment = operations.add_attachment(current_user, decision, form.file.data, title=form.title.data or "")
    except DomainError as exc:
        db.session.rollback()
        decision = _load_managed(slug)
        form.file.errors = [*form.file.errors, str(exc.message)]
        return render_template(
            "decisions/attachment_form.html", form=form, decision=decision, limit_mb=limit_mb
        ), exc.status
    db.session.commit()
    flash(_("附件“%(name)s”已上传。", name=attachment.display_title), "success")
    return redirect(url_for(".detail", slug=slug) + "#attachments")


@bp.get("/attachments/<int:attachment_id>/<filename>")
@bp.get("/attachments/<int:attachment_id>")
@require(public)
def download_attachment(attachment_id: int, filename: str | None = None):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or (filename is not None and filename != attachment.filename):
        abort(404)
    if not can_download(attachment, current_user):
        abort(404)
    try:
        path = storage_path(attachment.sha256)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        conditional=True,
        etag=attachment.sha256,
        max_age=0,
    )
    response.headers["Content-Disposition"] = content_disposition(attachment)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
