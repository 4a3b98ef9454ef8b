"""Whether the ledger verifies, cached so that page views never recompute the whole chain.

Two levels of cache:

- in each process, the last result is served for ``ACCOUNTABILITY_VERIFY_TTL`` seconds (60);
- across processes, the ``ledger_verification`` row keeps the last verified entry (seq and hash)
  and when the chain was last recomputed from the start.

After the TTL a look checks that the last verified entry still has the hash it had (a consistent
rewrite of anything before it must change that hash), then verifies only the entries appended
since, and stores the new head. The whole chain is recomputed only when the row is missing, when
that check fails, when the last result was broken, or when the last full pass is older than
``ACCOUNTABILITY_FULL_VERIFY_SECONDS`` (one day): that pass catches an edit below the head that
does not touch the head. ``flask --app app checkpoint`` runs a full pass too (cron). Every look
also compares the published checkpoints with the chain (one indexed join): truncation shows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from portal.accountability.models import LedgerVerification
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.trace.models import TraceEntry
from portal.trace.operations import verify

log = logging.getLogger("portal.accountability")

COLUMNS = (
    "seq, at, actor_id, actor_name, actor_roles, actor_hash, action, subject_kind, subject_id, "
    "visibility, department_id, payload, payload_hash, prev_hash, hash"
)
ROW_ID = 1


@dataclass
class ChainStatus:
    ok: bool
    head_seq: int
    head_hash: str
    checked_at: datetime
    broken_seq: int | None = None
    reason: str = ""
    #: (seq, hash) of published checkpoints that no longer match the chain.
    broken_checkpoints: list[tuple[int, str]] = field(default_factory=list)
    #: Entries recomputed by this look (0 when served from a cache).
    recomputed: int = 0
    full: bool = False

    @property
    def intact(self) -> bool:
        return self.ok and not self.broken_checkpoints


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    status: ChainStatus | None = None
    monotonic_at: float = 0.0


def _state() -> _State:
    return current_app.extensions.setdefault("portal_chain_status", _State())


def _checker():
    from portal.trace.operations import _Checker  # the ledger's own per-entry check

    return _Checker()


def verify_after(seq: int, prev_hash: str, batch: int = 5000) -> tuple[bool, int, str, int | None, str, int]:
    """Verify the entries after ``seq`` given its hash; (ok, head_seq, head_hash, broken_seq, reason, count)."""
    checker = _checker()
    conn = db.session.connection()
    expected_seq, expected_prev, count = seq + 1, prev_hash, 0
    while True:
        rows = conn.execute(
            text(f"SELECT {COLUMNS} FROM trace_entry WHERE seq > :after ORDER BY seq LIMIT :n"),  # noqa: S608
            {"after": expected_seq - 1, "n": batch},
        ).all()
        if not rows:
            return True, expected_seq - 1, expected_prev, None, "", count
        for row in rows:
            problem = checker.problem(row, expected_seq, expected_prev)
            if problem:
                return False, expected_seq - 1, expected_prev, row[0], problem, count
            expected_prev = row[-1]
            expected_seq += 1
            count += 1


def _stored_hash(seq: int) -> str | None:
    return db.session.scalar(select(TraceEntry.hash).where(TraceEntry.seq == seq))


def full_status() -> ChainStatus:
    result = verify()
    return ChainStatus(
        result.ok,
        result.head_seq,
        result.head_hash,
        utcnow(),
        result.broken_seq,
        result.reason,
        recomputed=result.count,
        full=True,
    )


def _needs_full(row: LedgerVerification | None, full_every: float) -> bool:
    if row is None or not row.ok:
        return True
    if utcnow() - row.full_verified_at >= timedelta(seconds=full_every):
        return True
    return row.head_seq != 0 and _stored_hash(row.head_seq) != row.head_hash


def _save(status: ChainStatus, row: LedgerVerification | None) -> None:
    """Store the result for the other processes, in its own short commit (best effort)."""
    try:
        if row is None:
            row = LedgerVerification(id=ROW_ID)
            db.session.add(row)
        row.ok = status.ok
        row.head_seq = status.head_seq
        row.head_hash = status.head_hash
        row.broken_seq = status.broken_seq
        row.reason = status.reason[:200]
        row.verified_at = status.checked_at
        if status.full:
            row.full_verified_at = status.checked_at
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.warning("ledger verification not stored (database busy); another look will")


def refresh(*, force_full: bool = False) -> ChainStatus:
    """Verify what needs verifying now and store the result (callers commit nothing themselves)."""
    from portal.accountability.checkpoints import broken_checkpoints

    full_every = float(current_app.config.get("ACCOUNTABILITY_FULL_VERIFY_SECONDS", 86_400))
    row = db.session.get(LedgerVerification, ROW_ID)
    if force_full or _needs_full(row, full_every):
        status = full_status()
    else:
        ok, seq, head_hash, broken, reason, count = verify_after(row.head_seq, row.head_hash)
        status = ChainStatus(ok, seq, head_hash, utcnow(), broken, reason, recomputed=count)
    status.broken_checkpoints = [(c.seq, c.hash) for c in broken_checkpoints()]
    if row is None or status.full or status.head_seq != row.head_seq or status.ok != row.ok:
        _save(status, row)
    return status


def chain_status(*, force: bool = False) -> ChainStatus:
    """The chain's state, from the process cache when it is fresh enough.

    Call it before loading the objects a page shows: storing the result commits the session.
    """
    state = _state()
    ttl = float(current_app.config.get("ACCOUNTABILITY_VERIFY_TTL", 60))
    now = time.monotonic()
    cached = state.status
    if not force and cached is not None and now - state.monotonic_at < ttl:
        return cached
    # One thread verifies; the others serve the previous result meanwhile (or wait if there is none).
    if not state.lock.acquire(blocking=cached is None):
        return cached
    try:
        status = refresh(force_full=force)
        state.status = status
        state.monotonic_at = now
        return status
    finally:
        state.lock.release()


def forget(app=None) -> None:
    """Drop the process cache (tests)."""
    (app or current_app).extensions.pop("portal_chain_status", None)
