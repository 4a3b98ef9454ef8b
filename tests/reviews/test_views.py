"""Pages and API of the review steps: the journeys, the refusals, and what the public may read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.decisions.models import Stage
from portal.reviews import operations as ops
from portal.reviews import queries
from portal.reviews.models import CommitteeMember, ExpertProfile, Meeting, MeetingOpinion, Review
from portal.reviews.rules import local_date
from tests.reviews.conftest import review_form_data


def body(response) -> str:
    return response.get_data(as_text=True)


# --- Expert pool ---------------------------------------------------------------------------------


def test_pool_is_public_and_searchable_by_field(client, make_expert):
    make_expert("林水生", field="水利工程")
    make_expert("方正", field="行政法学")
    page = body(client.get("/experts?field=水利"))
    assert "林水生" in page
    assert "方正" not in page
    data = client.get("/api/v1/experts?field=法学").get_json()
    assert [e["name"] for e in data["items"]] == ["方正"]
    assert data["items"][0]["interests"] is None  # declared interests are not public


@pytest.mark.parametrize("query", ["field=" + "长" * 81, "page=0", "per_page=1000"])
def test_bad_api_filters_are_422(client, query):
    response = client.get("/api/v1/experts?" + query)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


def test_odd_query_strings_do_not_break_the_page(client):
    assert client.get("/experts?field=%00%25_&q=%00").status_code == 200
    assert client.get("/api/v1/experts?field=%00").status_code == 200


def test_only_officials_and_admins_add_experts(client, login, make_user, department):
    expert_account = make_user(Role.EXPERT, name="新专家")
    login(make_user(Role.CITIZEN))
    assert client.get("/experts/new").status_code == 403
    client.post("/logout")
    login(make_user(Role.OFFICIAL, department=department))
    page = body(client.get("/experts/new"))
    assert "新专家" in page
    response = client.post("/experts/new", data={"user_id": expert_account.id, "field": "长" * 81})
    assert response.status_code == 400
    assert "不能超过 80 个字符" in body(response)
    response = client.post(
        "/experts/new", data={"user_id": expert_account.id, "field": "水利工程", "organisation": "省设计院"}
    )
    assert response.status_code == 302
    profile = queries.profile_for_user(expert_account)
    assert profile.field == "水利工程"


def test_expert_declares_interests_on_their_profile(client, login, make_expert, make_user, db):
    profile = make_expert("孙启明")
    login(profile.user)
    response = client.post(
        f"/experts/{profile.id}/interests", data={"kind": "subject", "value": "水价"}, follow_redirects=True
    )
    assert "利害关系已申报" in body(response)
    assert "水价" in body(response)
    response = client.post(f"/experts/{profile.id}/interests", data={"kind": "subject", "value": "水价"})
    assert response.status_code == 409
    assert "已经申报过了" in body(response)
    interest = profile.interests[0]
    # Removing is for the pool's keepers.
    assert client.post(f"/experts/{profile.id}/interests/{interest.id}/delete").status_code == 403
    client.post("/logout")
    login(make_user(Role.EXPERT))
    assert client.post(f"/experts/{profile.id}/interests", data={"kind": "subject", "value": "x"}).status_code == 403
    client.post("/logout")
    # Anonymous visitors see the profile, not the interests.
    assert "水价" not in body(client.get(f"/experts/{profile.id}"))


# --- Committee -----------------------------------------------------------------------------------


def test_assigning_and_the_conflict_message(client, login, official, make_decision, make_expert, db):
    decision = make_decision()
    clean = make_expert("陈立群")
    conflicted = make_expert("孙启明", interests=[("organisation", "市水务局")])
    login(official)
    page = body(client.get(f"/decisions/{decision.slug}/committee"))
    assert "因利害关系不能指派的专家" in page
    response = client.post(f"/decisions/{decision.slug}/committee", data={"profile_id": conflicted.id})
    assert response.status_code == 409
    assert "专家孙启明申报的利害关系单位“市水务局”与本决策的承办单位“市水务局”相关,不能指派。" in body(response)
    assert queries.committee(decision) == []
    response = client.post(f"/decisions/{decision.slug}/committee", data={"profile_id": clean.id})
    assert response.status_code == 302
    page = body(client.get(f"/decisions/{decision.slug}/committee"))
    assert "陈立群" in page
    assert "只有一位专家" in page


def test_foreign_official_and_missing_things(client, login, make_user, make_department, make_decision, make_expert):
    decision = make_decision()
    profile = make_expert()
    login(make_user(Role.OFFICIAL, department=make_department()))
    assert client.post(f"/decisions/{decision.slug}/committee", data={"profile_id": profile.id}).status_code == 403
    assert client.post(f"/decisions/{decision.slug}/risk", data={}).status_code == 403
    assert client.post(f"/decisions/{decision.slug}/legality", data={"materials": "x"}).status_code == 403
    assert client.post(f"/decisions/{decision.slug}/materials", data={}).status_code == 403
    for url in (
        "/decisions/no-such-decision/committee",
        "/decisions/no-such-decision/risk",
        "/decisions/no-such-decision/legality",
        "/decisions/no-such-decision/materials",
        "/decisions/no-such-decision/deliberation",
        "/reviews/999999",
        "/meetings/999999",
        "/experts/999999",
        "/api/v1/experts/999999",
        "/api/v1/reviews/999999",
        "/api/v1/decisions/no-such-decision/committee",
        "/api/v1/decisions/no-such-decision/reviews",
        "/api/v1/decisions/no-such-decision/meetings",
        "/api/v1/decisions/no-such-decision/legality-reviews",
        "/api/v1/decisions/no-such-decision/risk-assessments",
    ):
        assert client.get(url).status_code == 404, url


def test_remove_member_needs_a_reason(client, login, official, make_decision, make_expert, seat):
    decision = make_decision()
    member = seat(decision, make_expert("方正"), declare=False, review=False)
    login(official)
    response = client.post(f"/decisions/{decision.slug}/committee/{member.id}/remove", data={"reason": ""})
    assert response.status_code == 400
    assert "移出理由" in body(response)
    assert client.post(f"/decisions/{decision.slug}/committee/999999/remove", data={"reason": "x"}).status_code == 404
    response = client.post(f"/decisions/{decision.slug}/committee/{member.id}/remove", data={"reason": "出访"})
    assert response.status_code == 302
    assert queries.committee(decision) == []


# --- The expert's journey ------------------------------------------------------------------------


def test_expert_declares_then_reviews_then_amends(client, login, official, make_decision, make_expert, db):
    decision = make_decision()
    profile = make_expert("陈立群")
    ops.assign_expert(official, decision, profile)
    db.session.commit()
    login(profile.user)
    # The form is not shown before the declaration.
    response = client.get(f"/decisions/{decision.slug}/review")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/declaration")
    response = client.post(f"/decisions/{decision.slug}/declaration", data={})
    assert response.status_code == 400
    response = client.post(f"/decisions/{decision.slug}/declaration", data={"declaration": "no_interest"})
    assert response.headers["Location"].endswith("/review")
    page = body(client.get(f"/decisions/{decision.slug}/review"))
    assert "必要性" in page
    assert "成本与效益" in page
    assert "签署并提交" in page

    incomplete = review_form_data(necessity_text="", confirm="")
    response = client.post(f"/decisions/{decision.slug}/review", data=incomplete)
    assert response.status_code == 400
    assert "请确认后再签署提交" in body(response)
    too_long = review_form_data(risks_text="长" * 5001)
    assert client.post(f"/decisions/{decision.slug}/review", data=too_long).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0

    response = client.post(f"/decisions/{decision.slug}/review", data=review_form_data())
    assert response.status_code == 302
    review = db.session.scalars(select(Review)).one()
    page = body(client.get(f"/reviews/{review.id}"))
    assert "陈立群" in page
    assert review.content_sha256 in page
    assert "与签署时一致" in page

    # Submitting again (a double click, a second tab) is refused; nothing changes.
    response = client.post(f"/decisions/{decision.slug}/review", data=review_form_data(recommendation="oppose"))
    assert response.status_code == 409
    assert "签署后不能修改" in body(response)

    page = body(client.get(f"/decisions/{decision.slug}/review/amend"))
    assert f'value="{review.id}"' in page
    assert "necessity 的论证意见。" in page
    amended = review_form_data(recommendation="conditional", conditions="先行试点", supersedes_id=review.id)
    response = client.post(f"/decisions/{decision.slug}/review/amend", data=amended)
    assert response.status_code == 400
    assert "修订理由" in body(response)
    response = client.post(f"/decisions/{decision.slug}/review/amend", data={**amended, "reason": "补充条件"})
    assert response.status_code == 302
    # The same amendment posted again now amends a superseded version: refused.
    response = client.post(f"/decisions/{decision.slug}/review/amend", data={**amended, "reason": "补充条件"})
    assert response.status_code == 409
    assert "不是最新版本" in body(response)
    versions = queries.reviews_of(decision)
    assert [(r.version, r.recommendation) for r in versions] == [(1, "support"), (2, "conditional")]
    page = body(client.get(f"/reviews/{versions[0].id}"))
    assert "此版本已被第 2 版取代" in page
    assert "全部版本" in page


def test_expert_not_on_the_committee_gets_403(client, login, official, make_decision, make_expert, db):
    decision = make_decision()
    ops.assign_expert(official, decision, make_expert("委员"))
    db.session.commit()
    login(make_expert("旁人").user)
    assert client.get(f"/decisions/{decision.slug}/review").status_code == 403
    assert client.post(f"/decisions/{decision.slug}/review", data=review_form_data()).status_code == 403
    assert client.get(f"/decisions/{decision.slug}/declaration").status_code == 403
    client.post("/logout")
    login(official)  # not an expert at all
    assert client.get(f"/decisions/{decision.slug}/review").status_code == 403


def test_recused_expert_does_not_review(client, login, official, make_decision, make_expert, db):
    decision = make_decision()
    profile = make_expert()
    ops.assign_expert(official, decision, profile)
    db.session.commit()
    login(profile.user)
    response = client.post(f"/decisions/{decision.slug}/declaration", data={"declaration": "interest", "note": ""})
    assert response.status_code == 400
    assert "请填写说明" in body(response)
    client.post(f"/decisions/{decision.slug}/declaration", data={"declaration": "interest", "note": "亲属任职"})
    assert client.get(f"/decisions/{decision.slug}/review").status_code == 302
    response = client.post(f"/decisions/{decision.slug}/review", data=review_form_data())
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0


def test_reviews_public_only_once_published(client, login, official, make_decision, make_expert, seat, db):
    decision = make_decision()
    member = seat(decision, make_expert("陈立群"))
    review = member.current_review
    assert client.get(f"/reviews/{review.id}").status_code == 403
    assert client.get(f"/api/v1/reviews/{review.id}").status_code == 403
    assert client.get(f"/api/v1/decisions/{decision.slug}/reviews").get_json() == {"visible": False, "items": []}
    committee = client.get(f"/api/v1/decisions/{decision.slug}/committee").get_json()
    assert committee["members"][0]["review_id"] is None
    assert committee["members"][0]["review_version"] == 1
    login(official)  # the department sees at once
    assert client.get(f"/reviews/{review.id}").status_code == 200
    client.post("/logout")
    decision.stage = Stage.PUBLISHED.value
    db.session.commit()
    assert client.get(f"/reviews/{review.id}").status_code == 200
    data = client.get(f"/api/v1/decisions/{decision.slug}/reviews").get_json()
    assert data["visible"] is True
    assert data["items"][0]["signed_name"] == "陈立群"
    assert data["items"][0]["content_sha256"] == review.content_sha256
    assert data["items"][0]["signature_valid"]


# --- Risk and legality ---------------------------------------------------------------------------


def test_risk_page_and_reassessment_refusal(client, login, official, make_decision):
    decision = make_decision(Stage.RISK_ASSESSMENT, affects_stability=True)
    login(official)
    form = {"level": "high", "controllable": "no", "findings": "不可控", "mitigation": "暂无"}
    assert client.post(f"/decisions/{decision.slug}/risk", data={**form, "level": "extreme"}).status_code == 400
    assert client.post(f"/decisions/{decision.slug}/risk", data=form).status_code == 302
    response = client.post(f"/decisions/{decision.slug}/risk", data={**form, "controllable": "yes"})
    assert response.status_code == 409
    assert "须先修改决策草案并公布新版本" in body(response)
    client.post("/logout")
    page = body(client.get(f"/decisions/{decision.slug}/risk"))
    assert "风险评估认为风险不可控" in page
    assert "暂无" not in page
    api = client.get(f"/api/v1/decisions/{decision.slug}/risk-assessments").get_json()
    assert api["required"]
    assert api["items"][0]["controllable"] is None


def test_legality_submission_and_opinion(client, login, official, legal_reviewer, make_decision, make_user, db):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    login(official)
    assert client.post(f"/decisions/{decision.slug}/legality", data={"materials": ""}).status_code == 400
    assert client.post(f"/decisions/{decision.slug}/legality", data={"materials": "草案及说明"}).status_code == 302
    response = client.post(f"/decisions/{decision.slug}/legality", data={"materials": "再送"})
    assert response.status_code == 409
    assert "尚未出具审查意见" in body(response)
    review = queries.latest_legality(decision)
    assert client.get(f"/legality/{review.id}/opinion").status_code == 403
    client.post("/logout")
    login(legal_reviewer)
    assert decision.title in body(client.get("/legality"))
    assert client.get("/legality/999999/opinion").status_code == 404
    response = client.post(
        f"/legality/{review.id}/opinion", data={"result": "pass_with_changes", "opinion": "基本合法"}
    )
    assert response.status_code == 400
    assert "须作的修改" in body(response)
    response = client.post(f"/legality/{review.id}/opinion", data={"result": "fail", "opinion": "第三条越权"})
    assert response.status_code == 302
    response = client.post(f"/legality/{review.id}/opinion", data={"result": "pass", "opinion": "改判"})
    assert response.status_code == 409
    assert "不能修改" in body(response)
    client.post("/logout")
    page = body(client.get(f"/decisions/{decision.slug}/legality"))
    assert "决策公布后公开" in page
    assert "第三条越权" not in page
    assert "合法性审查结论为不合法" in page
    api = client.get(f"/api/v1/decisions/{decision.slug}/legality-reviews").get_json()
    assert api["items"][0]["filed"] is True
    assert api["items"][0]["result"] is None
    decision.stage = Stage.PUBLISHED.value
    db.session.commit()
    api = client.get(f"/api/v1/decisions/{decision.slug}/legality-reviews").get_json()
    assert api["items"][0]["result"] == "fail"
    assert api["items"][0]["opinion"] == "第三条越权"


# --- Collective discussion -----------------------------------------------------------------------


def test_deliberation_before_the_gates_is_refused(client, login, official, leaders, make_decision):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    login(official)
    page = body(client.get(f"/decisions/{decision.slug}/deliberation"))
    assert "尚未提交合法性审查" in page
    form = {
        "kind": "executive",
        "meeting_date": local_date().isoformat(),
        "head_id": leaders[0].id,
        "attendee_ids": [u.id for u in leaders],
    }
    response = client.post(f"/decisions/{decision.slug}/deliberation", data=form)
    assert response.status_code == 409
    assert "进入“集体讨论”阶段后才能安排会议" in body(response)
    response = client.post(f"/decisions/{decision.slug}/deliberation", data={**form, "meeting_date": "明天"})
    assert response.status_code == 400
    client.post("/logout")
    login(leaders[1])
    assert client.post(f"/decisions/{decision.slug}/deliberation", data=form).status_code == 409
    client.post("/logout")
    assert client.post(f"/decisions/{decision.slug}/deliberation", data=form).status_code == 302  # to login


def test_meeting_journey(client, login, official, leaders, ready, db):
    login(official)
    form = {
        "kind": "executive",
        "meeting_date": local_date().isoformat(),
        "head_id": leaders[0].id,
        "attendee_ids": [u.id for u in leaders[1:]],
    }
    response = client.post(f"/decisions/{ready.slug}/deliberation", data=form)
    assert response.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    url = f"/meetings/{meeting.id}"
    # An official cannot speak for the leaders.
    assert client.post(url + "/opinion", data={"position": "agree", "statement": "同意"}).status_code == 403
    client.post("/logout")

    login(leaders[0])
    page = body(client.get(url))
    assert "请待" in page  # the head is told to wait
    response = client.post(
        url + "/decision", data={"outcome": "adopt", "statement": "通过", "minutes": "纪要", "public_summary": "摘要"}
    )
    assert response.status_code == 409
    assert "行政首长须最后发表意见" in body(response)
    response = client.post(url + "/opinion", data={"position": "agree", "statement": "同意"})
    assert response.status_code == 409
    assert "最后发表意见" in body(response)
    client.post("/logout")

    statements = {
        leaders[1]: ("dissent", "不同意。首小时涨幅过大,\n建议先试点。"),
        leaders[2]: ("dissent", "不同意。"),
        leaders[3]: ("agree", "同意。"),
    }
    for leader, (position, statement) in statements.items():
        login(leader)
        response = client.post(url + "/opinion", data={"position": position, "statement": statement})
        assert response.status_code == 302
        response = client.post(url + "/opinion", data={"position": "agree", "statement": "改了"})
        assert response.status_code == 409
        assert "不能更改" in body(response)
        client.post("/logout")
    assert db.session.scalar(select(func.count()).select_from(MeetingOpinion)) == 3

    login(leaders[0])
    decide = {
        "outcome": "adopt",
        "statement": "原则通过。",
        "minutes": "完整纪要",
        "public_summary": "会议修改后通过。",
    }
    response = client.post(url + "/decision", data={**decide, "outcome": ""})
    assert response.status_code == 400  # a meeting record without the head's decision
    response = client.post(url + "/decision", data=decide)
    assert response.status_code == 400
    assert "须说明理由" in body(response)
    assert db.session.get(Meeting, meeting.id).status == "scheduled"
    response = client.post(url + "/decision", data={**decide, "departure_reason": "民生急需,先行实施。"})
    assert response.status_code == 302
    assert ready.stage == "decided"
    page = body(client.get(url))
    assert "完整纪要" in page
    assert "不同意。首小时涨幅过大" in page
    client.post("/logout")

    login(leaders[1])
    response = client.post(url + "/opinion", data={"position": "agree", "statement": "我改为同意"})
    assert response.status_code == 409
    assert "会议已结束" in body(response)
    client.post("/logout")

    page = body(client.get(url))  # the public
    assert "会议修改后通过。" in page
    assert "民生急需,先行实施。" in page
    assert "完整纪要" not in page
    assert "首小时涨幅过大" not in page
    assert leaders[1].display_name in page  # who dissented is on record
    api = client.get(f"/api/v1/decisions/{ready.slug}/meetings").get_json()
    [item] = api["items"]
    assert item["outcome"] == "adopt"
    assert item["opinions"] is None
    assert item["minutes"] is None
    assert sorted(item["dissenters"]) == sorted([leaders[1].display_name, leaders[2].display_name])
    assert {m["code"]: m["present"] for m in api["materials"]}["legality_opinion"] is True


def test_non_leader_cannot_record_opinions(client, login, meeting, make_user):
    login(make_user(Role.CITIZEN))
    assert (
        client.post(f"/meetings/{meeting.id}/opinion", data={"position": "agree", "statement": "x"}).status_code == 403
    )
    assert client.post(f"/meetings/{meeting.id}/decision", data={"outcome": "adopt"}).status_code == 403
    client.post("/logout")
    login(make_user(Role.LEADER))  # a leader who was not present
    response = client.post(f"/meetings/{meeting.id}/opinion", data={"position": "agree", "statement": "x"})
    assert response.status_code == 403
    assert client.post(f"/meetings/{meeting.id}/decision", data={"outcome": "adopt"}).status_code == 403


def test_over_long_statement_is_refused(client, login, meeting, leaders):
    login(leaders[1])
    response = client.post(f"/meetings/{meeting.id}/opinion", data={"position": "agree", "statement": "长" * 5001})
    assert response.status_code == 400
    assert "不能超过 5000 个字符" in body(response)


# --- Materials, sections, navigation, OpenAPI ----------------------------------------------------


def test_materials_page(client, login, official, make_decision):
    decision = make_decision(Stage.LEGALITY_REVIEW)
    login(official)
    response = client.post(
        f"/decisions/{decision.slug}/materials", data={"comment_report_url": "javascript:x", "expert_adoption": ""}
    )
    assert response.status_code == 400
    assert "报告链接须为本站路径" in body(response)
    response = client.post(
        f"/decisions/{decision.slug}/materials", data={"comment_report_url": "/r", "expert_adoption": "全部采纳"}
    )
    assert response.status_code == 302
    client.post("/logout")
    page = body(client.get(f"/decisions/{decision.slug}/materials"))
    assert "集体讨论的五项材料" in page
    assert "全部采纳" not in page


def test_decision_page_sections(app, client, ready, meeting, leaders, db):
    from flask import render_template

    for leader in leaders[1:]:
        ops.record_opinion(leader, meeting, position="agree", statement="同意")
    ops.record_decision(
        leaders[0], meeting, outcome="adopt", statement="通过", minutes="纪要", public_summary="摘要文字"
    )
    db.session.commit()
    from portal.core.hooks import decision_sections

    ours = [t for t in decision_sections() if t.startswith("reviews/")]
    assert len(ours) == 4
    with app.test_request_context("/"):
        html = "".join(render_template(t, decision=ready) for t in ours)
    assert "陈立群" in html
    assert "已签署提交" in html
    assert "摘要文字" in html
    assert "纪要" not in html
    if "decisions.detail" in app.view_functions:
        page = body(client.get(f"/decisions/{ready.slug}"))
        assert "摘要文字" in page
        assert "专家论证" in page


def test_navigation_and_openapi(client, login, make_user):
    login(make_user(Role.LEGAL_REVIEWER))
    page = body(client.get("/"))
    assert "/legality" in page
    assert "/experts" in page
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/experts",
        "/api/v1/decisions/{slug}/committee",
        "/api/v1/decisions/{slug}/reviews",
        "/api/v1/reviews/{review_id}",
        "/api/v1/decisions/{slug}/legality-reviews",
        "/api/v1/decisions/{slug}/risk-assessments",
        "/api/v1/decisions/{slug}/meetings",
    ):
        assert path in spec["paths"], path


def test_english_pages_render(client, ready, meeting):
    client.set_cookie("lang", "en")
    for url in (f"/decisions/{ready.slug}/committee", f"/meetings/{meeting.id}", "/experts"):
        response = client.get(url)
        assert response.status_code == 200
        assert '<html lang="en">' in body(response)


def test_committee_page_lists_the_department_view(client, login, official, make_decision, make_expert, seat, db):
    decision = make_decision()
    seat(decision, make_expert("甲", organisation="同一大学", field="价格"))
    seat(decision, make_expert("乙", organisation="同一大学", field="法学"), review=False)
    login(official)
    page = body(client.get(f"/decisions/{decision.slug}/committee"))
    assert "都来自同一单位" in page
    assert "专家乙尚未提交论证意见" in page
    assert db.session.scalar(select(func.count()).select_from(CommitteeMember)) == 2
    assert db.session.scalar(select(func.count()).select_from(ExpertProfile)) == 2


def test_editing_an_expert_profile(client, login, official, make_expert, make_user):
    profile = make_expert("林水生", field="水利工程")
    login(make_user(Role.EXPERT))
    assert client.post(f"/experts/{profile.id}/edit", data={"field": "法学"}).status_code == 403
    client.post("/logout")
    login(official)
    assert client.get("/experts/999999/edit").status_code == 404
    response = client.post(f"/experts/{profile.id}/edit", data={"field": "", "organisation": "长" * 121})
    assert response.status_code == 400
    assert "此项必填" in body(response)
    assert profile.field == "水利工程"
    response = client.post(f"/experts/{profile.id}/edit", data={"field": "水资源管理", "organisation": "省设计院"})
    assert response.status_code == 302
    assert profile.field == "水资源管理"
    assert profile.active is False  # the unchecked box takes the expert out of the pool
    assert "林水生" not in body(client.get("/experts"))


def test_stage_move_lists_the_review_gates(app, client, login, official, make_decision, leaders):
    """Moving on with unmet gates (the catalogue's stage move) lists the conditions of these steps."""
    if "decisions.advance" not in app.view_functions:
        pytest.skip("the catalogue's stage move is not installed")
    decision = make_decision(Stage.LEGALITY_REVIEW)
    login(official)
    response = client.post(f"/decisions/{decision.slug}/advance", data={"target": "deliberation"})
    assert response.status_code in (400, 409)
    page = body(response)
    assert "尚未提交合法性审查" in page
    assert "集体讨论材料缺少" in page
    assert decision.stage == "legality_review"
