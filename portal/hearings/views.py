"""Hearing pages: the public list and notice, registration, observers, the draw, the day,
the record and the report. Thin: load, check, validate, one operation, one commit, redirect."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.auth.models import Role
from portal.auth.permissions import authenticated, public, require, roles
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.ratelimits import throttled
from portal.core.utils import page_arg
from portal.decisions.models import Decision
from portal.hearings import ical, operations, queries
from portal.hearings.draw import ALGORITHM
from portal.hearings.forms import (
    EmptyForm,
    HearingForm,
    MaterialForm,
    NoticeForm,
    ObserverForm,
    RecordResponseForm,
    RegistrationForm,
    ReportForm,
    TranscriptForm,
)
from portal.hearings.gates import hearing_checks
from portal.hearings.models import Hearing, HearingStatus, RegistrationStatus, current_time
from portal.hearings.permissions import (
    can_manage_hearing,
    can_manage_hearings_of,
    can_read_transcript,
    can_see_hearing,
)

bp = Blueprint("hearings", __name__, url_prefix="/hearings")

PER_PAGE = 20
staff = roles(Role.OFFICIAL, Role.ADMIN)


def _hearing(hearing_id: int) -> Hearing:
    """The hearing, or 404 (also for drafts the user may not see)."""
    hearing = db.session.get(Hearing, hearing_id)
    if hearing is None or not can_see_hearing(current_user, hearing):
        abort(404)
    return hearing


def _managed(hearing_id: int) -> Hearing:
    hearing = db.session.get(Hearing, hearing_id)
    if hearing is None:
        abort(404)
    if not can_manage_hearing(current_user, hearing):
        abort(403)
    return hearing


def _fail(form, exc: DomainError, field=None):
    """Put a refused action's message on the form (after rolling back)."""
    db.session.rollback()
    target = field if field is not None else None
    if target is not None:
        target.errors = [*target.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


# Public -------------------------------------------------------------------------------------


@bp.get("")
@require(public)
def index():
    when = request.args.get("when", "upcoming")
    if when not in queries.WHEN:
        when = "upcoming"
    pagination = db.paginate(queries.public_hearings(when), page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("hearings/index.html", pagination=pagination, when=when)


@bp.get("/feed.ics")
@require(public)
def feed():
    hearings = db.session.scalars(queries.public_hearings("upcoming").limit(200)).all()
    body = ical.calendar(list(hearings), base_url=current_app.config["BASE_URL"], name=_("听证会日程"))
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": "inline; filename=hearings.ics"})


@bp.get("/<int:hearing_id>/hearing.ics")
@require(public)
def calendar_file(hearing_id: int):
    hearing = _hearing(hearing_id)
    if not hearing.is_public:
        abort(404)
    body = ical.calendar([hearing], base_url=current_app.config["BASE_URL"], name=hearing.title)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename=hearing-{hearing.id}.ics"},
    )


@bp.get("/<int:hearing_id>")
@require(public)
def detail(hearing_id: int):
    hearing = _hearing(hearing_id)
    return render_template("hearings/detail.html", **_detail_context(hearing))


def _detail_context(hearing: Hearing) -> dict:
    draw = queries.draw_of(hearing)
    mine = queries.registration_of(hearing, current_user)
    return {
        "hearing": hearing,
        "draw": draw,
        "draw_result": draw.result_data if draw else None,
        "algorithm": ALGORITHM,
        "counts": queries.registration_counts(hearing),
        "observers_booked": queries.observers_booked_count(hearing),
        "participants": queries.participants(hearing) if hearing.is_drawn else [],
        "materials": operations.materials_of(hearing),
        "mine": mine,
        "my_seat": queries.observer_of(hearing, current_user),
        "registration_state": hearing.registration_state(),
        "can_manage": can_manage_hearing(current_user, hearing),
        "can_read_transcript": can_read_transcript(current_user, hearing, mine),
        "form": EmptyForm(),
        "now": current_time(),
    }


# The notice ---------------------------------------------------------------------------------


def _decision_choices() -> list[tuple[str, str]]:
    decisions = db.session.scalars(
        select(Decision).where(Decision.stage.in_(operations.HEARING_STAGES)).order_by(Decision.title)
    ).all()
    return [(d.slug, d.title) for d in decisions if can_manage_hearings_of(current_user, d)]


@bp.route("/new", methods=["GET", "POST"])
@require(staff)
def new():
    form = HearingForm()
    form.decision.choices = [("", _("请选择"))] + _decision_choices()
    if request.method == "GET":
        form.decision.data = request.args.get("decision", "")
    if not form.validate_on_submit():
        return render_template("hearings/form.html", form=form, hearing=None), 400 if request.method == "POST" else 200
    decision = db.session.scalar(select(Decision).where(Decision.slug == form.decision.data))
    if decision is None:
        form.decision.errors = [_("请选择决策事项。")]
        return render_template("hearings/form.html", form=form, hearing=None), 400
    if not can_manage_hearings_of(current_user, decision):
        abort(403)
    try:
        hearing = operations.create_hearing(current_user, decision, **form.data_for_operation())
    except DomainError as exc:
        _fail(form, exc, _field_for(form, exc))
        return render_template("hearings/form.html", form=form, hearing=None), exc.status
    db.session.commit()
    flash(_("听证会草稿已保存。核对无误后请发布公告。"), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


def _field_for(form, exc: DomainError):
    return {
        "bad_categories": getattr(form, "categories", None),
        "min_share": getattr(form, "categories", None),
        "bad_times": getattr(form, "ends_at", None),
        "bad_window": getattr(form, "registration_closes_at", None),
        "window_too_late": getattr(form, "registration_closes_at", None),
        "too_soon_after_list": getattr(form, "starts_at", None),
        "bad_url": getattr(form, "stream_url", None),
        "bad_seats": getattr(form, "observer_seats", None),
        "bad_stage": getattr(form, "decision", None),
        "unknown_category": getattr(form, "category", None),
        "bad_position": getattr(form, "position", None),
    }.get(exc.code)


@bp.route("/<int:hearing_id>/edit", methods=["GET", "POST"])
@require(staff)
def edit(hearing_id: int):
    hearing = _managed(hearing_id)
    if hearing.status in (HearingStatus.RECORDED.value, HearingStatus.REPORTED.value):
        flash(_("听证会已经举行,公告不能再修改。"), "error")
        return redirect(url_for(".manage", hearing_id=hearing.id))
    draft = hearing.status == HearingStatus.DRAFT.value
    form = (HearingForm if draft else NoticeForm)(obj=hearing if request.method == "GET" else None)
    if draft:
        del form.decision
        if request.method == "GET":
            form.observer_seats.data = str(hearing.observer_seats)
            form.fill_categories(hearing.categories)
    template = "hearings/form.html" if draft else "hearings/notice_form.html"
    if not form.validate_on_submit():
        return render_template(template, form=form, hearing=hearing), 400 if request.method == "POST" else 200
    try:
        if draft:
            operations.update_draft(current_user, hearing, **form.data_for_operation())
        else:
            operations.update_notice(current_user, hearing, **form.data_for_operation())
    except DomainError as exc:
        _fail(form, exc, _field_for(form, exc))
        return render_template(template, form=form, hearing=hearing), exc.status
    db.session.commit()
    flash(_("已保存。"), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/publish")
@require(staff)
def publish(hearing_id: int):
    hearing = _managed(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operations.publish_hearing(current_user, hearing)
    db.session.commit()
    flash(_("公告已发布,抽选承诺值已公开。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


# Registration -------------------------------------------------------------------------------


def _registration_form(hearing: Hearing) -> RegistrationForm:
    form = RegistrationForm()
    form.category.choices = [("", _("请选择"))] + [(c.code, c.name) for c in hearing.categories]
    return form


@bp.route("/<int:hearing_id>/register", methods=["GET", "POST"])
@require(authenticated)
@throttled("hearing_registration")
def register(hearing_id: int):
    hearing = _hearing(hearing_id)
    existing = queries.registration_of(hearing, current_user)
    form = _registration_form(hearing)
    state = hearing.registration_state()
    if request.method == "GET":
        if existing is not None:
            flash(_("您已经报名过本次听证会,报名编号 %(no)s。", no=existing.id), "info")
            return redirect(url_for(".detail", hearing_id=hearing.id))
        form.real_name.data = current_user.display_name
        return render_template("hearings/register.html", hearing=hearing, form=form, state=state)
    if not form.validate_on_submit():
        return render_template("hearings/register.html", hearing=hearing, form=form, state=state), 400
    try:
        registration = operations.register(current_user, hearing, **form.data_for_operation())
    except DomainError as exc:
        _fail(form, exc, _field_for(form, exc))
        return render_template("hearings/register.html", hearing=hearing, form=form, state=state), exc.status
    db.session.commit()
    if registration.status == RegistrationStatus.UNCONFIRMED.value:
        flash(
            _(
                "报名已收到,报名编号 %(no)s。请在报名截止前确认您的邮箱,报名才生效;截止后才确认的报名不参加抽选。",
                no=registration.id,
            ),
            "info",
        )
    else:
        flash(_("报名已提交,报名编号 %(no)s。报名截止后将公开抽选。", no=registration.id), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/withdraw")
@require(authenticated)
def withdraw(hearing_id: int):
    hearing = _hearing(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    registration = queries.registration_of(hearing, current_user)
    if registration is None:
        abort(404)
    operations.withdraw(current_user, registration)
    db.session.commit()
    flash(_("报名已撤回。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/selection")
@require(authenticated)
def respond(hearing_id: int):
    hearing = _hearing(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        abort(400)
    registration = queries.registration_of(hearing, current_user)
    if registration is None:
        abort(404)
    operations.respond_to_selection(current_user, registration, accept=answer == "accept")
    db.session.commit()
    flash(_("已确认参加。") if answer == "accept" else _("已放弃参加,席位将由候补人员递补。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


@bp.route("/<int:hearing_id>/observe", methods=["GET", "POST"])
@require(authenticated)
def observe(hearing_id: int):
    hearing = _hearing(hearing_id)
    form = ObserverForm()
    if request.method == "GET":
        form.real_name.data = current_user.display_name
    booked = queries.observers_booked_count(hearing)
    context = {"hearing": hearing, "form": form, "booked": booked}
    if not form.validate_on_submit():
        return render_template("hearings/observe.html", **context), 400 if request.method == "POST" else 200
    try:
        observer = operations.book_observer(
            current_user,
            hearing,
            real_name=form.real_name.data,
            contact=form.contact.data,
            accessibility_needs=form.accessibility_needs.data or "",
        )
    except DomainError as exc:
        _fail(form, exc)
        return render_template("hearings/observe.html", **context), exc.status
    db.session.commit()
    flash(_("旁听预约成功,席位号 %(n)s。", n=observer.seat_no), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/observe/cancel")
@require(authenticated)
def cancel_observe(hearing_id: int):
    hearing = _hearing(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    observer = queries.observer_of(hearing, current_user)
    if observer is None:
        abort(404)
    operations.cancel_observer(current_user, observer)
    db.session.commit()
    flash(_("旁听预约已取消。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id))


@bp.get("/mine")
@require(authenticated)
def mine():
    return render_template(
        "hearings/mine.html",
        registrations=queries.registrations_of_user(current_user),
        observers=queries.observers_of_user(current_user),
        messages=queries.messages_for(current_user),
    )


# The department's pages ---------------------------------------------------------------------


@bp.get("/<int:hearing_id>/manage")
@require(staff)
def manage(hearing_id: int):
    hearing = _managed(hearing_id)
    return render_template(
        "hearings/manage.html",
        hearing=hearing,
        registrations=queries.registrations(hearing),
        observers=queries.booked_observers(hearing),
        materials=operations.materials_of(hearing),
        material_form=MaterialForm(),
        form=EmptyForm(),
        now=current_time(),
        day_start=operations.hearing_day_start(hearing),
        checks=hearing_checks(hearing),
    )


@bp.post("/<int:hearing_id>/materials")
@require(staff)
def add_material(hearing_id: int):
    hearing = _managed(hearing_id)
    form = MaterialForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.add_material(current_user, hearing, form.file.data, title=form.title.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for(".manage", hearing_id=hearing.id))
    db.session.commit()
    flash(_("听证材料已上传。"), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/draw")
@require(staff)
def run_draw(hearing_id: int):
    hearing = _managed(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operations.run_draw(current_user, hearing)
    db.session.commit()
    flash(_("抽选完成:种子已公开,参加人名单已公布,入选人已收到通知和听证材料。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id, _anchor="draw"))


@bp.post("/<int:hearing_id>/deadlines")
@require(staff)
def process_deadlines(hearing_id: int):
    hearing = _managed(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    lapsed = operations.lapse_overdue(current_user, hearing)
    db.session.commit()
    flash(_("已处理逾期未确认 %(n)s 人,候补人员已依次递补。", n=len(lapsed)), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.get("/<int:hearing_id>/checkin")
@require(staff)
def checkin(hearing_id: int):
    hearing = _managed(hearing_id)
    return render_template(
        "hearings/checkin.html",
        hearing=hearing,
        participants=queries.participants(hearing),
        observers=queries.booked_observers(hearing),
    )


@bp.post("/<int:hearing_id>/attendance")
@require(staff)
def attendance(hearing_id: int):
    hearing = _managed(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        present = [int(v) for v in request.form.getlist("present")]
        observers = [int(v) for v in request.form.getlist("observer")]
    except ValueError:
        abort(400)
    summary = operations.mark_attendance(current_user, hearing, present=present, observers_present=observers)
    db.session.commit()
    flash(_("已登记出席:参加人 %(p)s 人,旁听 %(o)s 人。", p=len(summary["present"]), o=len(observers)), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.post("/<int:hearing_id>/erase-needs")
@require(staff)
def erase_needs(hearing_id: int):
    hearing = _managed(hearing_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    count = operations.erase_accessibility_needs(current_user, hearing)
    db.session.commit()
    flash(_("已删除 %(n)s 条无障碍需求。", n=count), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.route("/<int:hearing_id>/transcript", methods=["GET", "POST"])
@require(staff)
def transcript(hearing_id: int):
    hearing = _managed(hearing_id)
    form = TranscriptForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("hearings/transcript.html", hearing=hearing, form=form), status
    try:
        operations.record_transcript(current_user, hearing, transcript=form.transcript.data)
    except DomainError as exc:
        _fail(form, exc)
        return render_template("hearings/transcript.html", hearing=hearing, form=form), exc.status
    db.session.commit()
    flash(_("听证笔录已录入,出席的参加人已收到确认通知。"), "success")
    return redirect(url_for(".manage", hearing_id=hearing.id))


@bp.route("/<int:hearing_id>/record", methods=["GET", "POST"])
@require(authenticated)
def record(hearing_id: int):
    hearing = _hearing(hearing_id)
    mine = queries.registration_of(hearing, current_user)
    form = RecordResponseForm()
    context = {
        "hearing": hearing,
        "form": form,
        "mine": mine,
        "participants": queries.participants(hearing),
        "can_manage": can_manage_hearing(current_user, hearing),
    }
    if request.method == "GET":
        if not can_read_transcript(current_user, hearing, mine):
            abort(403) if hearing.transcript is not None else abort(404)
        return render_template("hearings/record.html", **context)
    answer = request.form.get("answer")
    if not form.validate_on_submit() or answer not in ("confirm", "object"):
        form.form_errors.append(_("请选择“确认无误”或“提出异议”。"))
        return render_template("hearings/record.html", **context), 400
    try:
        operations.respond_to_record(
            current_user, hearing, confirm=answer == "confirm", objection=form.objection.data or ""
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        _fail(form, exc, form.objection if exc.code == "missing_field" else None)
        return render_template("hearings/record.html", **context), exc.status
    db.session.commit()
    flash(_("已确认笔录。") if answer == "confirm" else _("异议已提交,将附在笔录之后。"), "success")
    return redirect(url_for(".record", hearing_id=hearing.id))


@bp.route("/<int:hearing_id>/report", methods=["GET", "POST"])
@require(staff)
def report(hearing_id: int):
    hearing = _managed(hearing_id)
    form = ReportForm()
    participants = queries.participants(hearing)
    context = {"hearing": hearing, "form": form, "participants": participants}
    if not form.validate_on_submit():
        return render_template("hearings/report_form.html", **context), 400 if request.method == "POST" else 200
    try:
        operations.publish_report(
            current_user,
            hearing,
            body=form.body.data,
            support=form.support.data or "",
            oppose=form.oppose.data or "",
            neutral=form.neutral.data or "",
        )
    except DomainError as exc:
        _fail(form, exc)
        return render_template("hearings/report_form.html", **context), exc.status
    db.session.commit()
    flash(_("听证报告已发布。"), "success")
    return redirect(url_for(".detail", hearing_id=hearing.id, _anchor="report"))
