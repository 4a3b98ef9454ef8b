"""Rules after publication: updates, feedback, the evaluation proposal, post-evaluation, adjustment."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.core.errors import DomainError, NotAllowed
from portal.core.mail import pending_count
from portal.decisions import operations as decision_ops
from portal.decisions.models import Stage
from portal.decisions.operations import GateClosed
from portal.implementation import operations as ops
from portal.implementation.models import EvaluationProposal, Feedback, ImplementationUpdate, PostEvaluation
from portal.trace.models import TraceEntry
from tests.releases.conftest import move


@pytest.fixture
def in_force(db, published_decision, official):
    decision = published_decision()
    decision_ops.advance(official, decision, Stage.IMPLEMENTATION)
    db.session.commit()
    return decision


def mails(app) -> int:
    """Messages queued or already written to the outbox (a savepoint release may deliver early)."""
    from pathlib import Path

    return pending_count() + len(list(Path(app.config["OUTBOX_PATH"]).glob("*.eml")))


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _actions(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action)))


# Updates --------------------------------------------------------------------------------------------


def test_department_posts_updates_on_a_decision_in_force(db, in_force, official):
    update = ops.post_update(official, in_force, title="公示完成", body="已在入口公示。")
    assert update.id
    assert _actions(db, "implementation.updated")[-1].visibility == "public"


def test_updates_refused_to_others_and_before_publication(db, in_force, make_decision, official, citizen, spokesperson):
    for actor in (citizen, spokesperson):
        with pytest.raises(NotAllowed):
            ops.post_update(actor, in_force, title="x", body="y")
    with pytest.raises(DomainError) as caught:
        ops.post_update(official, make_decision(Stage.DECIDED), title="x", body="y")
    assert caught.value.code == "not_in_force"
    for fields in ({"title": "", "body": "y"}, {"title": "x", "body": ""}, {"title": "标" * 201, "body": "y"}):
        with pytest.raises(DomainError):
            ops.post_update(official, in_force, **fields)
    assert _count(db, ImplementationUpdate) == 0


# Feedback -------------------------------------------------------------------------------------------


def test_feedback_gets_tracking_numbers_and_double_submit_gives_one(app, db, in_force, citizen):
    first = ops.submit_feedback(citizen, in_force, body="东门停车场多收费。", submission_token="tok-1")
    again = ops.submit_feedback(citizen, in_force, body="东门停车场多收费。", submission_token="tok-1")
    second = ops.submit_feedback(citizen, in_force, body="夜间收费未公示。", anonymous=True)
    assert first.id == again.id
    assert re.fullmatch(r"FK-\d{4}-\d{6}", first.tracking_number)
    assert second.number == first.number + 1
    assert second.public_name == "匿名公众"
    assert first.public_name == citizen.display_name
    entry = _actions(db, "feedback.submitted")[-1]
    assert entry.visibility == "internal"  # the citizen's identity is not public
    assert mails(app) == 2  # one receipt per report


@pytest.mark.parametrize("body", ["", "   ", "字" * 5001])
def test_bad_feedback_is_refused(db, in_force, citizen, body):
    with pytest.raises(DomainError):
        ops.submit_feedback(citizen, in_force, body=body)
    assert _count(db, Feedback) == 0


def test_feedback_only_on_a_decision_in_force(db, make_decision, citizen):
    with pytest.raises(DomainError) as caught:
        ops.submit_feedback(citizen, make_decision(Stage.DECIDED), body="问题")
    assert caught.value.code == "not_in_force"


def test_moderation_and_response(db, in_force, citizen, official, make_user, make_department):
    feedback = ops.submit_feedback(citizen, in_force, body="问题")
    foreign = make_user(Role.OFFICIAL, department=make_department(code="jyj"))
    with pytest.raises(NotAllowed):
        ops.publish_feedback(foreign, feedback)
    with pytest.raises(DomainError) as caught:
        ops.respond_feedback(official, feedback, disposition="resolved", body="已处理。")
    assert caught.value.code == "bad_status"
    ops.publish_feedback(official, feedback)
    with pytest.raises(DomainError):
        ops.publish_feedback(official, feedback)
    with pytest.raises(DomainError):
        ops.respond_feedback(official, feedback, disposition="ignored", body="x")
    response = ops.respond_feedback(official, feedback, disposition="resolved", body="已处理。")
    changed = ops.respond_feedback(official, feedback, disposition="explained", body="补充说明。")
    assert response.id == changed.id
    assert changed.disposition == "explained"
    other = ops.submit_feedback(citizen, in_force, body="广告")
    with pytest.raises(DomainError):
        ops.reject_feedback(official, other, reason="no-such-reason")
    ops.reject_feedback(official, other, reason="advertising")
    assert other.status == "rejected"


def test_threshold_proposes_a_post_evaluation_once(app, db, in_force, citizen, official):
    app.config["FEEDBACK_EVALUATION_THRESHOLD"] = 2
    ops.submit_feedback(citizen, in_force, body="问题一")
    assert db.session.get(EvaluationProposal, in_force.id) is None
    before = mails(app)
    ops.submit_feedback(citizen, in_force, body="问题二")
    proposal = db.session.get(EvaluationProposal, in_force.id)
    assert proposal is not None
    assert proposal.feedback_count == 2
    assert proposal.threshold == 2
    assert mails(app) == before + 2  # the receipt and the department's notice
    ops.submit_feedback(citizen, in_force, body="问题三")
    assert len(_actions(db, "evaluation.proposed")) == 1


# Post-evaluation ---------------------------------------------------------------------------------------


def test_post_evaluation_not_by_the_pre_decision_assessor(db, make_decision, official, make_user, department):
    from portal.releases import operations as release_ops
    from portal.reviews import operations as review_ops
    from tests.releases.conftest import PUBLICATION

    decision = make_decision(Stage.RISK_ASSESSMENT, affects_stability=True)
    review_ops.record_risk_assessment(
        official, decision, level="medium", controllable=True, findings="可控。", mitigation="分步实施。"
    )
    move(decision, Stage.DECIDED)
    release_ops.publish_decision(official, decision, effective_date=release_ops.local_today(), **PUBLICATION)
    decision_ops.advance(official, decision, Stage.IMPLEMENTATION)
    assert not ops.can_evaluate(official, decision)
    with pytest.raises(NotAllowed) as caught:
        ops.file_evaluation(official, decision, conclusion="continue", report="报告。")
    assert "第三十七条" in str(caught.value.message)
    colleague = make_user(Role.OFFICIAL, department=department)
    evaluation = ops.file_evaluation(colleague, decision, conclusion="adjust", report="## 报告\n\n建议调整。")
    assert evaluation.evaluator_id == colleague.id
    assert _actions(db, "evaluation.filed")[-1].payload_data["report_sha256"] == evaluation.report_sha256


def test_post_evaluation_rules(db, in_force, published_decision, official):
    with pytest.raises(DomainError) as caught:
        ops.file_evaluation(official, published_decision(), conclusion="continue", report="报告。")
    assert caught.value.code == "not_in_force"
    for fields in ({"conclusion": "whatever", "report": "报告。"}, {"conclusion": "continue", "report": " "}):
        with pytest.raises(DomainError):
            ops.file_evaluation(official, in_force, **fields)
    assert _count(db, PostEvaluation) == 0


def test_evaluation_stage_needs_a_report_to_be_left(db, in_force, official):
    decision_ops.advance(official, in_force, Stage.EVALUATION)
    with pytest.raises(GateClosed):
        decision_ops.advance(official, in_force, Stage.ARCHIVED)
    ops.file_evaluation(official, in_force, conclusion="continue", report="报告。")
    decision_ops.advance(official, in_force, Stage.ARCHIVED)
    assert in_force.stage == Stage.ARCHIVED.value


# Adjustment and suspension ---------------------------------------------------------------------------


def test_suspend_and_resume_with_reasons(db, in_force, leader, official):
    with pytest.raises(NotAllowed):
        ops.adjust(official, in_force, kind="suspend", reason="理由")
    with pytest.raises(DomainError):
        ops.adjust(leader, in_force, kind="suspend", reason="  ")
    with pytest.raises(DomainError) as caught:
        ops.adjust(leader, in_force, kind="resume", reason="恢复")
    assert caught.value.code == "not_suspended"
    ops.adjust(leader, in_force, kind="suspend", reason="执行中发现重大问题,暂停执行。")
    assert ops.is_suspended(in_force)
    with pytest.raises(DomainError):
        ops.adjust(leader, in_force, kind="suspend", reason="再次暂停")
    ops.adjust(leader, in_force, kind="adjust", reason="调整免费时段。")
    assert ops.is_suspended(in_force)
    ops.adjust(leader, in_force, kind="resume", reason="问题已解决。")
    assert not ops.is_suspended(in_force)
    assert [e.action for e in _actions(db, "decision.suspended")] == ["decision.suspended"]
    with pytest.raises(DomainError):
        ops.adjust(leader, in_force, kind="terminate", reason="x")
