"""Searching, rebuilding and reporting: what the views, the API and the CLI call."""

from __future__ import annotations

import heapq
import logging
import math
import os
import pickle
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from whoosh import query as wq

from portal.core.extensions import db
from portal.search import fast
from portal.search import index as ixmod
from portal.search.index import FACET_FIELDS, IndexUnavailable, Store, build_into
from portal.search.query import ParsedQuery, build
from portal.search.registry import TYPES, Document, provider, providers, split_key
from portal.search.text import highlight, snippet

log = logging.getLogger("portal.search")

SORTS = ("relevance", "date")
PER_PAGE = 10
#: Documents loaded per database round trip when rebuilding.
REBUILD_BATCH = 500


@dataclass
class Filters:
    """Facet filters (all optional) and the decision a search is limited to."""

    type: str | None = None
    department: str | None = None
    stage: str | None = None
    year: str | None = None
    decision: str | None = None

    def facet_values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FACET_FIELDS if getattr(self, name)}

    @property
    def any(self) -> bool:
        return bool(self.facet_values() or self.decision)


@dataclass
class Hit:
    type: str
    id: int
    title: Markup
    url: str
    snippet: Markup
    date: datetime | None
    score: float | None
    department: str | None
    stage: str | None
    decision: str | None


@dataclass
class Outcome:
    """One page of results with everything the page and the API show."""

    query: ParsedQuery
    filters: Filters
    sort: str = "relevance"
    total: int = 0
    page: int = 1
    per_page: int = PER_PAGE
    items: list[Hit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: No document held every word: these words (or phrases) were not required.
    dropped: list[str] = field(default_factory=list)
    #: The page asked for was past the end; the last page is shown.
    page_clamped: bool = False
    #: "missing" or "corrupt" when the index cannot be read.
    unavailable: str | None = None
    #: False when there was nothing to search for (an empty box and no filters).
    searched: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    # The attributes the ``pager`` macro of _macros.html reads.
    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


# Column values per segment, for facet counts and filters: built once per process.

_columns: dict[str, dict[str, list]] = {}
_columns_lock = threading.Lock()
_COLUMNS_KEPT = 64


def _segment_columns(reader) -> dict[str, list]:
    if reader.segment() is None:  # an empty index
        return {name: [] for name in (*FACET_FIELDS, "date")}
    segid = reader.segment().segment_id()
    found = _columns.get(segid)
    if found is None:
        found = {}
        for name in (*FACET_FIELDS, "date"):
            column = reader.column_reader(name) if reader.has_column(name) else None
            found[name] = list(column) if column is not None else [""] * reader.doc_count_all()
        with _columns_lock:
            if len(_columns) >= _COLUMNS_KEPT:
                _columns.clear()
            _columns[segid] = found
    return found


def facet_columns(searcher) -> dict[str, list]:
    """Facet values by document number for the whole searcher (cached on the searcher)."""
    cached = getattr(searcher, "_portal_columns", None)
    if cached is not None:
        return cached
    leaves = searcher.reader().leaf_readers()
    if len(leaves) == 1:
        merged = _segment_columns(leaves[0][0])
    else:
        merged = {name: [] for name in (*FACET_FIELDS, "date")}
        for reader, offset in leaves:
            seg = _segment_columns(reader)
            for name in (*FACET_FIELDS, "date"):
                values = merged[name]
                if len(values) < offset:
                    values.extend([""] * (offset - len(values)))
                values.extend(seg[name])
    searcher._portal_columns = merged
    return merged


def _matching_ids(searcher, q: wq.Query) -> list[int]:
    if isinstance(q, wq.Every):
        return list(searcher.docs_for_query(q))
    return fast.matching(searcher, q)


def _scored(searcher, q: wq.Query) -> list[tuple[float, int]]:
    """Every match with its score (in no order): one pass gives the count, the facets and the page.

    Evaluated over whole posting lists (``portal.search.fast``): the same matches, scores and
    order as ``searcher.search(q, limit=None)``, several times faster on common words.
    """
    return fast.scored(searcher, q, ordered=False)


def search(
    parsed: ParsedQuery,
    filters: Filters,
    *,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PER_PAGE,
    store: Store | None = None,
    snippets: bool = True,
    clamp: bool = True,
) -> Outcome:
    """Run a search; never raises for anything a visitor can type.

    A page past the end shows the last page with ``clamp`` (the HTML page), else no items (the API).
    """
    outcome = Outcome(query=parsed, filters=filters, sort=sort if sort in SORTS else "relevance", per_page=per_page)
    outcome.page = max(1, page)
    if parsed.is_empty and not filters.any:
        return outcome
    store = store or Store.for_app()
    try:
        try:
            searcher = ixmod.searcher(store)
        except IndexUnavailable as exc:
            if exc.reason != "missing" or not _build_missing(store):
                raise
            searcher = ixmod.searcher(store)
        return _search(searcher, outcome, snippets=snippets, clamp=clamp)
    except IndexUnavailable as exc:
        outcome.unavailable = exc.reason
        return outcome
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        struct.error,
        zlib.error,
        pickle.UnpicklingError,
    ) as exc:
        # A damaged or vanished file met in the middle of reading: drop the searcher; the next
        # search reopens the index (or reports it unavailable).
        log.warning("search: reading the index failed: %r", exc)
    ixmod.close_searcher()
    ixmod.release_abandoned_files()
    outcome.unavailable = "corrupt"
    return outcome


def _build_missing(store: Store) -> bool:
    """No index yet (a new site, data loaded from the command line): build it now if no other
    process is writing; True when there is an index afterwards."""
    from portal.search.queue import apply_pending

    db.session.rollback()
    result = apply_pending(wait=False, store=store)
    return result.locked and store.exists()


def _search(searcher, outcome: Outcome, *, snippets: bool, clamp: bool) -> Outcome:
    parsed, filters = outcome.query, outcome.filters
    outcome.searched = True
    limit_to = wq.Term("decision", filters.decision) if filters.decision else None

    def restricted(q: wq.Query) -> wq.Query:
        return wq.And([q, limit_to]) if limit_to is not None else q

    highlight_terms: set[str] = set()
    if parsed.is_empty:
        # Browsing (a decision's comments, a facet): everything the filters allow, newest first.
        outcome.sort = "date"
        scored_q: wq.Query = limit_to if limit_to is not None else wq.Every()
        matches = [(0.0, d) for d in _matching_ids(searcher, scored_q)]
    else:
        built = build(searcher, parsed)
        matches = _scored(searcher, restricted(built.query))
        relax = 0
        while not matches and relax < built.parts - 1:
            # Nothing holds every word: require one word fewer (see query.build). Existence is
            # checked unscored; only the query that finds something is scored.
            relax += 1
            built = build(searcher, parsed, relax=relax)
            if _matching_ids(searcher, restricted(built.matching)):
                matches = _scored(searcher, restricted(built.query))
                outcome.dropped = built.dropped
        highlight_terms = built.highlight

    columns = facet_columns(searcher)
    wanted = filters.facet_values()
    ids = [d for _s, d in matches]
    for name in FACET_FIELDS:
        others = [(columns[f], v) for f, v in wanted.items() if f != name]
        col = columns[name]
        if others:
            counts = Counter(col[i] for i in ids if all(c[i] == v for c, v in others))
        else:
            counts = Counter(map(col.__getitem__, ids))
        counts.pop("", None)
        counts.pop(None, None)
        outcome.facets[name] = sorted(counts.items(), key=_facet_order(name))
    if wanted:
        checks = [(columns[f], v) for f, v in wanted.items()]
        matches = [m for m in matches if all(c[m[1]] == v for c, v in checks)]
    outcome.total = len(matches)
    if outcome.page > outcome.pages:
        if not clamp:
            return outcome
        outcome.page_clamped = outcome.total > 0
        outcome.page = outcome.pages
    if not matches:
        return outcome
    # Only the documents up to the end of the page are put in order (the rest are counted).
    first = (outcome.page - 1) * outcome.per_page
    wanted_n = first + outcome.per_page
    if outcome.sort == "date":
        dates = facet_columns(searcher)["date"]
        ordered = _first(matches, wanted_n, [dates[d] or 0 for _s, d in matches])
    else:
        ordered = _first(matches, wanted_n, [s for s, _d in matches])
    page_hits = [(searcher.stored_fields(d), score) for score, d in ordered[first:]]
    outcome.items = _hits(page_hits, highlight_terms, snippets=snippets, scored=outcome.sort == "relevance")
    return outcome


def _first(matches: list[tuple[float, int]], n: int, keys: list) -> list[tuple[float, int]]:
    """The ``n`` matches with the highest ``keys`` (ties: lower document number first), in order.

    The n-th highest key is found with ``heapq`` over the bare keys; only the matches at or
    above it are sorted (a sort of every match cost more than the search on common words).
    """
    if len(matches) > 4 * n:
        cutoff = heapq.nlargest(n, keys)[-1]
        pairs = [(k, m) for k, m in zip(keys, matches, strict=True) if k >= cutoff]
    else:
        pairs = list(zip(keys, matches, strict=True))
    pairs.sort(key=lambda p: (-p[0], p[1][1]))
    return [m for _k, m in pairs[:n]]


def _facet_order(name: str) -> Callable:
    if name == "type":
        return lambda item: TYPES.index(item[0]) if item[0] in TYPES else len(TYPES)
    if name == "year":
        return lambda item: -int(item[0]) if item[0].isdigit() else 0
    return lambda item: (-item[1], item[0])


def _hits(page_hits: list[tuple[dict, float | None]], terms: set[str], *, snippets: bool, scored: bool) -> list[Hit]:
    """Hits with titles and snippets from the database text; a record no longer public is dropped."""
    by_type: dict[str, list[int]] = {}
    for stored, _score in page_hits:
        parts = split_key(stored.get("key", ""))
        if parts:
            by_type.setdefault(parts[0], []).append(parts[1])
    docs: dict[tuple[str, int], Document | None] = {}
    for doc_type, ids in by_type.items():
        prov = provider(doc_type)
        loaded = prov.load(ids) if prov is not None else {}
        for i in ids:
            docs[(doc_type, i)] = loaded.get(i)
    items: list[Hit] = []
    for stored, score in page_hits:
        parts = split_key(stored.get("key", ""))
        if parts is None:
            continue
        doc = docs.get(parts)
        prov = provider(parts[0])
        if doc is None or prov is None:
            continue  # withdrawn or unpublished since it was indexed; the queue will remove it
        ts = stored.get("date") or 0
        items.append(
            Hit(
                type=parts[0],
                id=parts[1],
                title=highlight(doc.title, terms),
                url=prov.url(stored),
                snippet=snippet(doc.body, terms) if snippets else Markup(""),
                date=datetime.fromtimestamp(ts, UTC) if ts else None,
                score=round(float(score), 4) if scored and score is not None else None,
                department=stored.get("department"),
                stage=stored.get("stage"),
                decision=stored.get("decision"),
            )
        )
    return items


# Rebuilding


def iter_documents(types: Iterable[str] | None = None) -> Iterator[tuple[str, Document]]:
    """Every document the database holds now, provider by provider, in batches."""
    wanted = set(types) if types else None
    for prov in providers():
        if wanted is not None and prov.type not in wanted:
            continue
        ids = list(prov.all_ids())
        for start in range(0, len(ids), REBUILD_BATCH):
            chunk = ids[start : start + REBUILD_BATCH]
            docs = prov.load(chunk)
            for ident in chunk:
                doc = docs.get(ident)
                if doc is not None:
                    yield prov.type, doc
            db.session.expire_all()


@dataclass
class RebuildResult:
    documents: int
    generation: str
    seconds: float
    applied: int = 0


def _writer_procs(count_hint: int) -> int:
    configured = current_app.config.get("SEARCH_WRITER_PROCS")
    if configured:
        return max(1, int(configured))
    if count_hint < 2000:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def rebuild(*, store: Store | None = None, locked: bool = False, procs: int | None = None) -> RebuildResult:
    """Build a complete index from the database in a new folder, swap it in, then apply the queue.

    Searches keep reading the old generation until the swap. The writer lock is held
    throughout, so queued changes wait (they are applied right after the swap, and rows of
    changes already in the new index are applied again, which is harmless).
    """
    import time

    store = store or Store.for_app()
    started = time.monotonic()
    if not locked:
        with store.writer_lock(blocking=True):
            return rebuild(store=store, locked=True, procs=procs)
    from portal.search import queue

    hint = sum(1 for prov in providers() for _ in prov.all_ids())
    path, ix = store.new_generation()
    try:
        count = build_into(ix, iter_documents(), procs=procs or _writer_procs(hint))
        held = ix.doc_count()
        ix.close()
        if held != count:
            # A crashed writer child makes Whoosh commit an incomplete index without an error.
            raise RuntimeError(f"the new index holds {held} of {count} documents; the old one stays in use")
    except BaseException:
        db.session.rollback()
        store.discard(path)
        raise
    db.session.rollback()
    store.publish(path)
    applied = queue.drain_locked(store)
    return RebuildResult(count, path.name, time.monotonic() - started, applied.rows)


# Reporting


@dataclass
class Status:
    generation: str | None
    documents: dict[str, int]
    backlog: int
    unavailable: str | None = None
    oldest_queued: datetime | None = None
    size_bytes: int = 0


def status(store: Store | None = None) -> Status:
    """Documents per type in the live index and the queue's backlog."""
    from portal.search.models import SearchQueueItem
    from portal.search.queue import backlog

    store = store or Store.for_app()
    oldest = db.session.scalar(select(SearchQueueItem.enqueued_at).order_by(SearchQueueItem.id).limit(1))
    result = Status(generation=store.current_name(), documents={}, backlog=backlog(), oldest_queued=oldest)
    path = store.current_path()
    if path is not None:
        result.size_bytes = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    try:
        searcher = ixmod.searcher(store)
        for doc_type in TYPES:
            result.documents[doc_type] = sum(1 for _ in searcher.docs_for_query(wq.Term("type", doc_type)))
    except IndexUnavailable as exc:
        result.unavailable = exc.reason
    return result
