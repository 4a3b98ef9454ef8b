"""The responsibility ledger: recording, hashing, verification, append-only triggers, serialised appends."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from portal import trace
from portal.auth.models import Role
from portal.core.extensions import db as _db
from portal.trace.canonical import GENESIS_HASH, canonical, entry_hash, sha256_hex
from portal.trace.models import TraceEntry
from portal.trace.operations import head, verify


def _entries(db):
    return db.session.scalars(select(TraceEntry).order_by(TraceEntry.seq)).all()


def test_record_links_entries_into_a_chain(db, make_user):
    user = make_user(Role.OFFICIAL)
    first = trace.record(user, "thing.happened", ("thing", 1), note="一")
    second = trace.record(user, "thing.changed", ("thing", 1), note="二")
    db.session.commit()
    entries = _entries(db)
    assert entries[0].prev_hash == GENESIS_HASH
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert first.payload_hash == sha256_hex(first.payload.encode("utf-8"))
    assert json.loads(second.payload) == {"note": "二"}
    assert second.actor_name == user.display_name
    assert json.loads(second.actor_roles) == sorted(user.roles)


def test_entry_hash_covers_every_header_field(db, make_user):
    user = make_user()
    entry = trace.record(user, "thing.happened", ("thing", 7), visibility=trace.INTERNAL, department=None, x=1)
    header = {
        "seq": entry.seq,
        "at": entry.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": entry.action,
        "subject_kind": "thing",
        "subject_id": "7",
        "visibility": "internal",
        "department_id": None,
        "actor_hash": entry.actor_hash,
        "payload_hash": entry.payload_hash,
        "prev_hash": entry.prev_hash,
    }
    assert entry_hash(header) == entry.hash
    for field in header:
        changed = dict(header)
        changed[field] = "tampered" if field != "seq" else entry.seq + 1
        assert entry_hash(changed) != entry.hash, field


def test_record_refuses_bad_arguments(db, make_user):
    user = make_user()
    with pytest.raises(ValueError, match="visibility"):
        trace.record(user, "thing.happened", ("thing", 1), visibility="secret")
    with pytest.raises(ValueError, match="noun.past_verb"):
        trace.record(user, "happened", ("thing", 1))
    with pytest.raises(TypeError):
        trace.record(user, "thing.happened", ("thing", 1), ratio=0.5)
    with pytest.raises(TypeError):
        trace.record(user, "thing.happened", ("thing", 1), when=datetime(2026, 1, 1))  # noqa: DTZ001


def test_canonical_encoding_is_stable_and_keeps_chinese():
    assert canonical({"b": 1, "a": "中文", "c": [True, None]}) == '{"a":"中文","b":1,"c":[true,null]}'.encode()
    assert canonical({"t": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)}) == b'{"t":"2026-01-02T03:04:05.000006Z"}'


def test_change_and_entry_commit_or_roll_back_together(db, make_user):
    user = make_user()
    count = len(_entries(db))
    trace.record(user, "thing.happened", ("thing", 1))
    db.session.rollback()
    assert len(_entries(db)) == count


def test_verify_empty_ledger_is_intact(db):
    result = verify()
    assert result.ok
    assert result.count == 0
    assert result.head_hash == GENESIS_HASH


def test_verify_intact_and_checkpoint(db, make_user):
    make_user()
    make_user()
    seq, head_hash = head()
    result = verify((seq, head_hash))
    assert result.ok
    assert result.count == seq
    assert result.checkpoint_ok is True
    assert not verify((seq, "0" * 64)).ok
    truncated = verify((seq + 5, head_hash))
    assert not truncated.ok
    assert "truncated" in truncated.reason


def _drop_triggers(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE trace_entry DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER trace_entry_no_update")
        connection.exec_driver_sql("DROP TRIGGER trace_entry_no_delete")


@pytest.mark.parametrize(
    ("tamper", "broken"),
    [
        ('UPDATE trace_entry SET payload = \'{"note":"改"}\' WHERE seq = 2', 2),
        ("UPDATE trace_entry SET actor_name = 'someone else' WHERE seq = 2", 2),
        ("UPDATE trace_entry SET action = 'thing.forged' WHERE seq = 3", 3),
        ("DELETE FROM trace_entry WHERE seq = 2", 2),
        ("UPDATE trace_entry SET seq = seq + 100 WHERE seq = 2", 2),
    ],
)
def test_verify_names_first_broken_entry(db, make_user, tamper, broken):
    user = make_user()  # entry 1
    trace.record(user, "thing.happened", ("thing", 1), note="原")  # 2
    trace.record(user, "thing.happened", ("thing", 1), note="三")  # 3
    db.session.commit()
    connection = db.session.connection()
    _drop_triggers(connection)
    connection.exec_driver_sql(tamper)
    result = verify()
    assert not result.ok
    assert result.broken_seq == broken


def test_verify_detects_inserted_and_reordered_entries(db, make_user):
    user = make_user()
    trace.record(user, "thing.happened", ("thing", 1))
    trace.record(user, "thing.happened", ("thing", 2))
    db.session.commit()
    connection = db.session.connection()
    _drop_triggers(connection)
    # Reorder: swap the payloads of 2 and 3 (as if rows had been exchanged).
    rows = {r.seq: r for r in connection.execute(sa.text("SELECT seq, subject_id FROM trace_entry")).all()}
    connection.execute(sa.text("UPDATE trace_entry SET subject_id = :s WHERE seq = 2"), {"s": rows[3].subject_id})
    assert verify().broken_seq == 2


@pytest.mark.parametrize("statement", ["UPDATE trace_entry SET action = 'x.y'", "DELETE FROM trace_entry"])
def test_triggers_refuse_update_and_delete(db, make_user, statement):
    make_user()
    db.session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        db.session.connection().exec_driver_sql(statement)


def test_concurrent_appends_never_fork_the_chain(committing_app):
    """Several threads, each with its own connection and transaction, append at once."""
    threads, errors = [], []
    per_thread, n_threads = 15, 6

    def work(k: int) -> None:
        try:
            with committing_app.app_context():
                for i in range(per_thread):
                    trace.record(None, "load.appended", ("load", f"{k}-{i}"), k=k, i=i)
                    _db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for k in range(n_threads):
        threads.append(threading.Thread(target=work, args=(k,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with committing_app.app_context():
        result = verify()
        assert result.ok, result.reason
        assert result.count == per_thread * n_threads
        seqs = _db.session.scalars(select(TraceEntry.seq).order_by(TraceEntry.seq)).all()
        assert seqs == list(range(1, per_thread * n_threads + 1))
