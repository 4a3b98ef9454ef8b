"""The public availability page and API (both languages), and the admin's probe history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.availability import operations
from portal.core.models import utcnow


def _outage_with_extension(db, make_consultation, add_probes):
    consultation = make_consultation(started_days_ago=5, days=30)
    add_probes(utcnow() - timedelta(hours=3), "." + "x" * 44 + ".")  # 45 minutes
    operations.detect_outages()
    operations.apply_extensions()
    db.session.commit()
    return consultation


def test_page_lists_outages_and_extensions_in_chinese(client, db, make_consultation, add_probes):
    consultation = _outage_with_extension(db, make_consultation, add_probes)
    response = client.get("/availability")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "意见提交系统运行记录" in page
    assert consultation.decision.title in page
    assert "征求意见期自动延长 1 小时" in page
    assert "(超过限度)" in page
    assert "Beijing time" not in page


def test_page_in_english(client, db, make_consultation, add_probes):
    _outage_with_extension(db, make_consultation, add_probes)
    client.set_cookie("lang", "en")
    page = client.get("/availability").get_data(as_text=True)
    assert "Comment intake availability" in page
    assert "extended automatically by 1 hour" in page
    assert "征求意见期自动延长" not in page


def test_page_without_outages(client):
    page = client.get("/availability").get_data(as_text=True)
    assert "没有记录到无法提交意见的情况。" in page
    assert 'href="/availability"' in page  # linked from the footer


def test_api_in_both_languages(client, db, make_consultation, add_probes):
    consultation = _outage_with_extension(db, make_consultation, add_probes)
    body = client.get("/api/v1/availability").get_json()
    assert body["threshold_minutes"] == 30
    assert body["rounding_minutes"] == 60
    assert body["last_probe_ok"] is True
    assert body["total"] == 1
    outage = body["items"][0]
    assert outage["duration_minutes"] == 45
    assert outage["over_threshold"] is True
    assert outage["failed_probes"] == 44
    [ext] = outage["extensions"]
    assert ext["decision"] == consultation.decision.slug
    assert ext["outcome"] == "extended"
    assert ext["minutes"] == 60
    assert "北京时间" in ext["reason"]
    client.set_cookie("lang", "en")
    body = client.get("/api/v1/availability").get_json()
    assert "Beijing time" in body["items"][0]["extensions"][0]["reason"]


@pytest.mark.parametrize("query", ["page=0", "page=abc", "per_page=1000", "unknown=1", "page=99999999999"])
def test_api_rejects_bad_queries_with_the_error_shape(client, query):
    response = client.get(f"/api/v1/availability?{query}")
    assert response.status_code in (400, 422)
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_api_page_past_the_end_is_empty(client):
    body = client.get("/api/v1/availability?page=5").get_json()
    assert body["items"] == []
    assert body["total"] == 0


def test_admin_sees_probe_history(client, make_user, login, add_probes):
    add_probes(utcnow() - timedelta(minutes=5), ".x.")
    login(make_user(Role.ADMIN))
    response = client.get("/admin/availability")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Connection refused" in page
    assert page.count("<td>异常</td>") == 1
    assert page.count("<td>正常</td>") == 2


def test_citizen_may_not_see_probe_history(client, make_user, login):
    login(make_user(Role.CITIZEN))
    assert client.get("/admin/availability").status_code == 403
