"""Rules of the review steps, through the operations: refusals leave nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.auth.models import Role
from portal.core.errors import DomainError, NotAllowed
from portal.decisions.gates import unmet_conditions
from portal.decisions.models import ORDER, Stage
from portal.reviews import operations as ops
from portal.reviews import procedure, queries
from portal.reviews.models import CommitteeMember, LegalityReview, Meeting, MeetingOpinion, Review, RiskAssessment
from portal.reviews.rules import local_date
from portal.trace.models import TraceEntry
from tests.reviews.conftest import REVIEW, publish_version


def entries(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq)))


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- Expert pool ---------------------------------------------------------------------------------


def test_only_expert_accounts_join_the_pool(db, make_user):
    citizen = make_user(Role.CITIZEN)
    with pytest.raises(DomainError) as caught:
        ops.create_profile(None, citizen, field="法学")
    assert caught.value.code == "not_expert"


def test_profile_twice_is_refused(db, make_expert):
    profile = make_expert()
    with pytest.raises(DomainError) as caught:
        ops.create_profile(None, profile.user, field="法学")
    assert caught.value.status == 409


def test_pool_is_kept_by_officials_and_admins(db, make_user, make_expert):
    profile = make_expert()
    with pytest.raises(NotAllowed):
        ops.update_profile(make_user(Role.CITIZEN), profile, field="法学")
    # The expert may add interests to their own profile, but not remove them.
    interest = ops.declare_profile_interest(profile.user, profile, kind="subject", value="水价")
    with pytest.raises(NotAllowed):
        ops.remove_profile_interest(profile.user, interest)
    with pytest.raises(NotAllowed):
        ops.declare_profile_interest(make_user(Role.EXPERT), profile, kind="subject", value="电价")


def test_interest_rows_and_ledger(db, make_expert, official):
    profile = make_expert()
    ops.declare_profile_interest(official, profile, kind="organisation", value="市水务集团")
    with pytest.raises(DomainError) as caught:
        ops.declare_profile_interest(official, profile, kind="organisation", value="市水务集团")
    assert caught.value.status == 409
    with pytest.raises(DomainError):
        ops.declare_profile_interest(official, profile, kind="relative", value="x")
    with pytest.raises(DomainError) as caught:
        ops.declare_profile_interest(official, profile, kind="subject", value="长" * 121)
    assert caught.value.code == "too_long"
    assert [(i.kind, i.value) for i in profile.interests] == [("organisation", "市水务集团")]
    [entry] = entries(db, "expert.interest_declared")
    assert entry.visibility == "internal"


def test_experts_searchable_by_field(db, make_expert):
    make_expert("甲", field="水利工程")
    make_expert("乙", field="行政法学")
    found = db.session.scalars(queries.experts_stmt(field="水利")).all()
    assert [p.name for p in found] == ["甲"]
    assert db.session.scalars(queries.experts_stmt(field="%")).all() == []  # LIKE wildcards are literal


# --- Committee -----------------------------------------------------------------------------------


def test_conflicted_expert_cannot_be_assigned(db, make_decision, make_expert, official):
    decision = make_decision()
    profile = make_expert("孙启明", interests=[("subject", "水价")])
    before = count(db, TraceEntry)
    with pytest.raises(DomainError) as caught:
        ops.assign_expert(official, decision, profile)
    assert caught.value.code == "conflict_of_interest"
    assert "孙启明" in str(caught.value.message)
    assert "水价" in str(caught.value.message)
    assert queries.committee(decision) == []
    assert count(db, TraceEntry) == before


def test_assignment_needs_the_department_and_the_stage(db, make_decision, make_expert, make_user, make_department):
    decision = make_decision()
    profile = make_expert()
    foreign = make_user(Role.OFFICIAL, department=make_department())
    with pytest.raises(NotAllowed):
        ops.assign_expert(foreign, decision, profile)
    late = make_decision(Stage.LEGALITY_REVIEW)
    with pytest.raises(DomainError) as caught:
        ops.assign_expert(None, late, profile)
    assert caught.value.code == "wrong_stage"


def test_assignment_twice_and_removal(db, make_decision, make_expert, official):
    decision = make_decision()
    profile = make_expert()
    member = ops.assign_expert(official, decision, profile)
    with pytest.raises(DomainError) as caught:
        ops.assign_expert(official, decision, profile)
    assert caught.value.status == 409
    with pytest.raises(DomainError):
        ops.remove_member(official, member, reason="  ")
    ops.remove_member(official, member, reason="出国访学")
    assert queries.committee(decision) == []
    assert entries(db, "committee.expert_removed")[0].payload_data["reason"] == "出国访学"
    # Assigning again brings the same row back.
    assert ops.assign_expert(official, decision, profile).id == member.id


def test_declaration_is_the_experts_own_and_made_once(db, make_decision, make_expert, official):
    decision = make_decision()
    profile = make_expert()
    member = ops.assign_expert(official, decision, profile)
    with pytest.raises(NotAllowed):
        ops.declare_interest(official, member, declaration="no_interest")
    with pytest.raises(DomainError) as caught:
        ops.declare_interest(profile.user, member, declaration="interest")  # a recusal needs words
    assert caught.value.code == "missing"
    ops.declare_interest(profile.user, member, declaration="no_interest")
    with pytest.raises(DomainError) as caught:
        ops.declare_interest(profile.user, member, declaration="interest", note="我改主意了")
    assert caught.value.code == "already_declared"
    [entry] = entries(db, "committee.interest_declared")
    assert entry.payload_data["declaration"] == "no_interest"
    assert entry.actor_id == profile.user_id


# --- Reviews -------------------------------------------------------------------------------------


def test_review_needs_the_declaration_first(db, make_decision, make_expert, seat):
    decision = make_decision()
    profile = make_expert()
    member = seat(decision, profile, declare=False, review=False)
    with pytest.raises(DomainError) as caught:
        ops.submit_review(profile.user, member, **REVIEW)
    assert caught.value.code == "not_declared"
    ops.declare_interest(profile.user, member, declaration="interest", note="本人在供水企业兼职")
    with pytest.raises(DomainError) as caught:
        ops.submit_review(profile.user, member, **REVIEW)
    assert caught.value.code == "recused"


def test_only_the_member_reviews(db, make_decision, make_expert, seat):
    decision = make_decision()
    member = seat(decision, make_expert(), review=False)
    with pytest.raises(NotAllowed):
        ops.submit_review(make_expert("旁人").user, member, **REVIEW)


def test_signed_review_hash_and_ledger(db, make_decision, make_expert, seat):
    decision = make_decision()
    profile = make_expert("陈立群")
    member = seat(decision, profile)
    review = member.current_review
    assert review.signed_name == "陈立群"
    assert review.version == 1
    assert review.signature_valid
    assert review.draft_version_id == decision.current_version.id
    [entry] = entries(db, "review.signed")
    assert entry.visibility == "public"
    assert entry.payload_data["content_sha256"] == review.content_sha256 == review.compute_sha256()
    assert "necessity" not in entry.payload  # the content itself is not in the public entry


def test_review_submitted_twice_is_refused(db, make_decision, make_expert, seat):
    decision = make_decision()
    profile = make_expert()
    member = seat(decision, profile)
    with pytest.raises(DomainError) as caught:
        ops.submit_review(profile.user, member, **REVIEW)
    assert caught.value.code == "already_signed"
    assert count(db, Review) == 1


def test_signed_review_cannot_be_edited(db, make_decision, make_expert, seat):
    decision = make_decision()
    member = seat(decision, make_expert())
    review = member.current_review
    review.recommendation = "oppose"
    with pytest.raises(DomainError) as caught:
        db.session.flush()
    assert caught.value.code == "immutable"
    db.session.rollback()
    # Below the application too: the database refuses.
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE expert_review SET recommendation = 'oppose' WHERE id = :id"), {"id": review.id})
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("DELETE FROM expert_review WHERE id = :id"), {"id": review.id})
    assert db.session.get(Review, review.id).recommendation == "support"


def test_amendment_supersedes_and_keeps_both(db, make_decision, make_expert, seat):
    decision = make_decision()
    profile = make_expert()
    member = seat(decision, profile)
    first = member.current_review
    changed = {**REVIEW, "recommendation": "conditional", "conditions": "先行试点"}
    with pytest.raises(DomainError) as caught:
        ops.amend_review(profile.user, member, supersedes=first, reason="", **changed)
    assert caught.value.code == "missing"
    second = ops.amend_review(profile.user, member, supersedes=first, reason="补充条件", **changed)
    assert (second.version, second.supersedes_id, second.recommendation) == (2, first.id, "conditional")
    assert [r.version for r in queries.reviews_of(decision)] == [1, 2]
    assert db.session.get(Review, first.id).recommendation == "support"
    # Amending the superseded version again (a stale form) is refused.
    with pytest.raises(DomainError) as caught:
        ops.amend_review(profile.user, member, supersedes=first, reason="再改", **changed)
    assert caught.value.code == "stale"
    assert entries(db, "review.amended")[0].payload_data["supersedes_id"] == first.id


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"recommendation": "conditional", "conditions": ""}, "missing"),
        ({"recommendation": "maybe"}, "invalid_choice"),
        ({"aspects": {**REVIEW["aspects"], "risks": {"rating": "bad", "text": "x"}}}, "invalid_choice"),
        ({"aspects": {**REVIEW["aspects"], "risks": {"rating": "none", "text": " "}}}, "missing"),
        ({"aspects": {**REVIEW["aspects"], "risks": {"rating": "none", "text": "长" * 5001}}}, "too_long"),
        ({"conditions": "长" * 5001}, "too_long"),
    ],
)
def test_bad_reviews_are_refused(db, make_decision, make_expert, seat, change, code):
    decision = make_decision()
    profile = make_expert()
    member = seat(decision, profile, review=False)
    with pytest.raises(DomainError) as caught:
        ops.submit_review(profile.user, member, **{**REVIEW, **change})
    assert caught.value.code == code
    assert count(db, Review) == 0


def test_expert_review_gate(db, app, make_decision, make_expert, seat, official):
    decision = make_decision()
    assert unmet_conditions(decision) == ["尚未指派论证专家(或指派的专家均已回避)。"]
    wang = make_expert("王专家")
    seat(decision, wang, declare=False, review=False)
    li = seat(decision, make_expert("李专家"), review=False)
    recused = seat(decision, make_expert("回避专家"), declare=False, review=False)
    ops.declare_interest(recused.profile.user, recused, declaration="interest", note="亲属在承办单位")
    assert unmet_conditions(decision) == ["专家王专家尚未声明利害关系。", "专家李专家尚未提交论证意见。"]
    member = queries.membership(decision, wang.user)
    ops.declare_interest(wang.user, member, declaration="no_interest")
    ops.submit_review(wang.user, member, **REVIEW)
    ops.submit_review(li.profile.user, li, **REVIEW)
    assert unmet_conditions(decision) == []


# --- Risk ----------------------------------------------------------------------------------------


def _assess(official, decision, controllable=True):
    return ops.record_risk_assessment(
        official, decision, level="high", controllable=controllable, findings="评估结论", mitigation="措施"
    )


def test_risk_required_only_when_flagged(db, make_decision, official):
    calm = make_decision(Stage.RISK_ASSESSMENT, affects_stability=False)
    assert unmet_conditions(calm) == []
    flagged = make_decision(Stage.RISK_ASSESSMENT, affects_stability=True)
    assert unmet_conditions(flagged) == ["本决策涉及社会稳定或公共安全,尚未进行风险评估。"]
    _assess(official, flagged)
    assert unmet_conditions(flagged) == []
    [entry] = entries(db, "risk.assessed")
    assert entry.visibility == "internal"
    assert entry.department_id == flagged.department_id


def test_uncontrollable_risk_blocks_until_new_draft_and_reassessment(db, make_decision, official):
    decision = make_decision(Stage.RISK_ASSESSMENT, affects_stability=True)
    _assess(official, decision, controllable=False)
    assert unmet_conditions(decision) == ["风险评估认为风险不可控;须修改决策草案并重新评估。"]
    with pytest.raises(DomainError) as caught:
        _assess(official, decision, controllable=True)
    assert caught.value.code == "draft_unchanged"
    assert count(db, RiskAssessment) == 1
    # Also the gate into deliberation, should the risk stage have been passed over.
    assert "风险评估认为风险不可控;须修改决策草案并重新评估。" in procedure.entry_problems(decision)
    publish_version(decision)
    _assess(official, decision, controllable=True)
    assert unmet_conditions(decision) == []


def test_risk_assessment_is_immutable_in_the_database(db, make_decision, official):
    decision = make_decision(Stage.RISK_ASSESSMENT, affects_stability=True)
    assessment = _assess(official, decision)
    db.session.commit()
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE risk_assessment SET controllable = false WHERE id = :id"), {"id": assessment.id}
        )


# --- Legality ------------------------------------------------------------------------------------


def test_legality_submission_rules(db, make_decision, official, legal_reviewer, make_user):
    decision = make_decision(Stage.LEGALITY_REVIEW, versions=0)
    with pytest.raises(DomainError) as caught:
        ops.submit_for_legality_review(official, decision, materials="草案")
    assert caught.value.code == "no_draft"
    publish_version(decision)
    with pytest.raises(DomainError) as caught:
        ops.submit_for_legality_review(official, decision, materials="")
    assert caught.value.code == "missing"
    review = ops.submit_for_legality_review(official, decision, materials="草案及说明")
    with pytest.raises(DomainError) as caught:
        ops.submit_for_legality_review(official, decision, materials="再送一次")
    assert caught.value.code == "pending"
    with pytest.raises(NotAllowed):
        ops.file_legality_opinion(official, review, result="pass", opinion="合法")
    with pytest.raises(NotAllowed):
        ops.file_legality_opinion(make_user(Role.LEADER), review, result="pass", opinion="合法")
    with pytest.raises(DomainError) as caught:
        ops.file_legality_opinion(legal_reviewer, review, result="pass_with_changes", opinion="基本合法")
    assert caught.value.code == "missing"
    ops.file_legality_opinion(legal_reviewer, review, result="pass", opinion="合法")
    with pytest.raises(DomainError) as caught:
        ops.file_legality_opinion(legal_reviewer, review, result="fail", opinion="改判")
    assert caught.value.code == "already_filed"
    assert db.session.get(LegalityReview, review.id).result == "pass"
    submitted, filed = entries(db, "legality.submitted")[0], entries(db, "legality.opinion_filed")[0]
    assert submitted.visibility == "public"
    assert submitted.payload_data["working_days"] == 7
    assert filed.visibility == "internal"
    assert filed.payload_data["opinion_sha256"] == review.opinion_sha256


def test_filed_legality_opinion_is_fixed_in_the_database(db, make_decision, pass_legality):
    review = pass_legality(make_decision(Stage.LEGALITY_REVIEW))
    review.result = "fail"
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE legality_review SET result = 'fail' WHERE id = :id"), {"id": review.id})


def test_legality_gate_messages(db, make_decision, official, legal_reviewer):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    assert procedure.legality_problems(decision) == ["尚未提交合法性审查;未经合法性审查的,不得提交集体讨论。"]
    review = ops.submit_for_legality_review(official, decision, materials="草案")
    problems = procedure.legality_problems(decision)
    assert problems[0] == "合法性审查意见尚未出具。"
    assert "须给审查机构至少 7 个工作日" in problems[1]
    ops.file_legality_opinion(legal_reviewer, review, result="fail", opinion="第三条越权")
    assert "合法性审查结论为不合法;须修改草案并重新送审。" in procedure.legality_problems(decision)


def test_working_days_are_counted_from_the_submission(db, make_decision, official, legal_reviewer):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    review = ops.submit_for_legality_review(official, decision, materials="草案")
    ops.file_legality_opinion(legal_reviewer, review, result="pass", opinion="合法")
    today = local_date()
    # Filed at once: the reviewer was not given the time yet, so deliberation waits.
    [problem] = procedure.legality_problems(decision, today=today)
    assert "0 个工作日前送审" in problem
    timing = procedure.legality_timing(review)
    assert procedure.legality_problems(decision, today=timing.earliest) == []
    assert procedure.legality_problems(decision, today=timing.earliest - timedelta(days=1)) != []


def test_pass_with_changes_needs_a_new_version(db, make_decision, pass_legality):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    pass_legality(decision, result="pass_with_changes", required_changes="删除第三条")
    assert procedure.legality_problems(decision) == ["合法性审查要求修改草案;修改后的草案版本尚未发布。"]
    publish_version(decision)
    assert procedure.legality_problems(decision) == []


def test_legality_check_cannot_be_overridden(db, app, make_decision):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    assert procedure.legality_problems.overridable is False
    problems = procedure.non_overridable_problems(decision)
    assert problems == ["尚未提交合法性审查;未经合法性审查的,不得提交集体讨论。"]
    # The materials are overridable; they are not in the non-overridable list.
    assert len(unmet_conditions(decision)) > len(problems)
    # Checked again when leaving deliberation, so two overrides cannot carry a decision past it.
    assert procedure.non_overridable_problems(decision, Stage.DELIBERATION) == problems


def test_materials_gate(db, make_decision, official, pass_legality):
    decision = make_decision(Stage.LEGALITY_REVIEW, affects_stability=True)
    pass_legality(decision)
    problems = unmet_conditions(decision)
    assert any("公众意见采纳情况" in p for p in problems)
    assert any("专家论证意见采纳情况" in p for p in problems)
    assert any("风险评估报告" in p for p in problems)
    with pytest.raises(DomainError) as caught:
        ops.save_materials(official, decision, comment_report_url="javascript:alert(1)", expert_adoption="x")
    assert caught.value.code == "bad_url"
    ops.save_materials(official, decision, comment_report_url="https://example.cn/r", expert_adoption="采纳")
    _assess(official, decision)
    assert unmet_conditions(decision) == []
    assert {m.code: m.present for m in procedure.materials(decision)} == {
        "draft": True,
        "comment_adoption": True,
        "expert_adoption": True,
        "risk_report": True,
        "legality_opinion": True,
    }


def test_comment_report_from_a_provider(db, app, make_decision):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    procedure.add_material_provider(app, "comment_adoption", lambda d: ("征求意见报告", f"/c/{d.slug}"))
    [material] = [m for m in procedure.materials(decision) if m.code == "comment_adoption"]
    assert material.present
    assert material.url == f"/c/{decision.slug}"


# --- Collective discussion -----------------------------------------------------------------------


def test_meeting_only_after_the_gates(db, make_decision, official, leaders, pass_legality):
    early = make_decision(Stage.LEGALITY_REVIEW)
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(
            official, early, kind="executive", meeting_date=local_date(), head=leaders[0], attendees=leaders
        )
    assert caught.value.code == "wrong_stage"
    # Moved into deliberation past the gates (an override): the legality review still stops the meeting.
    overridden = make_decision(Stage.DELIBERATION)
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(
            official, overridden, kind="executive", meeting_date=local_date(), head=leaders[0], attendees=leaders
        )
    assert caught.value.code == "gate_closed"
    assert "合法性审查" in str(caught.value.message)
    assert count(db, Meeting) == 0


def test_meeting_date_and_attendees(db, ready, official, leaders, make_user):
    legality = queries.latest_legality(ready)
    legality_earliest = procedure.legality_timing(legality).earliest
    kwargs = {"kind": "executive", "head": leaders[0], "attendees": leaders}
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(official, ready, meeting_date=legality_earliest - timedelta(days=1), **kwargs)
    assert caught.value.code == "too_early"
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(
            official, ready, meeting_date=local_date(), kind="executive", head=leaders[0], attendees=[]
        )
    assert caught.value.code == "too_few"
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(
            official,
            ready,
            meeting_date=local_date(),
            kind="executive",
            head=leaders[0],
            attendees=[*leaders, make_user(Role.CITIZEN, name="路人")],
        )
    assert caught.value.code == "not_leader"
    assert "路人" in str(caught.value.message)
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(official, ready, meeting_date=local_date(), kind="tea", head=leaders[0], attendees=leaders)
    assert caught.value.code == "invalid_choice"
    with pytest.raises(NotAllowed):
        ops.schedule_meeting(make_user(Role.CITIZEN), ready, meeting_date=local_date(), **kwargs)
    meeting = ops.schedule_meeting(official, ready, meeting_date=local_date(), **kwargs)
    assert meeting.legality_review_id == legality.id
    assert meeting.draft_version_id == ready.current_version.id
    with pytest.raises(DomainError) as caught:
        ops.schedule_meeting(official, ready, meeting_date=local_date(), **kwargs)
    assert caught.value.code == "meeting_open"


def test_opinions_are_the_leaders_own(db, meeting, leaders, make_user, official):
    with pytest.raises(NotAllowed):
        ops.record_opinion(official, meeting, position="agree", statement="同意")
    with pytest.raises(NotAllowed):
        ops.record_opinion(make_user(Role.LEADER), meeting, position="agree", statement="同意")  # not present
    with pytest.raises(DomainError) as caught:
        ops.record_opinion(leaders[0], meeting, position="agree", statement="同意")
    assert caught.value.code == "head_speaks_last"
    with pytest.raises(DomainError) as caught:
        ops.record_opinion(leaders[1], meeting, position="agree", statement="长" * 5001)
    assert caught.value.code == "too_long"
    ops.record_opinion(leaders[1], meeting, position="agree", statement="同意")
    with pytest.raises(DomainError) as caught:
        ops.record_opinion(leaders[1], meeting, position="dissent", statement="我改变主意")
    assert caught.value.code == "already_recorded"
    assert count(db, MeetingOpinion) == 1
    [entry] = entries(db, "meeting.opinion_recorded")
    assert entry.visibility == "internal"
    assert entry.department_id == meeting.decision.department_id
    assert entry.payload_data["statement"] == "同意"


def test_meeting_not_started_refuses_opinions(db, ready, official, leaders):
    meeting = ops.schedule_meeting(
        official,
        ready,
        kind="plenary",
        meeting_date=local_date() + timedelta(days=3),
        head=leaders[0],
        attendees=leaders,
    )
    with pytest.raises(DomainError) as caught:
        ops.record_opinion(leaders[1], meeting, position="agree", statement="同意")
    assert caught.value.code == "not_started"


DECIDE = {"statement": "同意。", "minutes": "会议纪要全文", "public_summary": "会议通过。"}


def test_head_decides_last(db, meeting, leaders):
    ops.record_opinion(leaders[1], meeting, position="agree", statement="同意")
    with pytest.raises(DomainError) as caught:
        ops.record_decision(leaders[0], meeting, outcome="adopt", **DECIDE)
    assert caught.value.code == "head_speaks_last"
    assert "郑副市长" in str(caught.value.message)
    assert "冯秘书长" in str(caught.value.message)
    with pytest.raises(NotAllowed):
        ops.record_decision(leaders[1], meeting, outcome="adopt", **DECIDE)
    assert meeting.status == "scheduled"
    assert meeting.decision.stage == "deliberation"


def test_departing_from_the_majority_needs_a_reason(db, meeting, leaders):
    for leader, position in zip(leaders[1:], ("dissent", "dissent", "agree"), strict=True):
        ops.record_opinion(leader, meeting, position=position, statement=f"{leader.display_name}的发言")
    db.session.commit()
    with pytest.raises(DomainError) as caught:
        ops.record_decision(leaders[0], meeting, outcome="adopt", **DECIDE)
    assert caught.value.code == "reason_required"
    db.session.rollback()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.status == "scheduled"
    assert meeting.outcome is None
    assert meeting.decision.stage == "deliberation"
    assert entries(db, "meeting.decided") == []
    ops.record_decision(leaders[0], meeting, outcome="adopt", departure_reason="事关民生,须及时推进。", **DECIDE)
    assert meeting.decision.stage == "decided"
    [decided] = entries(db, "meeting.decided")
    assert decided.visibility == "public"
    assert decided.payload_data["dissenters"] == ["钱副市长", "郑副市长"]
    assert decided.payload_data["departed_from_majority"] is True
    assert decided.payload_data["tally"] == {"agree": 1, "dissent": 2, "abstain": 0}
    assert "minutes" not in decided.payload_data
    [minutes] = entries(db, "meeting.minutes_recorded")
    assert minutes.visibility == "internal"
    assert minutes.payload_data["minutes"] == "会议纪要全文"
    [moved] = entries(db, "decision.stage_changed")
    assert moved.payload_data["from"] == "deliberation"
    assert moved.payload_data["to"] == "decided"
    # Closed: nothing more is recorded.
    with pytest.raises(DomainError) as caught:
        ops.record_opinion(leaders[1], meeting, position="agree", statement="改为同意")
    assert caught.value.code == "meeting_closed"
    with pytest.raises(DomainError):
        ops.record_decision(leaders[0], meeting, outcome="reject", departure_reason="x", **DECIDE)
    assert unmet_conditions(meeting.decision, Stage.DELIBERATION) == []


def test_tie_needs_no_reason_and_missing_decision_is_refused(db, meeting, leaders):
    for leader, position in zip(leaders[1:], ("agree", "dissent", "abstain"), strict=True):
        ops.record_opinion(leader, meeting, position=position, statement="发言")
    with pytest.raises(DomainError) as caught:
        ops.record_decision(leaders[0], meeting, outcome="", **DECIDE)
    assert caught.value.code == "invalid_choice"
    with pytest.raises(DomainError) as caught:
        ops.record_decision(leaders[0], meeting, outcome="reject", **{**DECIDE, "public_summary": ""})
    assert caught.value.code == "missing"
    ops.record_decision(leaders[0], meeting, outcome="reject", **DECIDE)
    assert meeting.decision.stage == "decided"


def test_postponement_keeps_deliberating(db, meeting, leaders, official):
    for leader in leaders[1:]:
        ops.record_opinion(leader, meeting, position="abstain", statement="再研究")
    decision = meeting.decision
    assert unmet_conditions(decision) == ["集体讨论尚未作出决定。"]
    ops.record_decision(leaders[0], meeting, outcome="postpone", **DECIDE)
    assert decision.stage == "deliberation"
    assert meeting.is_closed
    assert unmet_conditions(decision) == ["集体讨论尚未作出决定。"]
    again = ops.schedule_meeting(
        official, decision, kind="plenary", meeting_date=local_date(), head=leaders[0], attendees=leaders
    )
    assert again.id != meeting.id


def test_opinions_are_immutable_in_the_database(db, meeting, leaders):
    opinion = ops.record_opinion(leaders[1], meeting, position="dissent", statement="不同意")
    db.session.commit()
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE meeting_opinion SET position = 'agree' WHERE id = :id"), {"id": opinion.id})
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("DELETE FROM meeting_opinion WHERE id = :id"), {"id": opinion.id})


def test_every_step_is_in_the_verified_ledger(db, meeting, leaders):
    from portal.trace import verify

    for leader in leaders[1:]:
        ops.record_opinion(leader, meeting, position="agree", statement="同意")
    ops.record_decision(leaders[0], meeting, outcome="adopt", **DECIDE)
    actions = set(db.session.scalars(select(TraceEntry.action)))
    assert {
        "expert.profile_created",
        "committee.expert_assigned",
        "committee.interest_declared",
        "review.signed",
        "deliberation.materials_saved",
        "legality.submitted",
        "legality.opinion_filed",
        "meeting.scheduled",
        "meeting.opinion_recorded",
        "meeting.minutes_recorded",
        "meeting.decided",
        "decision.stage_changed",
    } <= actions
    assert verify().ok


def test_demo_data_seeds_idempotently(db, app):
    from portal.core.seed import seed_demo

    lines = list(seed_demo())
    assert any("one dissent recorded" in line for line in lines)
    again = list(seed_demo())
    assert not any("one dissent recorded" in line for line in again)
    parking = queries.decision_by_slug("2026-parking-charges")
    assert parking.stage_enum in ORDER[ORDER.index(Stage.DECIDED) :]  # later steps' demo data may move it on
    [meeting] = queries.meetings_of(parking)
    assert meeting.tally()["dissent"] == 1
    bus = queries.decision_by_slug("2026-bus-fare")
    assert bus.stage == "legality_review"
    assert procedure.legality_problems(bus)
    water = queries.decision_by_slug("2026-water-price")
    if water is not None:
        assert len(queries.committee(water)) == 3
        assert procedure.expert_review_problems(water)
    conflicted = queries.profile_for_user(db.session.scalar(select(CommitteeMember).limit(1)).profile.user)
    assert conflicted is not None
