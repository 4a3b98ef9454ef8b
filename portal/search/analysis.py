"""Text analysis shared by indexing, querying and snippets.

Every text goes through the same steps, at index time and at query time:

1. Unicode NFKC, so full-width letters, digits and punctuation equal their half-width forms;
2. OpenCC ``t2s``, so traditional characters equal simplified ones (繁體 finds 简体 and back);
3. split into runs: CJK runs are segmented with jieba's dictionary and its maximum-probability
   route (no HMM guessing, so a word is cut the same way in a query as in a document; the route
   is computed here, about three times faster than ``jieba.cut`` and with the same result);
   other runs of letters and digits are one token each, lower-cased, and English words are
   Porter-stemmed;
4. at index time only, the two- and three-character dictionary words inside a longer word are
   added at its position (供水管 also gives 供水), like jieba's search mode.

Single characters are not added to the index (that doubled the postings and halved the build
rate); a one-character query (水) is expanded at query time to the indexed words that contain
it (供水, 水价, ...); see ``portal.search.query``.

Nothing is ever transliterated or folded to ASCII: a Chinese term stays Chinese.

jieba's dictionary and the OpenCC converter are loaded once per process, on first use, under
a lock. The analyzer classes below are pickled into the index's schema by Whoosh: keep their
import paths stable (a rename needs ``flask --app app search reindex``).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import TEXT
from whoosh.lang.porter import stem as porter_stem

_lock = threading.Lock()
_segmenter = None
_converter = None
_freq: dict[str, int] = {}
_log_total = 0.0

# CJK ideographs: the unified block, extension A, compatibility ideographs, extensions B and on.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
#: A run of CJK ideographs, or a run of other letters and digits (no underscore, no CJK).
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


def _load_segmenter():
    global _segmenter, _freq, _log_total
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _freq = tokenizer.FREQ
                _log_total = math.log(tokenizer.total)
                _segmenter = tokenizer
    return _segmenter


def segment(run: str) -> list[str]:
    """Cut a run of CJK characters into words: jieba's DAG and best route, without the HMM.

    ``_freq`` is jieba's prefix dictionary (every prefix of a word is a key, with frequency 0
    unless it is a word itself). For each start, from the end backwards, the best split is
    the word ending there that maximises the sum of log frequencies of the rest.
    """
    n = len(run)
    if n < 2:
        return [run] if run else []
    if _segmenter is None:
        _load_segmenter()
    freq, log_total, log = _freq, _log_total, math.log
    best = [0.0] * (n + 1)
    ends = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        best_score = log(freq.get(run[k]) or 1) - log_total + best[k + 1]
        best_end = k + 1
        i = k + 2
        while i <= n:
            f = freq.get(run[k:i])
            if f is None:
                break  # no dictionary word starts with run[k:i]
            if f:
                score = log(f) - log_total + best[i]
                if score >= best_score:
                    best_score, best_end = score, i
            i += 1
        best[k] = best_score
        ends[k] = best_end
    words = []
    k = 0
    while k < n:
        words.append(run[k : ends[k]])
        k = ends[k]
    return words


def _load_converter():
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s.json")
    return _converter


def warm_up() -> None:
    """Load jieba's dictionary and the OpenCC tables now (they load lazily otherwise)."""
    _load_segmenter()
    _load_converter()


# Full-width ASCII forms and the ideographic space are the compatibility characters Chinese text
# is full of (，：（）１２). Replacing the few distinct ones present, then checking, is about six
# times faster than unicodedata.normalize on CJK text, which stays the fallback.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


def nfkc(text: str) -> str:
    """Unicode NFKC, with a fast path for full-width forms."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for ch in set(_FULL_WIDTH.findall(text)):
        text = text.replace(ch, " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0))
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def fold(text: str) -> str:
    """NFKC, then traditional to simplified. Length may change; see ``fold_with_offsets``."""
    if not text:
        return ""
    return _load_converter().convert(nfkc(text))


def fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text`` and map each folded character back to its offset in ``text``.

    Returns ``(folded, offsets)``; ``offsets`` is None when folding kept every character in
    place (the usual case: full-width forms and traditional characters fold one to one), else
    ``offsets[i]`` is where folded character ``i`` came from and ``offsets[len(folded)] ==
    len(text)``.
    """
    if not text:
        return "", None
    convert = _load_converter().convert
    normal = nfkc(text)
    if len(normal) == len(text):
        folded = convert(normal)
        if len(folded) == len(text):
            return folded, None
    # Rare: a character that NFKC or OpenCC expands or merges (ﬁ, ㈱, …): fold one by one.
    offsets: list[int] = []
    out: list[str] = []
    for i, ch in enumerate(text):
        piece = convert(unicodedata.normalize("NFKC", ch)) if not ch.isascii() else ch
        out.append(piece)
        offsets.extend([i] * len(piece))
    offsets.append(len(text))
    return "".join(out), offsets


#: Function words not indexed (nor searched): each is in most documents, so it neither narrows a
#: search nor ranks one, and together they were a sixth of all postings. Positions do not
#: advance over them, so "价格的调整" still matches as a phrase.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "着",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "而",
        "也",
        "就",
        "都",
        "又",
        "还",
        "之",
        "其",
        "并",
        "则",
        "但",
        "即",
        "把",
        "被",
        "于",
        "等",
        "这",
        "那",
        "个",
        "地",
        "得",
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
    ]
)


@lru_cache(maxsize=100_000)
def _latin_term(word: str) -> str:
    lowered = word.lower()
    if lowered.isascii() and lowered.isalpha():
        return porter_stem(lowered)
    return lowered


def _words(folded: str) -> Iterator[tuple[str, int, int, bool]]:
    """Yield ``(term, start, end, is_cjk)`` for every word of already folded text."""
    for match in _RUNS.finditer(folded):
        start = match.start()
        if match.group(1) is not None:
            offset = start
            for word in segment(match.group(1)):
                end = offset + len(word)
                if word not in STOPWORDS:
                    yield word, offset, end, True
                offset = end
        else:
            word = match.group(2)
            if word.lower() not in STOPWORDS:
                yield _latin_term(word), start, match.end(), False


def query_terms(text: str) -> list[str]:
    """The terms of a query fragment, in order (words only, no added characters)."""
    return [term for term, _s, _e, _c in _words(fold(text))]


def subwords(word: str) -> list[str]:
    """Dictionary words of two and three characters inside a longer CJK word.

    Indexed at the word's position (as jieba's search mode does), so 供水 finds 供水管 and
    人民 finds 中华人民共和国, while queries stay whole words.
    """
    n = len(word)
    if n < 3:
        return []
    if _segmenter is None:
        _load_segmenter()
    found = []
    for size in (2, 3):
        if size >= n:
            break
        for i in range(n - size + 1):
            part = word[i : i + size]
            if _freq.get(part):
                found.append(part)
    return found


def index_terms(text: str, start: int = 0) -> dict[str, list[int]]:
    """Term -> positions, for indexing: words, and the dictionary sub-words of long words."""
    positions: dict[str, list[int]] = {}
    pos = start
    for term, _s, _e, is_cjk in _words(fold(text)):
        found = positions.get(term)
        if found is None:
            positions[term] = [pos]
        else:
            found.append(pos)
        if is_cjk and len(term) > 2:
            for part in subwords(term):
                found = positions.get(part)
                if found is None:
                    positions[part] = [pos]
                elif found[-1] != pos:
                    found.append(pos)
        pos += 1
    return positions


def tokens_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """``(term, start, end)`` with offsets into the original ``text`` (for highlighting)."""
    folded, offsets = fold_with_offsets(text)
    if offsets is None:
        return [(term, s, e) for term, s, e, _c in _words(folded)]
    return [(term, offsets[s], offsets[e]) for term, s, e, _c in _words(folded)]


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph."""
    return bool(_CJK_CHAR.search(text))


class PortalTokenizer(Tokenizer):
    """The steps above as a Whoosh tokenizer (Whoosh calls it to parse and highlight)."""

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, (term, start, end) in enumerate(tokens_with_offsets(value), start_pos):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


class PortalText(TEXT):
    """A TEXT field (positions kept for phrases) whose indexing bypasses Whoosh's token objects.

    ``index()`` turns text straight into ``(term bytes, frequency, weight, positions)`` using
    ``index_terms``: the same terms the analyzer gives, several times faster to produce.
    """

    def __init__(self, **kwargs):
        super().__init__(analyzer=PortalTokenizer(), phrase=True, **kwargs)

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            yield from super().index(value, **kwargs)
            return
        encode = self.format.encode
        boost = self.format.field_boost
        for term, poslist in index_terms(value).items():
            n = len(poslist)
            if n == 1 and poslist[0] < _SINGLE_CACHED:
                value_bytes = _single_position(poslist[0], encode)
            else:
                value_bytes = encode(poslist)
            yield term.encode("utf-8"), n, n * boost, value_bytes


_SINGLE_CACHED = 4096
_singles: dict[int, bytes] = {}


def _single_position(pos: int, encode) -> bytes:
    """Most terms occur once in a document: their encoded position list is cached."""
    found = _singles.get(pos)
    if found is None:
        found = _singles[pos] = encode([pos])
    return found
