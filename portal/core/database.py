"""Engine setup: SQLite pragmas and write-transaction handling, PostgreSQL options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_options(url: str) -> dict:
    """Options for ``SQLALCHEMY_ENGINE_OPTIONS`` suited to the database in ``url``."""
    if url.startswith("sqlite"):
        # busy timeout in seconds; the pragma below sets the same in milliseconds.
        # The pool: every request thread of a worker, and the comment intake's writer thread.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, "pool_size": 10, "max_overflow": 40}
    return {"pool_pre_ping": True}


def wants_write_lock() -> bool:
    """Whether a new SQLite transaction should take the write lock at once.

    A deferred SQLite transaction that reads and later writes fails with SQLITE_BUSY if another
    writer committed in between; the busy timeout does not help there. So transactions of
    requests that may write (POST and the like) and of CLI/tests begin IMMEDIATE: writers queue
    on the busy timeout instead of failing, while page views keep reading concurrently under WAL.
    """
    if has_request_context():
        if g.get(READING, False):
            return False
        # After the request's commit, what is left (the redirect, the flash, attributes expired by
        # the commit) only reads: taking the write lock again would serialise it behind every
        # other writer (measured on comment intake, issue 8). Views commit once.
        if request.method in READ_METHODS or g.get(COMMITTED, False):
            return False
        return request.endpoint not in current_app.extensions.get(READING_ENDPOINTS, ())
    return True


#: ``app.extensions`` key: endpoints whose requests only read in their own transaction.
READING_ENDPOINTS = "portal_reading_endpoints"


def add_reading_endpoint(app: Flask, endpoint: str) -> None:
    """Requests to ``endpoint`` write nothing in their own transaction (they hand the write to a
    writer with a transaction of its own, e.g. the comment intake): their transactions begin
    without SQLite's write lock, so the checks before the write do not queue behind other writers."""
    app.extensions.setdefault(READING_ENDPOINTS, set()).add(endpoint)


#: ``g`` flag: this request's outermost transaction has committed.
COMMITTED = "portal_request_committed"
#: ``g`` flag: the transaction begun now only reads (``reading``).
READING = "portal_reading"


@contextmanager
def reading() -> Iterator[None]:
    """Within a request context: the transaction begun inside only reads, so on SQLite it begins
    without the write lock. End it (commit) before leaving; the next transaction of the request
    begins as it would have begun before (with the write lock for a POST not yet committed)."""
    committed = g.get(COMMITTED, False)
    setattr(g, READING, True)
    try:
        yield
    finally:
        g.pop(READING, None)
        setattr(g, COMMITTED, committed)  # the reading transaction's commit does not count


@event.listens_for(Session, "after_commit")
def _note_request_commit(session: Session) -> None:
    if session.get_nested_transaction() is None and has_request_context():
        setattr(g, COMMITTED, True)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout, and explicit BEGIN so savepoints and locking work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, emit BEGIN (the documented pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if wants_write_lock() else "BEGIN")
