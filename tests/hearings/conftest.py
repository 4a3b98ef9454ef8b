"""Factories for hearing tests: a department with its official, a public decision, hearings at
each point of their life, registrants, and a clock to step past windows and deadlines."""

from __future__ import annotations

import io
from datetime import timedelta
from fractions import Fraction

import pytest
from werkzeug.datastructures import FileStorage

from portal.auth.models import Role
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.hearings import operations
from portal.hearings.models import Position, clock_set_to
from portal.hearings.operations import CategorySpec

from ..conftest import PASSWORD as PASSWORD_FOR_TESTS  # noqa: F401 (re-exported for the view tests)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

CATEGORIES = [
    CategorySpec("consumers", "消费者", 6, Fraction(2, 5)),
    CategorySpec("operators", "经营者", 3),
    CategorySpec("experts", "专家学者", 2),
    CategorySpec("others", "其他", 1),
]


def hearing_fields(now=None, **overrides) -> dict:
    """Valid arguments for ``create_hearing``: registration open now, closes in 5 days, hearing in 20."""
    now = now or utcnow()
    fields = {
        "title": "水价调整听证会",
        "purpose": "听取各方对水价调整方案的意见。",
        "agenda": "1. 介绍方案\n2. 发言",
        "starts_at": now + timedelta(days=20),
        "ends_at": now + timedelta(days=20, hours=3),
        "place": "市政务中心听证室",
        "stream_url": None,
        "observer_seats": 3,
        "registration_opens_at": now - timedelta(hours=1),
        "registration_closes_at": now + timedelta(days=5),
        "selection_method": "按类别公开抽选,报名人数不超过席位数的全部入选。",
        "categories": list(CATEGORIES),
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def department(make_department):
    return make_department()


@pytest.fixture
def official(make_user, department):
    return make_user(Role.OFFICIAL, department=department, name="承办人")


@pytest.fixture
def foreign_official(make_user, make_department):
    return make_user(Role.OFFICIAL, department=make_department(), name="外单位")


@pytest.fixture
def make_decision(db, official):
    """A decision of ``official``'s department with one published version (public)."""

    def make(*, stage: str = "consultation", published: bool = True, slug: str | None = None):
        decision = decision_ops.create_decision(
            official, department=official.departments[0], title="关于调整水价的决定", slug=slug or ""
        )
        if published:
            version = decision_ops.create_version(official, decision, body="第一条 水价调整。\n\n第二条 施行。")
            decision_ops.publish_version(official, version)
        decision.stage = stage
        db.session.commit()
        return decision

    return make


@pytest.fixture
def decision(make_decision):
    return make_decision()


def add_pdf(actor, hearing, title: str = "成本监审报告"):
    return operations.add_material(actor, hearing, FileStorage(io.BytesIO(PDF), filename=f"{title}.pdf"), title=title)


@pytest.fixture
def make_hearing(db, official, decision):
    """``make_hearing(publish=True, materials=True, **fields)`` -> a committed hearing."""

    def make(*, publish: bool = True, materials: bool = True, on=None, **overrides):
        hearing = operations.create_hearing(official, on or decision, **hearing_fields(**overrides))
        if materials:
            add_pdf(official, hearing)
        if publish:
            operations.publish_hearing(official, hearing)
        db.session.commit()
        return hearing

    return make


@pytest.fixture
def hearing(make_hearing):
    return make_hearing()


@pytest.fixture
def citizens(make_user):
    """``citizens(n)`` -> n fresh citizen accounts."""

    def make(n: int):
        return [make_user(Role.CITIZEN) for _ in range(n)]

    return make


def register(user, hearing, category: str = "consumers", position: str = Position.OPPOSE.value, **extra):
    fields = {
        "category_code": category,
        "real_name": f"实名{user.id}",
        "contact": f"1390000{user.id:04d}",
        "public_name": "",
        "position": position,
        "statement": "我的观点。",
        "has_interest": False,
        "interest_declaration": "",
        "accessibility_needs": "",
    }
    fields.update(extra)
    return operations.register(user, hearing, **fields)


def after_close(hearing, minutes: int = 1):
    """A clock just after registration closed (the draw may run then)."""
    return clock_set_to(hearing.registration_closes_at + timedelta(minutes=minutes))


@pytest.fixture
def drawn_hearing(db, hearing, official, citizens):
    """A drawn hearing: 8 consumers (6 seats), 2 operators (3), 1 expert (2), 2 others (1)."""
    people = citizens(13)
    plan = ["consumers"] * 8 + ["operators"] * 2 + ["experts"] + ["others"] * 2
    positions = [Position.OPPOSE.value, Position.SUPPORT.value, Position.NEUTRAL.value]
    for i, (user, code) in enumerate(zip(people, plan, strict=True)):
        register(user, hearing, code, positions[i % 3])
    db.session.commit()
    with after_close(hearing):
        operations.run_draw(official, hearing)
    db.session.commit()
    return hearing
