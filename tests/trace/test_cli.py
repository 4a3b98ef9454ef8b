"""``flask trace verify`` exit codes and messages."""

from __future__ import annotations

from portal import trace
from portal.trace.operations import head


def test_verify_empty_ledger(runner):
    result = runner.invoke(args=["trace", "verify"])
    assert result.exit_code == 0
    assert "0 entries" in result.output


def test_verify_intact_prints_count_and_head(runner, make_user):
    make_user()
    seq, head_hash = head()
    result = runner.invoke(args=["trace", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{seq} entries" in result.output
    assert head_hash in result.output


def test_verify_checkpoint(runner, make_user, db):
    make_user()
    seq, head_hash = head()
    trace.record(None, "thing.happened", ("thing", 1))
    db.session.commit()
    ok = runner.invoke(args=["trace", "verify", "--checkpoint", f"{seq}:{head_hash}"])
    assert ok.exit_code == 0
    assert "checkpoint" in ok.output
    wrong = runner.invoke(args=["trace", "verify", "--checkpoint", f"{seq}:{'a' * 64}"])
    assert wrong.exit_code == 1
    assert f"seq {seq}" in wrong.output
    bad = runner.invoke(args=["trace", "verify", "--checkpoint", "nonsense"])
    assert bad.exit_code == 2


def test_verify_reports_broken_entry(runner, make_user, db):
    make_user()
    make_user()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE trace_entry DISABLE TRIGGER USER")
    else:
        connection.exec_driver_sql("DROP TRIGGER trace_entry_no_update")
    connection.exec_driver_sql("UPDATE trace_entry SET actor_name = 'x' WHERE seq = 2")
    result = runner.invoke(args=["trace", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at seq 2" in result.output
