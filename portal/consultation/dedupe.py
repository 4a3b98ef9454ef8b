"""Grouping of identical and nearly identical comments (campaign texts with small edits).

A text is normalised (NFKC, lower case, punctuation, symbols and white space removed). The same
normalised text (same SHA-256) joins that group. Otherwise it is compared with the first text
of each group of the same consultation whose length is close enough for a match to be
possible, by the Jaccard similarity of character 3-gram sets; at ``THRESHOLD`` or above it
joins the most similar group. Else it starts a group of its own. Every comment has a group, so
"distinct texts" is the number of groups.
"""

from __future__ import annotations

import hashlib
import unicodedata

from sqlalchemy import select

from portal.core.extensions import db

#: Jaccard similarity of 3-gram sets at which two texts count as the same text.
THRESHOLD = 0.8
#: Shingle size in characters (Chinese has no spaces; characters are the unit).
SHINGLE = 3
#: At most this many candidate groups are compared (newest first) to bound the cost.
MAX_CANDIDATES = 2000
#: Texts are compared on their first this many normalised characters.
COMPARE_CHARS = 3000


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


def find_group(consultation_id: int, normalised: str):
    """The group a text belongs to, or None when it is new."""
    from portal.consultation.models import CommentGroup

    digest = text_hash(normalised)
    exact = db.session.scalar(
        select(CommentGroup)
        .where(CommentGroup.consultation_id == consultation_id, CommentGroup.text_hash == digest)
        .order_by(CommentGroup.id)
        .limit(1)
    )
    if exact is not None:
        return exact
    if len(normalised) < 2 * SHINGLE:
        return None  # very short texts only group when identical
    low, high = length_window(min(len(normalised), COMPARE_CHARS))
    candidates = db.session.execute(
        select(CommentGroup.id, CommentGroup.text_hash)
        .where(
            CommentGroup.consultation_id == consultation_id,
            CommentGroup.text_length >= low,
            CommentGroup.text_length <= high if len(normalised) < COMPARE_CHARS else CommentGroup.text_length >= low,
        )
        .order_by(CommentGroup.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    known = _shingles_of_groups(candidates)
    mine = shingles(normalised)
    size = len(mine)
    best_id, best_score = None, 0.0
    for group_id, digest in candidates:
        other = known[digest]
        common = len(mine & other)
        union = size + len(other) - common
        score = common / union if union else 1.0
        if score >= THRESHOLD and score > best_score:
            best_id, best_score = group_id, score
    return db.session.get(CommentGroup, best_id) if best_id is not None else None


#: Shingle sets by text hash, per process: a group's text never changes, and building the sets
#: of up to MAX_CANDIDATES texts for every new comment was most of the cost of taking a comment.
_shingle_cache: dict[str, frozenset[str]] = {}
_CACHE_MAX = 20_000


def _shingles_of_groups(candidates) -> dict[str, frozenset[str]]:
    """The shingle sets of candidate groups ``(id, text_hash)``; texts not cached are read once."""
    from portal.consultation.models import CommentGroup

    found: dict[str, frozenset[str]] = {}
    missing: list[int] = []
    for group_id, digest in candidates:
        cached = _shingle_cache.get(digest)
        if cached is None:
            missing.append(group_id)
        else:
            found[digest] = cached
    if len(_shingle_cache) + len(missing) > _CACHE_MAX:
        _shingle_cache.clear()
    for start in range(0, len(missing), 500):
        rows = db.session.execute(
            select(CommentGroup.text_hash, CommentGroup.normalised).where(
                CommentGroup.id.in_(missing[start : start + 500])
            )
        )
        for digest, text in rows:
            found[digest] = _shingle_cache[digest] = shingles(text)
    return found


def assign_group(consultation_id: int, body: str):
    """The existing group for ``body``, or a new flushed one."""
    from portal.consultation.models import CommentGroup

    normalised = normalise(body)
    group = find_group(consultation_id, normalised)
    if group is None:
        group = CommentGroup(
            consultation_id=consultation_id,
            text_hash=text_hash(normalised),
            normalised=normalised,
            text_length=min(len(normalised), COMPARE_CHARS),
        )
        db.session.add(group)
        db.session.flush()
    return group
