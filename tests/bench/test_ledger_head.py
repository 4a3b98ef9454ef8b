"""The ledger's append path keeps the chain exact when it reuses the head it appended itself."""

from __future__ import annotations

from portal import trace
from portal.trace.canonical import entry_hash, format_time
from portal.trace.operations import verify


def test_appends_in_one_transaction_follow_each_other(db, make_user, make_department):
    user = make_user()
    department = make_department()
    entries = [trace.record(user, "thing.happened", ("thing", i), department=department, n=i) for i in range(5)]
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.hash
    header = {
        "seq": entries[-1].seq,
        "at": format_time(entries[-1].at),
        "action": "thing.happened",
        "subject_kind": "thing",
        "subject_id": "4",
        "visibility": "public",
        "department_id": department.id,
        "actor_hash": entries[-1].actor_hash,
        "payload_hash": entries[-1].payload_hash,
        "prev_hash": entries[-1].prev_hash,
    }
    assert entries[-1].hash == entry_hash(header)
    db.session.commit()
    assert verify().ok


def test_an_entry_undone_by_a_savepoint_rollback_is_not_the_head(db, make_user):
    user = make_user()
    first = trace.record(user, "thing.happened", ("thing", 1))
    savepoint = db.session.begin_nested()
    undone = trace.record(user, "thing.changed", ("thing", 1))
    savepoint.rollback()
    assert undone.seq == first.seq + 1
    after = trace.record(user, "thing.changed", ("thing", 2))
    assert after.seq == first.seq + 1
    assert after.prev_hash == first.hash
    db.session.commit()
    assert verify().ok


def test_an_entry_rolled_back_with_its_transaction_is_not_the_head(db, make_user):
    user = make_user()
    first = trace.record(user, "thing.happened", ("thing", 1))
    first_seq, first_hash = first.seq, first.hash
    db.session.commit()
    trace.record(user, "thing.changed", ("thing", 1))
    db.session.rollback()
    after = trace.record(user, "thing.changed", ("thing", 2))
    assert after.seq == first_seq + 1
    assert after.prev_hash == first_hash
    db.session.commit()
    assert verify().ok
