"""The anonymous page cache: served while the ledger head is unchanged, never for personal pages."""

from __future__ import annotations

import pytest

from portal import trace


@pytest.fixture
def app_config():
    return {"PAGE_CACHE_SECONDS": 30}


def test_anonymous_views_are_cached_until_the_ledger_moves(client, db):
    first = client.get("/")
    assert first.headers["X-Page-Cache"] == "miss"
    second = client.get("/")
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    trace.record(None, "thing.happened", ("thing", 1))
    db.session.commit()
    third = client.get("/")
    assert third.headers["X-Page-Cache"] == "miss"
    assert third.get_data() != first.get_data()  # the home page shows the new ledger head


def test_each_language_has_its_own_entry(client):
    client.get("/")
    client.set_cookie("lang", "en")
    english = client.get("/")
    assert english.headers["X-Page-Cache"] == "miss"
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_logged_in_views_are_never_cached(client, make_user, login):
    login(make_user())
    client.get("/")
    response = client.get("/")
    assert "X-Page-Cache" not in response.headers


def test_only_declared_endpoints_are_cached(client):
    client.get("/trace/")
    assert "X-Page-Cache" not in client.get("/trace/").headers


def test_errors_are_not_cached(client):
    client.get("/decisions/no-such-decision")
    assert client.get("/decisions/no-such-decision").headers.get("X-Page-Cache") != "hit"


def test_time_limit(app, client, monkeypatch):
    import portal.core.pagecache as pagecache

    client.get("/")
    now = pagecache.time.monotonic()
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now + 31)
    assert client.get("/").headers["X-Page-Cache"] == "miss"
