"""Every endpoint declares who may use it, and the declaration is enforced for every role.

Walks ``app.url_map``: new endpoints of any feature are covered without editing this file.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule as UrlRule
from werkzeug.routing.converters import NumberConverter

from portal.auth.models import Role
from portal.auth.permissions import rule_for_endpoint


def _url(app, rule: UrlRule) -> str:
    """A URL for ``rule`` with placeholder arguments (ids that do not exist)."""
    values = {}
    for name, converter in rule._converters.items():  # noqa: SLF001 - werkzeug exposes no public API
        values[name] = 999_999 if isinstance(converter, NumberConverter) else "no-such-thing"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _method(rule: UrlRule) -> str:
    methods = rule.methods - {"HEAD", "OPTIONS"}
    return "GET" if "GET" in methods else sorted(methods)[0]


def _protected(app):
    for rule in app.url_map.iter_rules():
        declared = rule_for_endpoint(app, rule.endpoint)
        if declared is not None and declared.login_required:
            yield rule, declared


def test_every_endpoint_declares_access(app):
    missing = [r.endpoint for r in app.url_map.iter_rules() if rule_for_endpoint(app, r.endpoint) is None]
    assert missing == [], f"endpoints without @require: {missing}"


def test_undeclared_endpoint_is_refused(app, client):
    @app.get("/undeclared-for-test")
    def undeclared():
        return "secret"

    assert client.get("/undeclared-for-test").status_code == 403


def test_anonymous_gets_login_redirect_or_401(app, client):
    checked = 0
    for rule, _declared in _protected(app):
        url = _url(app, rule)
        response = client.open(url, method=_method(rule))
        if url.startswith("/api/"):
            assert response.status_code == 401, url
            assert response.get_json()["error"]["code"] == "unauthorized", url
        else:
            assert response.status_code == 302, url
            assert "/login" in response.headers["Location"], url
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_against_each_protected_endpoint(app, client, make_user, login, role):
    user = make_user(role)
    login(user)
    for rule, declared in _protected(app):
        if rule.endpoint == "auth.logout":
            continue  # would end the session the rest of the loop needs; covered in test_views
        url = _url(app, rule)
        response = client.open(url, method=_method(rule))
        if declared.allows(user):
            assert response.status_code not in (401,), url
            assert "/login" not in response.headers.get("Location", ""), url
            # An allowed role may still be refused by an object-level rule (an official outside the
            # department), so only the endpoint rule's own refusals are asserted here.
        else:
            assert response.status_code == 403, (url, role)
            if url.startswith("/api/"):
                assert response.get_json()["error"]["code"] == "forbidden"
