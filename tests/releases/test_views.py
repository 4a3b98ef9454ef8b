"""Pages, feeds, the sitemap and the API of releases and decision publication."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portal.accountability.models import Checkpoint
from portal.core.models import utcnow
from portal.decisions.models import Stage
from portal.releases import operations as ops
from portal.releases.forms import to_local_naive
from portal.releases.models import DecisionPublication, Release
from portal.trace.models import TraceEntry

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(data: bytes) -> ElementTree.Element:
    """The portal's own feed or sitemap (trusted input: our own responses)."""
    return ElementTree.fromstring(data)  # noqa: S314


SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _published(spokesperson, **fields):
    fields.setdefault("kind", "news")
    fields.setdefault("title", "新闻发布会通稿")
    fields.setdefault("body", "今天举行新闻发布会。")
    release = ops.create_release(spokesperson, **fields)
    ops.publish_release(spokesperson, release)
    return release


def _form(**fields):
    data = {"kind": "news", "decision": "", "title": "发布会通稿", "summary": "", "body": "正文。"}
    data.update(fields)
    return data


def test_list_shows_published_releases_only(db, client, spokesperson):
    published = _published(spokesperson, title="已经发布的稿件")
    ops.create_release(spokesperson, kind="news", title="还在起草的稿件", body="草稿。")
    db.session.commit()
    page = client.get("/releases").get_data(as_text=True)
    assert published.title in page
    assert "还在起草的稿件" not in page


def test_draft_is_hidden_from_the_public(db, client, login, spokesperson):
    draft = ops.create_release(spokesperson, kind="news", title="草稿", body="草稿。")
    db.session.commit()
    assert client.get(f"/releases/{draft.id}").status_code == 404
    login(spokesperson)
    assert client.get(f"/releases/{draft.id}").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/releases/999999",
        "/releases/99999999999999999999",
        "/releases/1/texts/99999999999999999999",
        "/api/v1/releases/99999999999999999999",
        "/sitemaps/releases-99999999999999999999.xml",
        "/releases/999999/texts/0",
        "/releases/999999/edit",
        "/releases/999999/correct",
        "/decisions/no-such-thing/publication",
        "/decisions/no-such-thing/publication/new",
        "/departments/no-such/feed.atom",
        "/sitemaps/decisions-999.xml",
        "/api/v1/releases/999999",
        "/api/v1/decisions/no-such-thing/publication",
    ],
)
def test_unknown_ids_are_404(client, login, spokesperson, official, path):
    login(spokesperson if "releases" in path else official)
    assert client.get(path).status_code == 404


def test_non_spokesperson_cannot_post_a_release(db, client, login, official):
    login(official)
    assert client.get("/releases/new").status_code == 403
    assert client.post("/releases/new", data=_form()).status_code == 403
    assert db.session.scalar(select(func.count(Release.id))) == 0


def test_anonymous_is_sent_to_login(client):
    response = client.post("/releases/new", data=_form())
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_spokesperson_writes_publishes_and_script_is_inert(db, client, login, spokesperson):
    login(spokesperson)
    body = "<script>alert('x')</script>\n\n[点我](javascript:alert(1)) **重点**"
    response = client.post("/releases/new", data=_form(title="发布会<b>通稿</b>", body=body))
    assert response.status_code == 302
    release = db.session.scalar(select(Release))
    assert client.post(f"/releases/{release.id}/publish").status_code == 302
    page = client.get(f"/releases/{release.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;" in page
    assert "<strong>重点</strong>" in page
    assert "发布会&lt;b&gt;通稿&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "标" * 201}, "不能超过"),
        ({"title": ""}, "请填写标题"),
        ({"body": "字" * 50_001}, "不能超过"),
        ({"kind": "interpretation"}, "政策解读须关联"),
        ({"decision": "no-such-decision"}, "找不到"),
        ({"kind": "bogus"}, "不是有效的选择"),
    ],
)
def test_bad_release_input_is_explained_and_nothing_stored(db, client, login, spokesperson, fields, message):
    login(spokesperson)
    response = client.post("/releases/new", data=_form(**fields))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Release.id))) == 0


def test_interpretation_of_unpublished_decision_refused_in_form(db, client, login, spokesperson, make_decision):
    decision = make_decision(Stage.DECIDED)
    login(spokesperson)
    response = client.post("/releases/new", data=_form(kind="interpretation", decision=decision.slug))
    assert response.status_code == 400
    assert "尚未公布" in response.get_data(as_text=True)


def test_interpretation_form_starts_from_adoption(db, client, login, spokesperson, published_decision):
    decision = published_decision()
    login(spokesperson)
    page = client.get(f"/releases/new?decision={decision.slug}&kind=interpretation").get_data(as_text=True)
    assert "共收到意见12条" in page
    assert "两位专家均赞成" in page
    assert "政策解读" in page


def test_editing_a_published_release_answers_409_and_changes_nothing(db, client, login, spokesperson):
    release = _published(spokesperson)
    db.session.commit()
    login(spokesperson)
    for response in (
        client.get(f"/releases/{release.id}/edit"),
        client.post(f"/releases/{release.id}/edit", data=_form(title="改过的")),
    ):
        assert response.status_code == 409
        assert "追加更正" in response.get_data(as_text=True)
    db.session.refresh(release)
    assert release.title == "新闻发布会通稿"


def test_scheduling_in_the_past_is_refused_in_the_form(db, client, login, spokesperson):
    release = ops.create_release(spokesperson, kind="news", title="定时稿", body="正文。")
    db.session.commit()
    login(spokesperson)
    past = to_local_naive(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/releases/{release.id}/schedule", data={"scheduled_at": past})
    assert response.status_code == 400
    assert "必须晚于现在" in response.get_data(as_text=True)
    db.session.refresh(release)
    assert release.status == "draft"
    for bad in ("not a time", "0001-01-01T00:00", "9999-12-31T23:59"):
        response = client.post(f"/releases/{release.id}/schedule", data={"scheduled_at": bad})
        assert response.status_code == 400, bad


def test_schedule_then_time_passes_then_page_view_publishes(db, client, login, spokesperson):
    release = ops.create_release(spokesperson, kind="news", title="定时发布的稿件", body="正文。")
    db.session.commit()
    login(spokesperson)
    future = to_local_naive(utcnow() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(f"/releases/{release.id}/schedule", data={"scheduled_at": future}).status_code == 302
    assert "定时发布的稿件" not in client.get("/releases").get_data(as_text=True)
    db.session.execute(
        sa.update(Release).where(Release.id == release.id).values(scheduled_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert "定时发布的稿件" in client.get("/releases").get_data(as_text=True)
    db.session.refresh(release)
    assert release.status == "published"
    assert (
        db.session.scalar(
            select(func.count(TraceEntry.seq)).where(
                TraceEntry.action == "release.published", TraceEntry.subject_id == str(release.id)
            )
        )
        == 1
    )


def test_correction_through_the_form(db, client, login, spokesperson):
    release = _published(spokesperson, body="原文:首15分钟免费。")
    db.session.commit()
    login(spokesperson)
    assert "原文:首15分钟免费" in client.get(f"/releases/{release.id}/correct").get_data(as_text=True)
    response = client.post(f"/releases/{release.id}/correct", data={"note": "", "body": "x"})
    assert response.status_code == 400
    assert "请说明更正了什么" in response.get_data(as_text=True)
    response = client.post(
        f"/releases/{release.id}/correct", data={"note": "应为30分钟。", "body": "更正:首30分钟免费。"}
    )
    assert response.status_code == 302
    page = client.get(f"/releases/{release.id}").get_data(as_text=True)
    assert "更正说明" in page
    assert "应为30分钟" in page
    assert "更正:首30分钟免费" in page
    original = client.get(f"/releases/{release.id}/texts/0").get_data(as_text=True)
    assert "原文:首15分钟免费" in original
    assert client.get(f"/releases/{release.id}/texts/5").status_code == 404


def test_correcting_a_draft_is_refused(db, client, login, spokesperson):
    draft = ops.create_release(spokesperson, kind="news", title="草稿", body="草稿。")
    db.session.commit()
    login(spokesperson)
    assert client.get(f"/releases/{draft.id}/correct").status_code == 409


# Publication -------------------------------------------------------------------------------------


def test_official_publishes_decision_through_the_form(db, client, login, official, make_decision):
    decision = make_decision(Stage.DECIDED)
    login(official)
    form_page = client.get(f"/decisions/{decision.slug}/publication/new").get_data(as_text=True)
    assert "第一条" in form_page
    assert "未开展公开征求意见" in form_page
    data = {
        "title": "关于调整公共停车场收费标准的决定",
        "document_number": "某政发〔2026〕18号",
        "effective_date": "1999-01-01",
        "final_text": "第一条 正文。",
        "public_adoption": "采纳5条。",
        "expert_adoption": "专家赞成。",
    }
    response = client.post(f"/decisions/{decision.slug}/publication/new", data=data)
    assert response.status_code == 400
    assert "不能早于公布之日" in response.get_data(as_text=True)
    assert db.session.get(DecisionPublication, decision.id) is None
    data["effective_date"] = (ops.local_today() + timedelta(days=30)).isoformat()
    assert client.post(f"/decisions/{decision.slug}/publication/new", data=data).status_code == 302
    page = client.get(f"/decisions/{decision.slug}/publication").get_data(as_text=True)
    assert "某政发〔2026〕18号" in page
    assert "采纳5条" in page
    detail = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "某政发〔2026〕18号" in detail  # the decision page's publication section


def test_foreign_official_cannot_publish(db, client, login, make_user, make_department, make_decision):
    from portal.auth.models import Role

    decision = make_decision(Stage.DECIDED)
    login(make_user(Role.OFFICIAL, department=make_department(code="jyj")))
    assert client.get(f"/decisions/{decision.slug}/publication/new").status_code == 403


# Feeds and sitemap -----------------------------------------------------------------------------------


def test_release_feed_is_valid_atom_with_escaping(db, client, spokesperson):
    _published(spokesperson, title="水价 <调整> & 听证", body="<script>x</script> 正文\x07")
    db.session.commit()
    response = client.get("/releases.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = parse(response.data)
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert "新闻发布:水价 <调整> & 听证" in titles
    content = root.find(f"{ATOM}entry/{ATOM}content").text
    assert "<script>" not in content


def test_department_and_consultation_feeds(db, client, spokesperson, published_decision, department):
    decision = published_decision()
    _published(spokesperson, title="关于停车收费的新闻", decision=decision)
    db.session.commit()
    root = parse(client.get(f"/departments/{department.code}/feed.atom").data)
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert any("关于停车收费的新闻" in t for t in titles)
    assert any("决定公布" in t for t in titles)
    assert parse(client.get("/consultations.atom").data).tag == f"{ATOM}feed"


def test_checkpoint_feed_takes_the_daily_checkpoint_once(db, client, spokesperson):
    _published(spokesperson)
    db.session.commit()
    first = parse(client.get("/checkpoints.atom").data)
    client.get("/checkpoints.atom")
    assert db.session.scalar(select(func.count(Checkpoint.id)).where(Checkpoint.reason == "daily")) == 1
    content = first.find(f"{ATOM}entry/{ATOM}content").text
    assert "trace verify --checkpoint" in content


def test_sitemap_index_and_pages(db, client, published_decision, spokesperson):
    decision = published_decision()
    release = _published(spokesperson)
    db.session.commit()
    index = parse(client.get("/sitemap.xml").data)
    locations = [e.findtext(f"{SITEMAP}loc") for e in index.findall(f"{SITEMAP}sitemap")]
    assert any(loc.endswith("/sitemaps/pages.xml") for loc in locations)
    decisions = parse(client.get("/sitemaps/decisions-1.xml").data)
    urls = [e.findtext(f"{SITEMAP}loc") for e in decisions.findall(f"{SITEMAP}url")]
    assert any(u.endswith(f"/decisions/{decision.slug}") for u in urls)
    releases = client.get("/sitemaps/releases-1.xml").get_data(as_text=True)
    assert f"/releases/{release.id}" in releases
    assert client.get("/sitemaps/pages.xml").status_code == 200


# API -------------------------------------------------------------------------------------------------


def test_api_lists_and_shows_releases(db, client, spokesperson, published_decision):
    decision = published_decision()
    release = _published(spokesperson, decision=decision)
    ops.correct_release(spokesperson, release, note="更正。", body="更正后的正文。")
    ops.create_release(spokesperson, kind="news", title="草稿", body="草稿。")
    db.session.commit()
    data = client.get("/api/v1/releases").get_json()
    assert [i["id"] for i in data["items"]] == [release.id]
    assert client.get(f"/api/v1/releases?decision={decision.slug}").get_json()["total"] == 1
    detail = client.get(f"/api/v1/releases/{release.id}").get_json()
    assert detail["corrections"][0]["body"] == "更正后的正文。"
    assert detail["body"] == "今天举行新闻发布会。"
    publication = client.get(f"/api/v1/decisions/{decision.slug}/publication").get_json()
    assert publication["document_number"] == "某政发〔2026〕18号"
    assert publication["releases"][0]["id"] == release.id


@pytest.mark.parametrize(
    "query", ["kind=opinion", "page=0", "per_page=1000", "decision=Bad%20Slug", "department=%3Cx%3E"]
)
def test_api_bad_parameters_are_422(client, query):
    response = client.get(f"/api/v1/releases?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


def test_api_draft_is_404(db, client, spokesperson):
    draft = ops.create_release(spokesperson, kind="news", title="草稿", body="草稿。")
    db.session.commit()
    assert client.get(f"/api/v1/releases/{draft.id}").status_code == 404
