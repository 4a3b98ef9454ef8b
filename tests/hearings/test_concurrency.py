"""Simultaneous requests on a real, committing database (SQLite file or PostgreSQL schema):
double clicks never make two registrations, a rush of observers never overbooks, and no request
ever fails with a 500."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth import operations as auth_ops
from portal.auth.models import Role, user_by_email
from portal.core.extensions import db
from portal.decisions import operations as decision_ops
from portal.hearings import operations
from portal.hearings.models import Hearing, HearingDraw, Observer, Registration, clock_set_to

from ..conftest import PASSWORD
from .conftest import add_pdf, hearing_fields


@pytest.fixture
def world(committing_app):
    """A published hearing with ``observer_seats=5`` and 12 citizens, all committed."""
    with committing_app.app_context():
        department = auth_ops.create_department(None, code="swj", name="水务局")
        official = auth_ops.create_user(
            None,
            email="official@example.cn",
            display_name="承办人",
            password=PASSWORD,
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        decision = decision_ops.create_decision(official, department=department, title="水价")
        decision_ops.publish_version(official, decision_ops.create_version(official, decision, body="第一条 水价。"))
        hearing = operations.create_hearing(official, decision, **hearing_fields(observer_seats=5))
        add_pdf(official, hearing)
        operations.publish_hearing(official, hearing)
        emails = []
        for i in range(12):
            user = auth_ops.create_user(
                None,
                email=f"c{i}@example.cn",
                display_name=f"市民{i}",
                password=PASSWORD,
                roles=[Role.CITIZEN],
                departments=[],
                confirmed=True,
            )
            emails.append(user.email)
        hearing_id = hearing.id
        db.session.commit()
    # Outside the app context: no session of the test holds a transaction (or SQLite's write lock).
    return committing_app, hearing_id, emails


def _logged_in(app, email):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _at_once(clients, send):
    """Start every request at the same moment; return the status codes."""
    barrier = threading.Barrier(len(clients))
    statuses, errors = [], []

    def work(client):
        try:
            barrier.wait()
            statuses.append(send(client).status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return Counter(statuses)


def test_parallel_double_submission_makes_exactly_one_registration(world):
    app, hearing_id, emails = world
    clients = [_logged_in(app, emails[0]) for _ in range(6)]  # one person, six tabs, one click each
    form = {
        "category": "consumers",
        "real_name": "市民零",
        "contact": "13900000000",
        "position": "oppose",
        "statement": "意见",
    }
    statuses = _at_once(clients, lambda c: c.post(f"/hearings/{hearing_id}/register", data=form))
    assert statuses[302] == 1, statuses
    assert statuses[409] == 5, statuses
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 1


def test_many_simultaneous_observers_never_overbook(world):
    app, hearing_id, emails = world
    clients = [_logged_in(app, email) for email in emails]
    statuses = _at_once(
        clients, lambda c: c.post(f"/hearings/{hearing_id}/observe", data={"real_name": "旁听", "contact": "1"})
    )
    assert statuses[302] == 5, statuses
    assert statuses[409] == 7, statuses
    with app.app_context():
        seats = db.session.scalars(select(Observer.seat_no).where(Observer.status == "booked")).all()
        assert sorted(seats) == [1, 2, 3, 4, 5]


def test_parallel_draw_requests_draw_once(world):
    app, hearing_id, emails = world
    with app.app_context():
        hearing = db.session.get(Hearing, hearing_id)
        closes = hearing.registration_closes_at
        for email in emails[:4]:
            operations.register(
                user_by_email(email),
                hearing,
                category_code="consumers",
                real_name="x",
                contact="1",
                public_name="",
                position="support",
                statement="x",
                has_interest=False,
                interest_declaration="",
            )
        db.session.commit()
    clients = [_logged_in(app, "official@example.cn") for _ in range(4)]

    def draw(client):
        with clock_set_to(closes + timedelta(minutes=1)):
            return client.post(f"/hearings/{hearing_id}/draw")

    statuses = _at_once(clients, draw)
    assert statuses[302] == 1, statuses
    assert statuses[409] == 3, statuses
    with app.app_context():
        assert db.session.scalar(select(func.count(HearingDraw.id))) == 1
