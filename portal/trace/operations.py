"""Append to the ledger inside the caller's transaction; verify the whole chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import inspect, select, text

from portal.core.bulk import insert_rows
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.trace.canonical import (
    GENESIS_HASH,
    actor_document,
    canonical,
    entry_hash,
    format_time,
    sha256_hex,
)
from portal.trace.models import INTERNAL, PUBLIC, VISIBILITIES, TraceEntry

# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
APPEND_LOCK_KEY = 713_2019


def _subject_of(subject) -> tuple[str, str]:
    if isinstance(subject, tuple):
        kind, ident = subject
        return str(kind), str(ident)
    kind = getattr(subject, "trace_kind", None) or subject.__tablename__
    ident = subject.id
    if ident is None:
        raise ValueError("flush the subject before recording it in the ledger")
    return kind, str(ident)


def _actor_of(actor) -> tuple[int | None, str, list[str]]:
    if actor is None or getattr(actor, "is_anonymous", False):
        return None, "system", []
    return actor.id, actor.display_name, sorted(actor.roles)


def _lock_for_append() -> None:
    """Serialise appends so the chain cannot fork.

    PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback.
    SQLite: write transactions begin IMMEDIATE (see core/database.py), so this transaction
    already holds the database's single write lock.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"key": APPEND_LOCK_KEY})


def record(
    actor,
    action: str,
    subject,
    *,
    visibility: str = PUBLIC,
    department=None,
    at: datetime | None = None,
    flush: bool = True,
    **payload,
) -> TraceEntry:
    """Append one entry for ``action`` by ``actor`` on ``subject``, in the current transaction.

    ``subject`` is a flushed model instance or a ``(kind, id)`` pair; ``department`` (a model or
    an id) owns the entry and may read it when ``visibility`` is internal. The payload must be
    canonical-encodable (no floats). ``flush=False`` leaves the insert to the caller's next flush
    (a batch appending many entries flushes them in one statement).
    """
    prepared = _prepare(Append(actor, action, subject, visibility, department, payload))
    if flush:
        db.session.flush()
    seq, prev_hash = _head_for_append()
    moment = at or utcnow()  # taken under the lock, so times follow the order of the chain
    entry = TraceEntry(**_chained(prepared, seq, prev_hash, moment))
    db.session.add(entry)
    if flush:
        db.session.flush()
    session = db.session()
    session.info[_HEAD_KEY] = (session.get_transaction(), entry)
    return entry


class Append(NamedTuple):
    """One entry for ``record_many``: the arguments of ``record``, the payload as a dict."""

    actor: object
    action: str
    subject: object
    visibility: str = PUBLIC
    department: object = None
    payload: dict = {}  # noqa: RUF012 (a NamedTuple default, never mutated)


def record_many(appends: list[Append]) -> list[tuple[int, str]]:
    """Append several entries in order, in the current transaction, with one Core insert.

    The same chain as ``record`` called for each in turn, at one moment, without ORM objects:
    the unit of work's flush of a batch's entries was a twentieth of the comment intake's CPU
    (issue 8). No flush hook sees these rows (search/providers_more.py looks at the ledger only
    for ``release.published``, which is not recorded this way). Returns each entry's (seq, hash).
    """
    if not appends:
        return []
    prepared = [_prepare(append) for append in appends]
    session = db.session()
    if session.new:
        session.flush()  # entries another call left pending come first in the chain
    seq, prev_hash = _head_for_append()
    moment = utcnow()
    rows = []
    for offset, item in enumerate(prepared):
        row = _chained(item, seq + offset, prev_hash, moment)
        prev_hash = row["hash"]
        rows.append(row)
    insert_rows(session.connection(), TraceEntry.__table__, rows)
    # The head is now the last of these rows, which no session object holds: the next append in
    # this transaction reads it back (the lock is still held).
    session.info.pop(_HEAD_KEY, None)
    return [(row["seq"], row["hash"]) for row in rows]


def _prepare(append: Append) -> dict:
    """The parts of an entry that do not depend on its place in the chain (checked)."""
    actor, action, subject, visibility, department, payload = append
    if visibility not in VISIBILITIES:
        raise ValueError(f"unknown visibility {visibility!r}")
    if not action or "." not in action:
        raise ValueError("action codes are noun.past_verb")
    subject_kind, subject_id = _subject_of(subject)
    actor_id, actor_name, actor_roles = _actor_of(actor)
    payload_bytes = canonical(payload)
    return {
        "actor_id": actor_id,
        "actor_name": actor_name,
        "actor_roles": _roles_text(actor_roles),
        "actor_hash": _actor_hash(actor_id, actor_name, actor_roles),
        "action": action,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "visibility": visibility,
        "department_id": getattr(department, "id", department),
        "payload": payload_bytes.decode("utf-8"),
        "payload_hash": sha256_hex(payload_bytes),
    }


def _chained(prepared: dict, seq: int, prev_hash: str, moment: datetime) -> dict:
    """The entry's columns at position ``seq`` after ``prev_hash``, with its hash."""
    header = {
        "seq": seq,
        "at": format_time(moment),
        "action": prepared["action"],
        "subject_kind": prepared["subject_kind"],
        "subject_id": prepared["subject_id"],
        "visibility": prepared["visibility"],
        "department_id": prepared["department_id"],
        "actor_hash": prepared["actor_hash"],
        "payload_hash": prepared["payload_hash"],
        "prev_hash": prev_hash,
    }
    if type(prepared["department_id"]) not in (int, type(None)):
        digest = entry_hash(header)  # an unusual value: the general canonical encoding decides
    else:
        digest = hashlib.sha256(_dumps(header).encode("utf-8")).hexdigest()
    return prepared | {"seq": seq, "at": moment, "prev_hash": prev_hash, "hash": digest}


#: session.info key of the last entry this session appended: (its outermost transaction, entry).
_HEAD_KEY = "portal_trace_head"
_actor_hashes: dict[tuple, str] = {}
_roles_texts: dict[tuple, str] = {}


def _roles_text(actor_roles: list[str]) -> str:
    """The canonical JSON of a sorted role list (cached: a handful of distinct lists)."""
    key = tuple(actor_roles)
    found = _roles_texts.get(key)
    if found is None:
        if len(_roles_texts) > 1_000:
            _roles_texts.clear()
        found = _roles_texts[key] = canonical(actor_roles).decode("utf-8")
    return found


def _actor_hash(actor_id, actor_name: str, actor_roles: list[str]) -> str:
    """SHA-256 of the canonical actor document (cached: the same few actors append again and again)."""
    key = (actor_id, actor_name, tuple(actor_roles))
    found = _actor_hashes.get(key)
    if found is None:
        if len(_actor_hashes) > 10_000:
            _actor_hashes.clear()
        found = _actor_hashes[key] = sha256_hex(canonical(actor_document(actor_id, actor_name, actor_roles)))
    return found


def _head_for_append() -> tuple[int, str]:
    """Take the append lock and return (next seq, prev_hash).

    When this session already appended in the same outermost transaction and that entry was not
    undone by a savepoint rollback (which makes it transient, and would have released a lock taken
    inside that savepoint too), the lock taken for it is still held, so nobody else appended: that
    entry is the head. Otherwise lock and read the head from the table.
    """
    session = db.session()
    cached = session.info.get(_HEAD_KEY)
    if cached is not None:
        transaction, entry = cached
        state = inspect(entry)
        if transaction is session.get_transaction() and transaction.is_active and (state.persistent or state.pending):
            return entry.seq + 1, entry.hash
        session.info.pop(_HEAD_KEY, None)
    if session.new:
        session.flush()  # as the ORM's query would have (autoflush): the head read sees them all
    _lock_for_append()
    row = session.connection().execute(_HEAD).first()  # plain rows: not the ORM's slower path
    return (row[0] + 1, row[1]) if row else (1, GENESIS_HASH)


_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD = select(TraceEntry.seq, TraceEntry.hash).order_by(TraceEntry.seq.desc()).limit(1)


@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""
    checkpoint_ok: bool | None = None


def _rows(batch: int = 5000) -> Iterable[tuple]:
    """Stream every entry in order, as plain tuples (ORM objects would cost more than the hashing)."""
    conn = db.session.connection()
    # PostgreSQL formats the time itself (faster than strftime per row); SQLite stores text already.
    at = 'to_char(at, \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')' if conn.dialect.name == "postgresql" else "at"
    cols = (
        f"seq, {at}, actor_id, actor_name, actor_roles, actor_hash, action, subject_kind, subject_id, "
        "visibility, department_id, payload, payload_hash, prev_hash, hash"
    )
    after = 0
    while True:
        rows = conn.execute(
            text(f"SELECT {cols} FROM trace_entry WHERE seq > :after ORDER BY seq LIMIT :n"),  # noqa: S608
            {"after": after, "n": batch},
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def _as_utc_text(value) -> str:
    """The ledger's spelling of a stored time (raw rows: SQLite gives text, PostgreSQL naive datetimes)."""
    if isinstance(value, str):
        if len(value) == 27 and value[10] == "T" and value[-1] == "Z":
            return value  # formatted by PostgreSQL's to_char already
        # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" in SQLite: reshape without parsing.
        if len(value) == 26 and value[10] == " ":
            return value[:10] + "T" + value[11:] + "Z"
        value = datetime.fromisoformat(value)
    return format_time(value.replace(tzinfo=UTC))


# Header and actor values are plain str/int/None, so json.dumps gives the canonical bytes directly,
# skipping the general normalise() walk (verify spends most of its time here).
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


class _Checker:
    """Checks entries in order; caches actor hashes, which repeat across many entries."""

    def __init__(self):
        self.actor_hashes: dict[tuple, str] = {}

    def actor_hash(self, actor_id, actor_name, actor_roles: str) -> str:
        key = (actor_id, actor_name, actor_roles)
        found = self.actor_hashes.get(key)
        if found is None:
            roles = json.loads(actor_roles)
            found = sha256_hex(_dumps(actor_document(actor_id, actor_name, roles)).encode("utf-8"))
            self.actor_hashes[key] = found
        return found

    def problem(self, row, expected_seq: int, expected_prev: str) -> str | None:
        """What is wrong with one stored entry, or None."""
        (
            seq,
            at,
            actor_id,
            actor_name,
            actor_roles,
            actor_hash,
            action,
            subject_kind,
            subject_id,
            visibility,
            department_id,
            payload,
            payload_hash,
            prev_hash,
            stored_hash,
        ) = row
        if seq != expected_seq:
            return f"expected seq {expected_seq}"
        if prev_hash != expected_prev:
            return "prev_hash does not match the previous entry"
        if hashlib.sha256(payload.encode("utf-8")).hexdigest() != payload_hash:
            return "payload does not match payload_hash"
        try:
            if self.actor_hash(actor_id, actor_name, actor_roles) != actor_hash:
                return "actor does not match actor_hash"
        except ValueError:
            return "actor roles are not JSON"
        header = {
            "seq": seq,
            "at": _as_utc_text(at),
            "action": action,
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "visibility": visibility,
            "department_id": department_id,
            "actor_hash": actor_hash,
            "payload_hash": payload_hash,
            "prev_hash": prev_hash,
        }
        if hashlib.sha256(_dumps(header).encode("utf-8")).hexdigest() != stored_hash:
            return "hash does not match the entry"
        return None


def verify(checkpoint: tuple[int, str] | None = None) -> VerifyResult:
    """Recompute the chain from the start; name the first broken entry.

    Checks, for each entry: seq follows the previous one, prev_hash is the previous hash, the
    payload and actor match their hashes, and the entry hash matches its header.
    ``checkpoint`` (seq, hash) must also be in the chain: that catches truncation.
    """
    expected_prev = GENESIS_HASH
    count = 0
    checkpoint_ok = None if checkpoint is None else False
    checker = _Checker()
    for row in _rows():
        seq, stored_hash = row[0], row[-1]
        problem = checker.problem(row, count + 1, expected_prev)
        if problem is None and checkpoint is not None and seq == checkpoint[0]:
            checkpoint_ok = stored_hash == checkpoint[1]
            if not checkpoint_ok:
                problem = "differs from the checkpoint's hash"
        if problem:
            return VerifyResult(
                False, count, count, expected_prev, count + 1 if seq > count + 1 else seq, problem, checkpoint_ok
            )
        expected_prev = stored_hash
        count += 1
    if checkpoint is not None and not checkpoint_ok:
        return VerifyResult(
            False,
            count,
            count,
            expected_prev,
            checkpoint[0],
            "checkpoint is past the end of the chain (truncated?)",
            False,
        )
    return VerifyResult(True, count, count, expected_prev, None, "", checkpoint_ok)


def head() -> tuple[int, str]:
    """The last entry's seq and hash, (0, genesis) for an empty ledger."""
    row = db.session.execute(select(TraceEntry.seq, TraceEntry.hash).order_by(TraceEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def can_read(entry: TraceEntry, user) -> bool:
    """Whether ``user`` may read the payload and actor of ``entry``."""
    if entry.visibility == PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role("auditor", "admin", "leader"):
        return True
    return entry.department_id is not None and user.is_member_of(entry.department_id)


__all__ = ["INTERNAL", "PUBLIC", "Append", "VerifyResult", "can_read", "head", "record", "record_many", "verify"]
