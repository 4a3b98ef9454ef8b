"""A cache of whole public pages for anonymous visitors.

Public pages (the catalogue, a decision's page) are the same for every anonymous visitor in a
language, and they change only when something is recorded, and every change of state appends to
the ledger. So the ledger head seq is the cache version: a page is served from the cache while
the head is unchanged and the entry is younger than ``PAGE_CACHE_SECONDS`` (time-based text such
as "12 days left" may be that much behind). Only GET requests without any cookie but ``lang`` are
served or stored (no session, no login, no flash message), only 200 responses that set no cookie,
and only for endpoints that features declare with ``add_cacheable``. In-process LRU per worker.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import Flask, Response, current_app, request
from sqlalchemy import func, select

from portal.core.extensions import db

MAX_ENTRIES = 500


class PageCache:
    def __init__(self) -> None:
        self.entries: OrderedDict[tuple, tuple[float, int, bytes, dict]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, version: int, max_age: float):
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            stored_at, stored_version, body, headers = found
            if stored_version != version or time.monotonic() - stored_at > max_age:
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return body, headers

    def put(self, key: tuple, version: int, body: bytes, headers: dict) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic(), version, body, headers)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)


def add_cacheable(app: Flask, *endpoints: str) -> None:
    """Declare public pages whose anonymous views may be cached."""
    app.extensions.setdefault("portal_cacheable", set()).update(endpoints)


def _ledger_version() -> int:
    from portal.trace.models import TraceEntry

    return db.session.scalar(select(func.coalesce(func.max(TraceEntry.seq), 0)))


def _key() -> tuple | None:
    if request.method != "GET" or current_app.config.get("PAGE_CACHE_SECONDS", 0) <= 0:
        return None
    if request.endpoint not in current_app.extensions.get("portal_cacheable", ()):
        return None
    if set(request.cookies) - {"lang"}:
        return None  # a session, a login, a flash message: personal pages are never cached
    return (request.full_path, request.cookies.get("lang", ""))


def serve_cached():
    """before_request: answer from the cache when possible."""
    key = _key()
    if key is None:
        return None
    version = _ledger_version()
    request.environ["portal.page_cache"] = (key, version)
    hit = current_app.extensions["portal_page_cache"].get(key, version, current_app.config["PAGE_CACHE_SECONDS"])
    if hit is None:
        return None
    body, headers = hit
    response = Response(body, status=200, headers=headers)
    response.headers["X-Page-Cache"] = "hit"
    return response


def store(response: Response) -> Response:
    """after_request: keep a fresh public page for the next anonymous visitor."""
    pending = request.environ.get("portal.page_cache")
    if pending is None or response.headers.get("X-Page-Cache") == "hit":
        return response
    if response.status_code != 200 or "Set-Cookie" in response.headers or response.direct_passthrough:
        return response
    key, version = pending
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "set-cookie")}
    current_app.extensions["portal_page_cache"].put(key, version, response.get_data(), headers)
    response.headers["X-Page-Cache"] = "miss"
    return response


def init_app(app: Flask) -> None:
    app.extensions["portal_page_cache"] = PageCache()
    app.before_request(serve_cached)
    app.after_request(store)
