"""Search fixtures: decisions written straight as rows, the queue applied on demand, a fresh index.

Every test's index lives in its own instance folder (``tmp_path``); the thread's cached
searcher is closed after each test so no file stays open.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftVersion, Stage
from portal.search import index as ixmod
from portal.search import service
from portal.search.index import Store
from portal.search.query import parse
from portal.search.queue import apply_pending
from portal.search.service import Filters


@pytest.fixture(autouse=True)
def _close_searchers():
    yield
    ixmod.close_searcher()


@pytest.fixture
def store(app) -> Store:
    return Store.for_app(app)


@pytest.fixture
def department(make_department):
    return make_department(code="swj", name="市水务局")


@pytest.fixture
def make_decision(db, department):
    """``make_decision(title, body, published=True, stage=..., when=datetime, department=...)`` -> committed."""
    counter = itertools.count(1)

    def make(
        title: str,
        body: str = "",
        *,
        published: bool = True,
        stage: str = Stage.CONSULTATION.value,
        when: datetime | None = None,
        summary: str = "",
        dept=None,
        category: str = "other",
        slug: str | None = None,
    ) -> Decision:
        n = next(counter)
        when = when or utcnow()
        decision = Decision(
            slug=slug or f"search-test-{n}",
            title=title,
            summary=summary,
            department_id=(dept or department).id,
            category=category,
            stage=stage,
            created_at=when,
        )
        decision.versions.append(
            DraftVersion(
                number=1,
                body=body or title,
                status="published" if published else "draft",
                published_at=when if published else None,
            )
        )
        db.session.add(decision)
        db.session.commit()
        return decision

    return make


@pytest.fixture
def index_now(app, store):
    """Apply the queue now (as the web process does after a response)."""

    def run():
        return apply_pending(wait=True, store=store)

    return run


@pytest.fixture
def find(app, index_now):
    """``find(q, **filters)`` -> Outcome, after applying the queue; runs in a request context."""

    def run(q: str, *, sort: str = "relevance", page: int = 1, per_page: int = 10, **filters):
        index_now()
        with app.test_request_context():
            return service.search(parse(q), Filters(**filters), sort=sort, page=page, per_page=per_page)

    return run
