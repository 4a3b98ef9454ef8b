"""The search page and the API: results, facets, paging, and every kind of bad input."""

from __future__ import annotations

import re

import pytest

from portal.decisions.models import Stage
from tests.search.helpers import at


@pytest.fixture
def decisions(make_decision, make_department, index_now):
    other = make_department(code="jyj", name="市教育局")
    made = [
        make_decision("关于调整城市供水价格的决定", "供水价格调整，居民用水第一阶梯。", when=at(2026)),
        make_decision("关于规范幼儿园收费管理的通知", "幼儿园收费实行政府定价。", when=at(2019), dept=other),
        make_decision(
            "关于中小学课后服务收费的意见",
            "课后服务收费标准，学校不得强制收费。",
            when=at(2021),
            dept=other,
            stage=Stage.ARCHIVED.value,
        ),
    ]
    for n in range(1, 24):
        make_decision(f"第{n}号供水管网改造方案", f"供水管网改造第{n}期工程。", when=at(2000 + n))
    index_now()
    return made


def page(client, url: str, status: int = 200, *, marks: bool = False) -> str:
    """The page's HTML; without the highlight marks unless ``marks``."""
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    return body if marks else re.sub(r"</?mark>", "", body)


def test_the_nav_links_to_search(client):
    assert 'href="/search"' in page(client, "/")


def test_empty_page_explains_what_can_be_found(client):
    body = page(client, "/search")
    assert 'name="q"' in body
    assert "可检索决策事项" in body


def test_results_are_highlighted_and_linked(client, decisions):
    body = page(client, "/search?q=幼儿园收费", marks=True)
    assert "共找到 1 条结果" in body
    assert "<mark>幼儿园</mark>" in body
    assert f'href="/decisions/{decisions[1].slug}"' in body


def test_titles_and_snippets_are_escaped_except_the_marks(client, make_decision, index_now):
    make_decision("<script>alert(1)</script>供水公告", "正文<img src=x onerror=alert(1)>供水")
    index_now()
    body = page(client, "/search?q=供水公告", marks=True)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>供水</mark>" in body or "<mark>供水公告</mark>" in body
    assert "<img" not in body


def test_facets_count_and_filter(client, decisions):
    body = page(client, "/search?q=收费")
    assert "市教育局" in body
    assert "(2)" in body
    assert "没有找到结果" in page(client, "/search?q=收费&department=swj")
    body = page(client, "/search?q=收费&stage=archived")
    assert "关于中小学课后服务收费的意见" in body
    assert "关于规范幼儿园收费管理的通知" not in body
    body = page(client, "/search?q=收费&year=2019")
    assert "关于规范幼儿园收费管理的通知" in body
    assert "关于中小学课后服务收费的意见" not in body
    assert "取消此筛选" in body


def test_sort_by_date_and_pages(client, decisions):
    first = page(client, "/search?q=供水&sort=date")
    assert first.index("关于调整城市供水价格的决定") < first.index("第23号供水管网改造方案")
    assert "第 1 页,共 3 页" in first
    second = page(client, "/search?q=供水&sort=date&page=2")
    assert "第13号供水管网改造方案" in second
    assert "关于调整城市供水价格的决定" not in second


def test_a_page_past_the_end_shows_the_last_page(client, decisions):
    body = page(client, "/search?q=供水&page=99")
    assert "没有第 99 页,已显示最后一页" in body
    assert "第 3 页,共 3 页" in body


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ('"供水价格', "共找到"),  # unbalanced quote: the phrase runs to the end
        ("-", "没有可检索的文字"),  # a lone operator
        ("*", "没有可检索的文字"),
        ("-供水", "只有排除词时无法检索"),
        ("", "可检索决策事项"),
        ("供水\x00\x1b[31m\u202e价格", "共找到"),  # control characters are dropped
        ("供水" * 5000, "检索词过长"),  # 10,000 characters
        ("???", "没有可检索的文字"),
        ("((供水)) AND OR NOT", "共找到"),
    ],
)
def test_bad_queries_answer_clearly(client, decisions, query, expect):
    from urllib.parse import quote

    assert expect in page(client, "/search?q=" + quote(query))


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ("page=-3", "页码“-3”无效"),
        ("page=abc", "页码“abc”无效"),
        ("page=0", "页码“0”无效"),
        ("type=nonsense", "没有“nonsense”这种类型"),
        ("stage=nonsense", "没有“nonsense”这个阶段"),
        ("year=19x9", "年份“19x9”无效"),
        ("department=nowhere", "没有代码为“nowhere”的单位"),
        ("decision=no-such-decision", "找不到该决策事项"),
        ("sort=random", "不支持这种排序方式"),
    ],
)
def test_bad_filters_are_ignored_with_a_notice(client, decisions, params, expect):
    body = page(client, "/search?q=供水&" + params)
    assert expect in body
    assert "共找到" in body


def test_nothing_found_page_helps(client, decisions):
    body = page(client, "/search?q=火箭发射&type=decision")
    assert "没有找到结果" in body
    assert "去掉全部筛选条件" in body
    assert "换一个意思相近的词" in body


def test_unpublished_decisions_never_appear(client, make_decision, index_now):
    make_decision("内部起草稿", "尚未公开的独角兽条款", published=False, stage=Stage.DRAFTING.value)
    index_now()
    assert "没有找到结果" in page(client, "/search?q=独角兽")
    assert client.get("/api/v1/search?q=独角兽").get_json()["total"] == 0


def test_a_decision_page_offers_to_search_its_comments(app, client, decisions):
    if "decisions.detail" not in app.view_functions:
        pytest.skip("the decisions pages are not there")
    body = page(client, f"/decisions/{decisions[0].slug}")
    assert 'action="/search"' in body
    assert f'name="decision" value="{decisions[0].slug}"' in body
    assert 'name="type" value="comment"' in body


def test_search_within_a_decision(client, decisions):
    body = page(client, f"/search?decision={decisions[0].slug}&q=供水")
    assert f"在《{decisions[0].title}》中搜索" in body
    assert "共找到 1 条结果" in body


# API


def test_api_shape(client, decisions):
    data = client.get("/api/v1/search?q=收费").get_json()
    assert data["total"] == 2
    assert set(data["facets"]) == {"type", "department", "stage", "year"}
    assert {"value": "decision", "count": 2} in data["facets"]["type"]
    item = data["items"][0]
    assert set(item) >= {"type", "title", "url", "snippet", "date", "score"}
    assert item["type"] == "decision"
    assert "<mark>" in item["title"] + item["snippet"]
    assert item["score"] > 0


def test_api_filters_sort_and_pages(client, decisions):
    data = client.get("/api/v1/search?q=供水&sort=date&per_page=5&page=2").get_json()
    assert data["page"] == 2
    assert data["pages"] == 5
    assert len(data["items"]) == 5
    assert all(item["score"] is None for item in data["items"])
    past = client.get("/api/v1/search?q=供水&page=50").get_json()
    assert past["items"] == []
    assert past["total"] == 24
    data = client.get("/api/v1/search?q=收费&department=jyj&year=2021&stage=archived&type=decision").get_json()
    assert [i["title"] for i in data["items"]] == ["关于中小学课后服务<mark>收费</mark>的意见"]


@pytest.mark.parametrize(
    "params",
    [
        "type=nonsense",
        "stage=nonsense",
        "sort=random",
        "page=-1",
        "page=abc",
        "year=19x9",
        "per_page=1000",
        "department=nowhere",
        "department=bad%20code",
        "decision=no-such-decision",
    ],
)
def test_api_refuses_bad_parameters(client, decisions, params):
    response = client.get("/api/v1/search?q=供水&" + params)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("query", ['"供水', "-", "*", "", "供水" * 5000, "\x00\x07供水"])
def test_api_bad_queries(client, decisions, query):
    from urllib.parse import quote

    response = client.get("/api/v1/search?q=" + quote(query))
    assert response.status_code == 200
    assert response.get_json()["query_truncated"] is (len(query) > 200)


def test_api_refuses_a_query_over_ten_thousand_characters(client):
    response = client.get("/api/v1/search?q=" + "水" * 10_001)
    assert response.status_code == 422


def test_api_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/search"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "type", "department", "stage", "year", "sort", "page"} <= names
    assert "503" in operation["responses"]


def test_the_first_search_of_a_new_site_builds_the_index(client, make_decision, store):
    # Data loaded from the command line (seed, import) before any index exists.
    make_decision("关于调整城市供水价格的决定")
    assert not store.exists()
    assert "共找到 1 条结果" in page(client, "/search?q=供水")
    assert store.exists()
