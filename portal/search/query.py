"""From what a person typed to a Whoosh query.

The syntax is deliberately small and never fails: words (all must match), ``"a phrase"``
(also with Chinese quotes “…” and 「…」), ``-word`` and ``-"a phrase"`` to exclude. An
unbalanced quote runs to the end; a lone ``-``, ``*`` or other punctuation is ignored; control
characters are dropped; only the first ``MAX_QUERY`` characters are read.

How terms combine (this is what made queries fast enough; see docs/PERFORMANCE.md):

* the words of a query (a Chinese run is segmented into several) are ANDed on the ``body``
  field, which holds the title too, so one posting list per word is intersected;
* the title adds rank only: ``AndMaybe(body terms, title terms ^ TITLE_BOOST)``, title terms
  limited to those that occur in some title;
* when no document holds every word, the query is relaxed one word at a time, dropping first
  words that match nothing, then the most common ones, and the page names what was dropped;
* a CJK word that no document holds is covered by indexed words of three or two characters
  (食品安全 -> 食品 AND 安全);
* a single CJK character (or one left over by that cover) becomes the OR of the indexed words
  containing it, most frequent first, at most ``EXPANSION_LIMIT``, read from a per-segment map
  built once per process (single-character fallback).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh.query.compound import PreloadedOr

from portal.search.analysis import has_cjk, query_terms
from portal.search.text import strip_controls

#: Characters of the query that are read; the rest is ignored (and the page says so).
MAX_QUERY = 200
#: Terms of one query that are used (each costs a posting list).
MAX_TERMS = 16
#: Weight of a title match relative to a body match.
TITLE_BOOST = 3.0
#: Indexed words a single character expands to.
EXPANSION_LIMIT = 24

_QUOTES = str.maketrans({c: '"' for c in "“”„‟«»「」『』＂〝〞"})
_MINUS = "-－−"


@dataclass
class ParsedQuery:
    """The parts of a query, as analysed terms."""

    raw: str = ""
    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[list[str]] = field(default_factory=list)
    truncated: bool = False
    dropped_terms: bool = False

    @property
    def is_empty(self) -> bool:
        """Nothing to search for (excluding alone finds nothing: it needs something to exclude from)."""
        return not self.words and not self.phrases

    def positive_terms(self) -> list[str]:
        seen: dict[str, None] = dict.fromkeys(self.words)
        for phrase in self.phrases:
            seen.update(dict.fromkeys(phrase))
        return list(seen)


def parse(raw: str | None) -> ParsedQuery:
    """Split ``raw`` into words, phrases and exclusions; never raises."""
    text = strip_controls(raw or "").translate(_QUOTES)
    text = " ".join(text.split())
    parsed = ParsedQuery(raw=text)
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY]
        parsed.truncated = True
    i, n = 0, len(text)
    budget = MAX_TERMS
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        negative = False
        if text[i] in _MINUS and i + 1 < n and text[i + 1] != " ":
            negative = True
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end == -1:
                end = n  # unbalanced: the phrase runs to the end
            chunk, quoted = text[i + 1 : end], True
            i = end + 1
        else:
            end = i
            while end < n and text[end] not in ' "':
                end += 1
            chunk, quoted = text[i:end], False
            i = end
        terms = query_terms(chunk)
        if not terms:
            continue
        if len(terms) > budget:
            terms = terms[:budget]
            parsed.dropped_terms = True
        if not terms:
            parsed.dropped_terms = True
            continue
        budget -= len(terms)
        if negative:
            parsed.excluded.append(terms)
        elif quoted and len(terms) > 1:
            parsed.phrases.append(terms)
        else:
            for term in terms:
                if term not in parsed.words:
                    parsed.words.append(term)
    return parsed


# Single-character fallback: character -> indexed words holding it, per segment.

_char_maps: dict[str, dict[str, list[tuple[int, str]]]] = {}
_char_maps_lock = threading.Lock()
_CHAR_MAPS_KEPT = 64


def _segment_char_map(reader) -> dict[str, list[tuple[int, str]]]:
    segment = reader.segment()
    if segment is None:  # an empty index
        return {}
    key = segment.segment_id()
    found = _char_maps.get(key)
    if found is not None:
        return found
    mapping: dict[str, list[tuple[int, str]]] = {}
    for raw, info in reader.iter_field("body"):
        word = raw.decode("utf-8")
        if len(word) < 2 or not has_cjk(word):
            continue
        df = info.doc_frequency()
        for ch in set(word):
            mapping.setdefault(ch, []).append((df, word))
    with _char_maps_lock:
        if len(_char_maps) >= _CHAR_MAPS_KEPT:
            _char_maps.clear()
        _char_maps[key] = mapping
    return mapping


def expand_character(searcher, ch: str, limit: int = EXPANSION_LIMIT) -> list[str]:
    """Indexed words containing ``ch`` (the character itself first when indexed), most frequent first."""
    totals: dict[str, int] = {}
    for reader, _offset in searcher.reader().leaf_readers():
        for df, word in _segment_char_map(reader).get(ch, ()):
            totals[word] = totals.get(word, 0) + df
    words = [w for w, _df in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]]
    if searcher.doc_frequency("body", ch):
        words.insert(0, ch)
    return words


@dataclass
class BuiltQuery:
    """The Whoosh query, the part that decides matching, and the words to highlight."""

    query: wq.Query
    matching: wq.Query
    highlight: set[str]
    #: Words (or phrases) of the query not required, when relaxed.
    dropped: list[str] = field(default_factory=list)
    #: How many parts (words, phrases) the query has; relaxing keeps at least one.
    parts: int = 0


def _character(searcher, ch: str, highlight: set[str]) -> wq.Query:
    """One CJK character: the OR of the indexed words holding it (preloaded: many short lists)."""
    expanded = expand_character(searcher, ch)
    if not expanded:
        return wq.NullQuery
    highlight.update(expanded)
    terms = [wq.Term("body", w) for w in expanded]
    return terms[0] if len(terms) == 1 else PreloadedOr(terms)


def _term(searcher, word: str, highlight: set[str]) -> wq.Query:
    """One word on the body field, with the fallbacks for words no document holds."""
    highlight.add(word)
    if not has_cjk(word) or (len(word) > 1 and searcher.doc_frequency("body", word)):
        return wq.Term("body", word)
    if len(word) == 1:
        return _character(searcher, word, highlight)
    # A word no document holds (食品安全 when texts say 食品 and 安全 apart): cover it with
    # indexed words of three or two characters, left to right; a character left over expands.
    parts: list[wq.Query] = []
    i, n = 0, len(word)
    while i < n:
        for size in (3, 2):
            piece = word[i : i + size]
            if len(piece) == size and searcher.doc_frequency("body", piece):
                parts.append(wq.Term("body", piece))
                highlight.add(piece)
                i += size
                break
        else:
            parts.append(_character(searcher, word[i], highlight))
            i += 1
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _phrase(searcher, terms: list[str], highlight: set[str]) -> wq.Query:
    if len(terms) == 1:
        return _term(searcher, terms[0], highlight)
    highlight.update(terms)
    return wq.Phrase("body", terms)


def build(searcher, parsed: ParsedQuery, *, relax: int = 0) -> BuiltQuery | None:
    """The Whoosh query for ``parsed``; None when it has nothing to search for.

    ``relax`` drops that many words or phrases from the required ones: first those that
    match nothing, then the most common (they narrow a search least). The service relaxes
    step by step when nothing holds every word.
    """
    if parsed.is_empty:
        return None
    reader = searcher.reader()
    candidates: list[tuple[str, wq.Query, set[str]]] = []
    for word in parsed.words:
        marks: set[str] = set()
        candidates.append((word, _term(searcher, word, marks), marks))
    for terms in parsed.phrases:
        marks = set()
        candidates.append(("".join(terms), _phrase(searcher, terms, marks), marks))
    dropped: list[str] = []
    if relax:
        sizes = {id(q): q.estimate_size(reader) for _label, q, _m in candidates}
        order = sorted(candidates, key=lambda c: (sizes[id(c[1])] > 0, -sizes[id(c[1])]))
        gone = {id(c[1]) for c in order[: min(relax, len(candidates) - 1)]}
        dropped = [label for label, q, _m in candidates if id(q) in gone]
        candidates = [c for c in candidates if id(c[1]) not in gone]
    highlight: set[str] = set()
    for _label, _q, marks in candidates:
        highlight |= marks
    parts = [q for _label, q, _m in candidates]
    matching = parts[0] if len(parts) == 1 else wq.And(parts)
    kept_terms = [t for t in parsed.positive_terms() if t in highlight]
    title_terms = [t for t in kept_terms if searcher.doc_frequency("title", t)]
    q: wq.Query = matching
    if title_terms:
        boost = wq.Or([wq.Term("title", t) for t in title_terms], boost=TITLE_BOOST)
        q = wq.AndMaybe(matching, boost)
    if parsed.excluded:
        unwanted = [_phrase(searcher, terms, set()) for terms in parsed.excluded]
        not_these = unwanted[0] if len(unwanted) == 1 else wq.Or(unwanted)
        q = wq.AndNot(q, not_these)
        matching = wq.AndNot(matching, not_these)
    return BuiltQuery(
        query=q,
        matching=matching,
        highlight=highlight,
        dropped=dropped,
        parts=len(parsed.words) + len(parsed.phrases),
    )
