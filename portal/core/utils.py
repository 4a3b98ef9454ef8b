"""Small helpers for views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


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
