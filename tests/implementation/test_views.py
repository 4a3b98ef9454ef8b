"""Pages and API of a decision in force."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.decisions import operations as decision_ops
from portal.decisions.models import Stage
from portal.implementation import operations as ops
from portal.implementation.models import Adjustment, Feedback, ImplementationUpdate, PostEvaluation


@pytest.fixture
def in_force(db, published_decision, official):
    decision = published_decision()
    decision_ops.advance(official, decision, Stage.IMPLEMENTATION)
    db.session.commit()
    return decision


@pytest.mark.parametrize(
    "path",
    [
        "/decisions/no-such-thing/implementation",
        "/decisions/no-such-thing/feedback/manage",
        "/decisions/no-such-thing/evaluation/new",
        "/feedback/FK-2026-999999",
        "/feedback/" + "X" * 300,
        "/api/v1/decisions/no-such-thing/implementation",
        "/api/v1/decisions/no-such-thing/feedback",
    ],
)
def test_unknown_ids_are_404(client, login, official, path):
    login(official)
    assert client.get(path).status_code == 404


def test_public_page_shows_updates_feedback_and_evaluation(db, client, in_force, official, citizen):
    ops.post_update(official, in_force, title="公示完成", body="已在入口公示。")
    published = ops.submit_feedback(citizen, in_force, body="东门多收费。")
    ops.publish_feedback(official, published)
    ops.respond_feedback(official, published, disposition="resolved", body="已退费。")
    ops.submit_feedback(citizen, in_force, body="尚未审核的反馈")
    ops.file_evaluation(official, in_force, conclusion="continue", report="继续执行。")
    db.session.commit()
    page = client.get(f"/decisions/{in_force.slug}/implementation").get_data(as_text=True)
    assert "公示完成" in page
    assert "东门多收费" in page
    assert "已退费" in page
    assert "继续执行" in page
    assert "尚未审核的反馈" not in page
    detail = client.get(f"/decisions/{in_force.slug}").get_data(as_text=True)
    assert f"/decisions/{in_force.slug}/implementation" in detail


def test_citizen_reports_a_problem_and_reads_the_receipt(db, client, login, in_force, citizen, make_user):
    login(citizen)
    response = client.post(f"/decisions/{in_force.slug}/feedback", data={"body": "夜间收费未公示。", "token": "form-1"})
    assert response.status_code == 302
    feedback = db.session.scalar(select(Feedback))
    assert response.headers["Location"].endswith(f"/feedback/{feedback.tracking_number}")
    assert (
        client.post(
            f"/decisions/{in_force.slug}/feedback", data={"body": "夜间收费未公示。", "token": "form-1"}
        ).status_code
        == 302
    )
    assert db.session.scalar(select(func.count(Feedback.id))) == 1  # the same form twice: one report
    assert feedback.tracking_number in client.get(f"/feedback/{feedback.tracking_number}").get_data(as_text=True)
    client.post("/logout")
    login(make_user(Role.CITIZEN))
    assert client.get(f"/feedback/{feedback.tracking_number}").status_code == 404


@pytest.mark.parametrize(("body", "message"), [("", "请填写反馈内容"), ("字" * 5001, "不能超过")])
def test_bad_feedback_is_explained(db, client, login, in_force, citizen, body, message):
    login(citizen)
    response = client.post(f"/decisions/{in_force.slug}/feedback", data={"body": body})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Feedback.id))) == 0


def test_feedback_before_publication_is_refused(db, client, login, make_decision, citizen):
    decision = make_decision(Stage.DECIDED)
    login(citizen)
    response = client.post(f"/decisions/{decision.slug}/feedback", data={"body": "问题"})
    assert response.status_code == 409
    assert "不在施行中" in response.get_data(as_text=True)


def test_anonymous_visitor_is_asked_to_log_in(client, in_force):
    response = client.post(f"/decisions/{in_force.slug}/feedback", data={"body": "问题"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_department_moderates_and_answers(db, client, login, in_force, official, citizen):
    first = ops.submit_feedback(citizen, in_force, body="问题一")
    second = ops.submit_feedback(citizen, in_force, body="广告")
    db.session.commit()
    login(official)
    assert "问题一" in client.get(f"/decisions/{in_force.slug}/feedback/manage").get_data(as_text=True)
    assert client.post(f"/feedback/{first.tracking_number}/publish").status_code == 302
    response = client.post(f"/feedback/{first.tracking_number}/publish")
    assert response.status_code == 409  # already handled: said clearly
    response = client.post(f"/feedback/{second.tracking_number}/reject", data={"reason": "nonsense"})
    assert response.status_code == 400
    assert client.post(f"/feedback/{second.tracking_number}/reject", data={"reason": "advertising"}).status_code == 302
    response = client.post(f"/feedback/{first.tracking_number}/respond", data={"disposition": "resolved", "body": ""})
    assert response.status_code == 400
    assert "请填写答复" in response.get_data(as_text=True)
    response = client.post(
        f"/feedback/{first.tracking_number}/respond", data={"disposition": "resolved", "body": "已处理。"}
    )
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.response.body == "已处理。"


def test_foreign_official_cannot_moderate_or_report(db, client, login, in_force, citizen, make_user, make_department):
    feedback = ops.submit_feedback(citizen, in_force, body="问题")
    db.session.commit()
    login(make_user(Role.OFFICIAL, department=make_department(code="jyj")))
    assert client.post(f"/feedback/{feedback.tracking_number}/publish").status_code == 403
    assert client.get(f"/decisions/{in_force.slug}/feedback/manage").status_code == 403
    response = client.post(f"/decisions/{in_force.slug}/implementation/updates", data={"title": "x", "body": "y"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(ImplementationUpdate.id))) == 0


def test_update_and_evaluation_forms(db, client, login, in_force, official):
    login(official)
    response = client.post(f"/decisions/{in_force.slug}/implementation/updates", data={"title": "", "body": "y"})
    assert response.status_code == 400
    assert "请填写标题" in response.get_data(as_text=True)
    data = {"title": "公示完成", "body": "已公示。"}
    assert client.post(f"/decisions/{in_force.slug}/implementation/updates", data=data).status_code == 302
    assert client.get(f"/decisions/{in_force.slug}/evaluation/new").status_code == 200
    response = client.post(f"/decisions/{in_force.slug}/evaluation/new", data={"conclusion": "bogus", "report": "x"})
    assert response.status_code == 400
    data = {"conclusion": "continue", "report": "## 结论\n\n继续执行。"}
    assert client.post(f"/decisions/{in_force.slug}/evaluation/new", data=data).status_code == 302
    assert db.session.scalar(select(func.count(PostEvaluation.id))) == 1


def test_leader_suspends_with_a_reason(db, client, login, in_force, leader, official):
    login(official)
    assert (
        client.post(f"/decisions/{in_force.slug}/adjustments", data={"kind": "suspend", "reason": "x"}).status_code
        == 403
    )
    client.post("/logout")
    login(leader)
    response = client.post(f"/decisions/{in_force.slug}/adjustments", data={"kind": "suspend", "reason": ""})
    assert response.status_code == 400
    assert "请说明理由" in response.get_data(as_text=True)
    response = client.post(
        f"/decisions/{in_force.slug}/adjustments", data={"kind": "suspend", "reason": "发现重大问题。"}
    )
    assert response.status_code == 302
    assert "此决策已暂停执行" in client.get(f"/decisions/{in_force.slug}/implementation").get_data(as_text=True)
    response = client.post(f"/decisions/{in_force.slug}/adjustments", data={"kind": "suspend", "reason": "再暂停"})
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(Adjustment.id))) == 1


def test_api(db, client, in_force, official, citizen):
    ops.post_update(official, in_force, title="公示完成", body="已公示。")
    feedback = ops.submit_feedback(citizen, in_force, body="问题", anonymous=True)
    ops.publish_feedback(official, feedback)
    db.session.commit()
    data = client.get(f"/api/v1/decisions/{in_force.slug}/implementation").get_json()
    assert data["in_force"]
    assert data["updates"][0]["title"] == "公示完成"
    assert data["feedback_published"] == 1
    page = client.get(f"/api/v1/decisions/{in_force.slug}/feedback").get_json()
    assert page["items"][0]["author"] == "匿名公众"
    assert page["items"][0]["response"] is None
    assert client.get(f"/api/v1/decisions/{in_force.slug}/feedback?page=abc").status_code == 422
