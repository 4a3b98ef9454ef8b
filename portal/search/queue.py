"""Freshness: index work is queued with the change, and one writer applies it after commit.

* ``after_flush`` (on every SQLAlchemy Session) looks at the instances the flush inserted,
  changed or deleted; for each registered class it asks the providers which documents are
  affected and inserts ``search_queue`` rows through the flush's own connection, so the rows
  commit or roll back with the change itself.
* ``apply_pending`` is the single writer: it takes ``writer.lock`` (flock, non-blocking in web
  processes: when another process holds it, that process will see our rows), reads queued
  rows, rebuilds those documents from the database, commits the index, and only then deletes
  the rows it applied. A crash between the index commit and the delete re-applies the same
  rows later, which is harmless.
* Web processes call it after the response has been sent (``response.call_on_close``) when
  their request committed queue rows; ``flask --app app search worker`` polls instead.

Bulk statements (``session.execute(update(...))``) bypass the ORM flush and are not seen:
queue the keys with ``enqueue_keys`` or run a reindex after them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from portal.core.extensions import db
from portal.core.models import utcnow
from portal.search.index import IndexUnavailable, Store, apply_changes
from portal.search.models import SearchQueueItem
from portal.search.registry import make_key, provider, providers_for, split_key

log = logging.getLogger("portal.search")

#: Rows applied per index commit.
BATCH = 500
_PENDING = "portal_search_enqueued"
_installed = False


def install() -> None:
    """Listen to every Session's flushes (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)
    _installed = True


def affected_keys(instances: Iterable) -> set[str]:
    """Document keys affected by changes to ``instances``."""
    keys: set[str] = set()
    for instance in instances:
        for prov in providers_for(instance):
            try:
                ids = prov.affected(instance)
            except Exception:  # never fail the user's change over search bookkeeping
                log.exception("search: %s could not name the documents %r affects", prov.type, instance)
                continue
            keys.update(make_key(prov.type, i) for i in ids if i is not None)
    return keys


def _after_flush(session: Session, _flush_context) -> None:
    changed = [obj for obj in session.dirty if providers_for(obj) and session.is_modified(obj)]
    keys = affected_keys([*session.new, *changed, *session.deleted])
    if keys:
        enqueue_keys(keys, session=session)


def enqueue_keys(keys: Iterable[str], *, session: Session | None = None) -> int:
    """Queue ``keys`` in the session's current transaction; returns how many."""
    session = session or db.session
    now = utcnow()
    rows = [{"doc_key": key, "enqueued_at": now} for key in sorted(set(keys))]
    if not rows:
        return 0
    session.connection().execute(insert(SearchQueueItem.__table__), rows)
    session.info[_PENDING] = True
    return len(rows)


def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False) and has_request_context():
        _schedule_after_response()


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _schedule_after_response() -> None:
    from flask import g

    g.portal_search_drain = True


def install_request_hook(app: Flask) -> None:
    """After a request whose transaction queued index work, drain the queue once the response is sent."""

    @app.after_request
    def _drain_after_response(response):
        from flask import g

        if not getattr(g, "portal_search_drain", False) or not app.config.get("SEARCH_DRAIN_AFTER_RESPONSE", True):
            return response
        g.portal_search_drain = False
        target = current_app._get_current_object()

        def drain() -> None:
            try:
                with target.app_context():
                    apply_pending(wait=False)
            except Exception:
                log.exception("search: applying the queue after a response failed; rows stay queued")

        response.call_on_close(drain)
        return response


@dataclass
class DrainResult:
    """What one ``apply_pending`` call did; ``locked`` is False when another writer was busy."""

    locked: bool
    rows: int = 0
    written: int = 0
    removed: int = 0
    unavailable: str | None = None


def backlog() -> int:
    """Queued rows not yet applied."""
    return db.session.scalar(select(func.count(SearchQueueItem.id))) or 0


def load_documents(keys: Iterable[str]) -> list[tuple[str, str, object]]:
    """``(key, type, Document or None)`` for ``keys``, built from the database now."""
    by_type: dict[str, list[int]] = {}
    for key in keys:
        parts = split_key(key)
        if parts is None:
            continue
        by_type.setdefault(parts[0], []).append(parts[1])
    changes: list[tuple[str, str, object]] = []
    for doc_type, ids in by_type.items():
        prov = provider(doc_type)
        ids = sorted(set(ids))
        docs = prov.load(ids) if prov is not None else {}
        changes.extend((make_key(doc_type, i), doc_type, docs.get(i)) for i in ids)
    return changes


def apply_pending(*, wait: bool = False, limit: int | None = None, store: Store | None = None) -> DrainResult:
    """Apply queued rows to the live index as the single writer.

    ``wait`` blocks for the writer lock (worker, CLI); otherwise, when another writer holds
    it, this returns at once with ``locked`` False. Call it after committing: it ends the
    session's transaction.
    """
    store = store or Store.for_app()
    total = DrainResult(locked=False)
    for _attempt in range(3):
        with store.writer_lock(blocking=wait) as locked:
            if not locked:
                return total
            result = drain_locked(store, limit=limit)
        total.locked = True
        total.rows += result.rows
        total.written += result.written
        total.removed += result.removed
        total.unavailable = result.unavailable
        if result.unavailable or limit is not None:
            break
        # A process that committed rows while we held the lock found it taken and left them to
        # us; it committed before trying, so a look after releasing sees them.
        pending = db.session.scalar(select(SearchQueueItem.id).limit(1)) is not None
        db.session.rollback()
        if not pending:
            break
    return total


def drain_locked(store: Store, *, limit: int | None = None) -> DrainResult:
    """``apply_pending`` for a caller that holds the writer lock.

    When no index exists yet, one is built from the database (a first start); a damaged index
    is left alone (``search reindex`` repairs it) and the rows stay queued.
    """
    result = DrainResult(locked=True)
    if not store.exists():
        db.session.rollback()
        from portal.search.service import rebuild

        # One process: this may run in a threaded web worker, where forking is unsafe.
        built = rebuild(store=store, locked=True, procs=1)
        result.rows += built.applied
        return result
    try:
        ix = store.open()
    except IndexUnavailable as exc:
        db.session.rollback()
        result.unavailable = exc.reason
        log.warning("search: index unavailable (%s); queued rows wait for a reindex", exc)
        return result
    try:
        while limit is None or result.rows < limit:
            rows = db.session.execute(
                select(SearchQueueItem.id, SearchQueueItem.doc_key).order_by(SearchQueueItem.id).limit(BATCH)
            ).all()
            if not rows:
                db.session.rollback()
                break
            changes = load_documents(row.doc_key for row in rows)
            # End the read before the (slower) index write so no database lock is held meanwhile.
            db.session.rollback()
            written, removed = apply_changes(ix, changes)
            db.session.execute(delete(SearchQueueItem).where(SearchQueueItem.id.in_([r.id for r in rows])))
            db.session.commit()
            result.rows += len(rows)
            result.written += written
            result.removed += removed
    finally:
        ix.close()
    return result
