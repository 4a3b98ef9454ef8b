"""Grouping of identical and nearly identical comments (campaign texts with small edits).

A text is normalised (NFKC, lower case, punctuation, symbols and white space removed). The same
normalised text (same SHA-256) joins that group (the oldest one, if several). Otherwise it is
compared with the first text of each group of the same consultation whose length is close
enough for a match to be possible, by the Jaccard similarity of character 3-gram sets; at
``THRESHOLD`` or above it joins the most similar group (the newest of equally similar ones).
Else it starts a group of its own. Every comment has a group, so "distinct texts" is the number
of groups.

The index
---------
Comparing a new text with thousands of groups cost milliseconds of CPU per comment, so each
process keeps an in-memory index of the groups of the consultations it recently served:

* ``text_hash -> group ids`` for the exact match, and
* a *prefix-filtering* index (AllPairs, Bayardo, Ma and Srikant 2007; Chaudhuri, Ganti and
  Kaushik 2006): a text's shingles are sorted by one fixed order and the first
  ``n - ceil(THRESHOLD * n) + 1`` of its ``n`` shingles form its *prefix*. Two sets with
  Jaccard >= THRESHOLD always share a shingle of their prefixes (if the smallest common shingle
  lay outside the prefix of A, all common shingles would be among the last ``ceil(t|A|) - 1``
  of A, fewer than ``t|A| <= |A & B|``). Each group is filed under its prefix shingles; a new
  text gathers the groups filed under its own prefix, keeps those in ``length_window``, the
  newest ``MAX_CANDIDATES`` of them, and compares exactly as before. ``ceil`` is taken on the
  exact fraction of ``THRESHOLD`` (4/5), never on the float product, so a prefix is never one
  too short. Every group the old full comparison could match is among these candidates, so the
  result is the same; only when more than ``MAX_CANDIDATES`` groups of the length window share a
  prefix shingle with the text does the cut differ (the old one took the newest of all groups in
  the window, this one the newest of those that can match, so it may find a match the old one
  missed).

  The order is rarest first, as AllPairs does: ``(frequency, shingle string)``, the frequency
  being the number of the consultation's indexed groups with that shingle when the order was
  fixed (unseen and once-seen shingles count 1; no ``hash()``, so it does not vary between
  runs). Ordering by the string alone put the common characters (``一``, ``不``, ``人`` ...) first
  and gathered ten times more candidates. The order is fixed again, and every group filed
  again, whenever the index has doubled since (from ``RANK_FROM`` groups up to ``RANK_UNTIL``,
  then it stays): amortised a constant cost per group. Any fixed order gives the same result.

Keeping it current: group rows never change after insert, and every call runs in the write
transaction, so it sees all committed groups (and the ones its own session flushed). A call
is one batch of texts (``assign_groups``; the intake's writer makes one per batch), and the
groups the call itself inserts are filed in the index as they are made. One query per call
reads the groups of *all* consultations with an id above the highest id seen,
plus the "holes": ids below it that were missing (rows of transactions still in flight, which
on PostgreSQL may commit after a higher id did, or rows rolled back). Holes are asked again
until they show up or ``SETTLE_SECONDS`` pass (on the first call, the last ``START_MARGIN`` ids
count as possibly in flight too). Groups of consultations not in the index are skipped; a
consultation enters the index with one read of its newest groups. A process that finds
``REFRESH_LIMIT`` new groups at once (idle for long) starts its index afresh instead. This
relies on READ COMMITTED (the PostgreSQL default; SQLite writers are serialised): each query
sees what is committed when it runs.

Rollbacks: a group flushed by this session and then rolled back may sit in the index. So the
group chosen is always re-read (``db.session.get``, needed anyway to return the ORM object) and
must still have this consultation and text hash; if not, it leaves the index and the search is
repeated. The query also re-reads the highest id seen: on SQLite a rolled-back id is given out
again, so if that row is gone or changed, the whole index of the database is forgotten and
rebuilt (rare: only after a rollback of flushed groups).

Memory: the index holds up to ``MAX_CONSULTATIONS`` consultations (least recently used go
first), each with at most ``MAX_INDEXED_GROUPS`` groups (about 1 KB each for a text of a few
hundred characters); when a consultation grows past that, its index is rebuilt from its newest
``MAX_INDEXED_GROUPS // 2`` groups (the old comparison never looked further back than the
newest ``MAX_CANDIDATES`` of a length window). Indexes are kept per engine (per database) and
are guarded by a lock, so threads of one process share them.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
import unicodedata
import weakref
from collections import Counter, OrderedDict
from fractions import Fraction

from sqlalchemy import bindparam, func, or_, select

from portal.core.extensions import db

#: Jaccard similarity of 3-gram sets at which two texts count as the same text.
THRESHOLD = 0.8
#: Shingle size in characters (Chinese has no spaces; characters are the unit).
SHINGLE = 3
#: At most this many candidate groups are compared (newest first) to bound the cost.
MAX_CANDIDATES = 2000
#: Texts are compared on their first this many normalised characters.
COMPARE_CHARS = 3000
#: Consultations whose groups are indexed per process (least recently used are dropped).
MAX_CONSULTATIONS = 4
#: Groups indexed per consultation; beyond it the index is rebuilt from the newest half.
MAX_INDEXED_GROUPS = 100_000
#: The shingle order is recomputed when a consultation's index has doubled since the last time,
#: from this many groups on and up to this many (then it stays: a good enough estimate).
RANK_FROM = 256
RANK_UNTIL = 50_000
#: Seconds a missing id (a transaction in flight, or rolled back) is looked for again.
SETTLE_SECONDS = 120.0
#: A refresh finding this many new groups (a process idle for long) starts the index afresh.
REFRESH_LIMIT = 20_000
#: On the first call, ids this far below the highest are treated as possibly still in flight.
START_MARGIN = 100

#: THRESHOLD as an exact fraction (4/5), for the prefix length.
_T = Fraction(str(THRESHOLD))


def normalise(text: str) -> str:
    """NFKC, lower case, only letters and digits kept (punctuation, symbols, spaces removed)."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in ("L", "N"))


def text_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def shingles(normalised: str) -> frozenset[str]:
    text = normalised[:COMPARE_CHARS]
    if len(text) <= SHINGLE:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def length_window(length: int) -> tuple[int, int]:
    """Lengths a text may have and still reach the threshold against a text of ``length``.

    Jaccard(A, B) <= min(|A|,|B|) / max(|A|,|B|), and a text of n characters has n-2 shingles.
    """
    low = int(length * THRESHOLD) - SHINGLE
    high = int(length / THRESHOLD) + SHINGLE + 1
    return max(0, low), high


def prefix_size(n: int) -> int:
    """Prefix length of a set of ``n`` shingles: ``n - ceil(THRESHOLD * n) + 1`` in exact arithmetic."""
    if n == 0:
        return 0
    ceil = -((-_T.numerator * n) // _T.denominator)
    return n - ceil + 1


def prefix(shingle_set: frozenset[str], rank: dict[str, int] | None = None) -> list[str]:
    """The first ``prefix_size`` shingles in the order ``(rank.get(s, 1), s)`` (rarest first).

    Without ``rank`` the order is the shingle string itself. Any fixed order keeps the filter
    exact; rare shingles first keep the lists short (the AllPairs heuristic).
    """
    if rank:
        get = rank.get
        ordered = sorted(shingle_set, key=lambda s: (get(s, 1), s))
    else:
        ordered = sorted(shingle_set)
    return ordered[: prefix_size(len(shingle_set))]


#: A posting entry packs the group id, its shingle count and the shingle's position in one int.
_POSITION_BITS = 12
_MASK = (1 << _POSITION_BITS) - 1
_ID_SHIFT = 2 * _POSITION_BITS
assert COMPARE_CHARS < _MASK  # a count or a position always fits


def _entry(group_id: int, size: int, position: int) -> int:
    return (group_id << _ID_SHIFT) | (size << _POSITION_BITS) | position


def _overlap_needed(a: int, b: int) -> int:
    """The fewest common shingles two sets of ``a`` and ``b`` shingles have at Jaccard >= THRESHOLD:
    ``|A & B| >= t (|A| + |B|) / (1 + t)``, rounded up in exact arithmetic."""
    return -((-_T.numerator * (a + b)) // (_T.numerator + _T.denominator))


# The index -------------------------------------------------------------------------------------


class _Consultation:
    """The indexed groups of one consultation."""

    __slots__ = ("groups", "by_hash", "postings", "rank", "ranked_at", "provisional")

    def __init__(self) -> None:
        #: group id -> (text hash, text cut to COMPARE_CHARS, text_length column)
        self.groups: dict[int, tuple[str, str, int]] = {}
        #: text hash -> ascending group ids
        self.by_hash: dict[str, list[int]] = {}
        #: prefix shingle -> ``_entry``s: the group id, its shingle count, the shingle's position
        self.postings: dict[str, list[int]] = {}
        #: The fixed shingle order: document frequency (>= 2) among the groups when last ranked.
        self.rank: dict[str, int] = {}
        self.ranked_at = 0
        #: provisional group id (``assign_groups``) -> the prefix it is filed under, for ``rename``
        self.provisional: dict[int, list[str]] = {}

    def add(self, group_id: int, digest: str, text: str, length: int) -> None:
        known = self.groups.get(group_id)
        if known is not None:
            if known[0] == digest:
                return
            self.remove(group_id)  # on SQLite, an id of a rolled-back group given out again
        text = text[:COMPARE_CHARS]
        self.groups[group_id] = (digest, text, length)
        bisect.insort(self.by_hash.setdefault(digest, []), group_id)
        self._file(group_id, digest, text)
        count = len(self.groups)
        if count <= RANK_UNTIL and count >= max(RANK_FROM, 2 * self.ranked_at):
            self.rerank()

    def rerank(self, rows=None) -> None:
        """Order shingles by their frequency among the groups now, and file every group again.

        ``rows`` ``(id, text_hash, normalised, text_length)``: groups to take in first (a build).
        """
        for group_id, digest, text, length in rows or ():
            if group_id not in self.groups:
                self.groups[group_id] = (digest, text[:COMPARE_CHARS], length)
                bisect.insort(self.by_hash.setdefault(digest, []), group_id)
        frequency: Counter[str] = Counter()
        for digest, text, _length in self.groups.values():
            frequency.update(_shingles_of(digest, text))
        self.rank = {shingle: n for shingle, n in frequency.items() if n >= 2}
        self.ranked_at = len(self.groups)
        self.postings = {}
        for group_id in sorted(self.groups):
            digest, text, _length = self.groups[group_id]
            self._file(group_id, digest, text)

    def _file(self, group_id: int, digest: str, text: str) -> None:
        """File a group under its prefix shingles, each with its position (``_entry``)."""
        shingle_set = _shingles_of(digest, text)
        size = len(shingle_set)
        filed = prefix(shingle_set, self.rank)
        for position, shingle in enumerate(filed):
            self.postings.setdefault(shingle, []).append(_entry(group_id, size, position))
        if group_id >= PROVISIONAL:
            self.provisional[group_id] = filed

    def rename(self, provisional: int, group_id: int) -> None:
        """Give a provisional group (``assign_groups``) its real id, in place: its postings keep
        their prefix shingles and positions, so nothing is sorted again."""
        if group_id in self.groups:
            self.remove(group_id)  # on SQLite, an id of a rolled-back group given out again
        digest, text, length = self.groups.pop(provisional)
        self.groups[group_id] = (digest, text, length)
        ids = self.by_hash[digest]
        ids.remove(provisional)
        bisect.insort(ids, group_id)
        size = len(_shingles_of(digest, text))
        for position, shingle in enumerate(self.provisional.pop(provisional)):
            posting = self.postings[shingle]
            posting[posting.index(_entry(provisional, size, position))] = _entry(group_id, size, position)

    def remove(self, group_id: int) -> None:
        entry = self.groups.pop(group_id, None)
        self.provisional.pop(group_id, None)
        if entry is None:
            return
        digest, text, _length = entry
        ids = self.by_hash.get(digest, [])
        if group_id in ids:
            ids.remove(group_id)
        if not ids:
            self.by_hash.pop(digest, None)
        shingle_set = _shingles_of(digest, text)
        size = len(shingle_set)
        for position, shingle in enumerate(prefix(shingle_set, self.rank)):
            posting = self.postings.get(shingle)
            filed = _entry(group_id, size, position)
            if posting and filed in posting:
                posting.remove(filed)
                if not posting:
                    del self.postings[shingle]

    def exact(self, digest: str) -> int | None:
        ids = self.by_hash.get(digest)
        return ids[0] if ids else None

    def nearest(self, normalised: str) -> int | None:
        """The most similar group at THRESHOLD or above (ties: the newest), as the old full scan.

        The groups filed under the text's prefix shingles are the candidates, less those the
        positional filter (PPJoin, Xiao, Wang, Lin and Yu 2008) rules out: both prefixes are in the
        same order, so after a common shingle at position ``i`` of this text and ``j`` of the
        group, at most ``min(n - i - 1, m - j - 1)`` more can be common; a group whose common
        shingles so far plus that bound stay below the overlap Jaccard >= THRESHOLD needs
        (``_overlap_needed``) cannot match. Under the surge benchmark this left a third of the
        candidates to compare.
        """
        mine = shingles(normalised)
        size = len(mine)
        low, high = length_window(min(len(normalised), COMPARE_CHARS))
        bounded = len(normalised) < COMPARE_CHARS
        groups = self.groups
        postings = self.postings
        common: dict[int, int] = {}  # group id -> common prefix shingles so far; -1: ruled out
        needed = _overlap_needed
        for i, shingle in enumerate(prefix(mine, self.rank)):
            posting = postings.get(shingle)
            if not posting:
                continue
            rest = size - i - 1
            for filed in posting:
                group_id = filed >> _ID_SHIFT
                count = common.get(group_id, 0)
                if count < 0:
                    continue
                other = (filed >> _POSITION_BITS) & _MASK
                bound = count + 1 + min(rest, other - (filed & _MASK) - 1)
                common[group_id] = count + 1 if bound >= needed(size, other) else -1
        candidates = []
        for group_id, count in common.items():
            if count < 0:
                continue
            length = groups[group_id][2]
            if length >= low and (length <= high or not bounded):
                candidates.append(group_id)
        candidates.sort(reverse=True)
        size = len(mine)
        best_id, best_score = None, 0.0
        for group_id in candidates[:MAX_CANDIDATES]:
            digest, text, _length = groups[group_id]
            other = _shingles_of(digest, text)
            common = len(mine & other)
            union = size + len(other) - common
            score = common / union if union else 1.0
            if score >= THRESHOLD and score > best_score:
                best_id, best_score = group_id, score
        return best_id


class _Database:
    """The index of one database (engine): its consultations and how far it has read."""

    def __init__(self) -> None:
        self.consultations: OrderedDict[int, _Consultation] = OrderedDict()
        #: Highest group id read, and (consultation, text hash) of that row, to notice a rollback.
        self.last: int | None = None
        self.last_row: tuple[int, str] | None = None
        #: Ids below ``last`` not seen yet -> monotonic time after which they are given up.
        self.holes: dict[int, float] = {}


_databases: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def _state() -> tuple[_Database, bool]:
    bind = db.session.get_bind()
    engine = getattr(bind, "engine", bind)
    state = _databases.get(engine)
    if state is None:
        state = _databases[engine] = _Database()
    return state, engine.dialect.name == "sqlite"


def _reset(state: _Database) -> None:
    state.consultations.clear()
    state.last = state.last_row = None
    state.holes.clear()


_statements: dict[str, object] = {}


def _statement(name: str):
    """The queries, built once (Core, with bound parameters: the cheapest to run)."""
    found = _statements.get(name)
    if found is None:
        from portal.consultation.models import CommentGroup

        table = CommentGroup.__table__
        columns = select(
            table.c.id, table.c.consultation_id, table.c.text_hash, table.c.normalised, table.c.text_length
        )
        newer = table.c.id >= bindparam("last")
        holes = table.c.id.in_(bindparam("holes", expanding=True))
        found = _statements[name] = {
            "row": select(table.c.consultation_id, table.c.text_hash).where(table.c.id == bindparam("id")),
            "rows": select(table.c.id, table.c.consultation_id, table.c.text_hash).where(
                table.c.id.in_(bindparam("ids", expanding=True))
            ),
            "top": select(func.max(table.c.id)),
            "newer": columns.where(newer).order_by(table.c.id).limit(REFRESH_LIMIT),
            "holes": columns.where(or_(newer, holes)).order_by(table.c.id).limit(REFRESH_LIMIT),
        }[name]
    return found


def _refresh(state: _Database, sqlite: bool) -> None:
    """Read the groups (of every consultation) added since the last call, and the holes."""
    connection = db.session.connection()
    now = time.monotonic()
    if state.last is None:
        top = connection.execute(_statement("top")).scalar() or 0
        start = max(0, top - START_MARGIN)
        state.last, state.last_row = start, None
        rows = connection.execute(_statement("newer"), {"last": start + 1}).all()
    else:
        state.holes = {h: until for h, until in state.holes.items() if until > now}
        if state.holes:
            params = {"last": state.last, "holes": sorted(state.holes)}
            rows = connection.execute(_statement("holes"), params).all()
        else:
            rows = connection.execute(_statement("newer"), {"last": state.last}).all()
        if len(rows) >= REFRESH_LIMIT:  # long idle: cheaper to start afresh than to catch up
            _reset(state)
            _refresh(state, sqlite)
            return
        if state.last_row is not None:
            row = next((r for r in rows if r[0] == state.last), None)
            if row is None or (row[1], row[2]) != state.last_row:
                if sqlite:  # the id may have been given out again: forget everything
                    _reset(state)
                    _refresh(state, sqlite)
                    return
                index = state.consultations.get(state.last_row[0])
                if index is not None:
                    index.remove(state.last)
                state.last_row = None  # ids are not given out again: that row is simply gone
    previous = state.last
    top = previous
    seen = set()
    for group_id, consultation_id, digest, text, length in rows:
        seen.add(group_id)
        state.holes.pop(group_id, None)
        index = state.consultations.get(consultation_id)
        if index is not None:
            index.add(group_id, digest, text, length)
        if group_id > top:
            top, state.last_row = group_id, (consultation_id, digest)
    if top > previous:
        for missing in range(previous + 1, top):
            if missing not in seen:
                state.holes[missing] = now + SETTLE_SECONDS
        state.last = top


def _index(state: _Database, consultation_id: int) -> _Consultation:
    """The index of a consultation, read from the database on first use or when too large."""
    from portal.consultation.models import CommentGroup

    index = state.consultations.get(consultation_id)
    if index is not None and len(index.groups) <= MAX_INDEXED_GROUPS:
        state.consultations.move_to_end(consultation_id)
        return index
    limit = MAX_INDEXED_GROUPS if index is None else MAX_INDEXED_GROUPS // 2
    index = _Consultation()
    rows = db.session.execute(
        select(CommentGroup.id, CommentGroup.text_hash, CommentGroup.normalised, CommentGroup.text_length)
        .where(CommentGroup.consultation_id == consultation_id)
        .order_by(CommentGroup.id.desc())
        .limit(limit)
    ).all()
    index.rerank(rows)
    state.consultations[consultation_id] = index
    state.consultations.move_to_end(consultation_id)
    while len(state.consultations) > MAX_CONSULTATIONS:
        state.consultations.popitem(last=False)
    return index


def find_group(consultation_id: int, normalised: str):
    """The group a text belongs to, or None when it is new."""
    from portal.consultation.models import CommentGroup

    with _lock:
        state, sqlite = _state()
        _refresh(state, sqlite)
        group_id = _find(_index(state, consultation_id), consultation_id, normalised, text_hash(normalised), {})
    return None if group_id is None else db.session.get(CommentGroup, group_id)


def _find(index: _Consultation, consultation_id: int, normalised: str, digest: str, known: dict) -> int | None:
    """The id of the group a text belongs to, checked against its row (``known`` rows first)."""
    while True:
        group_id = index.exact(digest)
        if group_id is None:
            if len(normalised) < 2 * SHINGLE:
                return None  # very short texts only group when identical
            group_id = index.nearest(normalised)
            if group_id is None:
                return None
        row = known.get(group_id)
        if row is None:
            row = known[group_id] = db.session.connection().execute(_statement("row"), {"id": group_id}).first()
        if row is not None and tuple(row) == (consultation_id, index.groups[group_id][0]):
            return group_id
        index.remove(group_id)  # flushed by this session, then rolled back


#: Shingle sets by text hash, per process: a group's text never changes, and the sets of the
#: candidates are needed for every new text.
_shingle_cache: dict[str, frozenset[str]] = {}
_CACHE_MAX = 20_000


def _shingles_of(digest: str, text: str) -> frozenset[str]:
    found = _shingle_cache.get(digest)
    if found is None:
        if len(_shingle_cache) >= _CACHE_MAX:
            _shingle_cache.clear()
        found = _shingle_cache[digest] = shingles(text)
    return found


def assign_group(consultation_id: int, body: str):
    """The existing group for ``body``, or a new one (inserted in the current transaction)."""
    from portal.consultation.models import CommentGroup

    return db.session.get(CommentGroup, assign_groups([(consultation_id, body)])[0])


def assign_groups(items: list[tuple[int, str]]) -> list[int]:
    """The group ids of ``(consultation id, body)`` pairs, in order: each text joins the group
    that matches it (an earlier text of the same call included), or starts a new one.

    The groups committed by others are read once per call, not once per text (the intake calls
    this once per batch); the rows of the exact matches are checked with one query. A new group
    is filed in the index at once under a provisional id above every real one (``PROVISIONAL``),
    so a later text of the call finds it, and the call's new groups are inserted together at the
    end (one statement, ``core/bulk.insert_rows``; one insert per group was a third of the
    grouping's cost under a surge) and renamed to their real ids in the index. If the transaction is
    rolled back, those entries are phantoms, which ``_find`` notices (the row is gone or holds
    another text) and ``_refresh`` replaces.
    """
    ids = []
    with _lock:
        state, sqlite = _state()
        _refresh(state, sqlite)
        texts = [(consultation_id, normalise(body)) for consultation_id, body in items]
        digests = [text_hash(normalised) for _, normalised in texts]
        # The indexes stay the same objects for the whole call: the provisional entries are in them.
        indexes = {consultation_id: _index(state, consultation_id) for consultation_id, _ in texts}
        exact = {indexes[c].exact(d) for (c, _), d in zip(texts, digests, strict=True)} - {None}
        known: dict = {}
        if exact:
            rows = db.session.connection().execute(_statement("rows"), {"ids": sorted(exact)}).all()
            known = {row[0]: (row[1], row[2]) for row in rows}
        new: list[tuple[int, dict]] = []  # provisional id, the row to insert
        try:
            for (consultation_id, normalised), digest in zip(texts, digests, strict=True):
                index = indexes[consultation_id]
                group_id = _find(index, consultation_id, normalised, digest, known)
                if group_id is None:
                    length = min(len(normalised), COMPARE_CHARS)
                    group_id = PROVISIONAL + len(new)
                    row = {"consultation_id": consultation_id, "text_hash": digest, "normalised": normalised}
                    new.append((group_id, row | {"text_length": length}))
                    known[group_id] = (consultation_id, digest)
                    index.add(group_id, digest, normalised, length)
                ids.append(group_id)
            real = _insert_groups(new)
            for (provisional, row), group_id in zip(new, real, strict=True):
                indexes[row["consultation_id"]].rename(provisional, group_id)
        except BaseException:
            for provisional, row in new:  # none stays in the index under its provisional id
                indexes[row["consultation_id"]].remove(provisional)
            raise
    return [real[i - PROVISIONAL] if i >= PROVISIONAL else i for i in ids]


#: Provisional ids of the groups one ``assign_groups`` call makes, until they are inserted: above
#: every real id, so the newest-first order of the index holds for them too.
PROVISIONAL = 1 << 62


def _insert_groups(new: list[tuple[int, dict]]) -> list[int]:
    """Insert the new groups with one statement; their ids, in order."""
    from portal.consultation.models import CommentGroup
    from portal.core.bulk import insert_rows
    from portal.core.models import utcnow

    # Every column given: on PostgreSQL the statement applies no column defaults.
    now = utcnow()
    rows = [row | {"created_at": now} for _provisional, row in new]
    # Within one call a consultation's new texts all differ (an identical one joins the first).
    key = ("consultation_id", "text_hash")
    return insert_rows(db.session.connection(), CommentGroup.__table__, rows, returning="id", key=key)
