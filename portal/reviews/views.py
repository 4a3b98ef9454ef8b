"""Pages of the expert pool, committees, reviews, risk, legality and the collective discussion."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, User
from portal.auth.permissions import authenticated, public, require, roles
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.utils import page_arg
from portal.reviews import operations, permissions, procedure, queries
from portal.reviews.forms import (
    AmendmentForm,
    AssignForm,
    DecisionForm,
    DeclarationForm,
    InterestForm,
    LegalityOpinionForm,
    LegalitySubmitForm,
    MaterialsForm,
    MeetingForm,
    OpinionForm,
    ProfileForm,
    RemoveMemberForm,
    ReviewForm,
    RiskForm,
    review_data,
)
from portal.reviews.models import ExpertProfile, LegalityReview, Meeting, Review
from portal.reviews.rules import diversity_notes, find_conflicts, local_date, required_working_days

bp = Blueprint("reviews", __name__)

PER_PAGE = 25
managers = roles(Role.OFFICIAL, Role.ADMIN)
schedulers = roles(Role.OFFICIAL, Role.ADMIN, Role.LEADER)


def _arg(name: str, limit: int = 80) -> str:
    return (request.args.get(name) or "").replace("\x00", "").strip()[:limit]


def _decision(slug: str):
    decision = queries.decision_by_slug(slug)
    if decision is None:
        abort(404)
    return decision


def _refused(form, exc: DomainError, field=None) -> None:
    """Undo the failed action and show its message on the form (on ``field`` when given)."""
    db.session.rollback()
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


def _status() -> int:
    return 400 if request.method == "POST" else 200


# --- Expert pool ---------------------------------------------------------------------------------


@bp.get("/experts")
@require(public)
def experts():
    field, q = _arg("field"), _arg("q")
    pagination = db.paginate(
        queries.experts_stmt(field=field, q=q), page=page_arg(), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "reviews/experts.html",
        pagination=pagination,
        field=field,
        q=q,
        fields=queries.expert_fields(),
        can_manage=permissions.can_manage_experts(current_user),
    )


@bp.route("/experts/new", methods=["GET", "POST"])
@require(managers)
def expert_new():
    form = ProfileForm()
    candidates = queries.expert_accounts_without_profile()
    form.user_id.choices = [(u.id, f"{u.display_name} <{u.email}>") for u in candidates]
    del form.active
    if not form.validate_on_submit():
        return render_template("reviews/expert_form.html", form=form, profile=None), _status()
    user = db.session.get(User, form.user_id.data)
    try:
        profile = operations.create_profile(
            current_user,
            user,
            field=form.field.data,
            title=form.title.data,
            organisation=form.organisation.data,
            bio=form.bio.data,
        )
    except DomainError as exc:
        _refused(form, exc, form.user_id)
        return render_template("reviews/expert_form.html", form=form, profile=None), exc.status
    db.session.commit()
    flash(_("%(name)s 已加入专家库。", name=profile.name), "success")
    return redirect(url_for(".expert_detail", profile_id=profile.id))


def _profile(profile_id: int) -> ExpertProfile:
    return db.get_or_404(ExpertProfile, profile_id)


def _render_expert(profile: ExpertProfile, interest_form=None, status: int = 200):
    return (
        render_template(
            "reviews/expert.html",
            profile=profile,
            interest_form=interest_form or InterestForm(formdata=None),
            can_manage=permissions.can_manage_experts(current_user),
            can_declare=permissions.can_declare_interests(current_user, profile),
            can_see_interests=permissions.can_see_interests(current_user, profile),
            assignments=queries.assignments_of(profile.user),
        ),
        status,
    )


@bp.get("/experts/<int:profile_id>")
@require(public)
def expert_detail(profile_id: int):
    return _render_expert(_profile(profile_id))


@bp.route("/experts/<int:profile_id>/edit", methods=["GET", "POST"])
@require(managers)
def expert_edit(profile_id: int):
    profile = _profile(profile_id)
    form = ProfileForm(obj=profile)
    del form.user_id
    if not form.validate_on_submit():
        return render_template("reviews/expert_form.html", form=form, profile=profile), _status()
    try:
        operations.update_profile(
            current_user,
            profile,
            field=form.field.data,
            title=form.title.data,
            organisation=form.organisation.data,
            bio=form.bio.data,
            active=form.active.data,
        )
    except DomainError as exc:
        _refused(form, exc)
        return render_template("reviews/expert_form.html", form=form, profile=_profile(profile_id)), exc.status
    db.session.commit()
    flash(_("专家信息已保存。"), "success")
    return redirect(url_for(".expert_detail", profile_id=profile.id))


@bp.post("/experts/<int:profile_id>/interests")
@require(authenticated)
def interest_add(profile_id: int):
    profile = _profile(profile_id)
    if not permissions.can_declare_interests(current_user, profile):
        abort(403)
    form = InterestForm()
    if not form.validate_on_submit():
        return _render_expert(profile, form, 400)
    try:
        operations.declare_profile_interest(current_user, profile, kind=form.kind.data, value=form.value.data)
    except DomainError as exc:
        _refused(form, exc, form.value)
        return _render_expert(_profile(profile_id), form, exc.status)
    db.session.commit()
    flash(_("利害关系已申报。"), "success")
    return redirect(url_for(".expert_detail", profile_id=profile.id))


@bp.post("/experts/<int:profile_id>/interests/<int:interest_id>/delete")
@require(managers)
def interest_remove(profile_id: int, interest_id: int):
    profile = _profile(profile_id)
    interest = queries.interest_by_id(profile, interest_id)
    if interest is None:
        abort(404)
    operations.remove_profile_interest(current_user, interest)
    db.session.commit()
    flash(_("已删除该项利害关系。"), "success")
    return redirect(url_for(".expert_detail", profile_id=profile.id))


@bp.get("/my/assignments")
@require(roles(Role.EXPERT))
def my_assignments():
    return render_template(
        "reviews/my_assignments.html",
        profile=queries.profile_for_user(current_user),
        assignments=queries.assignments_of(current_user),
    )


# --- Committee -----------------------------------------------------------------------------------


def _pool() -> list[ExpertProfile]:
    """Active experts with their interests (the conflict check reads them all)."""
    return list(db.session.scalars(queries.experts_stmt().options(selectinload(ExpertProfile.interests))))


def _assign_form(decision, pool=None) -> AssignForm:
    form = AssignForm()
    on_committee = {m.profile_id for m in queries.committee(decision)}
    form.profile_id.choices = [
        (p.id, f"{p.name}({p.field}{'·' + p.organisation if p.organisation else ''})")
        for p in (pool if pool is not None else _pool())
        if p.id not in on_committee
    ]
    return form


def _render_committee(decision, assign_form=None, status: int = 200):
    everyone = queries.committee(decision, include_removed=True)
    members = [m for m in everyone if m.active]
    can_manage = permissions.can_manage_decision(current_user, decision)
    pool_conflicts = {}
    if can_manage:
        pool = _pool()
        assign_form = assign_form or _assign_form(decision, pool)
        pool_conflicts = {p.id: find_conflicts(p, decision) for p in pool}
    reviewing = [m.profile for m in members if not m.recused]
    return (
        render_template(
            "reviews/committee.html",
            decision=decision,
            members=members,
            removed=[m for m in everyone if not m.active],
            notes=diversity_notes(reviewing),
            can_manage=can_manage,
            assign_form=assign_form,
            remove_form=RemoveMemberForm(formdata=None),
            pool_conflicts=pool_conflicts,
            can_see_reviews=permissions.can_see_reviews(current_user, decision),
            mine=queries.membership(decision, current_user),
            problems=procedure.expert_review_problems(decision, members),
            assignable=decision.stage in permissions.ASSIGNABLE_STAGES,
            decision_url=procedure.decision_url(decision),
        ),
        status,
    )


@bp.get("/decisions/<slug>/committee")
@require(public)
def committee(slug: str):
    return _render_committee(_decision(slug))


@bp.post("/decisions/<slug>/committee")
@require(managers)
def committee_assign(slug: str):
    decision = _decision(slug)
    if not permissions.can_manage_decision(current_user, decision):
        abort(403)
    form = _assign_form(decision)
    if not form.validate_on_submit():
        return _render_committee(decision, form, 400)
    profile = db.session.get(ExpertProfile, form.profile_id.data)
    try:
        member = operations.assign_expert(current_user, decision, profile)
    except DomainError as exc:
        _refused(form, exc, form.profile_id)
        return _render_committee(_decision(slug), form, exc.status)
    db.session.commit()
    flash(_("已指派专家 %(name)s。", name=member.profile.name), "success")
    return redirect(url_for(".committee", slug=slug))


@bp.post("/decisions/<slug>/committee/<int:member_id>/remove")
@require(managers)
def committee_remove(slug: str, member_id: int):
    decision = _decision(slug)
    if not permissions.can_manage_decision(current_user, decision):
        abort(403)
    member = next((m for m in queries.committee(decision) if m.id == member_id), None)
    if member is None:
        abort(404)
    form = RemoveMemberForm()
    if not form.validate_on_submit():
        flash(_("请填写移出理由(不超过 2000 个字符)。"), "error")
        return _render_committee(decision, None, 400)
    try:
        operations.remove_member(current_user, member, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return _render_committee(_decision(slug), None, exc.status)
    db.session.commit()
    flash(_("已将专家 %(name)s 移出委员会。", name=member.profile.name), "success")
    return redirect(url_for(".committee", slug=slug))


def _my_membership(decision):
    member = queries.membership(decision, current_user)
    if member is None:
        raise NotAllowed(_("您不是本决策论证委员会的成员。"))
    return member


@bp.route("/decisions/<slug>/declaration", methods=["GET", "POST"])
@require(roles(Role.EXPERT))
def declare(slug: str):
    decision = _decision(slug)
    member = _my_membership(decision)
    if member.declaration is not None and request.method == "GET":
        return redirect(
            url_for(".review_form", slug=slug) if member.declared_no_interest else url_for(".committee", slug=slug)
        )
    form = DeclarationForm()
    if not form.validate_on_submit():
        return render_template("reviews/declaration.html", decision=decision, member=member, form=form), _status()
    try:
        operations.declare_interest(current_user, member, declaration=form.declaration.data, note=form.note.data)
    except DomainError as exc:
        _refused(form, exc, form.note if exc.code == "missing" else None)
        return render_template("reviews/declaration.html", decision=decision, member=member, form=form), exc.status
    db.session.commit()
    if member.declared_no_interest:
        flash(_("声明已记录。请填写论证意见。"), "success")
        return redirect(url_for(".review_form", slug=slug))
    flash(_("回避申请已记录,您无须提交论证意见。"), "success")
    return redirect(url_for(".committee", slug=slug))


def _reviewable_member(decision):
    """The expert's membership, sent to the declaration first (the form is shown only after it)."""
    member = _my_membership(decision)
    if member.declaration is None:
        return member, redirect(url_for(".declare", slug=decision.slug))
    if member.recused:
        flash(_("您已申报与本决策存在直接利害关系并回避。"), "info")
        return member, redirect(url_for(".committee", slug=decision.slug))
    return member, None


def _render_review_form(decision, member, form, status: int = 200, amend: bool = False):
    return (
        render_template(
            "reviews/review_form.html",
            decision=decision,
            member=member,
            form=form,
            amend=amend,
            current=member.current_review,
            version=decision.current_version,
        ),
        status,
    )


@bp.route("/decisions/<slug>/review", methods=["GET", "POST"])
@require(roles(Role.EXPERT))
def review_form(slug: str):
    decision = _decision(slug)
    member, elsewhere = _reviewable_member(decision)
    if elsewhere is not None:
        return elsewhere
    if member.current_review is not None and request.method == "GET":
        return redirect(url_for(".review_detail", review_id=member.current_review.id))
    form = ReviewForm()
    if not form.validate_on_submit():
        return _render_review_form(decision, member, form, _status())
    try:
        review = operations.submit_review(current_user, member, **review_data(form))
    except DomainError as exc:
        _refused(form, exc)
        return _render_review_form(decision, member, form, exc.status)
    db.session.commit()
    flash(_("论证意见已签署提交。"), "success")
    return redirect(url_for(".review_detail", review_id=review.id))


@bp.route("/decisions/<slug>/review/amend", methods=["GET", "POST"])
@require(roles(Role.EXPERT))
def review_amend(slug: str):
    decision = _decision(slug)
    member, elsewhere = _reviewable_member(decision)
    if elsewhere is not None:
        return elsewhere
    current = member.current_review
    if current is None:
        return redirect(url_for(".review_form", slug=slug))
    form = AmendmentForm()
    if request.method == "GET":
        form = AmendmentForm(formdata=None, obj=current)
        form.supersedes_id.data = str(current.id)
        form.confirm.data = False
    if not form.validate_on_submit():
        return _render_review_form(decision, member, form, _status(), amend=True)
    supersedes = (
        db.session.get(Review, int(form.supersedes_id.data)) if (form.supersedes_id.data or "").isdigit() else None
    )
    try:
        if supersedes is None:
            raise DomainError(_("修订的版本不存在,请刷新页面后再试。"), code="stale", status=409)
        review = operations.amend_review(
            current_user, member, supersedes=supersedes, reason=form.reason.data, **review_data(form)
        )
    except DomainError as exc:
        _refused(form, exc)
        return _render_review_form(decision, member, form, exc.status, amend=True)
    db.session.commit()
    flash(_("修订版本(第 %(n)s 版)已签署提交,原版本保留可查。", n=review.version), "success")
    return redirect(url_for(".review_detail", review_id=review.id))


@bp.get("/reviews/<int:review_id>")
@require(public)
def review_detail(review_id: int):
    review = db.get_or_404(Review, review_id)
    if not permissions.can_see_review(current_user, review):
        raise NotAllowed(_("论证意见在决策公布后向公众公开。"))
    versions = [r for r in review.member.reviews if permissions.can_see_review(current_user, r)]
    latest = review.member.current_review
    is_author = review.member.profile.user_id == getattr(current_user, "id", None)
    return render_template(
        "reviews/review.html",
        review=review,
        decision=review.decision,
        versions=versions,
        latest=latest,
        can_amend=is_author
        and review.member.active
        and latest.id == review.id
        and review.decision.stage in permissions.OPEN_STAGES,
    )


# --- Materials -----------------------------------------------------------------------------------


def _render_materials(decision, form=None, status: int = 200):
    can_manage = permissions.can_manage_decision(current_user, decision)
    record = queries.materials_record(decision)
    if can_manage and form is None:
        form = MaterialsForm(formdata=None, obj=record)
    return (
        render_template(
            "reviews/materials.html",
            decision=decision,
            materials=procedure.materials(decision),
            record=record,
            form=form if can_manage else None,
            can_read=permissions.can_see_reviews(current_user, decision),
            current_reviews=queries.current_reviews(decision),
        ),
        status,
    )


@bp.get("/decisions/<slug>/materials")
@require(public)
def materials(slug: str):
    return _render_materials(_decision(slug))


@bp.post("/decisions/<slug>/materials")
@require(managers)
def materials_save(slug: str):
    decision = _decision(slug)
    if not permissions.can_manage_decision(current_user, decision):
        abort(403)
    form = MaterialsForm()
    if not form.validate_on_submit():
        return _render_materials(decision, form, 400)
    try:
        operations.save_materials(
            current_user,
            decision,
            comment_report_url=form.comment_report_url.data,
            expert_adoption=form.expert_adoption.data,
        )
    except DomainError as exc:
        _refused(form, exc, form.comment_report_url if exc.code == "bad_url" else None)
        return _render_materials(_decision(slug), form, exc.status)
    db.session.commit()
    flash(_("集体讨论材料已保存。"), "success")
    return redirect(url_for(".materials", slug=slug))


# --- Risk ----------------------------------------------------------------------------------------


def _render_risk(decision, form=None, status: int = 200):
    can_manage = permissions.can_manage_decision(current_user, decision)
    return (
        render_template(
            "reviews/risk.html",
            decision=decision,
            assessments=queries.risk_assessments(decision),
            can_read=permissions.can_see_reviews(current_user, decision),
            form=(form or RiskForm(formdata=None)) if can_manage else None,
            required=procedure.risk_required(decision),
            problems=procedure.risk_problems(decision),
        ),
        status,
    )


@bp.get("/decisions/<slug>/risk")
@require(public)
def risk(slug: str):
    return _render_risk(_decision(slug))


@bp.post("/decisions/<slug>/risk")
@require(managers)
def risk_record(slug: str):
    decision = _decision(slug)
    if not permissions.can_manage_decision(current_user, decision):
        abort(403)
    form = RiskForm()
    if not form.validate_on_submit():
        return _render_risk(decision, form, 400)
    try:
        operations.record_risk_assessment(
            current_user,
            decision,
            level=form.level.data,
            controllable=form.controllable.data == "yes",
            findings=form.findings.data,
            mitigation=form.mitigation.data,
        )
    except DomainError as exc:
        _refused(form, exc)
        return _render_risk(_decision(slug), form, exc.status)
    db.session.commit()
    flash(_("风险评估已记录。"), "success")
    return redirect(url_for(".risk", slug=slug))


# --- Legality ------------------------------------------------------------------------------------


def _render_legality(decision, form=None, status: int = 200):
    can_manage = permissions.can_manage_decision(current_user, decision)
    reviews = queries.legality_reviews(decision)
    return (
        render_template(
            "reviews/legality.html",
            decision=decision,
            reviews=reviews,
            timings={r.id: procedure.legality_timing(r) for r in reviews},
            can_read=permissions.can_see_reviews(current_user, decision),
            form=(form or LegalitySubmitForm(formdata=None)) if can_manage else None,
            can_file=permissions.can_file_legality_opinion(current_user),
            problems=procedure.legality_problems(decision),
            required_days=required_working_days(),
        ),
        status,
    )


@bp.get("/decisions/<slug>/legality")
@require(public)
def legality(slug: str):
    return _render_legality(_decision(slug))


@bp.post("/decisions/<slug>/legality")
@require(managers)
def legality_submit(slug: str):
    decision = _decision(slug)
    if not permissions.can_manage_decision(current_user, decision):
        abort(403)
    form = LegalitySubmitForm()
    if not form.validate_on_submit():
        return _render_legality(decision, form, 400)
    try:
        operations.submit_for_legality_review(current_user, decision, materials=form.materials.data)
    except DomainError as exc:
        _refused(form, exc)
        return _render_legality(_decision(slug), form, exc.status)
    db.session.commit()
    flash(_("已送交合法性审查。"), "success")
    return redirect(url_for(".legality", slug=slug))


@bp.get("/legality")
@require(roles(Role.LEGAL_REVIEWER, Role.ADMIN, Role.AUDITOR))
def legality_queue():
    pending = queries.pending_legality_reviews()
    return render_template(
        "reviews/legality_queue.html",
        pending=pending,
        timings={r.id: procedure.legality_timing(r) for r in pending},
        recent=queries.recent_legality_opinions(),
    )


@bp.route("/legality/<int:review_id>/opinion", methods=["GET", "POST"])
@require(roles(Role.LEGAL_REVIEWER))
def legality_opinion(review_id: int):
    review = db.get_or_404(LegalityReview, review_id)
    if review.is_filed and request.method == "GET":
        return redirect(url_for(".legality", slug=review.decision.slug))
    form = LegalityOpinionForm()
    context = {"review": review, "decision": review.decision, "timing": procedure.legality_timing(review)}
    if not form.validate_on_submit():
        return render_template("reviews/legality_opinion.html", form=form, **context), _status()
    try:
        operations.file_legality_opinion(
            current_user,
            review,
            result=form.result.data,
            opinion=form.opinion.data,
            required_changes=form.required_changes.data,
        )
    except DomainError as exc:
        _refused(form, exc, form.required_changes if exc.code == "missing" else None)
        review = db.get_or_404(LegalityReview, review_id)
        context = {"review": review, "decision": review.decision, "timing": procedure.legality_timing(review)}
        return render_template("reviews/legality_opinion.html", form=form, **context), exc.status
    db.session.commit()
    flash(_("合法性审查意见已出具。"), "success")
    return redirect(url_for(".legality", slug=review.decision.slug))


# --- Collective discussion -----------------------------------------------------------------------


def _meeting_form(decision) -> MeetingForm:
    form = MeetingForm()
    people = queries.leaders()
    form.head_id.choices = [(u.id, u.display_name) for u in people]
    form.attendee_ids.choices = [(u.id, u.display_name) for u in people]
    return form


def _render_deliberation(decision, form=None, status: int = 200):
    can_schedule = permissions.can_schedule_meeting(current_user, decision)
    if can_schedule and form is None:
        form = _meeting_form(decision)
        if request.method == "GET":
            form.meeting_date.data = local_date()
    return (
        render_template(
            "reviews/deliberation.html",
            decision=decision,
            meetings=queries.meetings_of(decision),
            materials=procedure.materials(decision),
            blockers=operations._deliberation_blockers(decision),
            form=form if can_schedule else None,
        ),
        status,
    )


@bp.get("/decisions/<slug>/deliberation")
@require(public)
def deliberation(slug: str):
    return _render_deliberation(_decision(slug))


@bp.post("/decisions/<slug>/deliberation")
@require(schedulers)
def meeting_schedule(slug: str):
    decision = _decision(slug)
    if not permissions.can_schedule_meeting(current_user, decision):
        abort(403)
    form = _meeting_form(decision)
    if not form.validate_on_submit():
        return _render_deliberation(decision, form, 400)
    people = db.session.scalars(
        select(User).where(User.id.in_([*(form.attendee_ids.data or []), form.head_id.data]))
    ).all()
    head = next((u for u in people if u.id == form.head_id.data), None)
    try:
        meeting = operations.schedule_meeting(
            current_user,
            decision,
            kind=form.kind.data,
            meeting_date=form.meeting_date.data,
            head=head,
            attendees=people,
        )
    except DomainError as exc:
        _refused(form, exc)
        return _render_deliberation(_decision(slug), form, exc.status)
    db.session.commit()
    flash(_("集体讨论会议已安排。"), "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


def _render_meeting(meeting: Meeting, opinion_form=None, decision_form=None, status: int = 200):
    decision = meeting.decision
    is_attendee = current_user.is_authenticated and any(u.id == current_user.id for u in meeting.attendees)
    is_head = is_attendee and current_user.id == meeting.head_id
    return (
        render_template(
            "reviews/meeting.html",
            meeting=meeting,
            decision=decision,
            internal=permissions.can_see_internal_records(current_user, decision),
            opinion_form=opinion_form or OpinionForm(formdata=None),
            decision_form=decision_form or DecisionForm(formdata=None),
            can_speak=is_attendee
            and not is_head
            and current_user.has_role(Role.LEADER)
            and not meeting.is_closed
            and meeting.opinion_of(current_user) is None,
            is_head=is_head and not meeting.is_closed,
            started=local_date() >= meeting.meeting_date,
            departs=operations.departs_from_majority,
        ),
        status,
    )


def _meeting(meeting_id: int) -> Meeting:
    return db.get_or_404(Meeting, meeting_id)


@bp.get("/meetings")
@require(roles(Role.LEADER))
def meetings():
    return render_template("reviews/meetings.html", meetings=queries.meetings_for_leader(current_user))


@bp.get("/meetings/<int:meeting_id>")
@require(public)
def meeting(meeting_id: int):
    return _render_meeting(_meeting(meeting_id))


@bp.post("/meetings/<int:meeting_id>/opinion")
@require(roles(Role.LEADER))
def meeting_opinion(meeting_id: int):
    found = _meeting(meeting_id)
    form = OpinionForm()
    if not form.validate_on_submit():
        return _render_meeting(found, opinion_form=form, status=400)
    try:
        operations.record_opinion(current_user, found, position=form.position.data, statement=form.statement.data)
    except DomainError as exc:
        if isinstance(exc, NotAllowed):
            raise
        _refused(form, exc)
        return _render_meeting(_meeting(meeting_id), opinion_form=form, status=exc.status)
    db.session.commit()
    flash(_("您的意见已如实记录。"), "success")
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/decision")
@require(roles(Role.LEADER))
def meeting_decide(meeting_id: int):
    found = _meeting(meeting_id)
    if current_user.id != found.head_id:
        abort(403)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_meeting(found, decision_form=form, status=400)
    try:
        operations.record_decision(
            current_user,
            found,
            outcome=form.outcome.data,
            statement=form.statement.data,
            departure_reason=form.departure_reason.data,
            minutes=form.minutes.data,
            public_summary=form.public_summary.data,
        )
    except DomainError as exc:
        if isinstance(exc, NotAllowed):
            raise
        _refused(form, exc, form.departure_reason if exc.code == "reason_required" else None)
        return _render_meeting(_meeting(meeting_id), decision_form=form, status=exc.status)
    db.session.commit()
    flash(_("决定已记录,会议结束。"), "success")
    return redirect(url_for(".meeting", meeting_id=meeting_id))
