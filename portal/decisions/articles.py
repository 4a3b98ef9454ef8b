"""Split a draft's Markdown into articles and numbered paragraphs with stable anchors.

Chinese normative documents number their parts: articles (第二十三条), chapters (第二章), top-level
sections in opinions and plans (一、), items (（一）) and sub-items (1. / 1、). Anchors come from
those numbers, not from positions, so ``art-23`` still names article 23 in a later version that
inserted a paragraph elsewhere; comments and links point at anchors.

Anchor scheme:

- ``art-N``            article 第N条
- ``art-N-pM``         item （M）, M、 or M. directly inside article N
- ``art-N-pM-K``       sub-item K. inside item M of article N
- ``sec-N``            top-level section N、 (documents without articles)
- ``sec-N-pM``         item inside section N (and ``sec-N-pM-K`` below it)
- ``p-M`` / ``p-M-K``  numbered paragraphs outside any article or section
- ``ch-N``, ``ch-N-sM`` chapters and their sections (第N章, 第M节): shown, not stored as articles
- ``preamble``         text before the first numbered unit: shown, not stored

A repeated anchor within one version (two items numbered 1 in the same article) gets ``-b``,
``-c``… in order. Lines inside fenced code blocks are never treated as numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from portal.core.markdown import render_markdown

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

_NUM = "零〇一二两三四五六七八九十百千0-9０-９"
# A Markdown heading marker and/or bold marker may precede the number.
_LEAD = r"^[ \t]{0,3}(?:#{1,6}[ \t]+)?(?:\*\*|__)?[ \t]*"
# "第三条规定的…" or "第三条至第五条" at the start of a line is a reference, not a new article.
_NOT_REFERENCE = r"(?!规定|的|所|至|、|和|及|或|第|中|款|项|之|以)"

ARTICLE_RE = re.compile(_LEAD + rf"(第([{_NUM}]{{1,8}})条){_NOT_REFERENCE}")
CHAPTER_RE = re.compile(_LEAD + rf"(第([{_NUM}]{{1,6}})([章节]))(?=[\s\u3000]|$|\*\*|__)")
SECTION_RE = re.compile(_LEAD + r"(([零〇一二两三四五六七八九十百]{1,6})、)")
ITEM_RE = re.compile(_LEAD + r"([（(]([零〇一二两三四五六七八九十百]{1,6}|[0-9]{1,3})[）)])")
NUMBER_RE = re.compile(_LEAD + r"(([0-9]{1,3})(?:[、．]|\.(?![0-9])))")
FENCE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")

#: Kinds stored as DraftArticle rows (commentable units).
STORED_KINDS = frozenset({"article", "section", "item"})


def chinese_number(text: str) -> int | None:
    """``二十三`` → 23, ``一百零五`` → 105, ``十`` → 10, ``12`` / ``１２`` → 12; None when not a number."""
    text = text.translate(_FULLWIDTH)
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, current, last_was_digit = 0, 0, False
    for ch in text:
        if ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if last_was_digit and value and current:
                return None  # "三五" is not a number
            current = value
            last_was_digit = True
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
            last_was_digit = False
        else:
            return None
    return total + current


@dataclass
class Unit:
    """A numbered part of the text: its Markdown lines and child units, in document order."""

    anchor: str
    label: str
    kind: str  # preamble, chapter, article, section, item
    level: int  # 0 top-level, 1 item, 2 sub-item
    marker: str = ""  # "paren" for （一）/一、 items, "number" for 1. / 1、 items
    parts: list[str | Unit] = field(default_factory=list)

    @property
    def children(self) -> list[Unit]:
        return [p for p in self.parts if isinstance(p, Unit)]

    @property
    def text(self) -> str:
        """The whole unit's Markdown, children included."""
        return _strip_blank("\n".join(self._all_lines()))

    def _all_lines(self) -> list[str]:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Unit):
                out.extend(part._all_lines())
            else:
                out.append(part)
        return out

    def chunks(self):
        """Runs of own lines (as Markdown text) and child units, in order."""
        lines: list[str] = []
        for part in self.parts:
            if isinstance(part, Unit):
                if lines:
                    yield "\n".join(lines)
                    lines = []
                yield part
            else:
                lines.append(part)
        if lines:
            yield "\n".join(lines)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def _strip_blank(text: str) -> str:
    return text.strip("\n").rstrip()


class _Parser:
    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.used: set[str] = set()
        self.top: Unit | None = None
        self.item: Unit | None = None  # the open level-1 unit (within top, or at the root)
        self.current: Unit | None = None
        self.chapter: int | None = None
        self.after_blank = False

    def unique(self, anchor: str) -> str:
        if anchor not in self.used:
            self.used.add(anchor)
            return anchor
        for suffix in "bcdefghijklmnopqrstuvwxyz":
            candidate = f"{anchor}-{suffix}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
        n = 2
        while f"{anchor}-{n}" in self.used:
            n += 1
        self.used.add(f"{anchor}-{n}")
        return f"{anchor}-{n}"

    def start_top(self, anchor: str, label: str, kind: str) -> Unit:
        unit = Unit(self.unique(anchor), label, kind, 0)
        self.units.append(unit)
        self.top, self.item, self.current = unit, None, unit
        return unit

    def start_child(self, anchor: str, label: str, level: int, marker: str) -> Unit:
        unit = Unit(self.unique(anchor), label, "item", level, marker)
        parent = self.item if level == 2 and self.item is not None else self.top
        if parent is None:
            self.units.append(unit)
        else:
            parent.parts.append(unit)
        if level == 1:
            self.item = unit
        self.current = unit
        return unit

    def add_line(self, line: str) -> None:
        if self.current is None:
            if not line.strip():
                return
            self.start_top("preamble", "", "preamble")
        self.current.parts.append(line)

    def feed(self, line: str) -> None:
        blank = not line.strip()
        try:
            self._feed(line)
        finally:
            self.after_blank = blank

    def _feed(self, line: str) -> None:
        top_kind = self.top.kind if self.top else None
        if m := ARTICLE_RE.match(line):
            n = chinese_number(m.group(2))
            if n:
                self.start_top(f"art-{n}", m.group(1), "article")
                self.add_line(line)
                return
        if m := CHAPTER_RE.match(line):
            n = chinese_number(m.group(2))
            if n:
                if m.group(3) == "章":
                    self.chapter = n
                    self.start_top(f"ch-{n}", m.group(1), "chapter")
                else:
                    prefix = f"ch-{self.chapter}-s" if self.chapter else "part-"
                    self.start_top(f"{prefix}{n}", m.group(1), "chapter")
                self.add_line(line)
                return
        in_article = top_kind == "article"
        if not in_article and (m := SECTION_RE.match(line)):
            n = chinese_number(m.group(2))
            if n:
                self.start_top(f"sec-{n}", m.group(1), "section")
                self.add_line(line)
                return
        base = self.top.anchor if top_kind in ("article", "section") else None
        m = ITEM_RE.match(line) or (SECTION_RE.match(line) if in_article else None)
        if m:
            n = chinese_number(m.group(2))
            if n:
                self.start_child(f"{base}-p{n}" if base else f"p-{n}", m.group(1), 1, "paren")
                self.add_line(line)
                return
        if m := NUMBER_RE.match(line):
            n = int(m.group(2))
            if n:
                if self.item is not None and self.item.marker == "paren":
                    self.start_child(f"{self.item.anchor}-{n}", m.group(1), 2, "number")
                else:
                    self.start_child(f"{base}-p{n}" if base else f"p-{n}", m.group(1), 1, "number")
                self.add_line(line)
                return
        if self.after_blank and line.strip() and self.top is not None and self.current is not self.top:
            # An unnumbered paragraph after a blank line is a new paragraph (款) of the
            # article or section, not a continuation of its last item.
            self.item, self.current = None, self.top
        self.add_line(line)


def parse(body: str | None) -> list[Unit]:
    """The top-level units of ``body`` in order, each with its children."""
    parser = _Parser()
    in_fence = False
    for line in (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if FENCE_RE.match(line):
            in_fence = not in_fence
            parser.add_line(line)
            continue
        if in_fence:
            parser.add_line(line)
        else:
            parser.feed(line)
    return parser.units


@dataclass(frozen=True)
class ArticleRow:
    anchor: str
    label: str
    position: int
    text: str


def article_rows(body: str | None) -> list[ArticleRow]:
    """The commentable units (articles, sections, items) in document order, for DraftArticle rows."""
    rows: list[ArticleRow] = []
    for top in parse(body):
        for unit in top.walk():
            if unit.kind in STORED_KINDS:
                rows.append(ArticleRow(unit.anchor[:40], unit.label[:40], len(rows) + 1, unit.text))
    return rows


def render_units(units: list[Unit], *, demote: int = 0) -> Markup:
    """HTML for the whole text: each unit wrapped in an element whose id is its anchor.

    ``demote`` shifts the text's own headings down so they nest under the page's headings.
    """
    return Markup("").join(_render(unit, demote) for unit in units)


def _render(unit: Unit, demote: int) -> Markup:
    tag = "section" if unit.level == 0 else "div"
    css = {"preamble": "doc-preamble", "chapter": "doc-chapter", "article": "doc-article", "section": "doc-section"}
    classes = css.get(unit.kind, "doc-item")
    inner = Markup("").join(
        _render(chunk, demote) if isinstance(chunk, Unit) else render_markdown(demote_headings(chunk, demote))
        for chunk in unit.chunks()
    )
    return Markup('<{tag} class="{cls}" id="{anchor}">{inner}</{tag}>').format(
        tag=tag, cls=classes, anchor=escape(unit.anchor), inner=inner
    )


_HEADING_RE = re.compile(r"^([ \t]{0,3})(#{1,6})(?=[ \t]|$)")


def demote_headings(text: str, by: int) -> str:
    """Shift Markdown headings down ``by`` levels (at most h6), outside fenced code."""
    if by <= 0 or "#" not in text:
        return text
    out, in_fence = [], False
    for line in text.split("\n"):
        if FENCE_RE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            line = _HEADING_RE.sub(lambda m: m.group(1) + "#" * min(6, len(m.group(2)) + by), line)
        out.append(line)
    return "\n".join(out)


def render_body(body: str | None, *, demote: int = 2) -> Markup:
    """Parse and render a draft body (its ``#`` becomes h3 under the page's h2)."""
    return render_units(parse(body), demote=demote)
