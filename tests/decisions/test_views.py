"""Pages: catalogue, decision page, forms for officials, access, bad input."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.decisions.models import Decision, DraftVersion, Stage
from portal.trace.models import TraceEntry

from .conftest import BODY_V1


def main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


# Catalogue.


def test_catalogue_lists_public_decisions_only(client, make_decision):
    shown = make_decision(title="关于公开事项的决定")
    hidden = make_decision(title="关于内部草稿的决定", versions=0)
    body = client.get("/decisions").get_data(as_text=True)
    assert shown.title in body
    assert hidden.title not in body
    assert "共 1 项" in body


def test_nav_link_to_the_catalogue(client):
    body = client.get("/").get_data(as_text=True)
    assert '<a href="/decisions">决策事项</a>' in body


def test_catalogue_filters(client, make_decision, official, make_user, make_department):
    other_dept = make_department(code="other")
    other = make_user(Role.OFFICIAL, department=other_dept)
    water = make_decision(title="水价事项", category="water")
    school = make_decision(other, title="学校收费事项", category="education", stage="consultation")

    def titles(query):
        body = client.get("/decisions?" + query).get_data(as_text=True)
        return {t for t in (water.title, school.title) if t in body}

    assert titles("stage=consultation") == {school.title}
    assert titles("stage=drafting") == {water.title}
    assert titles("category=water") == {water.title}
    assert titles("department=other") == {school.title}
    assert titles(f"department={official.departments[0].code}") == {water.title}
    year = water.created_at.year
    assert titles(f"year={year}") == {water.title, school.title}
    assert titles(f"year={year - 1}") == set()


def test_catalogue_sorting(client, make_decision):
    make_decision(title="乙事项")
    make_decision(title="甲事项")
    body = client.get("/decisions?sort=oldest").get_data(as_text=True)
    assert body.index("乙事项") < body.index("甲事项")
    body = client.get("/decisions?sort=newest").get_data(as_text=True)
    assert body.index("甲事项") < body.index("乙事项")


@pytest.mark.parametrize(
    "query",
    [
        "stage=<script>alert(1)</script>",
        "department=%22%3E%3Cscript%3E",
        "category=drop%20table",
        "year=19999",
        "year=abc",
        "sort=title;DROP",
        "sort=created_at",
        "page=-1",
        "page=abc",
        "page=99999999999",
        "page=<b>",
    ],
)
def test_bad_list_parameters_are_ignored_and_never_echoed(client, make_decision, query):
    make_decision(title="可见事项")
    response = client.get("/decisions?" + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    assert '">' + "<script" not in page
    body = main(page)  # the header's language switch keeps the (escaped) path to come back to
    assert "script" not in body
    assert "DROP" not in body
    assert "drop table" not in body
    assert "19999" not in body
    if not query.startswith("page"):
        assert "已忽略" in body
        assert "可见事项" in body  # the filter was dropped, the list shown


def test_pagination(client, make_decision):
    for i in range(21):
        make_decision(title=f"事项{i:02d}")
    first = client.get("/decisions?sort=title").get_data(as_text=True)
    assert "事项00" in first
    assert "事项20" not in first
    assert 'rel="next"' in first
    second = client.get("/decisions?sort=title&page=2").get_data(as_text=True)
    assert "事项20" in second
    assert "事项00" not in second
    beyond = client.get("/decisions?page=50").get_data(as_text=True)
    assert "此页没有内容" in beyond


# The decision page.


def test_decision_page(client, make_decision, official, app):
    decision = make_decision(
        versions=2, legal_basis="《价格法》第二十三条", responsible=[official], document_number="某政发〔2026〕1号"
    )
    body = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert decision.title in body
    assert 'aria-current="step"' in body
    assert "起草" in body
    assert "《价格法》第二十三条" in body
    assert "某政发〔2026〕1号" in body
    assert official.display_name in body
    assert '<section class="doc-article" id="art-1">' in body
    assert '<div class="doc-item" id="art-2-p1">' in body
    assert "3.21" in body  # the current (second) version
    assert "依据有关规定起草" in body  # the explanation
    assert "公布草案版本" in body  # the timeline
    assert "推进程序" not in body  # no forms for the public


def test_decision_sections_of_other_features_are_included(client, make_decision, app, tmp_path):
    from jinja2 import ChoiceLoader, DictLoader

    from portal.core.hooks import add_decision_section

    app.jinja_loader = ChoiceLoader(
        [app.jinja_loader, DictLoader({"x/_probe.html": "<p>probe {{ decision.slug }}</p>"})]
    )
    app.jinja_env.loader = app.jinja_loader
    add_decision_section(app, 50, "x/_probe.html")
    decision = make_decision()
    assert f"<p>probe {decision.slug}</p>" in client.get(f"/decisions/{decision.slug}").get_data(as_text=True)


def test_hidden_decisions_are_404_for_the_public(client, make_decision, login, make_user, make_department):
    decision = make_decision(versions=1, draft=True)
    url = f"/decisions/{decision.slug}"
    for path in ("", "/versions/1", "/diff"):
        assert client.get(url + path).status_code == 404
    login(make_user(Role.OFFICIAL, department=make_department()))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("role", [Role.LEADER, Role.AUDITOR, Role.ADMIN])
def test_hidden_decisions_are_visible_to_insiders(client, make_decision, login, make_user, role):
    decision = make_decision(versions=0)
    login(make_user(role))
    body = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "此事项尚未公开" in body


def test_unknown_slugs_and_versions_are_404(client, make_decision):
    decision = make_decision()
    for url in (
        "/decisions/nope",
        f"/decisions/{decision.slug}/versions/9",
        "/decisions/nope/versions/1",
        "/decisions/" + "x" * 300,
    ):
        assert client.get(url).status_code == 404, url


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[link](javascript:alert(1))",
    "[link](JaVaScRiPt:alert(1))",
    "[link]( javascript:alert(1))",
    "[ref][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<div style="width: expression(alert(1))">css</div>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="vbscript:msgbox(1)">vb</a>',
    "[x](&#106;avascript:alert(1))",
]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    collector = _Collector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag not in ("script", "svg", "style", "iframe", "object", "embed", "img"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src") and value:
                assert not re.match(r"\s*(javascript|data|vbscript):", value, re.I), value


@pytest.mark.parametrize("payload", XSS)
def test_html_and_script_in_drafts_are_inert(client, make_decision, payload):
    decision = make_decision(bodies=[f"第一条 {payload}\n\n第二条 正文。"], explanation=payload, summary=payload)
    for url in (f"/decisions/{decision.slug}", f"/decisions/{decision.slug}/versions/1"):
        assert_inert(client.get(url).get_data(as_text=True))


# Officials' forms.


def form_data(**overrides):
    data = {
        "title": "关于调整公交票价的决定",
        "slug": "",
        "summary": "摘要",
        "category": "transport",
        "legal_basis": "《价格法》",
        "document_number": "",
    }
    data.update(overrides)
    return data


def test_official_creates_edits_drafts_and_publishes(client, login, official, db):
    login(official)
    dept = official.departments[0]
    assert client.get("/decisions/new").status_code == 200
    response = client.post(
        "/decisions/new", data=form_data(department=dept.code, responsible=[str(official.id)], slug="bus-fares")
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    decision = db.session.scalar(select(Decision).where(Decision.slug == "bus-fares"))
    assert decision.department_id == dept.id
    assert decision.responsible == [official]
    assert response.headers["Location"].endswith("/decisions/bus-fares/versions/new")

    # Visible to the department, not yet to the public: listed under "my department".
    assert "bus-fares" in client.get("/decisions/mine").get_data(as_text=True)
    assert "未公开" in client.get("/decisions/mine").get_data(as_text=True)

    response = client.post(
        "/decisions/bus-fares/versions/new",
        data={"body": BODY_V1, "explanation": "起草说明", "change_note": "初稿"},
    )
    assert response.status_code == 302
    assert (
        client.post(
            "/decisions/bus-fares/versions/1/edit",
            data={"body": BODY_V1 + "\n第五条 补充。", "explanation": "起草说明"},
        ).status_code
        == 302
    )
    assert client.post("/decisions/bus-fares/versions/1/publish").status_code == 302
    version = db.session.scalar(select(DraftVersion).where(DraftVersion.decision_id == decision.id))
    assert version.is_published
    assert "art-5" in [a.anchor for a in version.articles]

    # A new version starts from the previous text.
    page = client.get("/decisions/bus-fares/versions/new").get_data(as_text=True)
    assert "第五条 补充。" in page

    response = client.post("/decisions/bus-fares/edit", data=form_data(title="关于调整公交票价的决定(修改)"))
    assert response.status_code == 302
    db.session.refresh(decision)
    assert decision.title == "关于调整公交票价的决定(修改)"


def test_editing_a_published_version_is_refused_with_a_message(client, login, official, make_decision, db):
    decision = make_decision()
    login(official)
    for method in ("get", "post"):
        response = getattr(client, method)(
            f"/decisions/{decision.slug}/versions/1/edit", data={"body": "第一条 改。", "explanation": ""}
        )
        assert response.status_code == 400
        assert "已公布的版本不能修改" in response.get_data(as_text=True)
    db.session.refresh(decision.versions[0])
    assert "第一条 改。" not in decision.versions[0].body


def test_create_form_errors(client, login, official, db):
    login(official)
    dept = official.departments[0]
    before = db.session.query(Decision).count()
    response = client.post("/decisions/new", data=form_data(department=dept.code, title="长" * 201))
    assert response.status_code == 400
    assert "不能超过 200 个字符" in response.get_data(as_text=True)
    response = client.post("/decisions/new", data=form_data(department=dept.code, slug="new"))
    assert response.status_code == 400
    assert "系统保留" in response.get_data(as_text=True)
    response = client.post("/decisions/new", data=form_data(department="nope"))
    assert response.status_code == 400
    assert db.session.query(Decision).count() == before


@pytest.mark.parametrize("who", ["citizen", "other_official", "expert"])
def test_outsiders_cannot_use_the_officials_forms(client, login, make_decision, make_user, make_department, who, db):
    decision = make_decision(versions=2, draft=True)
    user = {
        "citizen": lambda: make_user(Role.CITIZEN),
        "other_official": lambda: make_user(Role.OFFICIAL, department=make_department()),
        "expert": lambda: make_user(Role.EXPERT),
    }[who]()
    login(user)
    slug = decision.slug
    seq_before = db.session.scalar(select(TraceEntry.seq).order_by(TraceEntry.seq.desc()).limit(1))
    posts = [
        (f"/decisions/{slug}/edit", form_data()),
        (f"/decisions/{slug}/versions/new", {"body": "第一条 篡改。"}),
        (f"/decisions/{slug}/versions/2/edit", {"body": "第一条 篡改。"}),
        (f"/decisions/{slug}/versions/2/publish", {}),
        (f"/decisions/{slug}/advance", {"target": "consultation"}),
        (f"/decisions/{slug}/withdraw", {"reason": "篡改"}),
        (f"/decisions/{slug}/attachments/new", {}),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 403, url
    if who != "other_official":
        assert client.post("/decisions/new", data=form_data()).status_code == 403
    else:
        # An official may create, but only for their own department.
        response = client.post("/decisions/new", data=form_data(department=decision.department.code))
        assert response.status_code == 400
    assert db.session.scalar(select(TraceEntry.seq).order_by(TraceEntry.seq.desc()).limit(1)) == seq_before
    db.session.refresh(decision)
    assert decision.stage == Stage.DRAFTING.value


def test_anonymous_posts_go_to_login(client, make_decision):
    decision = make_decision()
    response = client.post(f"/decisions/{decision.slug}/advance", data={"target": "consultation"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# Stage moves through the page.


def test_advance_form(client, login, official, make_decision, db):
    decision = make_decision()
    login(official)
    page = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "推进程序" in page
    assert 'value="consultation"' in page
    response = client.post(f"/decisions/{decision.slug}/advance", data={"target": "consultation"})
    assert response.status_code == 302
    db.session.refresh(decision)
    assert decision.stage == "consultation"


def test_closed_gate_shows_the_unmet_conditions(client, login, official, make_decision, db):
    decision = make_decision(versions=0)
    login(official)
    response = client.post(f"/decisions/{decision.slug}/advance", data={"target": "consultation"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "尚有条件未满足" in body
    assert "尚未公布决策草案。" in body
    db.session.refresh(decision)
    assert decision.stage == "drafting"


def test_leader_override_is_shown_on_the_public_timeline(client, login, make_user, make_decision, db):
    decision = make_decision(stage="consultation")
    # A gate of the consultation stage that is not met, so the leader must override.
    from portal.decisions.gates import add_gate

    add_gate(client.application, Stage.CONSULTATION, lambda d: ["尚有意见未答复。"])
    login(make_user(Role.LEADER))
    response = client.post(
        f"/decisions/{decision.slug}/advance", data={"target": "expert_review", "override_reason": "<b>紧急</b>情况"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    client.post("/logout")
    body = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "越过未满足的条件" in body
    assert "尚有意见未答复。" in body
    assert "&lt;b&gt;紧急&lt;/b&gt;情况" in body


def test_withdraw_form_requires_a_reason(client, login, official, make_decision, db):
    decision = make_decision()
    login(official)
    response = client.post(f"/decisions/{decision.slug}/withdraw", data={"reason": ""})
    assert response.status_code == 400
    assert "此项必填" in response.get_data(as_text=True)
    response = client.post(f"/decisions/{decision.slug}/withdraw", data={"reason": "不再需要"})
    assert response.status_code == 302
    body = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "已撤回。理由:不再需要" in body


def test_over_long_override_reason_is_refused(client, login, make_user, make_decision, db):
    decision = make_decision(versions=0)
    login(make_user(Role.ADMIN))
    response = client.post(
        f"/decisions/{decision.slug}/advance", data={"target": "consultation", "override_reason": "长" * 2001}
    )
    assert response.status_code == 400
    db.session.refresh(decision)
    assert decision.stage == "drafting"


def test_mine_lists_the_departments_decisions(client, login, official, make_decision, make_user, make_department):
    own = make_decision(title="本单位草稿", versions=0)
    other_official = make_user(Role.OFFICIAL, department=make_department())
    make_decision(other_official, title="外单位草稿", versions=0)
    login(official)
    body = client.get("/decisions/mine").get_data(as_text=True)
    assert own.title in body
    assert "外单位草稿" not in body
    assert "我的单位事项" in client.get("/").get_data(as_text=True)


def test_mine_is_for_staff(client, login, make_user):
    login(make_user(Role.CITIZEN))
    assert client.get("/decisions/mine").status_code == 403
