"""The in-memory prefix-filtering index of ``dedupe.find_group`` gives the brute-force answer."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.consultation import dedupe
from portal.consultation.models import CommentGroup

PHRASES = [
    "坚决反对此次水价上涨",
    "水是生活必需品",
    "涨价会加重普通家庭负担",
    "请求暂缓实施阶梯水价",
    "建议公开供水企业的成本监审报告",
    "让市民了解调价的依据",
    "第一档水量应提高到两百立方米",
    "低保家庭应当全额减免",
    "老旧小区管网漏损严重",
    "应先治理漏损再谈涨价",
    "听证会代表名单应当公开",
    "建议分季节设置水量",
    "多人口家庭应按人数核定",
    "支持节约用水的方向",
    "但是涨幅过大难以接受",
    "希望政府充分听取意见",
    "water price",
    "please publish the cost audit",
    "二次供水费用应当明确",
    "学校和医院应单独定价",
]
POOL = "水价上涨反对建议公开家庭负担阶梯成本市民的了一是不在有人abc0123"


def _edit(rng: random.Random, text: str, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        op = rng.random()
        pos = rng.randrange(len(chars) + 1)
        if op < 0.3 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(POOL)
        elif op < 0.55 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, rng.choice(POOL))
        elif op < 0.9:
            chars.insert(pos, rng.choice(",。! ?、"))  # normalised away
        else:
            chars.extend(rng.choice(PHRASES))
    return "".join(chars)


def _texts(seed: int, n: int) -> list[str]:
    """Campaign texts with small edits, individual texts from shared phrases, short and long ones."""
    rng = random.Random(seed)
    bases = ["".join(rng.sample(PHRASES, rng.randint(3, 7))) for _ in range(6)]
    long_base = "".join(rng.choice(PHRASES) for _ in range(320))  # beyond COMPARE_CHARS
    texts = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.45:
            texts.append(_edit(rng, rng.choice(bases), rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 10, 14])))
        elif kind < 0.85:
            texts.append(_edit(rng, "".join(rng.choices(PHRASES, k=rng.randint(1, 5))), rng.randint(0, 3)))
        elif kind < 0.93:
            texts.append("".join(rng.choices(POOL, k=rng.randint(0, 7))))
        else:
            head = _edit(rng, long_base[:40], rng.randint(0, 3))
            texts.append(head + long_base[40 : rng.randint(2900, 3400)] + _edit(rng, "尾部不同", 2))
    return texts


def reference(consultation_id: int, normalised: str):
    """The brute-force answer: the oldest identical group, else the most similar (ties: newest)."""
    rows = dedupe.db.session.execute(
        select(CommentGroup.id, CommentGroup.text_hash, CommentGroup.normalised, CommentGroup.text_length)
        .where(CommentGroup.consultation_id == consultation_id)
        .order_by(CommentGroup.id.desc())
    ).all()
    digest = dedupe.text_hash(normalised)
    exact = [r.id for r in rows if r.text_hash == digest]
    if exact:
        return min(exact)
    if len(normalised) < 2 * dedupe.SHINGLE:
        return None
    low, high = dedupe.length_window(min(len(normalised), dedupe.COMPARE_CHARS))
    bounded = len(normalised) < dedupe.COMPARE_CHARS
    mine = dedupe.shingles(normalised)
    best_id, best = None, 0.0
    for r in rows:
        if r.text_length < low or (bounded and r.text_length > high):
            continue
        score = dedupe.jaccard(mine, dedupe.shingles(r.normalised))
        if score >= dedupe.THRESHOLD and score > best:
            best_id, best = r.id, score
    return best_id


def _found(consultation_id: int, text: str):
    group = dedupe.find_group(consultation_id, dedupe.normalise(text))
    return None if group is None else group.id


def _insert(db, consultation_id: int, text: str, group_id: int | None = None) -> int:
    normalised = dedupe.normalise(text)
    row = {
        "consultation_id": consultation_id,
        "text_hash": dedupe.text_hash(normalised),
        "normalised": normalised,
        "text_length": min(len(normalised), dedupe.COMPARE_CHARS),
    }
    if group_id is not None:
        row["id"] = group_id
    result = db.session.execute(CommentGroup.__table__.insert().values(**row).returning(CommentGroup.id))
    return result.scalar_one()


@pytest.mark.parametrize(("seed", "rank_from"), [(1, 256), (2, 8), (3, 32)])
def test_index_gives_the_brute_force_answer(db, make_consultation, monkeypatch, seed, rank_from):
    monkeypatch.setattr(dedupe, "RANK_FROM", rank_from)  # the shingle order changes as groups come
    consultation_id = make_consultation().id
    matched = near = 0
    for text in _texts(seed, 300):
        normalised = dedupe.normalise(text)
        expected = reference(consultation_id, normalised)
        assert _found(consultation_id, text) == expected, text
        group = dedupe.assign_group(consultation_id, text)
        if expected is not None:
            assert group.id == expected
            matched += 1
            near += group.text_hash != dedupe.text_hash(normalised)
    assert matched > 50  # the texts do exercise both kinds of match
    assert near > 20


def _shape(ids: list[int], before: int) -> list:
    """Groups that existed by id; groups made by the batch by where each first appears."""
    first: dict[int, int] = {}
    return [i if i <= before else ("new", first.setdefault(i, n)) for n, i in enumerate(ids)]


@pytest.mark.parametrize("seed", [4, 5])
def test_a_batch_gets_the_groups_one_by_one_would(db, make_consultation, monkeypatch, seed):
    """``assign_groups`` (the intake's batches) reads once per batch but answers as one by one."""
    monkeypatch.setattr(dedupe, "RANK_FROM", 8)
    here, there = make_consultation().id, make_consultation().id
    texts = _texts(seed, 240)
    rng = random.Random(seed)
    start = made = 0
    while start < len(texts):
        size = rng.choice([1, 2, 7, 16, 40])
        batch = [(here if rng.random() < 0.8 else there, text) for text in texts[start : start + size]]
        start += size
        before = db.session.scalar(select(func.max(CommentGroup.id))) or 0
        probe = db.session.begin_nested()  # the answers one by one, then undone (phantoms in the index)
        expected = [dedupe.assign_group(consultation_id, text).id for consultation_id, text in batch]
        probe.rollback()
        ids = dedupe.assign_groups(batch)
        assert _shape(ids, before) == _shape(expected, before), batch
        stored = {g.id: g for g in db.session.scalars(select(CommentGroup).where(CommentGroup.id.in_(ids)))}
        assert all(stored[i].consultation_id == c for i, (c, _text) in zip(ids, batch, strict=True))
        made += len({i for i in ids if i > before})
    assert 50 < made < len(texts)  # both kinds of answer were exercised
    _assert_no_provisional_entry()


def _assert_no_provisional_entry() -> None:
    """Every group in the index, its postings included, is under its real id."""
    state, _sqlite = dedupe._state()
    for index in state.consultations.values():
        assert not index.provisional
        assert all(group_id < dedupe.PROVISIONAL for group_id in index.groups)
        filed = {entry >> dedupe._ID_SHIFT for posting in index.postings.values() for entry in posting}
        assert filed <= set(index.groups)


def test_a_rolled_back_batch_leaves_no_group_behind(db, make_consultation):
    consultation_id = make_consultation().id
    texts = ["".join(PHRASES[4:8]), "".join(PHRASES[4:8]) + "呀", "".join(PHRASES[8:12])]
    nested = db.session.begin_nested()
    first, again, other = dedupe.assign_groups([(consultation_id, t) for t in texts])
    assert first == again != other  # the second text joins the group the first made in the batch
    nested.rollback()
    # SQLite gives the ids out again, here to other texts: the index must follow the rows.
    replaced = _insert(db, consultation_id, "".join(PHRASES[14:18]), group_id=first)
    assert dedupe.assign_groups([(consultation_id, "".join(PHRASES[14:18]) + "啊")]) == [replaced]
    assert dedupe.assign_groups([(consultation_id, texts[0])]) != [first]
    assert _found(consultation_id, texts[2]) is None  # its group was rolled back (on SQLite its id is reused)


def test_a_failed_insert_of_the_new_groups_leaves_no_provisional_entry(db, make_consultation, monkeypatch):
    consultation_id = make_consultation().id
    texts = ["".join(PHRASES[4:8]), "".join(PHRASES[4:8]) + "呀", "".join(PHRASES[8:12])]

    def refused(new):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(dedupe, "_insert_groups", refused)
        with pytest.raises(RuntimeError):
            dedupe.assign_groups([(consultation_id, t) for t in texts])
    _assert_no_provisional_entry()
    first, again, other = dedupe.assign_groups([(consultation_id, t) for t in texts])
    assert first == again != other
    assert max(first, other) < dedupe.PROVISIONAL
    assert _found(consultation_id, texts[2]) == other


def test_ties_go_to_the_newest_group_and_identical_texts_to_the_oldest(db, make_consultation):
    consultation_id = make_consultation().id
    base = "".join(PHRASES[:3])
    first = _insert(db, consultation_id, base + "甲")
    second = _insert(db, consultation_id, base + "乙")
    assert _found(consultation_id, base) == second == reference(consultation_id, base)
    again = _insert(db, consultation_id, base + "甲")
    assert again > first
    assert _found(consultation_id, base + "甲") == first


def test_groups_of_another_consultation_are_never_returned(db, make_consultation):
    here, there = make_consultation().id, make_consultation().id
    text = "".join(PHRASES[:4])
    theirs = dedupe.assign_group(there, text).id
    assert _found(here, text) is None
    assert _found(here, text + "啊") is None
    mine = dedupe.assign_group(here, text + "啊").id
    assert mine != theirs
    assert _found(here, text) == mine
    assert _found(there, text + "啊") == theirs


def test_a_rolled_back_group_is_never_returned(db, make_consultation):
    consultation_id = make_consultation().id
    text = "".join(PHRASES[4:8])
    kept = dedupe.assign_group(consultation_id, "".join(PHRASES[10:14])).id
    nested = db.session.begin_nested()
    flushed = dedupe.assign_group(consultation_id, text).id
    assert _found(consultation_id, text) == flushed  # visible to its own session, and now indexed
    assert _found(consultation_id, text + "呀") == flushed
    nested.rollback()
    assert _found(consultation_id, text) is None
    assert _found(consultation_id, text + "呀") is None
    # SQLite gives the id out again: the index must not take the new row for the old text.
    other = "".join(PHRASES[14:18])
    reused = dedupe.assign_group(consultation_id, other).id
    assert _found(consultation_id, text) is None
    assert _found(consultation_id, other) == reused
    assert _found(consultation_id, "".join(PHRASES[10:14])) == kept


def test_a_rolled_back_group_is_never_returned_when_the_id_comes_back(db, make_consultation):
    consultation_id = make_consultation().id
    text, other = "".join(PHRASES[4:8]), "".join(PHRASES[14:18])
    nested = db.session.begin_nested()
    flushed = dedupe.assign_group(consultation_id, text).id
    assert _found(consultation_id, text) == flushed
    nested.rollback()
    replaced = _insert(db, consultation_id, other, group_id=flushed)  # same id, another text
    assert _found(consultation_id, text) is None
    assert _found(consultation_id, other) == replaced


def test_the_index_picks_up_groups_inserted_elsewhere(db, make_consultation):
    consultation_id = make_consultation().id
    text = "".join(PHRASES[1:5])
    assert _found(consultation_id, text) is None  # the index is built
    inserted = _insert(db, consultation_id, text)
    assert _found(consultation_id, text) == inserted
    assert _found(consultation_id, text + "吗") == inserted
    # A group committed late with a lower id than one already seen (PostgreSQL: transactions in
    # flight commit out of order) is still found: the missing id is asked again.
    later = _insert(db, consultation_id, "".join(PHRASES[8:12]), group_id=inserted + 2)
    assert _found(consultation_id, "".join(PHRASES[8:12])) == later
    late = _insert(db, consultation_id, "".join(PHRASES[12:16]), group_id=inserted + 1)
    assert _found(consultation_id, "".join(PHRASES[12:16]) + "呢") == late


def test_bounded_index_still_gives_the_same_answers(db, make_consultation, monkeypatch):
    monkeypatch.setattr(dedupe, "MAX_CONSULTATIONS", 1)
    monkeypatch.setattr(dedupe, "MAX_INDEXED_GROUPS", 1000)
    monkeypatch.setattr(dedupe, "RANK_FROM", 4)
    first, second = make_consultation().id, make_consultation().id
    texts = _texts(7, 120)
    for i, text in enumerate(texts):
        consultation_id = first if i % 2 else second  # each call evicts the other consultation
        expected = reference(consultation_id, dedupe.normalise(text))
        assert _found(consultation_id, text) == expected
        dedupe.assign_group(consultation_id, text)


def test_a_large_index_is_rebuilt_from_its_newest_groups(db, make_consultation, monkeypatch):
    monkeypatch.setattr(dedupe, "MAX_INDEXED_GROUPS", 40)
    consultation_id = make_consultation().id
    texts = list(dict.fromkeys(dedupe.normalise(t) for t in _texts(11, 200)))
    ids = [dedupe.assign_group(consultation_id, text).id for text in texts]
    state, _sqlite = dedupe._state()
    assert len(state.consultations[consultation_id].groups) <= 41
    newest = max(ids)
    assert _found(consultation_id, texts[ids.index(newest)]) == newest


def test_prefix_size_is_exact():
    for n in range(1, 6001):
        assert dedupe.prefix_size(n) == n - math.ceil(Fraction(4, 5) * n) + 1
    assert dedupe.prefix_size(0) == 0
    assert dedupe.prefix_size(5) == 2  # ceil(0.8 * 5) == 4, never rounded up to 5


@settings(max_examples=300, deadline=None)
@given(
    st.frozensets(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1),
    st.frozensets(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1),
)
def test_similar_sets_share_a_prefix_token(a, b):
    if dedupe.jaccard(a, b) >= dedupe.THRESHOLD:
        assert set(dedupe.prefix(a)) & set(dedupe.prefix(b))


@settings(max_examples=300, deadline=None)
@given(st.frozensets(st.sampled_from("abcdefghij"), min_size=1), st.data())
def test_prefix_filter_on_near_sets(a, data):
    """Sets made near each other (few changes) hit the threshold often; the prefixes must meet."""
    removed = data.draw(st.frozensets(st.sampled_from(sorted(a)), max_size=2))
    added = data.draw(st.frozensets(st.sampled_from("klmnopqrstuvwxyz"), max_size=2))
    b = (a - removed) | added
    if b and dedupe.jaccard(a, b) >= dedupe.THRESHOLD:
        assert set(dedupe.prefix(a)) & set(dedupe.prefix(b))
