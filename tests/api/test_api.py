"""The API shell: one error shape everywhere under /api/v1, pagination, the OpenAPI document."""

from __future__ import annotations

import pytest

from portal.auth.models import Role


def _error(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.content_type.startswith("application/json")
    assert _error(response)["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/trace/head")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_anonymous_api_gets_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"


def test_wrong_role_api_gets_403_json(client, make_user, login):
    login(make_user(Role.CITIZEN))
    response = client.get("/api/v1/users")
    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"


def test_me(client, make_user, login):
    user = make_user(Role.EXPERT)
    login(user)
    body = client.get("/api/v1/me").get_json()
    assert body["email"] == user.email
    assert body["roles"] == ["expert"]


def test_pagination_convention(client, make_department):
    for n in range(5):
        make_department(code=f"d{n}")
    body = client.get("/api/v1/departments?per_page=2&page=2").get_json()
    assert body["page"] == 2
    assert body["per_page"] == 2
    assert body["total"] == 5
    assert body["pages"] == 3
    assert [d["code"] for d in body["items"]] == ["d2", "d3"]
    assert body["links"]["next"].endswith("page=3&per_page=2")
    assert body["links"]["prev"].endswith("page=1&per_page=2")
    past = client.get("/api/v1/departments?page=50").get_json()
    assert past["items"] == []
    assert past["total"] == 5


@pytest.mark.parametrize("query", ["per_page=1000", "per_page=0", "page=0", "page=-1", "page=abc", "per_page=1e9"])
def test_bad_pagination_is_422_json(client, query):
    response = client.get(f"/api/v1/departments?{query}")
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "invalid"
    assert "fields" in error


def test_ledger_api_hides_internal_payloads_from_the_public(client, make_user, login):
    make_user()  # user.registered is internal
    body = client.get("/api/v1/trace/entries").get_json()
    entry = body["items"][0]
    assert entry["visibility"] == "internal"
    assert entry["payload"] is None
    assert entry["actor"] is None
    assert len(entry["hash"]) == 64
    assert len(entry["payload_hash"]) == 64
    login(make_user(Role.AUDITOR))
    entry = client.get(f"/api/v1/trace/entries/{entry['seq']}").get_json()
    assert entry["payload"]["email"].endswith("@example.cn")
    head = client.get("/api/v1/trace/head").get_json()
    assert head["seq"] >= 2
    assert len(head["hash"]) == 64
    assert client.get("/api/v1/trace/entries/99999").status_code == 404


def test_openapi_document_is_generated(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/trace/entries" in doc["paths"]
    assert "/api/v1/departments" in doc["paths"]
    assert "ErrorSchema" in str(doc["components"]) or "Error" in str(doc["components"])


def test_json_is_utf8_not_escaped(client):
    body = client.get("/api/v1/no/such/thing").get_data(as_text=True)
    assert "找不到" in body
