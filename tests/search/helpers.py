"""Small helpers shared by the search tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime


def titles(outcome) -> list[str]:
    """Plain titles of an outcome's items, in order."""
    return [re.sub(r"</?mark>", "", str(hit.title)) for hit in outcome.items]


def at(year: int, month: int = 6, day: int = 1) -> datetime:
    return datetime(year, month, day, 4, 0, tzinfo=UTC)
