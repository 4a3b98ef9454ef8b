"""Small helpers for views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from werkzeug.routing import IntegerConverter


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login or a language switch; anything else becomes ``default``."""
    if not target or len(target) > 2000:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def page_arg(name: str = "page", *, maximum: int = 100_000) -> int:
    """A bounded positive page number from the query string; bad values mean page 1."""
    raw = request.args.get(name, "1")
    if not raw.isdigit() or len(raw) > 6:
        return 1
    return max(1, min(int(raw), maximum))


#: The largest id a database integer column holds (PostgreSQL ``integer``; SQLite takes 64 bits).
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in every URL: a number beyond any stored id matches no route (404).

    Without the bound, ``/hearings/99999999999999999999`` reached the database driver, which
    cannot bind it (OverflowError on SQLite, "integer out of range" on PostgreSQL): a 500.
    """

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
