"""Factories for consultation tests: decisions with a published version and articles, consultations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.consultation import operations
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftArticle, DraftVersion, Stage, VersionStatus

ARTICLES = [
    ("第一条", "为促进节约用水,制定本办法。"),
    ("第二条", "居民生活用水实行阶梯水价,第一档年用水量 180 立方米以内。"),
    ("第三条", "对低保家庭每户每月减免 5 立方米水费。"),
]


@pytest.fixture
def department(make_department):
    return make_department()


@pytest.fixture
def official(make_user, department):
    return make_user(Role.OFFICIAL, department=department, name="承办人员")


@pytest.fixture
def other_official(make_user, make_department):
    return make_user(Role.OFFICIAL, department=make_department(), name="别的单位")


@pytest.fixture
def citizen(make_user):
    return make_user(Role.CITIZEN, name="张小红")


@pytest.fixture
def make_decision(db, department, official):
    """``make_decision(slug=..., articles=[(label, text)], stage="drafting")``: a published version, committed."""
    counter = iter(range(1, 10_000))

    def make(*, slug: str | None = None, articles=ARTICLES, stage: str = Stage.DRAFTING.value, published=True):
        n = next(counter)
        decision = Decision(
            slug=slug or f"test-decision-{n}",
            title=f"关于测试事项的决定{n}",
            summary="测试摘要",
            department=department,
            category="water",
            legal_basis="",
            stage=stage,
            created_by_id=official.id,
        )
        db.session.add(decision)
        db.session.flush()
        version = DraftVersion(
            decision=decision,
            number=1,
            body="\n\n".join(f"{label} {text}" for label, text in articles),
            explanation="起草说明",
            change_note="",
            status=VersionStatus.PUBLISHED.value if published else VersionStatus.DRAFT.value,
            published_at=utcnow() if published else None,
            created_by_id=official.id,
        )
        db.session.add(version)
        db.session.flush()
        for position, (label, text) in enumerate(articles, start=1):
            db.session.add(
                DraftArticle(version=version, anchor=f"art-{position}", label=label, position=position, text=text)
            )
        db.session.commit()
        db.session.refresh(decision)
        return decision

    return make


@pytest.fixture
def make_consultation(db, make_decision, official):
    """``make_consultation(started_days_ago=1, days=30, reason=None)``: an open consultation, committed."""

    def make(decision=None, *, started_days_ago: float = 1, days: float = 30, reason: str | None = None):
        decision = decision or make_decision()
        start = utcnow() - timedelta(days=started_days_ago)
        consultation = operations.open_consultation(
            official,
            decision,
            starts_at=start,
            ends_at=start + timedelta(days=days),
            emergency_reason=reason,
            now=start,
        )
        db.session.commit()
        return consultation

    return make


@pytest.fixture
def make_comment(db, citizen, make_user):
    """``make_comment(consultation, body=..., author=None, article=None, publish_by=None)``, committed."""

    def make(
        consultation,
        body="建议第一档水量提高到 200 立方米。",
        *,
        author=None,
        article=None,
        anonymous=False,
        publish_by=None,
    ):
        comment = operations.submit_comment(
            author or make_user(Role.CITIZEN), consultation, body=body, article_anchor=article, anonymous=anonymous
        )
        if publish_by is not None:
            operations.publish_comment(publish_by, comment)
        db.session.commit()
        return comment

    return make
