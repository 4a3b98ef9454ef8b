"""Hearing pages and API: what each role sees and may do, bad input answered clearly, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.core.models import utcnow
from portal.hearings import operations, queries
from portal.hearings.models import Hearing, HearingSecret, Observer, Registration, clock_set_to

from .conftest import PASSWORD_FOR_TESTS, after_close, register


@pytest.fixture
def client_for(app):
    """A separate logged-in test client per user."""

    def make(user):
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD_FOR_TESTS})
        assert response.status_code == 302
        return client

    return make


def body(response) -> str:
    return response.get_data(as_text=True)


def registration_form(category: str = "consumers", **extra) -> dict:
    data = {
        "category": category,
        "real_name": "张三",
        "contact": "13900001111",
        "public_name": "张先生",
        "position": "oppose",
        "statement": "水价上调幅度过大。",
        "interest_declaration": "",
        "accessibility_needs": "",
    }
    data.update(extra)
    return data


def hearing_form(decision_slug: str, **extra) -> dict:
    data = {
        "decision": decision_slug,
        "title": "水价听证会",
        "purpose": "听取意见。",
        "agenda": "",
        "starts_at": "2031-05-20T09:30",
        "ends_at": "2031-05-20T12:00",
        "place": "听证室",
        "stream_url": "",
        "registration_opens_at": "2031-04-01T09:00",
        "registration_closes_at": "2031-05-01T17:00",
        "observer_seats": "10",
        "selection_method": "公开抽选。",
    }
    rows = [("consumers", "消费者", "6", "2/5"), ("operators", "经营者", "3", ""), ("experts", "专家", "2", "")]
    rows.append(("others", "其他", "1", ""))
    for i, (code, name, seats, share) in enumerate(rows):
        data.update(
            {
                f"categories-{i}-code": code,
                f"categories-{i}-name": name,
                f"categories-{i}-seats": seats,
                f"categories-{i}-min_share": share,
            }
        )
    data.update(extra)
    return data


# The public pages ---------------------------------------------------------------------------


def test_list_shows_published_hearings_and_the_nav_link(client, make_hearing):
    shown = make_hearing(title="公开的听证会")
    make_hearing(title="草稿听证会", publish=False)
    page = body(client.get("/hearings"))
    assert "公开的听证会" in page
    assert "草稿听证会" not in page
    assert re.search(r'<a href="/hearings">听证会</a>', page)
    assert f"/hearings/{shown.id}" in page
    assert client.get("/hearings?when=past").status_code == 200
    assert client.get("/hearings?when=nonsense&page=abc").status_code == 200


def test_detail_shows_commitment_but_never_the_seed_before_the_draw(client, db, hearing):
    seed = db.session.get(HearingSecret, hearing.id).seed
    page = body(client.get(f"/hearings/{hearing.id}"))
    assert hearing.commitment in page
    assert seed not in page
    document = client.get(f"/api/v1/hearings/{hearing.id}").get_json()
    assert document["commitment"] == hearing.commitment
    assert document["seed"] is None
    assert document["draw"] is None
    assert seed not in client.get("/api/v1/trace/entries?per_page=100").get_data(as_text=True)
    assert seed not in body(client.get("/trace/"))


def test_missing_and_draft_hearings_are_404_for_the_public(client, client_for, make_hearing, official, make_user):
    draft = make_hearing(publish=False)
    for url in ("/hearings/999999", f"/hearings/{draft.id}", f"/hearings/{draft.id}/hearing.ics"):
        assert client.get(url).status_code == 404
    assert client.get("/api/v1/hearings/999999").get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/hearings/{draft.id}").status_code == 404
    assert client_for(make_user(Role.CITIZEN)).get(f"/hearings/{draft.id}").status_code == 404
    assert client_for(official).get(f"/hearings/{draft.id}").status_code == 200
    assert client_for(official).get("/hearings/999999/manage").status_code == 404


def test_after_the_draw_the_page_shows_seed_result_and_list_without_contacts(client, drawn_hearing):
    page = body(client.get(f"/hearings/{drawn_hearing.id}"))
    assert drawn_hearing.seed in page
    assert drawn_hearing.commitment in page
    assert "抽选结果" in page
    assert "参加人名单" in page
    assert "1390000" not in page  # contacts stay with the department
    document = client.get(f"/api/v1/hearings/{drawn_hearing.id}").get_json()
    assert document["seed"] == drawn_hearing.seed
    assert {c["code"] for c in document["draw"]["categories"]} == {"consumers", "operators", "experts", "others"}
    assert len(document["participants"]) == 10
    assert all(
        set(p) == {"number", "name", "category", "position", "status", "attended", "record_response"}
        for p in document["participants"]
    )


# The notice through the form ----------------------------------------------------------------


def test_official_creates_a_hearing_with_beijing_times_stored_in_utc(client_for, db, official, decision):
    client = client_for(official)
    assert client.get(f"/hearings/new?decision={decision.slug}").status_code == 200
    response = client.post("/hearings/new", data=hearing_form(decision.slug))
    assert response.status_code == 302, body(response)[:2000]
    hearing = db.session.scalar(select(Hearing))
    assert hearing.starts_at == datetime(2031, 5, 20, 1, 30, tzinfo=UTC)
    assert hearing.status == "draft"
    assert [c.code for c in hearing.categories][0] == "consumers"
    manage = body(client.get(f"/hearings/{hearing.id}/manage"))
    assert "发布公告" in manage
    assert "2031-05-20 09:30" in manage


def test_form_refuses_a_split_that_breaks_the_minimum_share(client_for, db, official, decision):
    client = client_for(official)
    data = hearing_form(decision.slug, **{"categories-0-seats": "4", "categories-1-seats": "5"})
    response = client.post("/hearings/new", data=data)
    assert response.status_code == 400
    page = body(response)
    assert "至少 5 席" in page
    assert "现为 4 席" in page
    assert 'role="alert"' in page
    assert db.session.scalar(select(func.count(Hearing.id))) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": "tomorrow"}, "时间格式不正确"),
        ({"categories-0-min_share": "0.4"}, "最低占比请写成分数"),
        ({"categories-1-seats": "many"}, "席位数必须是"),
        ({"categories-1-code": "Bad Code"}, "代码须为"),
        ({"registration_closes_at": "2031-05-15T09:00"}, "至少要比听证会开始早 7 日"),
        ({"observer_seats": "-3"}, "旁听席位必须是"),
        ({"title": "x" * 201}, "不能超过 200 个字符"),
        ({"decision": "no-such-decision"}, "请选择决策事项"),
    ],
)
def test_form_bad_input_is_answered_clearly(client_for, db, official, decision, change, message):
    response = client_for(official).post("/hearings/new", data=hearing_form(decision.slug, **change))
    assert response.status_code == 400
    assert message in body(response)
    assert db.session.scalar(select(func.count(Hearing.id))) == 0


def test_foreign_official_and_citizens_get_403(client_for, client, hearing, foreign_official, make_user):
    other = client_for(foreign_official)
    for url in (f"/hearings/{hearing.id}/manage", f"/hearings/{hearing.id}/edit", f"/hearings/{hearing.id}/checkin"):
        assert other.get(url).status_code == 403
    for url in ("publish", "draw", "deadlines", "attendance", "erase-needs"):
        assert other.post(f"/hearings/{hearing.id}/{url}").status_code == 403
    citizen = client_for(make_user(Role.CITIZEN))
    assert citizen.get(f"/hearings/{hearing.id}/manage").status_code == 403
    assert client.get(f"/hearings/{hearing.id}/manage").status_code == 302  # anonymous: log in first
    assert client.get(f"/hearings/{hearing.id}/register").status_code == 302


def test_edit_draft_prefills_categories_and_publish(client_for, db, official, make_hearing):
    draft = make_hearing(publish=False)
    client = client_for(official)
    page = body(client.get(f"/hearings/{draft.id}/edit"))
    assert 'value="consumers"' in page
    assert 'value="2/5"' in page
    response = client.post(f"/hearings/{draft.id}/publish")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Hearing, draft.id).status == "published"
    again = client.post(f"/hearings/{draft.id}/publish")
    assert again.status_code == 409
    assert "公告已经发布" in body(again)


# Registration -------------------------------------------------------------------------------


def test_citizen_registers_once_and_a_second_post_gets_a_clear_409(client_for, db, hearing, make_user):
    citizen = make_user(Role.CITIZEN)
    client = client_for(citizen)
    form_page = body(client.get(f"/hearings/{hearing.id}/register"))
    assert "消费者" in form_page
    assert "仅承办单位可见" in form_page
    first = client.post(f"/hearings/{hearing.id}/register", data=registration_form())
    assert first.status_code == 302
    second = client.post(f"/hearings/{hearing.id}/register", data=registration_form("operators"))
    assert second.status_code == 409
    assert "只能报名一次" in body(second)
    assert db.session.scalar(select(func.count(Registration.id))) == 1
    detail = body(client.get(f"/hearings/{hearing.id}"))
    assert "撤回报名" in detail
    assert "已报名,待抽选" in detail
    mine = body(client.get("/hearings/mine"))
    assert hearing.title in mine
    assert "听证会报名已收到" in mine


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"category": "aliens"}, 400, "不存在"),
        ({"category": ""}, 400, "此项必填"),
        ({"position": "maybe"}, 400, "请选择支持、反对或中立"),
        ({"has_interest": "y", "interest_declaration": ""}, 400, "请说明具体情况"),
        ({"statement": "长" * 5001}, 400, "不能超过 5000 个字符"),
    ],
)
def test_registration_bad_input(client_for, db, hearing, make_user, change, status, message):
    response = client_for(make_user(Role.CITIZEN)).post(
        f"/hearings/{hearing.id}/register", data=registration_form(**change)
    )
    assert response.status_code == status
    assert message in body(response)
    assert db.session.scalar(select(func.count(Registration.id))) == 0


def test_registration_and_withdrawal_outside_the_window(client_for, db, hearing, make_user):
    citizen = make_user(Role.CITIZEN)
    client = client_for(citizen)
    client.post(f"/hearings/{hearing.id}/register", data=registration_form())
    late_user = client_for(make_user(Role.CITIZEN))
    with after_close(hearing):
        late = late_user.post(f"/hearings/{hearing.id}/register", data=registration_form())
        assert late.status_code == 409
        assert "报名已截止" in body(late)
        withdraw = client.post(f"/hearings/{hearing.id}/withdraw")
        assert withdraw.status_code == 409
        assert "不能再撤回" in body(withdraw)
    assert client.post(f"/hearings/{hearing.id}/withdraw").status_code == 302
    assert client.post(f"/hearings/{hearing.id}/withdraw").status_code == 409
    assert late_user.post(f"/hearings/{hearing.id}/withdraw").status_code == 404


# The draw and confirmation in the browser ---------------------------------------------------


def test_official_runs_the_draw_once_after_close(client_for, db, official, hearing, make_user):
    register(make_user(Role.CITIZEN), hearing)
    db.session.commit()
    client = client_for(official)
    early = client.post(f"/hearings/{hearing.id}/draw")
    assert early.status_code == 409
    assert "报名尚未截止" in body(early)
    with after_close(hearing):
        assert client.post(f"/hearings/{hearing.id}/draw").status_code == 302
        twice = client.post(f"/hearings/{hearing.id}/draw")
    assert twice.status_code == 409
    assert "只能进行一次" in body(twice)
    with clock_set_to(hearing.starts_at - timedelta(days=3)):
        late = client_for(official).post(f"/hearings/{hearing.id}/draw")
    assert late.status_code == 409


def test_selected_citizen_confirms_and_another_declines(client_for, db, drawn_hearing):
    selected = [r for r in queries.registrations(drawn_hearing) if r.status == "selected"]
    accept = client_for(selected[0].user)
    page = body(accept.get(f"/hearings/{drawn_hearing.id}"))
    assert "确认参加" in page
    assert "已入选,待确认" in page
    assert accept.post(f"/hearings/{drawn_hearing.id}/selection", data={"answer": "accept"}).status_code == 302
    assert accept.post(f"/hearings/{drawn_hearing.id}/selection", data={"answer": "accept"}).status_code == 409
    assert accept.post(f"/hearings/{drawn_hearing.id}/selection", data={"answer": "perhaps"}).status_code == 400
    decline = client_for(selected[1].user)
    assert decline.post(f"/hearings/{drawn_hearing.id}/selection", data={"answer": "decline"}).status_code == 302
    db.session.expire_all()
    statuses = {r.id: r.status for r in queries.registrations(drawn_hearing)}
    assert statuses[selected[0].id] == "confirmed"
    assert statuses[selected[1].id] == "declined"


# Observers ----------------------------------------------------------------------------------


def test_observer_booking_through_the_page(client_for, db, make_hearing, make_user):
    hearing = make_hearing(observer_seats=1)
    first = client_for(make_user(Role.CITIZEN))
    assert first.get(f"/hearings/{hearing.id}/observe").status_code == 200
    assert first.post(f"/hearings/{hearing.id}/observe", data={"real_name": "王五", "contact": "1"}).status_code == 302
    full = client_for(make_user(Role.CITIZEN)).post(
        f"/hearings/{hearing.id}/observe", data={"real_name": "赵六", "contact": "1"}
    )
    assert full.status_code == 409
    assert "旁听席已满" in body(full)
    missing = first.post(f"/hearings/{hearing.id}/observe", data={"real_name": "", "contact": ""})
    assert missing.status_code == 400
    assert first.post(f"/hearings/{hearing.id}/observe/cancel").status_code == 302
    assert db.session.scalar(select(func.count(Observer.id)).where(Observer.status == "booked")) == 0


# The day, the record and the report ---------------------------------------------------------


def test_manage_checkin_attendance_transcript_record_and_report(client_for, db, official, drawn_hearing, make_user):
    hearing = drawn_hearing
    office = client_for(official)
    manage = body(office.get(f"/hearings/{hearing.id}/manage"))
    assert "实名" in manage
    assert "1390000" in manage
    checkin = office.get(f"/hearings/{hearing.id}/checkin")
    assert checkin.status_code == 200
    assert "签名" in body(checkin)
    seated = operations.seated(hearing)
    with clock_set_to(hearing.starts_at):
        bad = office.post(f"/hearings/{hearing.id}/attendance", data={"present": ["x"]})
        assert bad.status_code == 400
        marked = office.post(f"/hearings/{hearing.id}/attendance", data={"present": [str(r.id) for r in seated[:2]]})
        assert marked.status_code == 302
    early = office.post(f"/hearings/{hearing.id}/transcript", data={"transcript": "笔录"})
    assert early.status_code == 409
    assert "开始后才能录入笔录" in body(early)
    with clock_set_to(hearing.ends_at):
        assert (
            office.post(f"/hearings/{hearing.id}/transcript", data={"transcript": "## 笔录\n\n记录。"}).status_code
            == 302
        )
    stranger = client_for(make_user(Role.CITIZEN))
    refused = stranger.post(f"/hearings/{hearing.id}/record", data={"answer": "confirm"})
    assert refused.status_code == 403
    assert "只有出席本次听证会的参加人" in body(refused)
    assert stranger.get(f"/hearings/{hearing.id}/record").status_code == 403
    attendee = client_for(seated[0].user)
    assert "记录。" in body(attendee.get(f"/hearings/{hearing.id}/record"))
    no_answer = attendee.post(f"/hearings/{hearing.id}/record", data={})
    assert no_answer.status_code == 400
    objection = attendee.post(f"/hearings/{hearing.id}/record", data={"answer": "object", "objection": ""})
    assert objection.status_code == 400
    assert "异议内容" in body(objection)
    assert attendee.post(f"/hearings/{hearing.id}/record", data={"answer": "confirm"}).status_code == 302
    premature = office.post(f"/hearings/{hearing.id}/report", data={"body": "报告"})
    assert premature.status_code == 409
    assert "尚未全部确认笔录" in body(premature)
    assert (
        client_for(seated[1].user)
        .post(f"/hearings/{hearing.id}/record", data={"answer": "object", "objection": "遗漏发言"})
        .status_code
        == 302
    )
    sides = {"support": "支持方处理", "oppose": "反对方处理", "neutral": "中立方处理"}
    published = office.post(f"/hearings/{hearing.id}/report", data={"body": "听证报告正文", **sides})
    assert published.status_code == 302
    page = body(office.get(f"/hearings/{hearing.id}"))
    assert "听证报告正文" in page
    assert "反对方处理" in page


def test_decision_page_lists_the_hearing_and_its_report(client, app, hearing):
    if "decisions.detail" not in app.view_functions:
        pytest.skip("decision pages not installed")
    page = body(client.get(f"/decisions/{hearing.decision.slug}"))
    assert 'id="hearings"' in page
    assert hearing.title in page


# Calendar -----------------------------------------------------------------------------------


def _unfold(ics: str) -> str:
    return ics.replace("\r\n ", "")


def test_ics_has_the_zone_a_link_and_a_rising_sequence(client, db, official, hearing):
    response = client.get(f"/hearings/{hearing.id}/hearing.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    raw = body(response)
    assert all(len(line.encode("utf-8")) <= 75 for line in raw.split("\r\n"))
    ics = _unfold(raw)
    local = hearing.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert f"DTSTART;TZID=Asia/Shanghai:{local:%Y%m%dT%H%M%S}" in ics
    assert "TZOFFSETTO:+0800" in ics
    assert "SEQUENCE:0" in ics
    assert f"URL:http://127.0.0.1:5000/hearings/{hearing.id}" in ics
    later = hearing.starts_at + timedelta(days=1)
    operations.update_notice(
        official,
        hearing,
        title=hearing.title,
        purpose=hearing.purpose,
        agenda=hearing.agenda,
        starts_at=later,
        ends_at=later + timedelta(hours=2),
        place="新地点;二楼, A 室",
        stream_url=None,
    )
    db.session.commit()
    ics = _unfold(body(client.get(f"/hearings/{hearing.id}/hearing.ics")))
    assert "SEQUENCE:1" in ics
    assert "LOCATION:新地点\\;二楼\\, A 室" in ics
    feed = _unfold(body(client.get("/hearings/feed.ics")))
    assert f"UID:hearing-{hearing.id}@127.0.0.1" in feed
    assert feed.count("BEGIN:VEVENT") == 1


def test_reschedule_form(client_for, db, official, hearing):
    client = client_for(official)
    assert client.get(f"/hearings/{hearing.id}/edit").status_code == 200
    local = hearing.starts_at + timedelta(days=1, hours=8)
    data = {
        "title": hearing.title,
        "purpose": hearing.purpose,
        "agenda": "",
        "starts_at": f"{local:%Y-%m-%dT%H:%M}",
        "ends_at": f"{local + timedelta(hours=2):%Y-%m-%dT%H:%M}",
        "place": hearing.place,
        "stream_url": "",
    }
    assert client.post(f"/hearings/{hearing.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Hearing, hearing.id).sequence == 1
    past = client.post(f"/hearings/{hearing.id}/edit", data={**data, "starts_at": "2020-01-01T09:00"})
    assert past.status_code in (400, 409)


# API ----------------------------------------------------------------------------------------


def test_api_list_and_filters(client, make_hearing):
    hearing = make_hearing()
    page = client.get("/api/v1/hearings").get_json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == hearing.id
    assert page["items"][0]["ics_url"].endswith(f"/hearings/{hearing.id}/hearing.ics")
    assert client.get(f"/api/v1/hearings?decision={hearing.decision.slug}").get_json()["total"] == 1
    assert client.get("/api/v1/hearings?decision=nothing").get_json()["total"] == 0
    assert client.get("/api/v1/hearings?when=past").get_json()["total"] == 0
    for bad in ("when=soon", "per_page=1000", "page=0", "sort=id"):
        response = client.get(f"/api/v1/hearings?{bad}")
        assert response.status_code == 422
        assert "error" in response.get_json()


def test_openapi_documents_the_hearing_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/hearings" in spec["paths"]
    assert "/api/v1/hearings/{hearing_id}" in spec["paths"]
    schema = spec["components"]["schemas"]["HearingDetail"]
    assert {"commitment", "seed", "draw", "participants"} <= set(schema["properties"])


def test_times_in_the_api_are_utc(client, hearing):
    document = client.get(f"/api/v1/hearings/{hearing.id}").get_json()
    parsed = datetime.fromisoformat(document["starts_at"])
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == hearing.starts_at
    assert utcnow() < parsed
