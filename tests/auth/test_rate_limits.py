"""Per-account and per-address rate limits: a flood gets 429 with Retry-After, other people are unaffected."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import config as cfg
from portal.auth.models import Role, User
from portal.auth.permissions import declare_endpoint, public
from portal.consultation.models import Comment
from portal.core.ratelimits import throttled

from ..conftest import PASSWORD
from ..consultation.conftest import department, make_consultation, make_decision, official  # noqa: F401

A_ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}
B_ADDRESS = {"REMOTE_ADDR": "203.0.113.9"}


def logged_in(app, user, environ):
    client = app.test_client()
    client.environ_base.update(environ)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def comment_on(client, consultation, n: int):
    return client.post(
        f"/decisions/{consultation.decision.slug}/consultation/comments",
        data={"body": f"第 {n} 条意见:建议提高第一档水量。", "article": "", "submission_token": f"t-{n}"},
    )


def comments_by(db, user) -> int:
    return db.session.scalar(select(func.count(Comment.id)).where(Comment.author_id == user.id))


def test_a_flooding_account_is_stopped_and_others_still_post(app, db, make_user, make_consultation):  # noqa: F811
    app.config["COMMENT_RATE_PER_ACCOUNT"] = "3 per minute"
    consultation = make_consultation()
    flooder, other = make_user(Role.CITIZEN), make_user(Role.CITIZEN)
    a = logged_in(app, flooder, A_ADDRESS)
    for n in range(3):
        assert comment_on(a, consultation, n).status_code == 302
    refused = comment_on(a, consultation, 3)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "操作过于频繁" in refused.get_data(as_text=True)
    assert comments_by(db, flooder) == 3
    # Another account, from another address and from the flooder's address, is unaffected.
    assert comment_on(logged_in(app, other, B_ADDRESS), consultation, 10).status_code == 302
    assert comment_on(logged_in(app, make_user(Role.CITIZEN), A_ADDRESS), consultation, 11).status_code == 302


def test_a_flooding_address_is_stopped_and_other_addresses_still_post(app, db, make_user, make_consultation):  # noqa: F811
    app.config["COMMENT_RATE_PER_ADDRESS"] = "2 per minute"
    consultation = make_consultation()
    users = [make_user(Role.CITIZEN) for _ in range(3)]
    assert comment_on(logged_in(app, users[0], A_ADDRESS), consultation, 0).status_code == 302
    assert comment_on(logged_in(app, users[1], A_ADDRESS), consultation, 1).status_code == 302
    refused = comment_on(logged_in(app, users[2], A_ADDRESS), consultation, 2)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert comments_by(db, users[2]) == 0
    assert comment_on(logged_in(app, users[2], B_ADDRESS), consultation, 3).status_code == 302


def test_the_429_page_is_in_the_users_language(app, make_user, make_consultation):  # noqa: F811
    app.config["COMMENT_RATE_PER_ACCOUNT"] = "1 per minute"
    consultation = make_consultation()
    client = logged_in(app, make_user(Role.CITIZEN), A_ADDRESS)
    client.set_cookie("lang", "en")
    comment_on(client, consultation, 0)
    refused = comment_on(client, consultation, 1)
    assert refused.status_code == 429
    text = refused.get_data(as_text=True)
    assert "操作过于频繁" not in text
    assert "Too many" in text or "too many" in text or "too often" in text


def test_limits_can_be_turned_off(app, db, make_user, make_consultation):  # noqa: F811
    app.config["COMMENT_RATE_PER_ACCOUNT"] = ""
    app.config["COMMENT_RATE_PER_ADDRESS"] = "off"
    consultation = make_consultation()
    user = make_user(Role.CITIZEN)
    client = logged_in(app, user, A_ADDRESS)
    assert all(comment_on(client, consultation, n).status_code == 302 for n in range(12))
    assert comments_by(db, user) == 12


def test_an_empty_variable_turns_a_limit_off(monkeypatch):
    monkeypatch.setenv("PORTAL_COMMENT_RATE_PER_ADDRESS", "")
    monkeypatch.setenv("PORTAL_COMMENT_RATE_PER_ACCOUNT", "1000 per minute")
    monkeypatch.setenv("PORTAL_SMTP_URL", "")
    found = cfg.from_environment()
    assert found["COMMENT_RATE_PER_ADDRESS"] == ""
    assert found["COMMENT_RATE_PER_ACCOUNT"] == "1000 per minute"
    assert "SMTP_URL" not in found  # other settings: empty still means "not set"


def test_hearing_registration_is_limited_per_account(app, make_user):
    app.config["HEARING_REGISTRATION_RATE_PER_ACCOUNT"] = "2 per minute"
    client = logged_in(app, make_user(Role.CITIZEN), A_ADDRESS)
    # The limit is checked before the view: requests that fail later still count.
    assert [client.post("/hearings/999999/register", data={}).status_code for _ in range(3)] == [404, 404, 429]
    other = logged_in(app, make_user(Role.CITIZEN), A_ADDRESS)
    assert other.post("/hearings/999999/register", data={}).status_code == 404


def test_hearing_registration_is_limited_per_address(app, make_user):
    app.config["HEARING_REGISTRATION_RATE_PER_ADDRESS"] = "2 per minute"
    codes = [
        logged_in(app, make_user(Role.CITIZEN), A_ADDRESS).post("/hearings/999999/register").status_code
        for _ in range(3)
    ]
    assert codes == [404, 404, 429]
    assert logged_in(app, make_user(Role.CITIZEN), B_ADDRESS).post("/hearings/999999/register").status_code == 404


def signup(client, email):
    return client.post(
        "/register", data={"email": email, "display_name": "新人", "password": PASSWORD, "confirm": PASSWORD}
    )


def test_account_registration_is_limited_per_address(app, db):
    app.config["SIGNUP_RATE_PER_ADDRESS"] = "2 per hour"
    a = app.test_client()
    a.environ_base.update(A_ADDRESS)
    assert signup(a, "one@example.cn").status_code == 302
    a.post("/logout")
    assert signup(a, "two@example.cn").status_code == 302
    a.post("/logout")
    refused = signup(a, "three@example.cn")
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert db.session.scalar(select(User.id).where(User.email == "three@example.cn")) is None
    b = app.test_client()
    b.environ_base.update(B_ADDRESS)
    assert signup(b, "three@example.cn").status_code == 302


def test_account_registration_is_limited_per_email(app):
    app.config["SIGNUP_RATE_PER_ACCOUNT"] = "2 per hour"
    codes = []
    for environ in (A_ADDRESS, B_ADDRESS, {"REMOTE_ADDR": "192.0.2.1"}):
        client = app.test_client()
        client.environ_base.update(environ)
        codes.append(signup(client, "same@example.cn").status_code)
    assert codes == [302, 409, 429]


def test_login_limit_is_per_address(app, make_user):
    app.config["LOGIN_LIMIT_ADDRESS"] = "2 per 15 minutes"
    user = make_user()
    a = app.test_client()
    a.environ_base.update(A_ADDRESS)
    for n in range(2):
        a.post("/login", data={"email": f"nobody{n}@example.cn", "password": "Wrong-pass-2026"})
    assert a.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429
    b = app.test_client()
    b.environ_base.update(B_ADDRESS)
    assert b.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_spoofed_forwarded_for_is_ignored_without_a_trusted_proxy(app, make_user):
    app.config["LOGIN_LIMIT_ADDRESS"] = "2 per 15 minutes"
    client = app.test_client()
    client.environ_base.update(A_ADDRESS)
    for n in range(3):
        response = client.post(
            "/login",
            data={"email": f"nobody{n}@example.cn", "password": "Wrong-pass-2026"},
            headers={"X-Forwarded-For": f"10.9.9.{n}"},
        )
    assert response.status_code == 429


@pytest.fixture
def api_flood_route(app):
    @throttled("comment")
    def flood():
        return {"ok": True}

    app.add_url_rule("/api/v1/_flood", "api_flood", flood, methods=["POST"])
    declare_endpoint(app, "api_flood", public)
    return "/api/v1/_flood"


def test_api_gets_the_json_error_shape(app, api_flood_route):
    app.config["COMMENT_RATE_PER_ACCOUNT"] = "1 per minute"
    client = app.test_client()
    assert client.post(api_flood_route).status_code == 200
    refused = client.post(api_flood_route)
    assert refused.status_code == 429
    assert refused.is_json
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in refused.headers


def test_requests_still_work_when_the_limit_store_is_down(database, tmp_path):
    """With Redis unreachable the limits fall back to process memory: throttled, never a 500."""
    from portal import create_app
    from portal.core.extensions import db

    broken = create_app(database.config(tmp_path / "instance", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"))
    broken.config["LOGIN_LIMIT_ADDRESS"] = "2 per minute"
    client = broken.test_client()
    codes = [
        client.post("/login", data={"email": "nobody@example.cn", "password": "Wrong-pass-2026"}).status_code
        for _ in range(3)
    ]
    with broken.app_context():
        db.engine.dispose()  # PostgreSQL: no pooled connection left for the garbage collector
    assert codes == [400, 400, 429]


def test_no_check_runs_before_every_request_when_only_views_have_limits(app):
    """The portal sets per-view limits only: Flask-Limiter's check before every request would find
    none, so it is not installed (issue 8); the views' own limits still hold (tests above)."""
    from portal.core.extensions import limiter

    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])


def test_a_default_limit_keeps_the_check_before_every_request(database, tmp_path):
    """Configure a limit for every route, and the check before every request stays and applies it."""
    from portal import create_app
    from portal.core.extensions import db, limiter

    limited = create_app(database.config(tmp_path / "instance", RATELIMIT_DEFAULT="2 per minute"))
    try:
        assert limiter._check_request_limit in limited.before_request_funcs[None]
        client = limited.test_client()
        codes = [client.get("/healthz").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        limiter.limit_manager.set_default_limits([])  # the limiter is shared by every app of the suite
        with limited.app_context():
            db.engine.dispose()
