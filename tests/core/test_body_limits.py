"""Oversized request bodies get 413 on every form and API route; forged session cookies are anonymous."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from portal.core.bodylimits import DEFAULT_UPLOAD_ENDPOINTS, upload_endpoints
from portal.trace.models import TraceEntry

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _sample(converter) -> object:
    if isinstance(converter, IntegerConverter):
        return 1
    items = getattr(converter, "items", None)  # AnyConverter
    if items:
        return sorted(items)[0]
    return "x"


def write_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every route that takes a body."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            values = {name: _sample(conv) for name, conv in rule._converters.items()}
            _domain, path = rule.build(values, append_unknown=False)
            found.append((rule.endpoint, method, path))
    return found


def test_there_are_routes_to_check(app):
    routes = write_routes(app)
    assert len(routes) > 40
    assert any(path.startswith("/decisions/") and path.endswith("/consultation/comments") for _e, _m, path in routes)


def test_every_upload_endpoint_exists(app):
    assert set(DEFAULT_UPLOAD_ENDPOINTS) <= upload_endpoints(app)
    for endpoint in upload_endpoints(app):
        assert endpoint in app.view_functions, endpoint


def test_every_route_refuses_a_body_over_the_form_limit(app, db):
    limit = app.config["FORM_MAX_CONTENT_LENGTH"]
    assert limit <= 1024 * 1024 < app.config["MAX_CONTENT_LENGTH"]
    body = b"body=" + b"x" * limit
    uploads = upload_endpoints(app)
    before = db.session.scalar(select(func.count(TraceEntry.seq)))
    client = app.test_client()
    problems = []
    for endpoint, method, path in write_routes(app):
        if endpoint in uploads:
            continue
        response = client.open(path, method=method, data=body, content_type="application/x-www-form-urlencoded")
        if response.status_code != 413:
            problems.append((endpoint, method, path, response.status_code))
            continue
        if path.startswith("/api/"):
            if not response.is_json or response.get_json()["error"]["code"] != "too_large":
                problems.append((endpoint, "not the JSON error shape"))
        elif "提交的内容过大" not in response.get_data(as_text=True):
            problems.append((endpoint, "no message"))
    assert problems == []
    assert db.session.scalar(select(func.count(TraceEntry.seq))) == before


def test_json_body_over_the_limit_on_the_api(app):
    limit = app.config["FORM_MAX_CONTENT_LENGTH"]
    rules = [p for _e, m, p in write_routes(app) if p.startswith("/api/") and m == "POST"]
    path = rules[0] if rules else "/api/v1/no-such-endpoint"
    response = app.test_client().post(path, data=b'{"a":"' + b"x" * limit + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_small_bodies_pass_the_check(app, make_user, login, client):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "Wrong-pass-2026", "pad": "x" * 50_000})
    assert response.status_code == 400  # reached the view: a wrong password, not a 413


def test_upload_endpoints_keep_the_large_limit(app, client):
    big_but_allowed = b"x" * (app.config["FORM_MAX_CONTENT_LENGTH"] + 1024)
    for endpoint in upload_endpoints(app):
        rule = next(app.url_map.iter_rules(endpoint))
        _d, path = rule.build({name: _sample(conv) for name, conv in rule._converters.items()})
        response = client.post(path, data=big_but_allowed, content_type="application/octet-stream")
        assert response.status_code != 413, endpoint  # refused for other reasons (not logged in)
        too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
        assert client.post(path, data=too_big, content_type="application/octet-stream").status_code == 413


def test_chunked_body_over_the_limit_is_refused(app, db, make_user, login, client):
    user = make_user()
    login(user)
    limit = app.config["FORM_MAX_CONTENT_LENGTH"]

    stream = io.BytesIO(b"display_name=" + b"x" * (limit + 65536))
    response = client.post(
        "/profile",
        input_stream=stream,
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/x-www-form-urlencoded"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it for a chunked body
    )
    assert response.status_code == 413
    small = client.post(
        "/profile",
        input_stream=io.BytesIO("display_name=分块提交&locale=zh_CN".encode()),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/x-www-form-urlencoded"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert small.status_code == 302
    db.session.refresh(user)
    assert user.display_name == "分块提交"


# Sessions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    [
        "eyJfdXNlcl9pZCI6IjE6YWJjIn0.ZZZZZZ.forgedsignatureforgedsignature",  # signed by another site
        "not a cookie at all",
        ".eJwrSS0uSc1XslIqzs8tSs7PS83JTM0rSSxJLS5SslIqzs9NzUvOyczPs1KqBQBc6A0V",  # compressed, unsigned
        "x" * 4000,
    ],
)
def test_forged_session_cookie_gives_an_anonymous_session(app, client, make_user, cookie):
    make_user()
    client.set_cookie("session", cookie)
    home = client.get("/")
    assert home.status_code == 200
    profile = client.get("/profile")
    assert profile.status_code == 302
    assert "/login" in profile.headers["Location"]


def test_session_cookie_signed_with_another_key_is_ignored(app, client, make_user, login):
    from flask.sessions import SecureCookieSessionInterface

    user = make_user()
    other_app = type(app)("elsewhere")
    other_app.secret_key = "another-site-key"
    serializer = SecureCookieSessionInterface().get_signing_serializer(other_app)
    forged = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    client.set_cookie("session", forged)
    response = client.get("/profile")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
