"""Relevance on a small corpus written for the tests: each query, and what must come first."""

from __future__ import annotations

import pytest

from portal.decisions.models import Stage
from tests.search.helpers import at, titles

CORPUS = [
    # (title, body, year)
    (
        "关于调整城市供水价格的决定",
        "为促进节约用水，根据《中华人民共和国价格法》，自2026年起调整居民生活用水价格，第一阶梯水价每立方米3.20元。",
        2026,
    ),
    (
        "关于规范幼儿园收费管理的通知",
        "公办幼儿园保育教育费实行政府定价，学费标准每学期公示。民办幼儿园收费实行市场调节价。",
        2019,
    ),
    (
        "關於調整臺北市公共運輸票價的決定",
        "為鼓勵市民搭乘公共運輸，捷運與公車票價自明年起調整，學生票價維持不變。",
        2021,
    ),
    (
        "城市绿化管理办法",
        "道路两侧绿化带的养护由城管部门负责。供水管网施工后应恢复绿化。本办法所称价格，指养护服务的收费标准。",
        2020,
    ),
    (
        "建筑施工噪声污染防治规定",
        "夜间施工应当取得许可，施工单位应当采取降噪措施，减少对周边居民的影响。",
        2022,
    ),
    (
        "关于加强社区管理的意见",
        "社区居民反映施工噪声扰民问题，噪声超标的，由生态环境部门依法处理；噪声投诉应当在三日内答复，噪声监测结果向社会公开。",
        2023,
    ),
    (
        "Interim Measures on Water Price Hearings",
        "The Water Price hearing gathers consumers, operators and experts before prices are adjusted.",
        2018,
    ),
    (
        "关于公共停车收费标准的决定",
        "中心城区路内停车收费标准调整为每小时８元，夜间免费；收费时段为早七时至晚九时。",
        2024,
    ),
]


@pytest.fixture
def corpus(make_decision):
    return [make_decision(title, body, when=at(year)) for title, body, year in CORPUS]


def top(find, q: str, **filters) -> list[str]:
    return titles(find(q, **filters))


def test_chinese_words_are_segmented(corpus, find):
    # A run without spaces finds the document holding both words, not each word alone.
    assert top(find, "供水价格")[0] == "关于调整城市供水价格的决定"
    assert top(find, "幼儿园学费") == ["关于规范幼儿园收费管理的通知"]


def test_traditional_query_finds_simplified_text(corpus, find):
    assert top(find, "幼兒園學費") == ["关于规范幼儿园收费管理的通知"]
    assert top(find, "調整供水價格")[0] == "关于调整城市供水价格的决定"


def test_simplified_query_finds_traditional_text(corpus, find):
    found = find("公共运输 票价")
    assert titles(found) == ["關於調整臺北市公共運輸票價的決定"]
    # Highlighting marks the traditional characters as written.
    assert "<mark>運輸</mark>" in str(found.items[0].snippet) or "<mark>運輸</mark>" in str(found.items[0].title)


def test_full_width_forms_fold(corpus, find):
    # The text has a full-width ８; the query a half-width 8 (and the other way round).
    assert top(find, "每小时8元") == ["关于公共停车收费标准的决定"]
    assert top(find, "３.２０元")[0] == "关于调整城市供水价格的决定"


def test_phrase_requires_the_words_together(corpus, find):
    # Both documents hold 供水 and 价格; only one holds them next to each other.
    assert set(top(find, "供水 价格")) == {"关于调整城市供水价格的决定", "城市绿化管理办法"}
    assert top(find, '"供水价格"') == ["关于调整城市供水价格的决定"]
    assert top(find, "“供水价格”") == ["关于调整城市供水价格的决定"]


def test_exclusion(corpus, find):
    assert top(find, "供水 价格 -绿化") == ["关于调整城市供水价格的决定"]
    assert set(top(find, '施工 -"噪声污染"')) == {"关于加强社区管理的意见", "城市绿化管理办法"}


def test_english_is_lower_cased_and_stemmed(corpus, find):
    assert top(find, "water prices") == ["Interim Measures on Water Price Hearings"]
    assert top(find, "HEARING") == ["Interim Measures on Water Price Hearings"]
    assert top(find, "adjust") == ["Interim Measures on Water Price Hearings"]


def test_title_match_ranks_above_body_matches(corpus, find):
    # The second document says 噪声 four times in its body; the first has it once, in its title.
    assert top(find, "噪声")[:2] == ["建筑施工噪声污染防治规定", "关于加强社区管理的意见"]


def test_single_character_query_falls_back_to_characters(corpus, find):
    # 水 is never a word on its own here; it is inside 供水, 用水, 水价.
    found = top(find, "水")
    assert found[0] == "关于调整城市供水价格的决定"
    assert "城市绿化管理办法" in found  # 供水管网


def test_unknown_word_falls_back_to_its_characters(corpus, find):
    # 停车费 is not a word of the documents (they say 停车收费); its characters are.
    assert "关于公共停车收费标准的决定" in top(find, "停车费")


def test_no_document_with_every_word_drops_words_until_some_match(corpus, find):
    # No document holds all three: the word matching nothing goes first, then the commonest.
    found = find("幼儿园 收费 火箭")
    assert found.dropped == ["火箭"]
    assert titles(found) == ["关于规范幼儿园收费管理的通知"]
    found = find("幼儿园 停车 收费")
    assert found.dropped == ["幼儿园", "收费"]
    assert titles(found) == ["关于公共停车收费标准的决定"]


def test_facets_count_and_filter(corpus, find, make_decision):
    found = find("收费")
    assert dict(found.facets["year"]) == {"2019": 1, "2020": 1, "2024": 1}
    assert titles(find("收费", year="2024")) == ["关于公共停车收费标准的决定"]
    assert find("收费", stage=Stage.ARCHIVED.value).total == 0


def test_sort_by_date_newest_first(corpus, find):
    assert top(find, "收费", sort="date") == [
        "关于公共停车收费标准的决定",
        "城市绿化管理办法",
        "关于规范幼儿园收费管理的通知",
    ]
