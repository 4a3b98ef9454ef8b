"""Checkpoints: the ledger head published daily and on every decision publication.

Anyone who keeps a copy of a checkpoint (the Atom feed, the API) can later prove the chain was not
truncated or rewritten: ``flask --app app trace verify --checkpoint SEQ:HASH``. The daily checkpoint
needs no job: the first look at the checkpoints on a new day (local calendar) takes it; the CLI
``flask --app app checkpoint`` does the same from cron.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.accountability.models import Checkpoint
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.trace.models import TraceEntry
from portal.trace.operations import head

log = logging.getLogger("portal.accountability")


def local_day(now: datetime | None = None) -> str:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return (now or utcnow()).astimezone(zone).date().isoformat()


def create_checkpoint(reason: str, *, decision=None, now: datetime | None = None) -> Checkpoint | None:
    """Store the current head as a checkpoint (in the caller's transaction); None for an empty ledger.

    A daily checkpoint is unique per local day: a second one the same day returns the first.
    """
    now = now or utcnow()
    seq, head_hash = head()
    if seq == 0:
        return None
    daily_key = local_day(now) if reason == "daily" else None
    if daily_key is not None:
        found = db.session.scalar(select(Checkpoint).where(Checkpoint.daily_key == daily_key))
        if found is not None:
            return found
    checkpoint = Checkpoint(
        seq=seq,
        hash=head_hash,
        reason=reason,
        daily_key=daily_key,
        decision_id=getattr(decision, "id", None),
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(checkpoint)
            db.session.flush()
    except IntegrityError:
        # Another request took today's checkpoint first.
        return db.session.scalar(select(Checkpoint).where(Checkpoint.daily_key == daily_key))
    return checkpoint


def ensure_daily_checkpoint(now: datetime | None = None) -> None:
    """Take today's checkpoint if nobody has yet, in its own short transaction (page views call it)."""
    key = local_day(now)
    if db.session.scalar(select(Checkpoint.id).where(Checkpoint.daily_key == key)) is not None:
        return
    try:
        create_checkpoint("daily", now=now)
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.warning("daily checkpoint not taken (database busy); the next reader will")


def recent_checkpoints(limit: int = 50) -> list[Checkpoint]:
    return list(db.session.scalars(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)))


def latest_checkpoint() -> Checkpoint | None:
    return db.session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def broken_checkpoints() -> list[Checkpoint]:
    """Checkpoints whose entry is gone or has another hash now: the chain was truncated or rewritten."""
    stmt = (
        select(Checkpoint)
        .outerjoin(TraceEntry, TraceEntry.seq == Checkpoint.seq)
        .where((TraceEntry.seq.is_(None)) | and_(TraceEntry.hash != Checkpoint.hash))
        .order_by(Checkpoint.id)
    )
    return list(db.session.scalars(stmt))
