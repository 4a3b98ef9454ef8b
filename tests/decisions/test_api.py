"""API: catalogue with filters, one decision, published versions with articles; errors in the one shape."""

from __future__ import annotations

import pytest

from portal.auth.models import Role


def test_list(client, make_decision, official):
    decision = make_decision(title="水价事项", summary="摘要", category="water", stage="consultation")
    make_decision(title="内部草稿", versions=0)
    data = client.get("/api/v1/decisions").get_json()
    assert data["total"] == 1
    [item] = data["items"]
    assert item["slug"] == decision.slug
    assert item["title"] == "水价事项"
    assert item["stage"] == "consultation"
    assert item["stage_label"] == "公开征求意见"
    assert item["department"] == {"code": official.departments[0].code, "name": official.departments[0].name}
    assert item["category"] == "water"
    assert item["summary"] == "摘要"
    assert item["url"] == f"http://localhost/decisions/{decision.slug}"
    assert item["updated_at"]
    assert data["links"]["self"].startswith("/api/v1/decisions")


def test_list_filters(client, make_decision, make_user, make_department):
    other = make_user(Role.OFFICIAL, department=make_department(code="jyj"))
    a = make_decision(title="甲", category="water")
    b = make_decision(other, title="乙", category="education", stage="consultation")

    def slugs(query):
        return {i["slug"] for i in client.get("/api/v1/decisions?" + query).get_json()["items"]}

    assert slugs("stage=consultation") == {b.slug}
    assert slugs("department=jyj") == {b.slug}
    assert slugs("category=water") == {a.slug}
    assert slugs(f"year={a.created_at.year}") == {a.slug, b.slug}
    assert slugs("year=2001") == set()
    data = client.get("/api/v1/decisions?sort=title&per_page=1&page=2").get_json()
    assert data["per_page"] == 1
    assert data["total"] == 2
    assert len(data["items"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        "stage=nonsense",
        "category=<script>",
        "department=no%20such",
        "department=unknown",
        "year=1800",
        "year=abc",
        "sort=created_at",
        "page=0",
        "page=abc",
        "per_page=1000",
        "per_page=-5",
    ],
)
def test_bad_parameters_are_422_in_the_error_shape(client, query):
    response = client.get("/api/v1/decisions?" + query)
    assert response.status_code == 422
    data = response.get_json()
    assert data["error"]["code"] == "invalid"
    assert data["error"]["message"]
    assert "<script>" not in response.get_data(as_text=True)


def test_detail_and_versions(client, make_decision, official):
    decision = make_decision(versions=2, legal_basis="《价格法》", responsible=[official])
    detail = client.get(f"/api/v1/decisions/{decision.slug}").get_json()
    assert detail["legal_basis"] == "《价格法》"
    assert detail["responsible"] == [official.display_name]
    assert detail["current_version"] == 2
    assert [v["number"] for v in detail["versions"]] == [1, 2]
    versions = client.get(f"/api/v1/decisions/{decision.slug}/versions").get_json()["items"]
    assert [v["number"] for v in versions] == [1, 2]
    articles = versions[1]["articles"]
    assert [a["anchor"] for a in articles] == ["art-1", "art-2", "art-2-p1", "art-2-p2", "art-3", "art-4"]
    assert articles[0] == {"anchor": "art-1", "label": "第一条", "text": "第一条 为了规范管理，制定本办法。"}
    assert "3.21" in versions[1]["body"]


def test_drafts_are_not_in_the_versions(client, make_decision):
    decision = make_decision(versions=2, draft=True)
    versions = client.get(f"/api/v1/decisions/{decision.slug}/versions").get_json()["items"]
    assert [v["number"] for v in versions] == [1]


def test_hidden_and_unknown_decisions_are_404(client, make_decision, login, official):
    hidden = make_decision(versions=1, draft=True)
    for url in (
        f"/api/v1/decisions/{hidden.slug}",
        f"/api/v1/decisions/{hidden.slug}/versions",
        "/api/v1/decisions/nope",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    login(official)
    assert client.get(f"/api/v1/decisions/{hidden.slug}").status_code == 200


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/decisions", "/api/v1/decisions/{slug}", "/api/v1/decisions/{slug}/versions"):
        assert path in paths
    params = {p["name"] for p in paths["/api/v1/decisions"]["get"]["parameters"]}
    assert {"stage", "department", "category", "year", "sort", "page", "per_page"} <= params
