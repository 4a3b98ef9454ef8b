"""User actions of the review steps. Each checks its rules, changes data, flushes, records the
ledger entry in the same transaction and returns; none commits or reads the request.

``actor`` None means the system itself (demo data, the CLI); every other actor is checked here
as well as in the views, so the API, the CLI and tests get the same refusals.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from portal import trace
from portal.auth.models import Role, User
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision, Stage
from portal.reviews import permissions, procedure, queries
from portal.reviews.models import (
    ASPECT_CODES,
    BIO_MAX,
    FIELD_MAX,
    INTEREST_MAX,
    MINUTES_MAX,
    NOTE_MAX,
    ORGANISATION_MAX,
    REVIEW_TEXT_MAX,
    STATEMENT_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    CommitteeMember,
    Declaration,
    DeliberationMaterials,
    ExpertInterest,
    ExpertProfile,
    InterestKind,
    LegalityResult,
    LegalityReview,
    Meeting,
    MeetingKind,
    MeetingOpinion,
    MeetingStatus,
    Outcome,
    Position,
    Rating,
    Recommendation,
    Review,
    RiskAssessment,
    RiskLevel,
)
from portal.reviews.rules import find_conflicts, local_date
from portal.trace import INTERNAL, PUBLIC
from portal.trace.canonical import canonical, sha256_hex

# --- Small checks --------------------------------------------------------------------------------


def _text(value, label, max_len: int, *, required: bool = True) -> str:
    """Trimmed text within ``max_len``; NUL characters (refused by PostgreSQL) are dropped."""
    value = str(value or "").replace("\x00", "").strip()
    if required and not value:
        raise DomainError(_l("请填写%(field)s。", field=label), code="missing")
    if len(value) > max_len:
        raise DomainError(_l("%(field)s不能超过 %(n)s 个字符。", field=label, n=max_len), code="too_long")
    return value


def _choice(cls: type[enum.StrEnum], value, label):
    try:
        return cls(str(value))
    except ValueError:
        raise DomainError(_l("%(field)s的取值无效。", field=label), code="invalid_choice") from None


def _allow(actor, allowed: bool) -> None:
    if actor is not None and not allowed:
        raise NotAllowed(_l("您没有权限执行此操作。"))


def _lock(obj) -> None:
    """Lock the row (PostgreSQL ``FOR UPDATE``) and re-read it, so concurrent actions on it queue
    and see each other's result; SQLite write transactions are already serialised (BEGIN IMMEDIATE).
    Only the row itself is locked: ``FOR UPDATE`` cannot cover the outer joins of eager loading."""
    key = inspect(type(obj)).primary_key[0]
    db.session.execute(select(key).where(key == getattr(obj, key.key)).with_for_update())
    db.session.refresh(obj)


def _insert(obj, duplicate_message) -> None:
    """Insert ``obj``; a unique-constraint race (a double submit) becomes a clear refusal."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
            db.session.flush()
    except IntegrityError:
        raise DomainError(duplicate_message, code="duplicate", status=409) from None


def _ensure_stage(decision: Decision, stages, message) -> None:
    if decision.stage not in stages:
        raise DomainError(message, code="wrong_stage", status=409)


def _sha(text: str) -> str:
    return sha256_hex(canonical(text))


# --- Expert pool ---------------------------------------------------------------------------------


def create_profile(actor, user: User, *, field: str, title: str = "", organisation: str = "", bio: str = ""):
    """Add an account holding the expert role to the expert pool."""
    _allow(actor, permissions.can_manage_experts(actor))
    if not user.has_role(Role.EXPERT):
        raise DomainError(_l("只有具有“专家”角色的账号才能加入专家库。"), code="not_expert")
    profile = ExpertProfile(
        user_id=user.id,
        field=_text(field, _l("专业领域"), FIELD_MAX),
        title=_text(title, _l("职称"), TITLE_MAX, required=False),
        organisation=_text(organisation, _l("工作单位"), ORGANISATION_MAX, required=False),
        bio=_text(bio, _l("简介"), BIO_MAX, required=False),
    )
    _insert(profile, _l("该账号已在专家库中。"))
    trace.record(
        actor,
        "expert.profile_created",
        profile,
        user_id=user.id,
        name=user.display_name,
        field=profile.field,
        title=profile.title,
        organisation=profile.organisation,
    )
    return profile


def update_profile(
    actor, profile: ExpertProfile, *, field: str, title: str = "", organisation: str = "", bio: str = "", active=True
):
    """Change an expert's profile; inactive experts are no longer assigned."""
    _allow(actor, permissions.can_manage_experts(actor))
    new = {
        "field": _text(field, _l("专业领域"), FIELD_MAX),
        "title": _text(title, _l("职称"), TITLE_MAX, required=False),
        "organisation": _text(organisation, _l("工作单位"), ORGANISATION_MAX, required=False),
        "bio": _text(bio, _l("简介"), BIO_MAX, required=False),
        "active": bool(active),
    }
    changed = {k: v for k, v in new.items() if getattr(profile, k) != v}
    if not changed:
        return profile
    for key, value in changed.items():
        setattr(profile, key, value)
    db.session.flush()
    trace.record(actor, "expert.profile_updated", profile, **{k: v for k, v in changed.items() if k != "bio"})
    return profile


def declare_profile_interest(actor, profile: ExpertProfile, *, kind: str, value: str) -> ExpertInterest:
    """Record an organisation or subject the expert has a stake in."""
    _allow(actor, permissions.can_declare_interests(actor, profile))
    kind = _choice(InterestKind, kind, _l("类别"))
    interest = ExpertInterest(profile_id=profile.id, kind=kind.value, value=_text(value, _l("名称"), INTEREST_MAX))
    _insert(interest, _l("这项利害关系已经申报过了。"))
    db.session.refresh(profile, ["interests"])
    trace.record(actor, "expert.interest_declared", profile, visibility=INTERNAL, kind=kind.value, value=interest.value)
    return interest


def remove_profile_interest(actor, interest: ExpertInterest) -> None:
    """Remove a declared interest (keepers of the pool only; the ledger keeps the record)."""
    _allow(actor, permissions.can_manage_experts(actor))
    profile = interest.profile
    kind, value = interest.kind, interest.value
    db.session.delete(interest)
    db.session.flush()
    db.session.refresh(profile, ["interests"])
    trace.record(actor, "expert.interest_removed", profile, visibility=INTERNAL, kind=kind, value=value)


# --- Committee -----------------------------------------------------------------------------------


def assign_expert(actor, decision: Decision, profile: ExpertProfile) -> CommitteeMember:
    """Put an expert on the decision's committee, refusing conflicts of interest."""
    _allow(actor, permissions.can_manage_decision(actor, decision))
    _ensure_stage(decision, permissions.ASSIGNABLE_STAGES, _l("专家论证阶段已经结束,不能再指派专家。"))
    if not profile.active:
        raise DomainError(_l("专家%(name)s已不在专家库中,不能指派。", name=profile.name), code="inactive_expert")
    if not profile.user.has_role(Role.EXPERT) or not profile.user.is_enabled:
        raise DomainError(_l("%(name)s的账号已不是专家账号,不能指派。", name=profile.name), code="not_expert")
    conflicts = find_conflicts(profile, decision)
    if conflicts:
        raise DomainError(" ".join(c.message for c in conflicts), code="conflict_of_interest", status=409)
    existing = db.session.scalar(
        select(CommitteeMember).where(
            CommitteeMember.decision_id == decision.id, CommitteeMember.profile_id == profile.id
        )
    )
    if existing is not None and existing.active:
        raise DomainError(_l("专家%(name)s已在本决策的论证委员会中。", name=profile.name), code="duplicate", status=409)
    if existing is not None:
        existing.removed_at = None
        existing.removed_reason = None
        existing.assigned_by_id = getattr(actor, "id", None)
        member = existing
        db.session.flush()
    else:
        member = CommitteeMember(
            decision_id=decision.id, profile_id=profile.id, assigned_by_id=getattr(actor, "id", None)
        )
        _insert(member, _l("专家%(name)s已在本决策的论证委员会中。", name=profile.name))
    trace.record(
        actor,
        "committee.expert_assigned",
        member,
        department=decision.department,
        decision=decision.slug,
        expert=profile.name,
        expert_id=profile.id,
        organisation=profile.organisation,
        field=profile.field,
    )
    return member


def remove_member(actor, member: CommitteeMember, *, reason: str) -> CommitteeMember:
    """Release an expert who has not filed a review from the committee, with a reason."""
    decision = member.decision
    _allow(actor, permissions.can_manage_decision(actor, decision))
    reason = _text(reason, _l("移出理由"), NOTE_MAX)
    if not member.active:
        raise DomainError(_l("该专家已不在委员会中。"), code="not_member", status=409)
    if member.reviews:
        raise DomainError(
            _l("专家%(name)s已提交签署的论证意见,不能移出委员会。", name=member.profile.name),
            code="has_review",
            status=409,
        )
    _ensure_stage(decision, permissions.OPEN_STAGES, _l("决策已作出,委员会不能再变动。"))
    member.removed_at = utcnow()
    member.removed_reason = reason
    db.session.flush()
    trace.record(
        actor,
        "committee.expert_removed",
        member,
        department=decision.department,
        decision=decision.slug,
        expert=member.profile.name,
        reason=reason,
    )
    return member


def declare_interest(expert: User, member: CommitteeMember, *, declaration: str, note: str = "") -> CommitteeMember:
    """The assigned expert's declaration, before the review form: no direct interest, or one (recusal)."""
    if member.profile.user_id != getattr(expert, "id", None) or not member.active:
        raise NotAllowed(_l("只有论证委员会中的专家本人才能作此声明。"))
    declaration = _choice(Declaration, declaration, _l("声明"))
    note = _text(note, _l("说明"), NOTE_MAX, required=declaration is Declaration.INTEREST)
    _lock(member)
    if member.declaration is not None:
        raise DomainError(_l("您已经就本决策作过利害关系声明。"), code="already_declared", status=409)
    _ensure_stage(member.decision, permissions.OPEN_STAGES, _l("决策已作出,不能再声明。"))
    member.declaration = declaration.value
    member.declaration_note = note
    member.declared_at = utcnow()
    db.session.flush()
    trace.record(
        expert,
        "committee.interest_declared",
        member,
        department=member.decision.department,
        decision=member.decision.slug,
        declaration=declaration.value,
    )
    return member


def _review_fields(aspects: dict, recommendation, conditions) -> dict:
    """Validate the structured parts: a rating and a text for each, the recommendation, conditions."""
    from portal.reviews.models import ASPECTS

    labels = dict(ASPECTS)
    fields: dict = {}
    for code in ASPECT_CODES:
        part = aspects.get(code) or {}
        fields[f"{code}_rating"] = _choice(Rating, part.get("rating"), labels[code]).value
        fields[f"{code}_text"] = _text(part.get("text"), labels[code], REVIEW_TEXT_MAX)
    recommendation = _choice(Recommendation, recommendation, _l("总体意见"))
    fields["recommendation"] = recommendation.value
    fields["conditions"] = _text(
        conditions, _l("条件"), REVIEW_TEXT_MAX, required=recommendation is Recommendation.CONDITIONAL
    )
    return fields


def _ensure_can_review(expert: User, member: CommitteeMember) -> None:
    if member.profile.user_id != getattr(expert, "id", None) or not member.active:
        raise NotAllowed(_l("只有论证委员会中的专家本人才能提交论证意见。"))
    if member.declaration is None:
        raise DomainError(_l("请先声明与本决策无直接利害关系,再填写论证意见。"), code="not_declared", status=409)
    if member.recused:
        raise DomainError(_l("您已申报与本决策存在直接利害关系并回避,不能提交论证意见。"), code="recused", status=409)
    _ensure_stage(member.decision, permissions.OPEN_STAGES, _l("决策已作出,不能再提交论证意见。"))


def _sign(expert: User, member: CommitteeMember, version: int, supersedes: Review | None, fields: dict, reason: str):
    decision = member.decision
    current = decision.current_version
    review = Review(
        decision_id=decision.id,
        member_id=member.id,
        version=version,
        supersedes_id=supersedes.id if supersedes else None,
        draft_version_id=current.id if current else None,
        amendment_reason=reason,
        signed_name=expert.display_name,
        signed_at=utcnow(),
        **fields,
    )
    review.content_sha256 = review.compute_sha256()
    _insert(review, _l("论证意见已经提交,请勿重复提交;如需修改,请提交修订版本。"))
    db.session.expire(member, ["reviews"])  # gates read later in this transaction see the new version
    trace.record(
        expert,
        "review.amended" if supersedes else "review.signed",
        review,
        department=decision.department,
        decision=decision.slug,
        version=version,
        supersedes_id=review.supersedes_id,
        draft_version=current.number if current else None,
        signed_name=review.signed_name,
        signed_at=review.signed_at,
        content_sha256=review.content_sha256,
    )
    return review


def submit_review(
    expert: User, member: CommitteeMember, *, aspects: dict, recommendation: str, conditions: str = ""
) -> Review:
    """File and sign the first review; it cannot be changed afterwards (amend instead)."""
    _ensure_can_review(expert, member)
    fields = _review_fields(aspects, recommendation, conditions)
    _lock(member)
    if member.reviews:
        raise DomainError(
            _l("您已提交并签署了论证意见,签署后不能修改;如需更正,请提交修订版本。"), code="already_signed", status=409
        )
    return _sign(expert, member, 1, None, fields, "")


def amend_review(
    expert: User,
    member: CommitteeMember,
    *,
    supersedes: Review,
    reason: str,
    aspects: dict,
    recommendation: str,
    conditions: str = "",
) -> Review:
    """A new signed version that supersedes the current one; both stay on record."""
    _ensure_can_review(expert, member)
    reason = _text(reason, _l("修订理由"), NOTE_MAX)
    fields = _review_fields(aspects, recommendation, conditions)
    _lock(member)
    db.session.refresh(member, ["reviews"])
    current = member.current_review
    if current is None:
        raise DomainError(_l("还没有可修订的论证意见。"), code="nothing_to_amend", status=409)
    if supersedes.member_id != member.id or supersedes.id != current.id:
        raise DomainError(
            _l("您修订的不是最新版本(最新为第 %(n)s 版),请刷新页面后再修订。", n=current.version),
            code="stale",
            status=409,
        )
    return _sign(expert, member, current.version + 1, current, fields, reason)


def save_materials(actor, decision: Decision, *, comment_report_url: str, expert_adoption: str):
    """The department's part of the art. 29 materials: comment adoption report link, expert adoption."""
    _allow(actor, permissions.can_manage_decision(actor, decision))
    _ensure_stage(decision, permissions.OPEN_STAGES, _l("决策已作出,材料不能再修改。"))
    url = _text(comment_report_url, _l("公众意见采纳情况报告链接"), URL_MAX, required=False)
    local = url.startswith("/") and not url.startswith("//") and "\\" not in url
    if url and not (local or url.startswith(("https://", "http://"))):
        raise DomainError(_l("报告链接须为本站路径(以 / 开头)或以 https:// 开头的网址。"), code="bad_url")
    adoption = _text(expert_adoption, _l("专家论证意见采纳情况"), SUMMARY_MAX, required=False)
    record = queries.materials_record(decision)
    if record is None:
        record = DeliberationMaterials(decision_id=decision.id)
        db.session.add(record)
    record.comment_report_url = url
    record.expert_adoption = adoption
    record.updated_by_id = getattr(actor, "id", None)
    record.updated_at = utcnow()
    db.session.flush()
    trace.record(
        actor,
        "deliberation.materials_saved",
        ("decision", decision.id),
        visibility=INTERNAL,
        department=decision.department,
        comment_report_url=url,
        expert_adoption=adoption,
    )
    return record


# --- Risk ----------------------------------------------------------------------------------------


def record_risk_assessment(
    actor, decision: Decision, *, level: str, controllable: bool, findings: str, mitigation: str
) -> RiskAssessment:
    """Record an assessment of the current draft.

    After an uncontrollable one, only a changed draft (a newer published version) may be reassessed.
    """
    _allow(actor, permissions.can_manage_decision(actor, decision))
    _ensure_stage(decision, permissions.OPEN_STAGES, _l("决策已作出,不能再记录风险评估。"))
    level = _choice(RiskLevel, level, _l("风险等级"))
    findings = _text(findings, _l("评估结论"), SUMMARY_MAX)
    mitigation = _text(mitigation, _l("防范化解措施"), SUMMARY_MAX)
    version = decision.current_version
    if version is None:
        raise DomainError(_l("决策草案尚未公布,无法进行风险评估。"), code="no_draft", status=409)
    previous = queries.latest_risk(decision)
    if previous is not None and not previous.controllable and previous.draft_version_id == version.id:
        raise DomainError(
            _l(
                "上次评估认为风险不可控;须先修改决策草案并公布新版本,再重新评估(当前仍为第 %(n)s 版)。",
                n=version.number,
            ),
            code="draft_unchanged",
            status=409,
        )
    assessment = RiskAssessment(
        decision_id=decision.id,
        draft_version_id=version.id,
        level=level.value,
        controllable=bool(controllable),
        findings=findings,
        mitigation=mitigation,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(assessment)
    db.session.flush()
    trace.record(
        actor,
        "risk.assessed",
        assessment,
        visibility=INTERNAL,
        department=decision.department,
        decision=decision.slug,
        draft_version=version.number,
        level=level.value,
        controllable=bool(controllable),
        findings=findings,
        mitigation=mitigation,
    )
    return assessment


# --- Legality ------------------------------------------------------------------------------------


def submit_for_legality_review(actor, decision: Decision, *, materials: str) -> LegalityReview:
    """Send the current draft with its materials to the legality-review office."""
    _allow(actor, permissions.can_manage_decision(actor, decision))
    _ensure_stage(decision, permissions.OPEN_STAGES, _l("决策已作出,不能再送审。"))
    materials = _text(materials, _l("送审材料"), SUMMARY_MAX)
    version = decision.current_version
    if version is None:
        raise DomainError(_l("决策草案尚未公布,无法送审。"), code="no_draft", status=409)
    pending = queries.latest_legality(decision)
    if pending is not None and not pending.is_filed:
        raise DomainError(_l("已有一次送审尚未出具审查意见,请等待审查结果。"), code="pending", status=409)
    review = LegalityReview(
        decision_id=decision.id,
        draft_version_id=version.id,
        materials=materials,
        submitted_by_id=getattr(actor, "id", None),
        submitted_at=utcnow(),
    )
    db.session.add(review)
    db.session.flush()
    timing = procedure.legality_timing(review)
    trace.record(
        actor,
        "legality.submitted",
        review,
        department=decision.department,
        decision=decision.slug,
        draft_version=version.number,
        submitted_at=review.submitted_at,
        working_days=timing.required,
        earliest_deliberation=timing.earliest,
    )
    return review


def file_legality_opinion(
    reviewer: User, review: LegalityReview, *, result: str, opinion: str, required_changes: str = ""
) -> LegalityReview:
    """The reviewer's conclusion: pass, pass with required changes, or fail; filed once."""
    _allow(reviewer, permissions.can_file_legality_opinion(reviewer))
    result = _choice(LegalityResult, result, _l("审查结论"))
    opinion = _text(opinion, _l("审查意见"), SUMMARY_MAX)
    required_changes = _text(
        required_changes,
        _l("须作的修改"),
        SUMMARY_MAX,
        required=result is LegalityResult.PASS_WITH_CHANGES,
    )
    _lock(review)
    if review.is_filed:
        raise DomainError(_l("本次送审的审查意见已经出具,不能修改。"), code="already_filed", status=409)
    decision = review.decision
    review.result = result.value
    review.opinion = opinion
    review.required_changes = required_changes
    review.reviewer_id = reviewer.id if reviewer is not None else None
    review.filed_at = utcnow()
    review.opinion_sha256 = sha256_hex(canonical(review.opinion_document()))
    db.session.flush()
    trace.record(
        reviewer,
        "legality.opinion_filed",
        review,
        visibility=INTERNAL,
        department=decision.department,
        decision=decision.slug,
        result=result.value,
        opinion=opinion,
        required_changes=required_changes,
        opinion_sha256=review.opinion_sha256,
    )
    return review


# --- Collective discussion -----------------------------------------------------------------------


def _deliberation_blockers(decision: Decision) -> list[str]:
    """What stops a meeting: the legality review (never overridable) and the five materials."""
    return procedure.legality_problems(decision) + procedure.material_problems(decision)


def schedule_meeting(
    actor,
    decision: Decision,
    *,
    kind: str,
    meeting_date: date,
    head: User,
    attendees: Iterable[User],
) -> Meeting:
    """Convene the collective discussion, fixing the five materials it will consider."""
    _allow(actor, permissions.can_schedule_meeting(actor, decision))
    kind = _choice(MeetingKind, kind, _l("会议类型"))
    if decision.stage != Stage.DELIBERATION.value:
        raise DomainError(
            _l(
                "决策当前处于“%(stage)s”阶段;须通过各项程序关口进入“集体讨论”阶段后才能安排会议。",
                stage=decision.stage_label,
            ),
            code="wrong_stage",
            status=409,
        )
    blockers = _deliberation_blockers(decision)
    if blockers:
        raise DomainError(
            _l("还不能安排集体讨论:%(problems)s", problems=" ".join(blockers)), code="gate_closed", status=409
        )
    if queries.open_meeting(decision) is not None:
        raise DomainError(_l("本决策已有一次尚未结束的集体讨论会议。"), code="meeting_open", status=409)
    if not isinstance(meeting_date, date):
        raise DomainError(_l("请填写会议日期。"), code="missing")
    legality = queries.latest_legality(decision)
    earliest = procedure.legality_timing(legality).earliest
    if meeting_date < earliest:
        raise DomainError(
            _l("会议日期不能早于 %(date)s:须给合法性审查机构足够的工作日。", date=earliest.isoformat()),
            code="too_early",
        )
    if meeting_date > local_date() + timedelta(days=366):
        raise DomainError(_l("会议日期不能晚于一年之后。"), code="too_late")
    people = {u.id: u for u in attendees}
    if head is None or not head.has_role(Role.LEADER):
        raise DomainError(_l("请选择主持会议并作出决定的行政首长(须为决策机关负责人)。"), code="no_head")
    people[head.id] = head
    not_leaders = [u.display_name for u in people.values() if not u.has_role(Role.LEADER) or not u.is_enabled]
    if not_leaders:
        raise DomainError(
            _l("出席人员须为决策机关组成人员:%(names)s 不是。", names="、".join(not_leaders)), code="not_leader"
        )
    if len(people) < 2:
        raise DomainError(_l("集体讨论至少需要行政首长以外的一位组成人员出席。"), code="too_few")
    risk = queries.latest_risk(decision) if procedure.risk_required(decision) else None
    record = queries.materials_record(decision)
    provided = procedure._provided("comment_adoption", decision)
    meeting = Meeting(
        decision_id=decision.id,
        kind=kind.value,
        meeting_date=meeting_date,
        head_id=head.id,
        scheduled_by_id=getattr(actor, "id", None),
        draft_version_id=decision.current_version.id,
        comment_report_url=provided[1] if provided else (record.comment_report_url if record else ""),
        expert_adoption=record.expert_adoption if record else "",
        risk_assessment_id=risk.id if risk else None,
        legality_review_id=legality.id,
        attendees=sorted(people.values(), key=lambda u: u.display_name),
    )
    db.session.add(meeting)
    db.session.flush()
    trace.record(
        actor,
        "meeting.scheduled",
        meeting,
        department=decision.department,
        decision=decision.slug,
        kind=kind.value,
        meeting_date=meeting_date,
        head=head.display_name,
        attendees=[u.display_name for u in meeting.attendees],
        materials={
            "draft_version": decision.current_version.number,
            "comment_report_url": meeting.comment_report_url,
            "expert_adoption_sha256": _sha(meeting.expert_adoption),
            "risk_assessment_id": meeting.risk_assessment_id,
            "legality_review_id": meeting.legality_review_id,
        },
    )
    return meeting


def _ensure_meeting_usable(meeting: Meeting) -> None:
    meeting.ensure_open()
    if local_date() < meeting.meeting_date:
        raise DomainError(
            _l("会议定于 %(date)s 召开,尚未开始。", date=meeting.meeting_date.isoformat()),
            code="not_started",
            status=409,
        )
    if meeting.decision.stage != Stage.DELIBERATION.value:
        raise DomainError(_l("决策已不在集体讨论阶段。"), code="wrong_stage", status=409)
    problems = procedure.legality_problems(meeting.decision)
    if problems:
        raise DomainError(" ".join(problems), code="gate_closed", status=409)


def record_opinion(leader: User, meeting: Meeting, *, position: str, statement: str) -> MeetingOpinion:
    """One member's opinion as said; the head speaks last, through ``record_decision``."""
    if leader is None or not leader.has_role(Role.LEADER):
        raise NotAllowed(_l("只有决策机关组成人员才能在集体讨论中发表意见。"))
    if leader.id not in {u.id for u in meeting.attendees}:
        raise NotAllowed(_l("您未出席本次会议,不能记录意见。"))
    if leader.id == meeting.head_id:
        raise DomainError(
            _l("行政首长最后发表意见:请在其他组成人员发言后,在“作出决定”中陈述意见并决定。"),
            code="head_speaks_last",
            status=409,
        )
    position = _choice(Position, position, _l("表决意见"))
    statement = _text(statement, _l("发言内容"), STATEMENT_MAX)
    _lock(meeting)
    meeting.ensure_open()
    if meeting.opinion_of(leader) is not None:
        raise DomainError(_l("您的意见已经记录,不能更改。"), code="already_recorded", status=409)
    _ensure_meeting_usable(meeting)
    opinion = MeetingOpinion(
        meeting_id=meeting.id, member_id=leader.id, position=position.value, statement=statement, recorded_at=utcnow()
    )
    _insert(opinion, _l("您的意见已经记录,不能更改。"))
    db.session.refresh(meeting, ["opinions"])
    trace.record(
        leader,
        "meeting.opinion_recorded",
        opinion,
        visibility=INTERNAL,
        department=meeting.decision.department,
        decision=meeting.decision.slug,
        meeting_id=meeting.id,
        member=leader.display_name,
        position=position.value,
        statement=statement,
    )
    return opinion


def departs_from_majority(meeting: Meeting, outcome: Outcome) -> bool:
    """Whether the head's decision goes against the majority of the members who took a side."""
    majority = meeting.majority()
    if majority is None:
        return False
    if majority is Position.AGREE:
        return outcome not in (Outcome.ADOPT, Outcome.ADOPT_WITH_CHANGES)
    return outcome is not Outcome.REJECT


def record_decision(
    head: User,
    meeting: Meeting,
    *,
    outcome: str,
    statement: str,
    departure_reason: str = "",
    minutes: str,
    public_summary: str,
) -> Meeting:
    """The head speaks last and decides; the meeting closes; a decision moves the decision to ``decided``."""
    if head is None or head.id != meeting.head_id or not head.has_role(Role.LEADER):
        raise NotAllowed(_l("只有主持会议的行政首长才能作出决定。"))
    outcome = _choice(Outcome, outcome, _l("决定"))
    statement = _text(statement, _l("行政首长意见"), STATEMENT_MAX)
    departure_reason = _text(departure_reason, _l("与多数意见不一致的理由"), STATEMENT_MAX, required=False)
    minutes = _text(minutes, _l("会议纪要"), MINUTES_MAX)
    public_summary = _text(public_summary, _l("公开摘要"), SUMMARY_MAX)
    _lock(meeting)
    _ensure_meeting_usable(meeting)
    db.session.refresh(meeting, ["opinions"])
    waiting = meeting.waiting_for
    if waiting:
        raise DomainError(
            _l(
                "行政首长须最后发表意见:%(names)s 的意见尚未记录。",
                names="、".join(u.display_name for u in waiting),
            ),
            code="head_speaks_last",
            status=409,
        )
    if departs_from_majority(meeting, outcome) and not departure_reason:
        majority = meeting.majority()
        raise DomainError(
            _l(
                "多数组成人员的意见为“%(majority)s”,而决定为“%(outcome)s”;与多数意见不一致时,须说明理由。",
                majority=majority.label,
                outcome=outcome.label,
            ),
            code="reason_required",
        )
    decision = meeting.decision
    meeting.outcome = outcome.value
    meeting.head_statement = statement
    meeting.departure_reason = departure_reason
    meeting.minutes = minutes
    meeting.public_summary = public_summary
    meeting.decided_at = utcnow()
    meeting.status = MeetingStatus.CLOSED.value
    db.session.flush()
    tally = meeting.tally()
    dissenters = [o.member.display_name for o in meeting.opinions if o.position == Position.DISSENT.value]
    trace.record(
        head,
        "meeting.minutes_recorded",
        meeting,
        visibility=INTERNAL,
        department=decision.department,
        decision=decision.slug,
        head_statement=statement,
        minutes=minutes,
    )
    trace.record(
        head,
        "meeting.decided",
        meeting,
        visibility=PUBLIC,
        department=decision.department,
        decision=decision.slug,
        outcome=outcome.value,
        head=head.display_name,
        tally=tally,
        dissenters=dissenters,
        departed_from_majority=departs_from_majority(meeting, outcome),
        departure_reason=departure_reason,
        public_summary=public_summary,
        minutes_sha256=_sha(minutes),
    )
    if outcome.decides:
        previous = decision.move_to(Stage.DECIDED)
        db.session.flush()
        trace.record(
            head,
            "decision.stage_changed",
            decision,
            department=decision.department,
            **{"from": previous.value, "to": Stage.DECIDED.value},
            via="collective_discussion",
            outcome=outcome.value,
            meeting_id=meeting.id,
        )
    return meeting
