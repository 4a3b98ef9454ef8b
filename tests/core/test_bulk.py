"""insert_rows: many rows with one statement, the same result on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from portal.core.bulk import insert_rows
from portal.core.models import UTCDateTime

metadata = sa.MetaData()
things = sa.Table(
    "bulk_test_thing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(8), nullable=False, unique=True),
    sa.Column("note", sa.Text),
    sa.Column("flag", sa.Boolean),
    sa.Column("count", sa.Integer),
    sa.Column("at", UTCDateTime),
)


@pytest.fixture
def connection(db):
    conn = db.session.connection()
    metadata.create_all(conn)
    return conn


def _row(code: str, **fields) -> dict:
    return {"code": code, "note": None, "flag": None, "count": None, "at": None} | fields


def test_rows_go_in_with_their_values_and_ids_in_the_rows_order(connection):
    moment = datetime(2026, 12, 7, 22, 30, 1, 123456, tzinfo=UTC)
    rows = [
        _row("b", note="第一条意见", flag=True, count=3, at=moment),
        _row("a", note=None, flag=False),
        _row("c", note="x" * 5000, count=0),
    ]
    ids = insert_rows(connection, things, rows, returning="id", key="code")
    stored = {r.code: r for r in connection.execute(sa.select(things))}
    assert ids == [stored["b"].id, stored["a"].id, stored["c"].id]
    assert len(set(ids)) == 3
    assert (stored["b"].note, stored["b"].flag, stored["b"].count) == ("第一条意见", True, 3)
    assert stored["b"].at == moment
    assert (stored["a"].note, stored["a"].flag, stored["a"].count, stored["a"].at) == (None, False, None, None)
    assert stored["c"].note == "x" * 5000


def test_the_same_statement_serves_batches_of_every_size(connection):
    for size in (1, 7, 2, 30, 1):
        start = connection.execute(sa.select(sa.func.count()).select_from(things)).scalar()
        rows = [_row(f"s{start + i}", count=i) for i in range(size)]
        ids = insert_rows(connection, things, rows, returning="id", key="code")
        counts = dict(connection.execute(sa.select(things.c.id, things.c.count).where(things.c.id.in_(ids))).all())
        assert [counts[i] for i in ids] == list(range(size))


def test_rows_told_apart_by_several_key_columns(connection):
    rows = [_row("k1", flag=True, count=1), _row("k2", flag=True, count=2), _row("k3", flag=False, count=1)]
    ids = insert_rows(connection, things, rows, returning="id", key=("flag", "count"))
    stored = {r.code: r.id for r in connection.execute(sa.select(things))}
    assert ids == [stored["k1"], stored["k2"], stored["k3"]]


def test_a_key_that_does_not_tell_the_rows_apart_is_refused_before_any_write(connection):
    rows = [_row("k1", flag=True, count=1), _row("k2", flag=True, count=1)]
    with pytest.raises(ValueError, match="do not tell the rows apart"):
        insert_rows(connection, things, rows, returning="id", key=("flag", "count"))
    assert connection.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 0


def test_without_returning_and_with_no_rows(connection):
    assert insert_rows(connection, things, []) == []
    assert insert_rows(connection, things, [_row("q"), _row("r")]) == []
    assert connection.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 2


def test_rows_with_different_columns_are_refused_before_any_write(connection):
    with pytest.raises(ValueError, match="same columns"):
        insert_rows(connection, things, [_row("a"), {"code": "b"}])
    with pytest.raises(ValueError, match="same columns"):
        insert_rows(connection, things, [_row("a"), {**_row("b"), "count": 1, "flag": None} | {"extra": 1}])
    assert connection.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 0


def test_an_over_long_string_is_refused_not_cut(connection):
    if connection.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce string lengths")
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError):
        insert_rows(connection, things, [_row("ok"), _row("much-too-long")], returning="id", key="code")
    savepoint.rollback()
    assert connection.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 0


def test_a_naive_time_is_refused_as_by_the_orm(connection):
    with pytest.raises((ValueError, sa.exc.StatementError)):
        insert_rows(connection, things, [_row("n", at=datetime(2026, 12, 7, 22, 30))])
