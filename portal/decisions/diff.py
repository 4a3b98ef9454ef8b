"""Article-by-article comparison of two versions, with an inline word/character diff.

Top-level units (preamble, chapters, articles, sections) are matched by anchor. Each pair is
unchanged, changed (with inline segments), added or removed. Chinese has no spaces, so text is
tokenised as single CJK characters, runs of Latin letters/digits (decimals kept whole), and
single other characters.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from portal.decisions.articles import Unit, parse

_TOKEN_RE = re.compile(r"[A-Za-z0-9_]+(?:\.[0-9]+)?|\s+|.", re.DOTALL)
#: Above this size a unit is compared line by line: character diffs of huge blocks cost too much.
CHAR_DIFF_LIMIT = 20_000


@dataclass
class Segment:
    op: str  # equal, insert, delete
    text: str


@dataclass
class UnitDiff:
    status: str  # unchanged, changed, added, removed
    anchor: str
    label: str
    old: str = ""
    new: str = ""
    segments: list[Segment] = field(default_factory=list)


@dataclass
class VersionDiff:
    units: list[UnitDiff]

    def count(self, status: str) -> int:
        return sum(1 for u in self.units if u.status == status)

    @property
    def has_changes(self) -> bool:
        return any(u.status != "unchanged" for u in self.units)


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def inline_diff(old: str, new: str) -> list[Segment]:
    """Segments turning ``old`` into ``new``; adjacent segments of one kind are merged."""
    if len(old) + len(new) > CHAR_DIFF_LIMIT:
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    else:
        a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    segments: list[Segment] = []

    def add(op: str, parts: list[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1].text += text
        else:
            segments.append(Segment(op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return segments


def _label(unit: Unit) -> str:
    return unit.label  # empty for the preamble; the page names it


def diff_units(old_units: list[Unit], new_units: list[Unit]) -> VersionDiff:
    """Compare two parsed texts unit by unit, in the new text's order with removed units in place."""
    old_by_anchor = {u.anchor: u for u in old_units}
    new_by_anchor = {u.anchor: u for u in new_units}
    old_keys = [u.anchor for u in old_units]
    new_keys = [u.anchor for u in new_units]
    out: list[UnitDiff] = []

    def pair(anchor: str) -> None:
        o, n = old_by_anchor[anchor], new_by_anchor[anchor]
        if o.text == n.text:
            out.append(UnitDiff("unchanged", anchor, _label(n), o.text, n.text))
        else:
            out.append(UnitDiff("changed", anchor, _label(n), o.text, n.text, inline_diff(o.text, n.text)))

    emitted: set[str] = set()
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for key in new_keys[j1:j2]:
                pair(key)
                emitted.add(key)
            continue
        for key in old_keys[i1:i2]:
            if key not in new_by_anchor:
                u = old_by_anchor[key]
                out.append(UnitDiff("removed", key, _label(u), old=u.text, segments=[Segment("delete", u.text)]))
        for key in new_keys[j1:j2]:
            if key in emitted:
                continue
            if key in old_by_anchor:
                pair(key)  # moved: compared where it now stands
            else:
                u = new_by_anchor[key]
                out.append(UnitDiff("added", key, _label(u), new=u.text, segments=[Segment("insert", u.text)]))
            emitted.add(key)
    return VersionDiff(out)


def diff_texts(old_body: str, new_body: str) -> VersionDiff:
    """Compare two draft bodies article by article."""
    return diff_units(parse(old_body), parse(new_body))
