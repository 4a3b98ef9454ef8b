"""The article parser: numbers, anchors, nesting, stability across versions, rendering."""

from __future__ import annotations

import re

import pytest

from portal.decisions.articles import article_rows, chinese_number, demote_headings, parse, render_body


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("九十九", 99),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("一百二十三", 123),
        ("两百", 200),
        ("23", 23),
        ("２３", 23),
    ],
)
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "三五", "甲", "十x"])
def test_not_numbers(text):
    assert chinese_number(text) is None


def anchors(body: str) -> list[str]:
    return [r.anchor for r in article_rows(body)]


def test_articles_get_anchors_from_their_numbers():
    body = "第一条 总则。\n\n第二条 范围。\n\n第二十三条 附则。\n\n第一百零五条 施行。"
    rows = article_rows(body)
    assert [(r.anchor, r.label) for r in rows] == [
        ("art-1", "第一条"),
        ("art-2", "第二条"),
        ("art-23", "第二十三条"),
        ("art-105", "第一百零五条"),
    ]
    assert rows[2].text == "第二十三条 附则。"


def test_headings_bold_and_full_width_space_start_articles():
    body = "## 第一条 目的\n\n正文。\n\n**第二条** 范围。\n\n第三条\u3000施行。\n\n第四条施行日期另行规定。"
    assert anchors(body) == ["art-1", "art-2", "art-3", "art-4"]
    assert article_rows(body)[0].text == "## 第一条 目的\n\n正文。"


def test_references_at_the_start_of_a_line_are_not_articles():
    body = "第一条 适用范围。\n第三条规定的情形除外。\n第三条至第五条不适用。"
    rows = article_rows(body)
    assert [r.anchor for r in rows] == ["art-1"]
    assert "第三条至第五条" in rows[0].text


def test_items_and_numbered_paragraphs_within_articles():
    body = (
        "第三条 本办法适用于：\n（一）居民；\n（二）学校：\n1. 小学；\n2. 中学。\n\n"
        "第四条 下列费用：\n1、水费；\n2、电费。\n\n后一款不属于第2项。"
    )
    assert anchors(body) == [
        "art-3",
        "art-3-p1",
        "art-3-p2",
        "art-3-p2-1",
        "art-3-p2-2",
        "art-4",
        "art-4-p1",
        "art-4-p2",
    ]
    rows = {r.anchor: r for r in article_rows(body)}
    assert rows["art-3-p2"].text == "（二）学校：\n1. 小学；\n2. 中学。"
    assert rows["art-4-p2"].text == "2、电费。"
    # An unnumbered paragraph after a blank line belongs to the article, not to its last item.
    assert rows["art-4"].text.endswith("后一款不属于第2项。")


def test_sections_and_paragraphs_outside_articles():
    body = (
        "前言。\n\n1. 第一段；\n2. 第二段。\n\n## 一、总体要求\n\n（一）指导思想。\n\n"
        "（二）基本原则：\n1. 公开；\n\n二、主要任务\n\n（三）任务。"
    )
    assert anchors(body) == ["p-1", "p-2", "sec-1", "sec-1-p1", "sec-1-p2", "sec-1-p2-1", "sec-2", "sec-2-p3"]


def test_chapters_and_preamble_are_shown_but_not_stored():
    body = "# 办法\n\n序言文字。\n\n## 第一章 总则\n\n第一条 目的。\n\n### 第一节 一般规定\n\n第二条 范围。"
    tops = [u.anchor for u in parse(body)]
    assert tops == ["preamble", "ch-1", "art-1", "ch-1-s1", "art-2"]
    assert anchors(body) == ["art-1", "art-2"]


def test_repeated_numbers_get_distinct_anchors():
    body = "第一条 甲。\n\n第一条 乙。\n（一）丙；\n（一）丁。"
    assert anchors(body) == ["art-1", "art-1-b", "art-1-b-p1", "art-1-b-p1-b"]


def test_code_blocks_are_not_parsed():
    body = "第一条 示例：\n\n```\n第二条 这是代码\n1. 也不是条款\n```\n\n第三条 结束。"
    assert anchors(body) == ["art-1", "art-3"]


def test_anchors_survive_an_inserted_paragraph_elsewhere():
    v1 = "第一条 甲。\n\n第二条 乙：\n（一）丙；\n（二）丁。\n\n第三条 戊。"
    v2 = "前言新增。\n\n第一条 甲，修改。\n\n第二条 乙：\n（一）丙；\n（二）丁。\n\n第三条 戊。"
    old = {r.anchor: r.text for r in article_rows(v1)}
    new = {r.anchor: r.text for r in article_rows(v2)}
    assert set(old) == set(new)
    assert old["art-2-p2"] == new["art-2-p2"]
    assert old["art-1"] != new["art-1"]


def test_positions_are_in_document_order_and_labels_fit_the_column():
    rows = article_rows("第一条 甲。\n（一）乙。\n\n第二条 丙。")
    assert [r.position for r in rows] == [1, 2, 3]
    assert all(len(r.label) <= 40 and len(r.anchor) <= 40 for r in rows)


def test_rendering_wraps_each_unit_in_an_element_with_its_anchor():
    html = str(render_body("# 标题\n\n第一条 甲。\n\n第二条 乙：\n（一）丙。"))
    assert '<section class="doc-article" id="art-1">' in html
    assert '<div class="doc-item" id="art-2-p1">' in html
    # The item is inside its article.
    assert html.index('id="art-2"') < html.index('id="art-2-p1"') < html.rindex("</section>")
    # "#" headings sit under the page's h2.
    assert "<h3>标题</h3>" in html
    assert "<h1" not in html


def test_rendering_is_sanitised():
    html = str(render_body('第一条 <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">'))
    assert "<script" not in html
    assert "javascript:" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)


def test_demote_headings_skips_code():
    assert demote_headings("# a\n```\n# b\n```\n###### c", 2) == "### a\n```\n# b\n```\n###### c"


def test_empty_body():
    assert parse("") == []
    assert article_rows(None) == []
    assert str(render_body("")) == ""
