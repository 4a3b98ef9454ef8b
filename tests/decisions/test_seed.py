"""The demo step: two realistic decisions, created once."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.core.seed import seed_accounts
from portal.decisions.attachments import attachments_for
from portal.decisions.diff import diff_texts
from portal.decisions.models import Decision
from portal.decisions.seed import EDUCATION_SLUG, WATER_SLUG, seed_decisions


def test_seed_creates_the_demo_decisions_once(app, db):
    list(seed_accounts())
    lines = list(seed_decisions())
    assert any(WATER_SLUG in line for line in lines)
    assert list(seed_decisions()) == []  # idempotent
    assert db.session.scalar(select(func.count(Decision.id))) == 2

    water = db.session.scalar(select(Decision).where(Decision.slug == WATER_SLUG))
    assert water.department.code == "swj"
    assert water.category == "water"
    assert water.affects_stability
    assert water.stage == "consultation"
    assert [v.number for v in water.published_versions] == [1, 2, 3]
    assert [a.anchor for a in water.current_version.articles][:2] == ["art-1", "art-2"]
    changes = diff_texts(water.versions[0].body, water.versions[2].body)
    assert changes.count("changed") >= 3
    assert changes.count("added") == 1
    assert len(attachments_for("decision", water.id)) == 1

    education = db.session.scalar(select(Decision).where(Decision.slug == EDUCATION_SLUG))
    assert education.department.code == "jyj"
    assert education.category == "education"
    assert education.stage == "consultation"
    assert "sec-2-p3-1" in [a.anchor for a in education.current_version.articles]
