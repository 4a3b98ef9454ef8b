"""Plain text for the index, and highlighted snippets for results.

Snippets are built from the text of the records shown (the index stores no bodies). Every
character of the source is HTML-escaped; the only markup added is ``<mark>`` around the
words that matched.
"""

from __future__ import annotations

import bisect
import html
import re

from markupsafe import Markup, escape

from portal.search.analysis import fold_with_offsets, has_cjk, segment

_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>|<!--.*?-->", re.S)
_MD_IMAGE_LINK = re.compile(r"!?\[([^\]\n]{0,500})\]\([^)\n]{0,1000}\)")
_MD_LINE = re.compile(r"^[ \t]{0,3}(?:#{1,6}|>+|[-*+])[ \t]+", re.M)
_MD_EMPHASIS = re.compile(r"(\*\*|__|`+|~~)")
# C0/C1 controls except tab and newline, and the Unicode format characters that hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"[ \t\u3000]+")


def strip_controls(text: str) -> str:
    """Remove control and invisible format characters (keeps tab and newline)."""
    return _CONTROL.sub("", text)


def clean_text(text: str | None) -> str:
    """Markdown or messy imported text -> plain text: tags, link syntax and markers removed."""
    if not text:
        return ""
    text = strip_controls(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "](" in text:
        text = _MD_IMAGE_LINK.sub(r"\1", text)
    text = _MD_LINE.sub("", text)
    text = _MD_EMPHASIS.sub("", text)
    return _SPACE.sub(" ", text).strip()


def _within_one_word(folded: str, start: int, end: int, cache: dict[str, list[int]]) -> bool:
    """Whether folded[start:end] lies inside one word of its CJK run (not across two words)."""
    run_start = start
    while run_start > 0 and start - run_start < 40 and has_cjk(folded[run_start - 1]):
        run_start -= 1
    run_end = end
    while run_end < len(folded) and run_end - end < 40 and has_cjk(folded[run_end]):
        run_end += 1
    run = folded[run_start:run_end]
    bounds = cache.get(run)
    if bounds is None:
        bounds, pos = [0], 0
        for word in segment(run):
            pos += len(word)
            bounds.append(pos)
        cache[run] = bounds
    s, e = start - run_start, end - run_start
    # The word holding the first character must also hold the last.
    i = bisect.bisect_right(bounds, s) - 1
    return i + 1 < len(bounds) and bounds[i + 1] >= e


def _matches(text: str, terms: set[str], *, per_term: int = 30, check_words: bool = True) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` where ``terms`` occur in ``text``, compared folded (simplified,
    half-width, lower-case), in order, without overlaps.

    A CJK term counts where it is a word or lies inside one (供水 in 供水管, as the index
    matches it), not where it straddles two (水价 in 供水价格). A Latin term (a stem) is
    marked from a word's start to its end, so ``price`` marks "Prices".
    """
    if not terms or not text:
        return []
    folded, offsets = fold_with_offsets(text)
    lowered = folded.lower()
    if len(lowered) != len(folded):
        lowered = folded
    cache: dict[str, list[int]] = {}
    found: list[tuple[int, int, str]] = []
    for term in terms:
        if not term:
            continue
        latin = not has_cjk(term)
        start, count = lowered.find(term), 0
        while start != -1 and count < per_term:
            end = start + len(term)
            if latin:
                if start > 0 and lowered[start - 1].isalnum() and not has_cjk(lowered[start - 1]):
                    start = lowered.find(term, end)
                    continue
                while end < len(lowered) and lowered[end].isalnum() and not has_cjk(lowered[end]):
                    end += 1
            elif check_words and len(term) > 1 and not _within_one_word(lowered, start, end, cache):
                start = lowered.find(term, start + 1)
                continue
            found.append((start, end, term))
            count += 1
            start = lowered.find(term, end)
    if offsets is not None:
        found = [(offsets[s], offsets[e], t) for s, e, t in found]
    found.sort(key=lambda m: (m[0], -m[1]))
    merged: list[tuple[int, int, str]] = []
    for match in found:
        if merged and match[0] < merged[-1][1]:
            continue
        merged.append(match)
    return merged


def _marked(text: str, spans: list[tuple[int, int]]) -> Markup:
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        out.append(str(escape(text[last:start])))
        out.append("<mark>" + str(escape(text[start:end])) + "</mark>")
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 (every piece of text was escaped above)


def highlight(text: str, terms: set[str]) -> Markup:
    """All of ``text`` (short: a title), escaped, with the matching words marked."""
    text = " ".join(strip_controls(text or "").split())
    if not terms:
        return escape(text)
    return _marked(text, [(s, e) for s, e, _t in _matches(text, terms)])


def snippet(text: str, terms: set[str], *, width: int = 160) -> Markup:
    """About ``width`` characters of ``text`` around the most distinct matches, marked."""
    text = " ".join(clean_text(text).split())
    if not text:
        return Markup("")
    matches = _window_matches(text, terms, width) if terms else []
    start = _best_start(matches, width) if matches else 0
    end = min(len(text), start + width)
    spans = [(s - start, min(e, end) - start) for s, e, _t in matches if s >= start and s < end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return escape(prefix) + _marked(text[start:end], spans) + escape(suffix)


#: Characters around a snippet's window that word boundaries are checked with.
_MARGIN = 48


def _window_matches(text: str, terms: set[str], width: int) -> list[tuple[int, int, str]]:
    """The matches ``snippet`` needs, cheaply on long texts.

    Checking that a CJK match is not split across two words segments the text around it;
    on a long body with common terms that was most of a results page's time. So the window
    is chosen from the raw substring matches, and only the matches around it are checked;
    when none of those survive, every match is checked, as before.
    """
    if len(text) <= width + 2 * _MARGIN:
        return _matches(text, terms)
    raw = _matches(text, terms, check_words=False)
    if not raw:
        return raw
    start = _best_start(raw, width)
    lo = max(0, start - _MARGIN)
    hi = min(len(text), start + width + _MARGIN)
    checked = [(s + lo, e + lo, t) for s, e, t in _matches(text[lo:hi], terms)]
    inside = [m for m in checked if start <= m[0] < start + width]
    return inside if inside else _matches(text, terms)


def _best_start(matches: list[tuple[int, int, str]], width: int) -> int:
    """Start of a window of ``width`` holding the most distinct terms (then the most matches)."""
    best, best_key = matches[0][0], (0, 0)
    j = 0
    for i in range(len(matches)):
        while matches[j][0] < matches[i][0] - width * 3 // 4:
            j += 1
        inside = matches[j : i + 1]
        key = (len({t for _s, _e, t in inside}), len(inside))
        if key > best_key:
            best_key, best = key, inside[0][0]
    return max(0, best - width // 8)
