"""The analyzer: folding, segmentation, stemming, offsets, and query parsing."""

from __future__ import annotations

import jieba
import pytest

from portal.search.analysis import fold, index_terms, query_terms, segment, tokens_with_offsets
from portal.search.query import MAX_QUERY, parse


def test_full_width_and_traditional_fold_to_half_width_simplified():
    assert fold("ＡＢＣ１２３，（臺灣）　關於") == "ABC123,(台湾) 关于"


def test_chinese_is_segmented_into_words():
    assert query_terms("关于调整城市供水价格的决定") == ["关于", "调整", "城市", "供水", "价格", "决定"]


def test_segmentation_matches_jieba_without_hmm():
    tokenizer = jieba.Tokenizer()
    for text in [
        "中华人民共和国价格法",
        "居民生活用水第一阶梯水价",
        "幼儿园保育教育费实行政府定价",
        "张三丰认为不合理",
    ]:
        assert segment(text) == list(tokenizer.cut(text, HMM=False))


def test_long_words_also_index_their_dictionary_subwords():
    terms = index_terms("供水管网")
    assert {"供水管", "供水"} <= set(terms)
    assert terms["供水"] == terms["供水管"]  # same position


def test_english_is_lower_cased_and_stemmed_and_nothing_becomes_ascii():
    assert query_terms("Water PRICES hearings") == ["water", "price", "hear"]
    assert query_terms("Café Ünïcode 北京") == ["café", "ünïcode", "北京"]
    for term in index_terms("关于调整城市供水价格的决定"):
        assert not term.isascii()


def test_offsets_point_into_the_original_text():
    text = "關於ﬁ調整，ＡＢＣ"
    for term, start, end in tokens_with_offsets(text):
        assert fold(text[start:end]).lower() == term or term == "abc"
    assert ("abc", 6, 9) in tokens_with_offsets(text)


def test_query_parsing():
    parsed = parse('供水价格 "居民 用水" -污水 -"工业 用水" “阶梯水价”')
    assert parsed.words == ["供水", "价格"]
    assert parsed.phrases == [["居民", "用水"], ["阶梯", "水价"]]
    assert parsed.excluded == [["污水"], ["工业", "用水"]]


@pytest.mark.parametrize("raw", ["", "   ", "-", "*", '"', '""', "- - -", "\x00\x01", "???", "的"])
def test_queries_with_nothing_to_search(raw):
    assert parse(raw).is_empty


def test_unbalanced_quote_runs_to_the_end():
    assert parse('"供水 价格').phrases == [["供水", "价格"]]


def test_long_queries_are_cut():
    parsed = parse("供水" * 5000)
    assert parsed.truncated
    assert len(parsed.raw) == 10_000
    assert len(parsed.words) == 1  # the same word, once
    assert parse("供水" * (MAX_QUERY // 2)).truncated is False
