"""The fast evaluator and the bulk writer give what Whoosh gives, to the last bit.

``portal.search.fast`` scores queries over whole posting lists (and the segment's fast
postings file); ``portal.search.index.write_term_postings`` writes Whoosh's files term by term.
Both replace Whoosh code on the hot paths, so each is compared with Whoosh on a corpus made
here: same documents, same scores, same order, same postings.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from whoosh import query as wq

from portal.search import fast
from portal.search import index as ixmod
from portal.search.index import Store, apply_changes, build_into
from portal.search.query import build, parse
from portal.search.registry import Document, make_key
from portal.search.text import snippet

WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "价格 供水 水价 调整 居民 生活 用水 阶梯 学校 学费 幼儿园 收费 公共 交通 运输 地铁 公交 停车 "
    "噪声 施工 环境 保护 社区 管理 城市 绿化 道路 医疗 保险 养老 住房 补贴 标准 听证 意见 征求 "
    "决定 办法 通知 规定 实施 方案 water price hearing public transport school fee"
).split()

QUERIES = [
    "价格",
    "供水 价格",
    "水",
    "电",
    "学校 -幼儿园",
    "价格 -水",
    '"价格调整"',
    '"居民 生活"',
    '"供水 价格" 调整',
    '价格 -"居民 生活"',
    '"公共交通" 管理',
    "医疗保险",
    "城市 管理 绿化 道路",
    "water price",
    "價格 調整",
    "不存在的词 价格",
    "食品安全",
    "关于调整城市供水价格的决定",
]


def _text(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        out.append(rng.choice(WORDS))
        out.append(rng.choice(["", "", "，", "。", " "]))
    return "".join(out)


def _documents(n: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(1, n + 1):
        decision = i % 10 == 0
        yield (
            "decision" if decision else "comment",
            Document(
                id=i,
                title=("关于" + _text(rng, 4) + "的决定") if decision else f"意见 {i}",
                body=_text(rng, rng.randint(5, 120)),
                date=datetime(2015 + i % 11, 1 + i % 12, 1 + i % 28, tzinfo=UTC),
                department=f"d{i % 3}",
                stage="consultation" if decision else None,
                decision=f"x-{i // 10}",
                ref=str(i),
                title_indexed=decision,
            ),
        )


@pytest.fixture
def fast_everywhere(monkeypatch):
    """Every body term gets fast postings (the corpus is small)."""
    monkeypatch.setattr(ixmod, "FAST_MIN", 1)
    yield
    fast.forget_segments()
    ixmod.close_searcher()


def _built(tmp_path, n: int = 600, **kwargs) -> Store:
    store = Store(tmp_path / "index")
    path, ix = store.new_generation()
    build_into(ix, _documents(n), **kwargs)
    ix.close()
    store.publish(path)
    return store


def _queries(searcher):
    for text in QUERIES:
        parsed = parse(text)
        for relax in range(3):
            built = build(searcher, parsed, relax=relax)
            if built is not None:
                yield text, built.query
                yield text, built.matching
    yield "title boost alone", wq.Or([wq.Term("title", "价格"), wq.Term("title", "决定")], boost=3.0)
    yield "decision filter", wq.And([wq.Term("body", "价格"), wq.Term("decision", "x-3")])


def _whoosh(searcher, q: wq.Query) -> list[tuple[float, int]]:
    """What Whoosh answers for ``q``, except that an exclusion is applied as a set difference:
    Whoosh's ``AndNotMatcher`` lets through documents holding an excluded word (``价格 -水``
    found a text with 供水 and 用水); the fast evaluator does not."""
    if isinstance(q, wq.AndNot):
        excluded = set(searcher.docs_for_query(q.b))
        return [m for m in _whoosh(searcher, q.a) if m[1] not in excluded]
    return searcher.search(q, limit=None, terms=False).top_n


def _same_as_whoosh(searcher) -> int:
    compared = 0
    for text, q in _queries(searcher):
        expected = _whoosh(searcher, q)
        got = fast.scored(searcher, q)
        # Same documents with the same scores (sums may be added in another order: 1e-12)...
        mine = {d: score for score, d in got}
        theirs = {d: score for score, d in expected}
        assert mine.keys() == theirs.keys(), text
        for d, score in theirs.items():
            assert mine[d] == pytest.approx(score, rel=1e-12, abs=1e-12), text
        # ... in Whoosh's order: score descending, then document number (scores equal to 1e-9
        # count as ties: Whoosh adds an AND's scores as a tree, this left to right).
        assert got == sorted(got, key=lambda m: (-m[0], m[1])), text

        def rounded(m):
            return (-round(m[0], 9), m[1])

        assert [d for _s, d in sorted(got, key=rounded)] == [d for _s, d in sorted(expected, key=rounded)], text
        assert fast.matching(searcher, q) == sorted(d for _s, d in expected), text
        compared += len(expected)
    return compared


def test_scores_and_order_equal_whoosh_with_fast_postings(tmp_path, fast_everywhere):
    store = _built(tmp_path)
    searcher = ixmod.searcher(store)
    leaves = [sub.reader() for sub, _o in searcher.leaf_searchers()]
    assert all(fast._segment_data(r)["fast"] is not None for r in leaves)
    assert _same_as_whoosh(searcher) > 1000
    # The phrase finds some of the documents holding both words, not all.
    phrase = build(searcher, parse('"居民 生活"')).matching
    assert isinstance(phrase, wq.Phrase)
    found = fast.matching(searcher, phrase)
    assert 0 < len(found) < len(fast.matching(searcher, build(searcher, parse("居民 生活")).matching))


def test_scores_equal_whoosh_without_fast_postings(tmp_path, monkeypatch):
    monkeypatch.setattr(ixmod, "FAST_MIN", 10**9)  # nothing goes to the fast file: Whoosh's blocks are read
    store = _built(tmp_path)
    searcher = ixmod.searcher(store)
    assert _same_as_whoosh(searcher) > 1000
    fast.forget_segments()
    ixmod.close_searcher()


def test_several_segments_deletions_and_queue_segments(tmp_path, fast_everywhere):
    """Two bulk segments (two processes), then the queue's writer replaces and removes documents
    (a segment without a fast file, deletions in the bulk ones)."""
    store = _built(tmp_path, n=800, procs=2)
    ix = store.open()
    docs = dict(((t, d.id), d) for t, d in _documents(800))
    changes = []
    for i in range(1, 800, 7):
        doc_type = "decision" if i % 10 == 0 else "comment"
        key = make_key(doc_type, i)
        if i % 2:
            changes.append((key, doc_type, None))
        else:
            doc = docs[(doc_type, i)]
            doc.body = "价格 供水 调整 " + doc.body
            changes.append((key, doc_type, doc))
    written, removed = apply_changes(ix, changes)
    ix.close()
    assert written
    assert removed
    searcher = ixmod.searcher(store)
    assert len(searcher.leaf_searchers()) >= 2
    assert any(sub.reader().has_deletions() for sub, _o in searcher.leaf_searchers())
    assert _same_as_whoosh(searcher) > 500


def test_a_missing_fast_file_table_is_not_an_error(tmp_path, fast_everywhere):
    store = _built(tmp_path, n=200)
    searcher = ixmod.searcher(store)
    for sub, _o in searcher.leaf_searchers():
        fast._segment_data(sub.reader())["fast"] = None  # as for an index written before the file existed
    assert _same_as_whoosh(searcher) > 100


def test_an_excluded_character_excludes_every_word_it_expands_to(tmp_path, fast_everywhere):
    store = _built(tmp_path)
    searcher = ixmod.searcher(store)
    built = build(searcher, parse("价格 -水"))
    found = {d for _s, d in fast.scored(searcher, built.query)}
    expanded = [t.text for t in built.query.b.subqueries]
    assert "水价" in expanded
    holding = set()
    for word in expanded:
        holding |= set(searcher.docs_for_query(wq.Term("body", word)))
    assert found
    assert not found & holding
    assert found == set(searcher.docs_for_query(wq.Term("body", "价格"))) - holding


def test_bulk_writer_writes_the_postings_whoosh_writes(tmp_path, monkeypatch):
    """Term by term (``write_term_postings``) and posting by posting (Whoosh) give the same lists."""
    stores = {}
    original = ixmod.write_term_postings
    for mode in ("whoosh", "ours"):
        if mode == "whoosh":
            monkeypatch.setattr(
                ixmod,
                "write_term_postings",
                lambda fw, schema, lengths, pool, fast=None: fw.add_postings(schema, lengths, pool.iter_postings()),
            )
        else:
            monkeypatch.setattr(ixmod, "write_term_postings", original)
        stores[mode] = _built(tmp_path / mode, n=300)
    readers = {mode: store.open().reader() for mode, store in stores.items()}
    try:
        terms = list(readers["whoosh"].all_terms())
        assert terms == list(readers["ours"].all_terms())
        for fieldname, text in terms:
            seen = []
            for reader in readers.values():
                info = reader.term_info(fieldname, text)
                m = reader.postings(fieldname, text)
                postings = []
                while m.is_active():
                    postings.append((m.id(), m.weight(), m.value(), m.block_max_weight(), m.block_max_length()))
                    m.next()
                seen.append((info.weight(), info.doc_frequency(), info.max_weight(), info.max_length(), postings))
            assert seen[0] == seen[1], (fieldname, text)
    finally:
        for reader in readers.values():
            reader.close()


def test_snippet_of_a_long_body_marks_the_match_far_in():
    body = "本办法适用于本市行政区域。" * 200 + "居民生活用水价格实行阶梯水价。" + "其他事项另行规定。" * 100
    shown = str(snippet(body, {"水价"}))
    assert "<mark>水价</mark>" in shown
    assert shown.startswith("…")
    # 水价 inside 用水|价格 straddles two words: not marked, even far into a long body.
    straddling = "本办法适用于本市行政区域。" * 200 + "居民用水价格调整。"
    assert "<mark>" not in str(snippet(straddling, {"水价"}))
