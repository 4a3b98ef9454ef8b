"""Article-by-article diff: statuses, inline segments, and the page's accessible markup."""

from __future__ import annotations

from portal.decisions.diff import diff_texts, inline_diff, tokens

V1 = "# 办法\n\n第一条 甲。\n\n第二条 水价为每立方米3.20元。\n\n第三条 删除的条款。\n\n第四条 不变。"
V2 = "# 办法\n\n第一条 甲。\n\n第二条 水价为每立方米3.55元，分两步实施。\n\n第四条 不变。\n\n第五条 新增的条款。"


def by_anchor(result):
    return {u.anchor: u for u in result.units}


def test_units_are_matched_by_anchor():
    result = diff_texts(V1, V2)
    units = by_anchor(result)
    assert units["preamble"].status == "unchanged"
    assert units["art-1"].status == "unchanged"
    assert units["art-2"].status == "changed"
    assert units["art-3"].status == "removed"
    assert units["art-4"].status == "unchanged"
    assert units["art-5"].status == "added"
    assert [u.anchor for u in result.units] == ["preamble", "art-1", "art-2", "art-3", "art-4", "art-5"]
    assert (result.count("changed"), result.count("added"), result.count("removed")) == (1, 1, 1)
    assert result.has_changes


def test_inline_diff_of_chinese_text_is_by_character_and_keeps_numbers_whole():
    segments = inline_diff("水价为每立方米3.20元。", "水价为每立方米3.55元，分两步实施。")
    ops = [(s.op, s.text) for s in segments]
    assert ("delete", "3.20") in ops
    assert ("insert", "3.55") in ops
    assert ("insert", "，分两步实施") in ops
    # Applying the segments gives back both texts.
    assert "".join(s.text for s in segments if s.op != "insert") == "水价为每立方米3.20元。"
    assert "".join(s.text for s in segments if s.op != "delete") == "水价为每立方米3.55元，分两步实施。"


def test_tokens_split_chinese_by_character_and_english_by_word():
    assert tokens("水价 water price 3.5") == ["水", "价", " ", "water", " ", "price", " ", "3.5"]


def test_same_text_has_no_changes():
    result = diff_texts(V1, V1)
    assert not result.has_changes
    assert result.count("unchanged") == len(result.units)


def test_diff_page(client, make_decision):
    decision = make_decision(versions=2, bodies=[V1, V2])
    body = client.get(f"/decisions/{decision.slug}/diff?from=1&to=2").get_data(as_text=True)
    assert "修改 1 处,新增 1 处,删除 1 处" in body
    assert '<del><span class="visually-hidden">[删除:</span>3.20' in body
    assert '<ins><span class="visually-hidden">[新增:</span>3.55' in body
    # Unchanged articles are collapsed.
    assert "<details>" in body
    assert "未修改" in body
    # Without parameters: the two newest published versions.
    assert "第 1 版 → 第 2 版" in client.get(f"/decisions/{decision.slug}/diff").get_data(as_text=True)


def test_diff_escapes_the_text(client, make_decision):
    evil = "第一条 <script>alert(1)</script><img src=x onerror=alert(1)>"
    decision = make_decision(versions=2, bodies=["第一条 甲。", evil])
    body = client.get(f"/decisions/{decision.slug}/diff?from=1&to=2").get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;" in body
    assert "<img" not in body


def test_bad_version_numbers_are_refused_without_echo(client, make_decision):
    decision = make_decision(versions=2)
    for query in ("from=1&to=9", "from=x&to=2", "from=<script>&to=1", "from=99999999&to=1"):
        response = client.get(f"/decisions/{decision.slug}/diff?{query}")
        assert response.status_code == 400, query
        body = response.get_data(as_text=True)
        assert "请选择两个已有的版本进行比较" in body
        assert "<script>" not in body


def test_drafts_are_not_compared_for_the_public(client, make_decision, login, official):
    decision = make_decision(versions=2, draft=True)
    assert client.get(f"/decisions/{decision.slug}/diff?from=1&to=2").status_code == 400
    login(official)
    assert client.get(f"/decisions/{decision.slug}/diff?from=1&to=2").status_code == 200


def test_diff_of_unknown_decision_is_404(client):
    assert client.get("/decisions/no-such-thing/diff?from=1&to=2").status_code == 404
