"""Pages and API of the consultation, including bad input and access."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from portal.auth.models import Role
from portal.consultation import exports, operations
from portal.consultation.models import Comment, Consultation, Response
from portal.core.models import utcnow
from portal.decisions.models import Stage
from tests.conftest import PASSWORD
from tests.consultation.test_operations import _bulk_comments


def comments_count(db) -> int:
    return db.session.scalar(select(func.count(Comment.id)))


# Notice and comment form -------------------------------------------------------------------------


def test_public_page_shows_status_time_left_and_login_link(client, make_consultation):
    c = make_consultation(started_days_ago=10)
    body = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    assert "正在征求意见" in body
    assert "还剩 19 天" in body
    assert "登录后提交意见" in body
    assert "如何提出意见" in body


def test_unknown_decision_or_consultation_is_404(client, make_decision):
    assert client.get("/decisions/no-such/consultation").status_code == 404
    decision = make_decision()
    assert client.get(f"/decisions/{decision.slug}/consultation/report").status_code == 404
    assert client.get("/comments/GY-2026-999999/receipt").status_code in (302, 404)


def test_citizen_comments_on_an_article_and_gets_a_receipt(client, db, login, citizen, make_consultation, app):
    c = make_consultation()
    login(citizen)
    page = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    assert 'name="submission_token"' in page
    assert "第二条" in page
    response = client.post(
        f"/decisions/{c.decision.slug}/consultation/comments",
        data={"body": "建议**按月**提示用水量。", "article": "art-2", "anonymous": "y", "submission_token": "t1"},
    )
    assert response.status_code == 302
    comment = db.session.scalar(select(Comment))
    assert response.headers["Location"].endswith(f"/comments/{comment.tracking_number}/receipt?submitted=1")
    # An accepted comment does not rewrite the session cookie (no flash): the receipt says it.
    assert "Set-Cookie" not in response.headers
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert comment.tracking_number in receipt
    assert f"您的意见已提交,编号 {comment.tracking_number}。审核通过后将公开。" in receipt
    assert "待审核" in receipt
    assert "匿名公众" in receipt
    # The receipt e-mail is in the outbox after commit.
    mails = [
        message_from_bytes(path.read_bytes(), policy=default) for path in Path(app.config["OUTBOX_PATH"]).glob("*.eml")
    ]
    receipts = [m for m in mails if comment.tracking_number in m["Subject"]]
    assert len(receipts) == 1
    assert receipts[0]["To"] == citizen.email
    assert comment.tracking_number in receipts[0].get_content()


def test_double_submit_through_the_form_is_one_comment(client, db, login, citizen, make_consultation):
    c = make_consultation()
    login(citizen)
    data = {"body": "同一份表单提交两次", "submission_token": "same-token"}
    first = client.post(f"/decisions/{c.decision.slug}/consultation/comments", data=data)
    second = client.post(f"/decisions/{c.decision.slug}/consultation/comments", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert comments_count(db) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "字" * 5001}, "意见不能超过 5000 个字符"),
        ({"body": "关于不存在的条款", "article": "art-99"}, "所选条款不在当前版本的草案中"),
        ({"body": ""}, "此项必填"),
    ],
)
def test_bad_comments_are_refused_with_a_message(client, db, login, citizen, make_consultation, data, message):
    c = make_consultation()
    login(citizen)
    response = client.post(f"/decisions/{c.decision.slug}/consultation/comments", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert comments_count(db) == 0


@pytest.mark.parametrize(("started", "message"), [(40, "征求意见期已结束"), (-3, "征求意见尚未开始")])
def test_comment_outside_the_period_is_refused(client, db, login, citizen, make_consultation, started, message):
    c = make_consultation(started_days_ago=started)
    login(citizen)
    response = client.post(f"/decisions/{c.decision.slug}/consultation/comments", data={"body": "意见"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert comments_count(db) == 0


def test_anonymous_visitor_cannot_post_a_comment(client, db, make_consultation):
    c = make_consultation()
    response = client.post(f"/decisions/{c.decision.slug}/consultation/comments", data={"body": "意见"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert comments_count(db) == 0


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)"></svg>',
    '<div style="width: expression(alert(1))">x</div>',
    "[a](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
]


TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")


def assert_inert(html: str) -> None:
    """No active tag, event handler, style or script/data URL survives (escaped text is fine)."""
    for name, attributes in TAG.findall(html):
        assert name.lower() not in ("script", "img", "svg", "iframe", "object", "embed", "style"), name
        assert not re.search(r"\bon[a-z]+\s*=", attributes, re.I), attributes
        assert "style=" not in attributes.lower(), attributes
        assert not re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|data|vbscript):", attributes, re.I), attributes


def test_html_and_script_in_comments_are_inert(client, db, make_consultation, make_comment, official):
    c = make_consultation()
    for text in HOSTILE:
        make_comment(c, text, publish_by=official)
    body = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    section = body[body.index('id="consultation-comments"') :]
    assert_inert(section)
    api = client.get(f"/api/v1/decisions/{c.decision.slug}/comments?per_page=20").get_json()
    assert len(api["items"]) == len(HOSTILE)
    for item in api["items"]:
        assert_inert(item["body_html"])


def test_withdraw_from_the_receipt(client, db, login, citizen, make_consultation, make_comment, make_user):
    c = make_consultation()
    comment = make_comment(c, author=citizen)
    other = make_user(Role.CITIZEN)
    login(other)
    assert client.get(f"/comments/{comment.tracking_number}/receipt").status_code == 403
    assert client.post(f"/comments/{comment.tracking_number}/withdraw").status_code == 403
    client.post("/logout")
    login(citizen)
    assert client.post(f"/comments/{comment.tracking_number}/withdraw").status_code == 302
    db.session.refresh(comment)
    assert comment.status == "withdrawn"


# Officials -------------------------------------------------------------------------------------


def test_open_form_refuses_short_period_without_reason(client, db, login, official, make_decision):
    decision = make_decision()
    login(official)
    assert client.get(f"/decisions/{decision.slug}/consultation/open").status_code == 200
    now = utcnow()  # one moment for the form and the check (a minute may turn in between)
    start = (now + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")  # Beijing time, a little ahead
    end = (now + timedelta(hours=8, days=10)).strftime("%Y-%m-%dT%H:%M")
    url = f"/decisions/{decision.slug}/consultation/open"
    refused = client.post(url, data={"starts_at": start, "ends_at": end})
    assert refused.status_code == 400
    assert "须说明理由" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Consultation.id))) == 0
    ok = client.post(url, data={"starts_at": start, "ends_at": end, "emergency_reason": "防汛应急需要尽快实施"})
    assert ok.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    # Entered as Beijing time, stored as UTC.
    assert consultation.starts_at.strftime("%H:%M") == (now + timedelta(hours=1)).strftime("%H:%M")
    page = client.get(f"/decisions/{decision.slug}/consultation").get_data(as_text=True)
    assert "防汛应急需要尽快实施" in page
    assert decision.stage == Stage.CONSULTATION.value


def test_open_form_access(client, login, citizen, other_official, make_decision):
    decision = make_decision()
    login(citizen)
    assert client.get(f"/decisions/{decision.slug}/consultation/open").status_code == 403
    client.post("/logout")
    login(other_official)
    assert client.get(f"/decisions/{decision.slug}/consultation/open").status_code == 403


def test_citizen_and_other_department_cannot_moderate_or_respond(
    client, db, login, citizen, other_official, official, make_consultation, make_comment
):
    c = make_consultation()
    pending = make_comment(c)
    published = make_comment(c, "已公开的", publish_by=official)
    for user in (citizen, other_official):
        login(user)
        t1, t2 = pending.tracking_number, published.tracking_number
        assert client.post(f"/comments/{t1}/publish").status_code == 403
        assert client.post(f"/comments/{t1}/reject", data={"reason": "abusive"}).status_code == 403
        assert client.post(f"/comments/{t2}/respond", data={"disposition": "adopted", "reason": "x"}).status_code == 403
        assert client.post(f"/comment-groups/{pending.group_id}/publish").status_code == 403
        assert client.get(f"/decisions/{c.decision.slug}/consultation/manage").status_code == 403
        assert client.get(f"/comments/{t1}/moderate").status_code == 403
        data = {"channel": "letter", "sender_name": "x", "body": "y"}
        assert client.post(f"/decisions/{c.decision.slug}/consultation/offline", data=data).status_code == 403
        client.post("/logout")
    db.session.refresh(pending)
    assert pending.status == "pending"
    assert db.session.scalar(select(func.count(Response.id))) == 0


def test_official_moderates_and_answers_through_the_pages(
    client, db, login, official, citizen, make_consultation, make_comment
):
    c = make_consultation()
    comment = make_comment(c, "建议公开成本。", author=citizen)
    login(official)
    manage = client.get(f"/decisions/{c.decision.slug}/consultation/manage").get_data(as_text=True)
    assert comment.tracking_number in manage
    assert "张小红" in manage
    assert client.post(f"/comments/{comment.tracking_number}/publish").status_code == 302
    bad = client.post(f"/comments/{comment.tracking_number}/respond", data={"disposition": "adopted", "reason": ""})
    assert bad.status_code == 400
    ok = client.post(
        f"/comments/{comment.tracking_number}/respond", data={"disposition": "adopted", "reason": "采纳,已公布。"}
    )
    assert ok.status_code == 302
    public = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    assert "建议公开成本" in public
    assert "采纳,已公布" in public


def test_reject_with_reason_counts_publicly_but_never_shows(
    client, db, login, official, make_consultation, make_comment
):
    c = make_consultation()
    comment = make_comment(c, "买净水器找我 13800000000")
    login(official)
    refused = client.post(f"/comments/{comment.tracking_number}/reject", data={"reason": "because"})
    assert refused.status_code == 400
    ok = client.post(f"/comments/{comment.tracking_number}/reject", data={"reason": "advertising", "note": "广告"})
    assert ok.status_code == 302
    client.post("/logout")
    report = client.get(f"/decisions/{c.decision.slug}/consultation/report").get_data(as_text=True)
    assert "广告或推销信息" in report
    assert "13800000000" not in report
    page = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    assert "13800000000" not in page
    assert client.get(f"/api/v1/comments/{comment.tracking_number}").status_code == 404


def test_group_page_publishes_and_answers_a_campaign(client, db, login, official, make_consultation, make_user):
    c = make_consultation()
    text = "坚决反对此次水价上涨!水是生活必需品,请求暂缓实施阶梯水价。"
    comments = [operations.submit_comment(make_user(Role.CITIZEN), c, body=text + "!" * i) for i in range(4)]
    db.session.commit()
    login(official)
    manage = client.get(f"/decisions/{c.decision.slug}/consultation/manage").get_data(as_text=True)
    assert "4 条意见内容相同或相近" in manage
    assert client.post(f"/comment-groups/{comments[0].group_id}/publish").status_code == 302
    answered = client.post(
        f"/comment-groups/{comments[0].group_id}/respond", data={"disposition": "not_adopted", "reason": "水价不变。"}
    )
    assert answered.status_code == 302
    assert db.session.scalar(select(func.count(Response.id))) == 4
    report = client.get(f"/decisions/{c.decision.slug}/consultation/report").get_data(as_text=True)
    assert "共收到意见 4 条,去除相同或相近内容后为 1 条不同意见" in report


def test_manage_list_parameters(client, login, official, make_consultation):
    c = make_consultation()
    login(official)
    url = f"/decisions/{c.decision.slug}/consultation/manage"
    assert client.get(url + "?view=<script>").status_code == 400
    assert client.get(url + "?view=published&page=abc").status_code == 200
    assert client.get(url + "?view=published&page=99999999999").status_code == 200
    assert client.get(url + "?view=published&slug=other").status_code == 200


def test_offline_entry_page(client, db, login, official, make_consultation):
    c = make_consultation()
    login(official)
    url = f"/decisions/{c.decision.slug}/consultation/offline"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"channel": "pigeon", "sender_name": "王", "body": "x"})
    assert bad.status_code == 400
    ok = client.post(url, data={"channel": "hotline_12345", "sender_name": "王先生", "body": "来电", "publish": "y"})
    assert ok.status_code == 302
    comment = db.session.scalar(select(Comment))
    assert comment.channel == "hotline_12345"
    assert comment.status == "published"


def test_extend_page_shows_reason_publicly(client, login, official, make_consultation):
    c = make_consultation()
    login(official)
    url = f"/decisions/{c.decision.slug}/consultation/extend"
    assert client.get(url).status_code == 200
    new_end = (c.ends_at + timedelta(days=8, hours=8)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(url, data={"ends_at": new_end, "reason": ""}).status_code == 400
    assert client.post(url, data={"ends_at": new_end, "reason": "意见较多,延长一周"}).status_code == 302
    page = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    assert "意见较多,延长一周" in page


# Exports ---------------------------------------------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "=cmd|' /C calc'!A0"]


@pytest.fixture
def export_setup(db, make_consultation, make_comment, official, citizen):
    c = make_consultation()
    for text in FORMULAS:
        make_comment(c, text, publish_by=official)
    rejected = make_comment(c, "广告信息")
    operations.reject_comment(official, rejected, reason="advertising")
    withdrawn = make_comment(c, "撤回的意见", author=citizen)
    operations.withdraw_comment(citizen, withdrawn)
    db.session.commit()
    return c


def _export_url(client, slug: str, fmt: str) -> str:
    page = client.get(f"/decisions/{slug}/consultation/manage").get_data(as_text=True)
    marker = f"/decisions/{slug}/consultation/export.{fmt}?token="
    start = page.index(marker)
    return page[start : page.index('"', start)].replace("&amp;", "&")


def test_csv_export_has_bom_status_and_no_formulas(client, login, official, export_setup):
    login(official)
    url = _export_url(client, export_setup.decision.slug, "csv")
    response = client.get(url)
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    bodies = [row[8] for row in rows[1:]]
    for cell in (c for row in rows for c in row):
        assert not cell.startswith(exports.DANGEROUS_PREFIXES), cell
    assert '\'=HYPERLINK("http://evil")' in bodies
    statuses = {row[8]: row[1] for row in rows[1:]}
    assert statuses["广告信息"] == "未予公开"
    assert statuses["撤回的意见"] == "已撤回"


def test_xlsx_export_has_no_formulas(client, login, official, export_setup):
    from openpyxl import load_workbook

    login(official)
    response = client.get(_export_url(client, export_setup.decision.slug, "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert not cell.value.startswith(exports.DANGEROUS_PREFIXES)


def test_export_links_are_bound_to_the_official_and_expire(
    client, login, official, make_user, department, export_setup, monkeypatch
):
    login(official)
    url = _export_url(client, export_setup.decision.slug, "csv")
    client.post("/logout")
    colleague = make_user(Role.OFFICIAL, department=department)
    login(colleague)
    assert client.get(url).status_code == 403  # another person's link
    base = url.split("?")[0]
    assert client.get(base).status_code == 403
    assert client.get(base + "?token=forged").status_code == 403
    assert client.get(url.replace(".csv?", ".xlsx?")).status_code == 403  # token is per format
    assert client.get(f"/decisions/{export_setup.decision.slug}/consultation/export.exe").status_code == 404
    client.post("/logout")
    login(official)
    assert client.get(url).status_code == 200
    monkeypatch.setattr(exports, "LINK_MAX_AGE", -1)
    assert client.get(url).status_code == 403


def test_citizen_cannot_export(client, login, citizen, export_setup):
    login(citizen)
    assert client.get(f"/decisions/{export_setup.decision.slug}/consultation/export.csv?token=x").status_code == 403


# API -------------------------------------------------------------------------------------------


def test_api_lists_published_comments_with_responses(client, db, make_consultation, make_comment, official):
    c = make_consultation()
    a = make_comment(c, "关于第二条", article="art-2", publish_by=official, anonymous=True)
    make_comment(c, "整体意见", publish_by=official)
    make_comment(c, "待审核的")
    operations.respond(official, a, disposition="adopted", reason="采纳")
    db.session.commit()
    data = client.get(f"/api/v1/decisions/{c.decision.slug}/comments").get_json()
    assert data["total"] == 2
    first = data["items"][0]
    assert first["author"] == "匿名公众"
    assert first["response"]["disposition"] == "adopted"
    assert first["tracking_number"] == a.tracking_number
    only = client.get(f"/api/v1/decisions/{c.decision.slug}/comments?article=art-2").get_json()
    assert only["total"] == 1
    whole = client.get(f"/api/v1/decisions/{c.decision.slug}/comments?article=whole&sort=newest").get_json()
    assert whole["total"] == 1
    assert whole["items"][0]["article"] is None
    one = client.get(f"/api/v1/comments/{a.tracking_number}").get_json()
    assert one["response"]["reason"] == "采纳"


@pytest.mark.parametrize(
    "query",
    ["sort=body", "sort=id;drop", "per_page=1000", "page=0", "article=art-99", "article=<x>", "colour=red"],
)
def test_api_refuses_unknown_list_parameters(client, make_consultation, query):
    c = make_consultation()
    response = client.get(f"/api/v1/decisions/{c.decision.slug}/comments?{query}")
    assert response.status_code == 422
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_api_404s(client, make_consultation, make_comment):
    c = make_consultation()
    pending = make_comment(c)
    assert client.get("/api/v1/decisions/none/comments").status_code == 404
    assert client.get("/api/v1/decisions/none/consultation").status_code == 404
    assert client.get(f"/api/v1/comments/{pending.tracking_number}").status_code == 404
    assert client.get("/api/v1/comments/GY-2026-999999").status_code == 404


def test_api_report_figures(client, db, make_consultation, make_comment, official, make_user):
    c = make_consultation()
    text = "坚决反对此次水价上涨,请求暂缓实施。"
    for i in range(3):
        make_comment(c, text + "!" * i, publish_by=official)
    make_comment(c, "不同的意见", publish_by=official)
    rejected = make_comment(c, "辱骂内容")
    operations.reject_comment(official, rejected, reason="abusive")
    db.session.commit()
    data = client.get(f"/api/v1/decisions/{c.decision.slug}/consultation").get_json()
    assert data["received"] == 5
    assert data["distinct_texts"] == 3
    assert data["published"] == 4
    assert data["rejected_by_reason"]["abusive"] == 1
    assert data["status"] == "open"
    assert data["duplicate_groups"][0]["size"] == 3
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/decisions/{slug}/comments" in spec["paths"]
    assert "/api/v1/comments/{tracking}" in spec["paths"]


# Scale -----------------------------------------------------------------------------------------


def test_two_thousand_comments_page_cheaply(client, db, make_consultation, make_user):
    c = make_consultation()
    _bulk_comments(db, c, 2000, make_user(Role.CITIZEN))
    statements: list[str] = []

    def count_statement(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        response = client.get(f"/decisions/{c.decision.slug}/consultation?cpage=50")
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "第 50 页,共 100 页" in body
    assert body.count('class="comment"') == 20
    assert len(statements) <= 25, len(statements)
    api = client.get(f"/api/v1/decisions/{c.decision.slug}/comments?page=100&per_page=20").get_json()
    assert api["total"] == 2000
    assert len(api["items"]) == 20


def test_section_is_on_the_decision_page(app, client, make_consultation):
    if "decisions.detail" not in app.view_functions:
        pytest.skip("the decision page is not there yet")
    c = make_consultation()
    body = client.get(f"/decisions/{c.decision.slug}").get_data(as_text=True)
    assert 'id="consultation"' in body
    assert "正在征求意见" in body


def test_page_list_parameters_are_bounded_and_never_echoed(client, make_consultation, make_comment, official):
    c = make_consultation()
    make_comment(c, "一条意见", publish_by=official)
    query = "carticle=%3Cscript%3Ex%3C/script%3E&csort=body%3Bdrop&cpage=abc&slug=evil"
    response = client.get(f"/decisions/{c.decision.slug}/consultation?{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>x" not in body
    assert "一条意见" in body
    beyond = client.get(f"/decisions/{c.decision.slug}/consultation?cpage=99999")
    assert beyond.status_code == 200
    assert "暂无公开的意见" in beyond.get_data(as_text=True)
    huge = client.get(f"/decisions/{c.decision.slug}/consultation?cpage=999999999999")
    assert huge.status_code == 200  # out of bounds means page 1
    assert "一条意见" in huge.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_comment_form_checks_the_token_once_and_shows_it_again(client, db, citizen, make_consultation, app_config):
    """The app-wide CSRF check guards the comment POST (the form does not check it twice)."""
    c = make_consultation()
    login_page = client.get("/login").get_data(as_text=True)
    login_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    data = {"email": citizen.email, "password": PASSWORD, "csrf_token": login_token}
    assert client.post("/login", data=data).status_code == 302
    url = f"/decisions/{c.decision.slug}/consultation/comments"
    refused = client.post(url, data={"body": "没有安全令牌的意见", "submission_token": "t-1"})
    assert refused.status_code == 400
    assert "安全令牌" in refused.get_data(as_text=True)
    forged = client.post(url, data={"body": "伪造令牌的意见", "submission_token": "t-2", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert comments_count(db) == 0
    page = client.get(f"/decisions/{c.decision.slug}/consultation").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # A form refused on its merits is shown again with its message and a token to send it again.
    empty = client.post(url, data={"body": "  ", "submission_token": "t-3", "csrf_token": token})
    assert empty.status_code == 400
    shown = empty.get_data(as_text=True)
    assert 'name="csrf_token"' in shown
    assert "此项必填。" in shown
    accepted = client.post(url, data={"body": "有安全令牌的意见", "submission_token": "t-4", "csrf_token": token})
    assert accepted.status_code == 302
    assert comments_count(db) == 1
