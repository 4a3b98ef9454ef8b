"""The verifiable draw of hearing participants: pure functions, no database.

docs/DRAW.md states the algorithm precisely; this module is its reference implementation and
``flask hearings verify-draw`` recomputes a stored draw with it. Changing anything here changes
the meaning of every published draw: add a new ``ALGORITHM`` instead.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Name of the algorithm below, stored with every draw.
ALGORITHM = "sha256-rank-v1"
#: Category codes: lower-case ASCII letters, digits, "_" and "-" (never ":", the separator).
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SEED_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def new_seed() -> str:
    """A fresh secret seed: 32 random bytes from the OS CSPRNG, as 64 lower-case hex characters."""
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    """The public commitment to ``seed``: hex SHA-256 of the seed's UTF-8 text."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def draw_key(seed: str, category_code: str, registration_id: int) -> str:
    """The sort key of one registration: hex SHA-256 of ``seed:category_code:registration_id``."""
    return hashlib.sha256(f"{seed}:{category_code}:{int(registration_id)}".encode()).hexdigest()


@dataclass(frozen=True)
class CategoryInput:
    """One category as the draw sees it: its code, its seats and the ids of its entrants."""

    code: str
    seats: int
    registration_ids: Sequence[int]


def rank(seed: str, category_code: str, registration_ids: Iterable[int]) -> list[tuple[int, str]]:
    """Registration ids with their keys, ordered by key ascending (then id, which never decides)."""
    keyed = [(draw_key(seed, category_code, rid), int(rid)) for rid in set(registration_ids)]
    keyed.sort()
    return [(rid, key) for key, rid in keyed]


def compute(seed: str, categories: Sequence[CategoryInput]) -> dict:
    """The whole result: per category the entrants, the order, who is selected and the waitlist."""
    if not SEED_PATTERN.match(seed):
        raise ValueError("the seed must be 64 lower-case hex characters")
    out = []
    for category in categories:
        if not CODE_PATTERN.match(category.code):
            raise ValueError(f"bad category code {category.code!r}")
        ordered = rank(seed, category.code, category.registration_ids)
        ids = [rid for rid, _key in ordered]
        out.append(
            {
                "code": category.code,
                "seats": int(category.seats),
                "entrants": sorted(ids),
                "order": [{"registration": rid, "key": key} for rid, key in ordered],
                "selected": ids[: category.seats],
                "waitlist": ids[category.seats :],
            }
        )
    return {"algorithm": ALGORITHM, "categories": out}


def check(seed: str | None, commitment: str | None, result: dict | None) -> list[str]:
    """Everything wrong with a published draw (empty when it verifies). Messages are English, for the CLI."""
    problems: list[str] = []
    if not seed or not commitment or not isinstance(result, dict):
        return ["the draw is incomplete: seed, commitment or result missing"]
    if commitment_of(seed) != commitment:
        problems.append("SHA-256 of the seed does not equal the commitment")
    if result.get("algorithm") != ALGORITHM:
        problems.append(f"unknown algorithm {result.get('algorithm')!r}")
        return problems
    try:
        inputs = [
            CategoryInput(c["code"], int(c["seats"]), [int(i) for i in c["entrants"]]) for c in result["categories"]
        ]
        expected = compute(seed, inputs)
    except (KeyError, TypeError, ValueError) as exc:
        return [*problems, f"the result cannot be read: {exc}"]
    for published, recomputed in zip(result["categories"], expected["categories"], strict=True):
        code = recomputed["code"]
        for field in ("order", "selected", "waitlist"):
            if published.get(field) != recomputed[field]:
                problems.append(f"category {code}: published {field} differs from the recomputed one")
    return problems
