"""Providers for the records that exist: decisions (and the others when their models are present).

Each provider answers None for anything that must not be found: a decision still in drafting
with no published version, a withdrawn decision; only published versions are read.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from portal.auth.models import Department
from portal.core.extensions import db
from portal.decisions.models import CATEGORIES, Decision, DraftVersion, Stage
from portal.search.registry import Document, Provider, register_provider


def link(endpoint: str, fallback: str, anchor: str = "", **values) -> str:
    """``url_for`` when the endpoint exists (its feature may be missing), else ``fallback``."""
    try:
        url = url_for(endpoint, **values)
    except (BuildError, RuntimeError):  # no such endpoint, or no request to build from
        url = fallback
    return f"{url}#{anchor}" if anchor else url


def changed(instance, *names: str) -> bool:
    """Whether a flushed instance is new, deleted, or had one of ``names`` changed."""
    state = inspect(instance)
    if state.deleted or state.was_deleted or not state.has_identity or state.pending:
        return True
    if not names:
        return True
    return any(state.attrs[name].history.has_changes() for name in names if name in state.attrs)


# Decisions


def decision_document(decision: Decision) -> Document | None:
    """The public document of a decision, or None while it must not be found."""
    if decision.stage == Stage.WITHDRAWN.value:
        return None
    published = decision.published_versions
    if not published:
        return None
    department = decision.department
    texts = []
    for version in published:
        texts.append(version.body or "")
        texts.append(version.explanation or "")
    summary = " ".join((decision.summary or "").split())
    # An imported decision's summary is the start of its text: shown once, not twice in snippets.
    if summary and " ".join(" ".join(texts).split()).find(summary.rstrip("…")[:60]) == -1:
        texts.insert(0, summary)
    extra = [
        department.name if department else "",
        department.name_en or "" if department else "",
        str(CATEGORIES.get(decision.category, "")),
        decision.document_number or "",
    ]
    dates = [v.published_at for v in published if v.published_at is not None]
    return Document(
        id=decision.id,
        title=decision.title,
        body="\n".join(t for t in texts if t),
        extra="\n".join(t for t in extra if t),
        date=min(dates) if dates else decision.created_at,
        department=department.code if department else None,
        stage=decision.stage,
        decision=decision.slug,
        ref=decision.slug,
    )


def _decision_ids_affected(instance) -> Iterable[int]:
    if isinstance(instance, Decision):
        return [instance.id] if instance.id is not None else []
    if isinstance(instance, DraftVersion):
        return [instance.decision_id] if instance.decision_id is not None else []
    if isinstance(instance, Department) and instance.id is not None and changed(instance, "name", "code"):
        session = inspect(instance).session
        if session is None:
            return []
        return session.scalars(select(Decision.id).where(Decision.department_id == instance.id)).all()
    return []


def _load_decisions(ids: list[int]) -> dict[int, Document | None]:
    rows = db.session.scalars(
        select(Decision).where(Decision.id.in_(ids)).options(selectinload(Decision.versions))
    ).all()
    return {d.id: decision_document(d) for d in rows}


def _all_decision_ids() -> Iterable[int]:
    return db.session.scalars(select(Decision.id).order_by(Decision.id)).all()


def _decision_url(hit: dict) -> str:
    slug = hit.get("ref") or hit.get("decision") or ""
    return link("decisions.detail", f"/decisions/{slug}", slug=slug)


DECISIONS = Provider(
    type="decision",
    models=(Decision, DraftVersion, Department),
    affected=_decision_ids_affected,
    load=_load_decisions,
    all_ids=_all_decision_ids,
    url=_decision_url,
)


# Published comments with their responses (the consultation feature)


def comment_provider() -> Provider | None:
    """The provider of published comments, when the consultation feature is installed."""
    try:
        from portal.consultation.models import Comment, CommentStatus, Consultation, Response
    except ImportError:
        return None

    def affected(instance) -> Iterable[int]:
        if isinstance(instance, Comment):
            # Never published, never indexed: a new (pending) comment queues nothing, which keeps
            # index work off the comment intake path (issue 8 surge).
            return [instance.id] if instance.published_at is not None else []
        if isinstance(instance, Response):
            return [instance.comment_id]
        if (
            isinstance(instance, Decision)
            and instance.id is not None
            and changed(instance, "title", "slug", "department_id")
        ):
            session = inspect(instance).session
            if session is None:
                return []
            return session.scalars(
                select(Comment.id).join(Consultation).where(Consultation.decision_id == instance.id)
            ).all()
        return []

    def load(ids: list[int]) -> dict[int, Document | None]:
        rows = db.session.scalars(
            select(Comment)
            .where(Comment.id.in_(ids))
            .options(selectinload(Comment.response), selectinload(Comment.consultation))
        ).all()
        decisions = {
            d.id: d
            for d in db.session.scalars(
                select(Decision).where(Decision.id.in_({c.consultation.decision_id for c in rows}))
            )
        }
        found: dict[int, Document | None] = {}
        for comment in rows:
            decision = decisions.get(comment.consultation.decision_id)
            if comment.status != CommentStatus.PUBLISHED.value or decision is None:
                found[comment.id] = None  # pending, rejected, withdrawn: never searchable
                continue
            texts = [comment.body]
            if comment.response is not None:
                texts += [comment.response.disposition_label, comment.response.reason]
            found[comment.id] = Document(
                id=comment.id,
                title=f"对《{decision.title}》的意见",
                title_indexed=False,
                body="\n".join(t for t in texts if t),
                extra=comment.article_label or "",
                date=comment.published_at or comment.created_at,
                department=decision.department.code if decision.department else None,
                decision=decision.slug,
                ref=f"{decision.slug}#c-{comment.tracking_number}",
            )
        return found

    def all_ids() -> Iterable[int]:
        return db.session.scalars(
            select(Comment.id).where(Comment.status == CommentStatus.PUBLISHED.value).order_by(Comment.id)
        ).all()

    def url(hit: dict) -> str:
        slug, _, anchor = (hit.get("ref") or "").partition("#")
        return link("decisions.detail", f"/decisions/{slug}", anchor, slug=slug)

    return Provider(type="comment", models=(Comment, Response, Decision), affected=affected, load=load,
                    all_ids=all_ids, url=url)  # fmt: skip


def register_all() -> None:
    """Register the providers whose models exist."""
    register_provider(DECISIONS)
    comments = comment_provider()
    if comments is not None:
        register_provider(comments)
    from portal.search.providers_more import register_more  # hearings, releases, reviews, reports

    register_more()
