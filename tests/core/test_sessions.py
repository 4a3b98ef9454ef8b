"""The session cookie's serializer is built once per set of keys (portal/core/sessions.py)."""

from __future__ import annotations

import flask.sessions

from portal.core.sessions import SessionInterface


def test_the_serializer_is_built_once_and_the_session_still_round_trips(app, monkeypatch):
    built = []
    real = flask.sessions.URLSafeTimedSerializer

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(flask.sessions, "URLSafeTimedSerializer", counting)
    app.session_interface = SessionInterface()
    client = app.test_client()
    with client.session_transaction() as session:
        session["probe"] = "第一条"
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    with client.session_transaction() as session:
        assert session["probe"] == "第一条"
    assert built == [1]


def test_a_new_key_builds_a_new_serializer_and_the_fallback_still_opens_old_cookies(app):
    assert isinstance(app.session_interface, SessionInterface)
    client = app.test_client()
    with client.session_transaction() as session:
        session["probe"] = "old"
    old_key = app.secret_key
    app.secret_key = app.config["SECRET_KEY"] = "a-new-key-" + "x" * 40
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    with client.session_transaction() as session:
        assert session.get("probe") == "old"  # signed with the old key, opened through the fallback
        session["probe"] = "new"
    app.config["SECRET_KEY_FALLBACKS"] = []
    with client.session_transaction() as session:
        assert session.get("probe") == "new"  # signed again with the new key
    app.secret_key = app.config["SECRET_KEY"] = "yet-another-key-" + "y" * 40
    with client.session_transaction() as session:
        assert "probe" not in session  # a key no longer listed opens nothing
