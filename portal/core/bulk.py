"""Several rows into one table with one statement, on the connection (Core, no ORM objects).

The comment intake stores a batch's comments, ledger entries and queued receipts this way
(issue 8). SQLAlchemy's multi-row insert writes one ``VALUES`` group per row, so each batch size
is a new statement text: on PostgreSQL psycopg parsed every one of them again (5 % of the
intake's CPU under a surge) and the server planned each. On PostgreSQL the rows go in instead as
one array per column, ``INSERT ... SELECT * FROM unnest(...)``: one statement text whatever the
batch size, which psycopg converts once and prepares after a few uses. Strings are passed as
``text[]``, so the column's own length check still refuses an over-long value (a cast to
``varchar(n)[]`` would cut it silently). Other databases get SQLAlchemy's insert.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import String, Table, insert, text
from sqlalchemy.engine import Connection


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict],
    *,
    returning: str | None = None,
    key: str | tuple[str, ...] | None = None,
) -> list:
    """Insert ``rows`` (dicts with the same keys, values as for the ORM); with ``returning``, that
    column's value for each row, in the order of ``rows``.

    ``key`` names a column (or a tuple of columns) whose values differ between the rows:
    PostgreSQL does not promise the order of ``RETURNING`` rows, so they are matched to ``rows``
    by it.
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    names = rows[0].keys()
    if any(row.keys() != names for row in rows):
        raise ValueError("insert_rows needs the same columns in every row")
    keys = (key,) if isinstance(key, str) else key
    wanted = [tuple(row[k] for k in keys) for row in rows] if keys else []
    if len(set(wanted)) != len(wanted):
        raise ValueError("insert_rows: the key columns do not tell the rows apart")
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if returning is None:
            connection.execute(statement, list(rows))
            return []
        statement = statement.returning(table.c[returning], sort_by_parameter_order=True)
        return list(connection.execute(statement, list(rows)).scalars())
    if returning is not None and key is None:
        raise ValueError("on PostgreSQL, returning needs a key column to match the rows")
    statement, processors = _unnest_insert(table, columns, returning, keys, connection.dialect)
    params = {}
    for index, (column, process) in enumerate(zip(columns, processors, strict=True)):
        values = [row[column] for row in rows]
        params[f"c{index}"] = [process(v) for v in values] if process is not None else values
    result = connection.execute(statement, params)
    if returning is None:
        return []
    found = {tuple(row_key): value for value, *row_key in result}
    return [found[wanted_key] for wanted_key in wanted]


@functools.cache
def _unnest_insert(
    table: Table, columns: tuple[str, ...], returning: str | None, keys: tuple[str, ...] | None, dialect
):
    """The statement (built once per table, column set and dialect) and each column's bind processor."""
    quote = dialect.identifier_preparer.quote
    arrays = []
    processors = []
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        impl = getattr(column_type, "impl_instance", column_type)
        sql_type = "text" if isinstance(impl, String) else impl.compile(dialect=dialect)
        arrays.append(f"CAST(:c{index} AS {sql_type}[])")
        processors.append(column_type.bind_processor(dialect))
    names = ", ".join(quote(name) for name in columns)
    # Names from the table's own metadata, quoted; the values are all parameters.
    sql = f"INSERT INTO {quote(table.name)} ({names}) SELECT * FROM unnest({', '.join(arrays)})"  # noqa: S608
    if returning is not None:
        sql += f" RETURNING {', '.join(quote(name) for name in (returning, *keys))}"
    return text(sql), tuple(processors)
