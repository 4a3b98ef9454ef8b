"""Hearing registrations of accounts whose e-mail is not confirmed: held, not drawn, released on confirmation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.auth import operations as auth_ops
from portal.auth.confirmation import make_token
from portal.auth.models import Role
from portal.hearings import operations, queries
from portal.hearings.models import RegistrationStatus
from portal.trace.models import TraceEntry

from .conftest import after_close, register


@pytest.fixture
def unconfirmed(make_user):
    return make_user(Role.CITIZEN, confirmed=False)


def actions(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq)))


def test_held_registration_is_not_counted_and_not_drawn(db, hearing, official, unconfirmed, citizens):
    held = register(unconfirmed, hearing)
    (counted,) = [register(user, hearing) for user in citizens(1)]
    db.session.commit()
    assert held.status == RegistrationStatus.UNCONFIRMED.value
    assert sum(queries.registration_counts(hearing).values()) == 1
    assert actions(db, "hearing.registered")[0].payload_data.get("awaiting_confirmation") is True
    with after_close(hearing):
        operations.run_draw(official, hearing)
    db.session.commit()
    db.session.refresh(held)
    db.session.refresh(counted)
    assert held.status == RegistrationStatus.UNCONFIRMED.value
    assert held.draw_rank is None
    assert counted.status == RegistrationStatus.SELECTED.value
    result = json.loads(queries.draw_of(hearing).result)
    entrants = [rid for category in result["categories"] for rid in category.get("entrants", [])]
    assert held.id not in entrants


def test_confirmation_in_time_enters_the_draw(client, db, hearing, unconfirmed):
    registration = register(unconfirmed, hearing)
    db.session.commit()
    response = client.post(f"/confirm-email/{make_token(unconfirmed)}", follow_redirects=True)
    assert response.status_code == 200
    assert "将参加抽选" in response.get_data(as_text=True)
    db.session.refresh(registration)
    assert registration.status == RegistrationStatus.REGISTERED.value
    assert len(actions(db, "registration.released")) == 1
    assert sum(queries.registration_counts(hearing).values()) == 1


def test_confirmation_after_the_deadline_does_not_enter_the_draw(client, db, hearing, unconfirmed):
    registration = register(unconfirmed, hearing)
    db.session.commit()
    with after_close(hearing):
        notices = auth_ops.confirm_email(unconfirmed)
    db.session.commit()
    assert any("不参加抽选" in str(n) for n in notices)
    db.session.refresh(registration)
    assert registration.status == RegistrationStatus.TOO_LATE.value
    assert len(actions(db, "registration.too_late")) == 1
    assert sum(queries.registration_counts(hearing).values()) == 0


def test_registering_page_tells_the_unconfirmed_user(client, db, hearing, unconfirmed, login):
    login(unconfirmed)
    response = client.post(
        f"/hearings/{hearing.id}/register",
        data={
            "category": "consumers",
            "real_name": "王五",
            "contact": "13900000000",
            "public_name": "",
            "position": "oppose",
            "statement": "我的观点。",
        },
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:2000]
    assert "请在报名截止前确认您的邮箱" in text
    assert "待确认邮箱" in text
