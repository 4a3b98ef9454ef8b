"""Pages and API of the accountability record, person lookup, archive download and checkpoints."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from portal.accountability.archive import verify_archive
from portal.accountability.models import Checkpoint
from portal.decisions.models import Stage
from tests.accountability.conftest import DISSENT


@pytest.mark.parametrize(
    "path",
    [
        "/decisions/no-such-thing/accountability",
        "/decisions/no-such-thing/archive.zip",
        "/people/999999",
        "/people/0",
        "/people/99999999999999999999",
        "/api/v1/people/99999999999999999999",
        "/api/v1/decisions/no-such-thing/accountability",
        "/api/v1/decisions/no-such-thing/ledger",
        "/api/v1/people/999999",
    ],
)
def test_unknown_ids_are_404(client, path):
    assert client.get(path).status_code == 404


def test_unpublished_draft_decision_does_not_exist_for_the_public(db, client, make_decision, auditor, login):
    decision = make_decision(Stage.DRAFTING)
    decision.versions[0].status = "draft"
    db.session.commit()
    assert client.get(f"/decisions/{decision.slug}/accountability").status_code == 404
    assert client.get(f"/decisions/{decision.slug}/archive.zip").status_code == 404
    login(auditor)
    assert client.get(f"/decisions/{decision.slug}/accountability").status_code == 200


def test_person_page_and_search(db, client, walk, people, citizen):
    decision = walk()
    dissenter = people["leaders"][2]
    page = client.get("/people?q=郑副").get_data(as_text=True)
    assert f'href="/people/{dissenter.id}"' in page
    person = client.get(f"/people/{dissenter.id}").get_data(as_text=True)
    assert decision.title in person
    assert "持不同意见" in person
    assert DISSENT not in person
    assert client.get(f"/people/{citizen.id}").status_code == 404  # not someone with a public role
    long_query = client.get("/people?q=" + "长" * 5000)
    assert long_query.status_code == 200


def test_archive_download(db, client, walk):
    decision = walk()
    response = client.get(f"/decisions/{decision.slug}/archive.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f"{decision.slug}-archive.zip" in response.headers["Content-Disposition"]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert verify_archive(io.BytesIO(response.data)) == []


def test_decision_page_links_record_and_archive(db, client, walk):
    decision = walk()
    page = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert f"/decisions/{decision.slug}/accountability" in page
    assert f"/decisions/{decision.slug}/archive.zip" in page


def test_checkpoints_page_takes_the_daily_checkpoint(db, client, walk):
    walk()
    page = client.get("/checkpoints").get_data(as_text=True)
    assert "trace verify --checkpoint" in page
    assert db.session.scalar(select(func.count(Checkpoint.id)).where(Checkpoint.reason == "daily")) == 1


def test_api_accountability_and_ledger(db, client, walk, people):
    decision = walk()
    data = client.get(f"/api/v1/decisions/{decision.slug}/accountability").get_json()
    assert data["chain"]["ok"] is True
    roles = {i["role"] for i in data["items"]}
    assert {"drafter", "expert", "legal_reviewer", "leader", "head", "override", "publisher"} <= roles
    dissent = [i for i in data["items"] if i["dissent"] and i["role"] == "leader"]
    assert dissent[0]["person"]["name"] == people["leaders"][2].display_name
    assert all(i["entry"]["hash"] for i in data["items"] if i["entry"])
    ledger = client.get(f"/api/v1/decisions/{decision.slug}/ledger?per_page=100").get_json()
    assert ledger["total"] >= 10
    internal = [e for e in ledger["items"] if e["visibility"] == "internal"]
    assert internal
    assert all(e["payload"] is None and e["actor"] is None for e in internal)
    assert all(len(e["hash"]) == 64 for e in ledger["items"])
    assert client.get(f"/api/v1/decisions/{decision.slug}/ledger?per_page=0").status_code == 422


def test_api_person_checkpoints_and_status(db, client, walk, people):
    walk()
    person = client.get(f"/api/v1/people/{people['leaders'][2].id}").get_json()
    assert person["decisions"][0]["dissent"] is True
    checkpoints = client.get("/api/v1/checkpoints").get_json()
    assert {c["reason"] for c in checkpoints["items"]} >= {"publication", "daily"}
    assert checkpoints["items"][0]["token"].count(":") == 1
    status = client.get("/api/v1/ledger/status").get_json()
    assert status["ok"] is True
    assert len(status["head_hash"]) == 64


def test_openapi_documents_the_new_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/releases",
        "/api/v1/decisions/{slug}/publication",
        "/api/v1/decisions/{slug}/accountability",
        "/api/v1/decisions/{slug}/ledger",
        "/api/v1/people/{user_id}",
        "/api/v1/checkpoints",
        "/api/v1/decisions/{slug}/implementation",
    ):
        assert path in spec["paths"], path
