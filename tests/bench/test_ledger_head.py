"""The ledger's append path keeps the chain exact when it reuses the head it appended itself."""

from __future__ import annotations

import pytest

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


def _stored(db, seqs):
    from sqlalchemy import select

    from portal.trace.models import TraceEntry

    db.session.expire_all()
    return db.session.scalars(select(TraceEntry).where(TraceEntry.seq.in_(seqs)).order_by(TraceEntry.seq)).all()


def test_record_many_appends_the_chain_record_would(db, make_user, make_department):
    user = make_user()
    department = make_department()
    first = trace.record(user, "thing.happened", ("thing", 0))
    appended = trace.record_many(
        [
            trace.Append(user, "thing.changed", ("thing", i), trace.INTERNAL, department, {"n": i, "word": "意见"})
            for i in range(1, 4)
        ]
    )
    assert [seq for seq, _ in appended] == [first.seq + 1, first.seq + 2, first.seq + 3]
    entries = _stored(db, [seq for seq, _ in appended])
    previous = first.hash
    for entry, (seq, digest) in zip(entries, appended, strict=True):
        assert (entry.seq, entry.hash, entry.prev_hash) == (seq, digest, previous)
        assert (entry.visibility, entry.department_id) == ("internal", department.id)
        assert (entry.actor_id, entry.roles_list) == (user.id, sorted(user.roles))
        header = {
            "seq": entry.seq,
            "at": format_time(entry.at),
            "action": "thing.changed",
            "subject_kind": "thing",
            "subject_id": entry.subject_id,
            "visibility": "internal",
            "department_id": department.id,
            "actor_hash": entry.actor_hash,
            "payload_hash": entry.payload_hash,
            "prev_hash": previous,
        }
        assert entry.hash == entry_hash(header)
        previous = entry.hash
    assert entries[1].payload_data == {"n": 2, "word": "意见"}
    # The next single append in the same transaction follows the last of them.
    after = trace.record(user, "thing.closed", ("thing", 9))
    assert (after.seq, after.prev_hash) == (first.seq + 4, appended[-1][1])
    db.session.commit()
    assert verify().ok


def test_record_many_follows_an_entry_left_pending(db, make_user):
    user = make_user()
    pending = trace.record(user, "thing.happened", ("thing", 1), flush=False)
    appended = trace.record_many([trace.Append(user, "thing.changed", ("thing", 1))])
    assert appended[0][0] == pending.seq + 1
    assert _stored(db, [appended[0][0]])[0].prev_hash == pending.hash
    db.session.commit()
    assert verify().ok


def test_entries_of_record_many_undone_by_a_savepoint_rollback_are_not_the_head(db, make_user):
    user = make_user()
    first = trace.record(user, "thing.happened", ("thing", 1))
    savepoint = db.session.begin_nested()
    trace.record_many([trace.Append(user, "thing.changed", ("thing", i)) for i in range(3)])
    savepoint.rollback()
    after = trace.record_many([trace.Append(user, "thing.changed", ("thing", 7))])
    assert after[0][0] == first.seq + 1
    assert _stored(db, [after[0][0]])[0].prev_hash == first.hash
    db.session.commit()
    assert verify().ok


def test_record_many_refuses_a_bad_entry_before_writing_any(db, make_user):
    user = make_user()
    before = trace.record(user, "thing.happened", ("thing", 1))
    good = trace.Append(user, "thing.changed", ("thing", 1))
    with pytest.raises(ValueError, match="visibility"):
        trace.record_many([good, trace.Append(user, "thing.changed", ("thing", 2), "secret")])
    assert trace.record_many([]) == []
    assert _stored(db, [before.seq + 1]) == []
    db.session.commit()
    assert verify().ok
