"""Scoring a query over whole posting lists, instead of Whoosh's document-at-a-time matchers.

Whoosh walks its matcher trees one document at a time in Python (5-10 µs per document
matched or skipped to), and its posting blocks pickle document numbers together with the
positions, so even reading a posting list costs about 1.3 µs per posting. A query touching
ten thousand documents took 100-200 ms.

Here the query ``portal.search.query.build`` makes (terms, ``And``, ``Or``/``PreloadedOr``,
``AndMaybe``, ``AndNot``, ``Phrase``) is evaluated a segment at a time over sets and dicts:

* a term's postings are read as two arrays (document numbers, frequencies) from the
  segment's *fast postings* file (``.fpl``, written beside the Whoosh files by the bulk
  writer for every ``body`` term in at least ``FAST_MIN`` documents); terms without it
  (rare terms, segments written by the queue, titles) are decoded from Whoosh's blocks;
* ``And`` intersects the document sets first and scores only the documents left;
* phrases, and any node this module does not know, are matched by Whoosh itself on that
  segment, and their scores used as they come.

Scores are Whoosh's BM25F to the last bit (same idf, average length, length bytes, boosts,
including Whoosh's rule that a compound query with one subquery ignores its boost), and the
order is Whoosh's: score descending, then document number. A test compares both on every
query shape.
"""

from __future__ import annotations

import bisect
import logging
import pickle
import struct
import sys
import threading
from abc import ABC, abstractmethod
from array import array
from itertools import accumulate

from whoosh import query as wq
from whoosh import scoring
from whoosh.codec import whoosh3 as w3
from whoosh.filedb.compound import CompoundStorage
from whoosh.query.compound import PreloadedOr
from whoosh.util.numeric import byte_to_length

#: The fast postings file of a segment, and its header.
FAST_EXT = ".fpl"
_MAGIC = b"PFPL1"
#: Body terms in fewer documents of a segment than this are read from Whoosh's blocks.
FAST_MIN = 128
#: Fields whose terms get fast postings.
FAST_FIELDS = ("body",)
_TRAILER = struct.Struct("<Q")

log = logging.getLogger("portal.search")


class FastPostingsWriter:
    """Collects ``(term, docnums, frequencies)`` while a segment is written, then the table."""

    def __init__(self, fh):
        self.fh = fh
        fh.write(_MAGIC + (b"L" if sys.byteorder == "little" else b"B"))
        self.offset = len(_MAGIC) + 1
        self.table: dict[tuple[str, bytes], tuple[int, int, str]] = {}

    def add(self, fieldname: str, tbytes: bytes, docnums: array, weights: array) -> None:
        n = len(docnums)
        ids = docnums.tobytes() if docnums.typecode == "I" else array("I", docnums).tobytes()
        top = max(weights)
        code = "B" if top <= 255 and all(w.is_integer() for w in weights) else "f"
        tfs = array(code, map(int, weights) if code == "B" else weights).tobytes()
        self.fh.write(ids)
        self.fh.write(tfs)
        self.table[(fieldname, tbytes)] = (self.offset, n, code)
        self.offset += len(ids) + len(tfs)

    def close(self) -> None:
        blob = pickle.dumps(self.table, protocol=pickle.HIGHEST_PROTOCOL)
        self.fh.write(blob)
        self.fh.write(_TRAILER.pack(self.offset))
        self.fh.close()


class _FastTable:
    """The table of a segment's fast postings file: (field, term) -> (offset, count, type)."""

    def __init__(self, fh, size: int):
        fh.seek(0)
        head = fh.read(len(_MAGIC) + 1)
        if head[: len(_MAGIC)] != _MAGIC:
            raise ValueError("not a fast postings file")
        self.swap = (head[-1:] == b"L") != (sys.byteorder == "little")
        fh.seek(size - _TRAILER.size)
        (table_at,) = _TRAILER.unpack(fh.read(_TRAILER.size))
        fh.seek(table_at)
        self.entries = pickle.loads(fh.read(size - _TRAILER.size - table_at))  # noqa: S301 (our own file)

    def read(self, get, fieldname: str, tbytes: bytes) -> tuple[array, array] | None:
        entry = self.entries.get((fieldname, tbytes))
        if entry is None:
            return None
        offset, n, code = entry
        ids = array("I")
        ids.frombytes(get(offset, 4 * n))
        tfs = array(code)
        tfs.frombytes(get(offset + 4 * n, tfs.itemsize * n))
        if self.swap:
            ids.byteswap()
            tfs.byteswap()
        return ids, tfs


# Per-segment data kept per process (plain data, no open files): the fast postings table and
# field lengths. A segment never changes once written (only its deletions do).

_segments: dict[str, dict] = {}
_segments_lock = threading.Lock()
_SEGMENTS_KEPT = 64


def _fast_name(reader) -> str:
    return reader.segment().make_filename(FAST_EXT)


class _Opened:
    """Reads byte ranges of a segment's fast postings file: straight from the compound file's
    memory map when there is one (Whoosh's ``open_file`` would copy the whole file first)."""

    def __init__(self, reader):
        name = _fast_name(reader)
        self._fh = None
        storage = reader._storage
        self._source = None
        self._base = 0
        for candidate in (storage, getattr(storage, "a", None)):
            if isinstance(candidate, CompoundStorage) and candidate._source is not None and candidate.file_exists(name):
                self._base = candidate.range(name)[0]
                self._source = candidate._source
                return
        self._fh = storage.open_file(name)

    def get(self, offset: int, size: int) -> bytes:
        if self._source is not None:
            start = self._base + offset
            return self._source[start : start + size]
        return self._fh.get(offset, size)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _segment_data(reader) -> dict:
    segid = reader.segment().segment_id()
    data = _segments.get(segid)
    if data is None:
        data = {"lengths": {}, "fast": None}
        name = _fast_name(reader)
        try:
            if reader._storage.file_exists(name):
                fh = reader._storage.open_file(name)
                try:
                    data["fast"] = _FastTable(fh, reader._storage.file_length(name))
                finally:
                    fh.close()
        except Exception:  # noqa: BLE001 - a damaged or foreign file: Whoosh's blocks still work
            log.warning("search: ignoring the fast postings of segment %s", segid, exc_info=True)
            data["fast"] = None
        with _segments_lock:
            if len(_segments) >= _SEGMENTS_KEPT:
                _segments.clear()
            _segments[segid] = data
    return data


def forget_segments() -> None:
    """Drop what is kept per segment (tests)."""
    with _segments_lock:
        _segments.clear()


def _lengths(reader, data: dict, fieldname: str) -> list[int]:
    table = data["lengths"].get(fieldname)
    if table is None:
        column_field = w3._lenfield(fieldname)
        pdr = reader._perdoc
        if pdr.has_column(column_field):
            raw = pdr.column_reader(column_field, w3.LENGTHS_COLUMN)
            table = [byte_to_length(b) for b in raw]
        else:
            table = [0] * reader.doc_count_all()
        data["lengths"][fieldname] = table
    return table


def _block_postings(reader, fieldname: str, tbytes: bytes) -> tuple[list[int], list[float]]:
    """A term's postings decoded from Whoosh's blocks (deleted documents included)."""
    m = reader.postings(fieldname, tbytes.decode("utf-8"))
    inner = m
    while not isinstance(inner, w3.W3LeafMatcher) and hasattr(inner, "child"):
        inner = inner.child
    ids: list[int] = []
    tfs: list[float] = []
    if not isinstance(inner, w3.W3LeafMatcher):  # inlined or another codec: the generic way
        while m.is_active():
            ids.append(m.id())
            tfs.append(m.weight())
            m.next()
        return ids, tfs
    while True:
        if inner._data is None:
            inner._read_data()
        data = inner._data
        ids.extend(accumulate(data[0]))
        weights = data[1]
        if weights is None:
            tfs.extend([1.0] * inner._blocklength)
        elif isinstance(weights, float):
            tfs.extend([weights] * inner._blocklength)
        else:
            tfs.extend(weights)
        if inner._lastblock:
            break
        inner._goto(inner._nextoffset)
    return ids, tfs


class _Leaf:
    """One segment being searched: postings as ``{docnum: tf}``, BM25F as Whoosh computes it."""

    def __init__(self, top, sub, offset: int, stats: dict):
        self.top = top
        self.sub = sub
        self.reader = sub.reader()
        self.offset = offset
        self.data = _segment_data(self.reader)
        self.stats = stats
        self._postings: dict[tuple[str, str], dict[int, float]] = {}
        #: What a node worked out for this segment (phrases, Whoosh-matched nodes), by node id.
        self.memo: dict[int, object] = {}
        self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def postings(self, fieldname: str, text: str) -> dict[int, float]:
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        reader = self.reader
        if not self._has(fieldname, text):
            found = {}
        else:
            tbytes = text.encode("utf-8")
            fast = self.data["fast"]
            pair = None
            if fast is not None and (fieldname, tbytes) in fast.entries:
                if self._fh is None:
                    self._fh = _Opened(reader)
                pair = fast.read(self._fh.get, fieldname, tbytes)
            ids, tfs = pair if pair is not None else _block_postings(reader, fieldname, tbytes)
            found = dict(zip(ids, tfs, strict=True))
        self._postings[key] = found
        return found

    def _has(self, fieldname: str, text: str) -> bool:
        try:
            return (fieldname, text) in self.reader
        except Exception:  # noqa: BLE001
            return False

    def term_scores(self, fieldname: str, text: str, docs) -> dict[int, float]:
        """BM25F of ``text`` in ``docs`` (all of which hold it)."""
        post = self.postings(fieldname, text)
        if not self.top.schema[fieldname].scorable:  # Whoosh's WeightScorer: the weight itself
            return {d: post[d] for d in docs}
        idf, avgfl, b, k1 = self._term_stats(fieldname, text)
        norms = self._norms(fieldname, avgfl, b, k1)
        k1p1 = k1 + 1
        # whoosh.scoring.bm25: idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))
        return {d: idf * ((tf * k1p1) / (tf + norms[d])) for d in docs for tf in (post[d],)}

    def _norms(self, fieldname: str, avgfl: float, b: float, k1: float) -> list[float]:
        """``K1 * ((1 - B) + B * fl / avgfl)`` per document, kept while the statistics hold."""
        key = (fieldname, avgfl, b, k1)
        kept = self.data.setdefault("norms", {})
        norms = kept.get(key)
        if norms is None:
            lengths = _lengths(self.reader, self.data, fieldname)
            c = 1 - b
            norms = [k1 * (c + b * fl / avgfl) for fl in lengths]
            if len(kept) >= 8:
                kept.clear()
            kept[key] = norms
        return norms

    def _term_stats(self, fieldname: str, text: str):
        key = (fieldname, text)
        found = self.stats.get(key)
        if found is None:
            weighting = self.top.weighting
            b = weighting._field_B.get(fieldname, weighting.B)
            found = (self.top.idf(fieldname, text), self.top.avg_field_length(fieldname) or 1, b, weighting.K1)
            self.stats[key] = found
        return found


class _Node(ABC):
    """A query node: its matching documents in a segment, and their scores."""

    @abstractmethod
    def docs(self, leaf: _Leaf): ...

    @abstractmethod
    def scores(self, leaf: _Leaf, docs) -> dict[int, float]: ...


class _Empty(_Node):
    def docs(self, leaf):
        return set()

    def scores(self, leaf, docs):
        return {}


class _TermNode(_Node):
    def __init__(self, q: wq.Term):
        self.fieldname, self.text, self.boost = q.fieldname, q.text, q.boost

    def docs(self, leaf):
        return leaf.postings(self.fieldname, self.text).keys()

    def scores(self, leaf, docs):
        scores = leaf.term_scores(self.fieldname, self.text, docs)
        if self.boost != 1.0:
            boost = self.boost
            return {d: s * boost for d, s in scores.items()}
        return scores


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    return {d: s * boost for d, s in scores.items()} if boost != 1.0 else scores


class _AndNode(_Node):
    def __init__(self, children: list[_Node], boost: float):
        self.children, self.boost = children, boost

    def docs(self, leaf):
        sets = sorted((c.docs(leaf) for c in self.children), key=len)
        result = set(sets[0])
        for other in sets[1:]:
            if not result:
                break
            result &= other if isinstance(other, set) else set(other) if len(other) < len(result) else other
        return result

    def scores(self, leaf, docs):
        total = dict.fromkeys(docs, 0.0)
        for child in self.children:
            for d, s in child.scores(leaf, docs).items():
                total[d] += s
        return _boosted(total, self.boost)


class _OrNode(_Node):
    def __init__(self, children: list[_Node], boost: float):
        self.children, self.boost = children, boost

    def docs(self, leaf):
        result: set[int] = set()
        for child in self.children:
            result.update(child.docs(leaf))
        return result

    def scores(self, leaf, docs):
        total = dict.fromkeys(docs, 0.0)
        for child in self.children:
            mine = child.docs(leaf)
            inside = [d for d in docs if d in mine] if len(docs) < len(mine) else [d for d in mine if d in total]
            for d, s in child.scores(leaf, inside).items():
                total[d] += s
        return _boosted(total, self.boost)


class _AndMaybeNode(_Node):
    def __init__(self, a: _Node, b: _Node):
        self.a, self.b = a, b

    def docs(self, leaf):
        return self.a.docs(leaf)

    def scores(self, leaf, docs):
        total = self.a.scores(leaf, docs)
        maybe = self.b.docs(leaf)
        both = [d for d in docs if d in maybe]
        if both:
            total = dict(total)
            for d, s in self.b.scores(leaf, both).items():
                total[d] += s
        return total


class _AndNotNode(_Node):
    def __init__(self, a: _Node, b: _Node):
        self.a, self.b = a, b

    def docs(self, leaf):
        found = self.a.docs(leaf)
        if not found:
            return set()
        return set(found) - set(self.b.docs(leaf))

    def scores(self, leaf, docs):
        return self.a.scores(leaf, docs)


def _candidate_positions(reader, fieldname: str, text: str, candidates: list[int]) -> dict[int, list[int]]:
    """Positions of ``text`` in the ``candidates`` (sorted), reading only the blocks holding them."""
    m = reader.postings(fieldname, text)
    inner = m
    while not isinstance(inner, w3.W3LeafMatcher) and hasattr(inner, "child"):
        inner = inner.child
    decode = reader.schema[fieldname].format.decode_positions
    wanted = set(candidates)
    found: dict[int, list[int]] = {}
    if not isinstance(inner, w3.W3LeafMatcher):
        while m.is_active():
            if m.id() in wanted:
                found[m.id()] = decode(m.value())
            m.next()
        return found
    low = 0
    while True:
        high = inner._maxid
        i = bisect.bisect_left(candidates, low)
        if i < len(candidates) and candidates[i] <= high:
            if inner._data is None:
                inner._read_data()
            data = inner._data
            values = data[2]
            for j, d in enumerate(accumulate(data[0])):
                if d in wanted:
                    found[d] = decode(values[j])
        if inner._lastblock or high >= candidates[-1]:
            break
        low = high + 1
        inner._goto(inner._nextoffset)
    return found


class _PhraseNode(_Node):
    """Words one after the other: the documents holding all of them, then their positions there.

    Whoosh's ``Phrase`` (``SpanNear2``, slop 1) walks every document holding all the words one
    by one; here the candidates come from the document sets and only the posting blocks holding
    them are decoded. The score is Whoosh's: the sum of the words' scores, times the boost.
    """

    def __init__(self, q: wq.Phrase):
        self.q = q
        self.fieldname, self.words, self.boost = q.fieldname, list(q.words), q.boost

    def docs(self, leaf):
        found = leaf.memo.get(id(self))
        if found is not None:
            return found
        found = set()
        if all(leaf._has(self.fieldname, w) for w in self.words):
            sets = sorted((leaf.postings(self.fieldname, w).keys() for w in self.words), key=len)
            candidates = set(sets[0])
            for other in sets[1:]:
                candidates &= other
            if candidates:
                ordered = sorted(candidates)
                positions = [_candidate_positions(leaf.reader, self.fieldname, w, ordered) for w in self.words]
                for d in ordered:
                    rest = [set(p.get(d, ())) for p in positions[1:]]
                    if any(
                        all(start + k + 1 in later for k, later in enumerate(rest)) for start in positions[0].get(d, ())
                    ):
                        found.add(d)
        leaf.memo[id(self)] = found
        return found

    def scores(self, leaf, docs):
        total = dict.fromkeys(docs, 0.0)
        for w in self.words:
            for d, s in leaf.term_scores(self.fieldname, w, docs).items():
                total[d] += s
        return _boosted(total, self.boost)


class _WhooshNode(_Node):
    """Anything else (phrases): Whoosh's own matcher on the segment, scores as it gives them."""

    def __init__(self, q: wq.Query):
        self.q = q

    def _matched(self, leaf: _Leaf) -> dict[int, float]:
        found = leaf.memo.get(id(self))
        if found is None:
            found = {}
            m = self.q.matcher(leaf.sub, leaf.top.context())
            while m.is_active():
                found[m.id()] = m.score()
                m.next()
            leaf.memo[id(self)] = found
        return found

    def docs(self, leaf):
        return self._matched(leaf).keys()

    def scores(self, leaf, docs):
        matched = self._matched(leaf)
        return {d: matched[d] for d in docs}


def _compile(q: wq.Query) -> _Node:
    if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
        return _Empty()
    if type(q) is wq.Term:
        return _TermNode(q)
    if isinstance(q, (wq.And, wq.Or)) and type(q) in (wq.And, wq.Or, PreloadedOr):
        subs = [s for s in q.subqueries if s is not wq.NullQuery] if type(q) is not wq.And else list(q.subqueries)
        if not subs:
            return _Empty()
        if len(subs) == 1:  # Whoosh ignores a compound's boost when it has one subquery
            return _compile(subs[0])
        children = [_compile(s) for s in subs]
        if type(q) is wq.And:
            if any(isinstance(c, _Empty) for c in children):
                return _Empty()
            return _AndNode(children, q.boost)
        if type(q) is wq.Or and q.minmatch or q.scale:
            return _WhooshNode(q)
        return _OrNode(children, q.boost)
    if type(q) is wq.AndMaybe:
        return _AndMaybeNode(_compile(q.a), _compile(q.b))
    if type(q) is wq.AndNot:
        return _AndNotNode(_compile(q.a), _compile(q.b))
    if type(q) is wq.Phrase and q.slop == 1 and len(q.words) > 1 and not q.char_ranges:
        return _PhraseNode(q)
    return _WhooshNode(q)


def scored(searcher, q: wq.Query, *, ordered: bool = True) -> list[tuple[float, int]]:
    """Every document matching ``q`` with Whoosh's score, best first (then by docnum) when
    ``ordered``; a caller that only shows the first few can pick them with ``heapq``."""
    if type(searcher.weighting) is not scoring.BM25F:  # the scores here are BM25F's
        found = searcher.search(q, limit=None, terms=False).top_n
        return found if ordered else list(found)
    node = _compile(q)
    stats: dict = {}
    results: list[tuple[float, int]] = []
    for sub, offset in searcher.leaf_searchers():
        if sub.reader().segment() is None:  # an empty index
            continue
        leaf = _Leaf(searcher, sub, offset, stats)
        try:
            docs = node.docs(leaf)
            if not docs:
                continue
            reader = leaf.reader
            if reader.has_deletions():
                deleted = reader.deleted_docs_set
                docs = [d for d in docs if d not in deleted]
            scores = node.scores(leaf, docs)
        finally:
            leaf.close()
        if offset:
            results.extend((s, d + offset) for d, s in scores.items())
        else:
            results.extend((s, d) for d, s in scores.items())
    if ordered:
        results.sort(key=lambda x: (0 - x[0], x[1]))
    return results


def matching(searcher, q: wq.Query) -> list[int]:
    """Document numbers matching ``q`` (unscored, ascending)."""
    node = _compile(q)
    stats: dict = {}
    found: list[int] = []
    for sub, offset in searcher.leaf_searchers():
        if sub.reader().segment() is None:  # an empty index
            continue
        leaf = _Leaf(searcher, sub, offset, stats)
        try:
            docs = node.docs(leaf)
            if not docs:
                continue
            reader = leaf.reader
            if reader.has_deletions():
                deleted = reader.deleted_docs_set
                docs = [d for d in docs if d not in deleted]
        finally:
            leaf.close()
        found.extend(sorted(d + offset for d in docs))
    return found
