"""Comment intake: group commit of the comments that arrive at the same moment (issue 8, surge).

Under a surge, most of the cost of taking a comment used to be paid while holding the database's
write lock (SQLite has one; the ledger has one append lock on both databases): the request took
the lock at its first query and kept it while checking the login, reading the decision, grouping
duplicates, numbering, appending to the ledger and writing the receipt. Writers queued behind it.

With ``COMMENT_INTAKE = "batched"`` (the default), each worker process has one writer thread:

- the request checks the login, the form and the decision with reads only (no write lock), and
  hands the comment, as plain values, to the writer, then waits for its answer;
- the writer takes every comment waiting at that moment (at most ``BATCH_MAX``), reads the
  accounts, consultations and decisions they need in a transaction that only reads
  (``load_for_batch``), then takes its turn (on SQLite a file lock the worker processes share) and
  stores them with ``operations.submit_comments`` in one transaction: each comment with its
  ledger entry. It commits, ends its turn, writes the receipt mails, and then answers each
  request with its tracking number. A comment refused on its own merits (period closed, empty
  text) gets its message; the others are not affected;
- if the batch fails for another reason, it is rolled back and retried one comment per
  transaction, so one bad comment cannot take others down with it.

So a receipt is only ever shown for a committed comment with its ledger entry, as before; what
changes is that one transaction holds several users' actions (each still complete: comment,
ledger entry and receipt together), which docs/DECISIONS.md records as a deliberate exception to
"one transaction per user action". With no other comment waiting, a batch is one comment: a
quiet site pays nothing for this.

``COMMENT_INTAKE = "inline"`` stores the comment in the request's own transaction. The tests use
it, because each test runs inside one transaction that is rolled back, which another thread's
connection could not see.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy handler alone then
    fcntl = None  # type: ignore[assignment]
from dataclasses import dataclass, field

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from portal.consultation.operations import (
    CommentSubmission,
    ReceiptMail,
    load_for_batch,
    send_receipts,
    submit_comments,
    submit_one,
)
from portal.core.database import reading
from portal.core.errors import DomainError
from portal.core.extensions import db

log = logging.getLogger("portal.intake")

#: At most this many comments in one transaction.
BATCH_MAX = 64
#: Config values of COMMENT_INTAKE.
MODES = ("batched", "inline")


@dataclass(frozen=True)
class Receipt:
    """What the citizen is told: the tracking number and whether the comment waits for confirmation."""

    tracking_number: str
    status: str


@dataclass
class _Job:
    submission: CommentSubmission
    done: threading.Event = field(default_factory=threading.Event)
    receipt: Receipt | None = None
    error: BaseException | None = None


class Busy(DomainError):
    """The writer did not answer in time (the comment may still be stored: the form can be sent again)."""

    status = 503
    code = "busy"


def submit(submission: CommentSubmission) -> Receipt:
    """Store and commit one comment through this process's intake; raises the ``DomainError`` that refused it."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not is_batched(app):
        receipt = _receipt(submit_one(submission))
        db.session.commit()
        return receipt
    # The request's own transaction, if the view read anything, only read (core/database.py
    # begins it without the write lock): end it, so its connection goes back to the pool while
    # the writer works. An accepted comment usually read nothing: no transaction to end.
    if db.session().in_transaction():
        db.session.commit()
    return _writer_for(app).submit(submission, float(app.config.get("COMMENT_INTAKE_TIMEOUT", 60)))


def is_batched(app: Flask) -> bool:
    return app.config.get("COMMENT_INTAKE", "batched") == "batched"


def _receipt(comment) -> Receipt:
    return Receipt(comment.tracking_number, comment.status)


class Writer:
    """One process's writer thread and its queue."""

    def __init__(self, app: Flask):
        self.app = app
        self.pid = os.getpid()
        sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and fcntl is not None
        self.lock_file = None
        if sqlite:
            folder = Path(app.config["INSTANCE_PATH"])
            folder.mkdir(parents=True, exist_ok=True)
            self.lock_file = open(folder / "comment-intake.lock", "a+b")  # noqa: SIM115 (held for the process's life)
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="portal-comment-intake", daemon=True)
        self.thread.start()

    def submit(self, submission: CommentSubmission, timeout: float) -> Receipt:
        job = _Job(submission)
        self.jobs.put(job)
        if not job.done.wait(timeout):
            raise Busy(_l("系统繁忙,您的意见可能尚未保存。请重新提交同一表单:同一份意见不会被重复计入。"))
        if job.error is not None:
            raise job.error
        assert job.receipt is not None
        return job.receipt

    def _run(self) -> None:
        while True:
            batch = [self.jobs.get()]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                self._store(batch)
            except BaseException as exc:  # noqa: BLE001 (the thread must outlive any one batch)
                log.exception("comment intake batch failed")
                for job in batch:
                    if not job.done.is_set():
                        job.error = exc
                        job.done.set()

    def _store(self, batch: list[_Job]) -> None:
        try:
            receipts = self._transaction(batch)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("comment intake: a batch of %d failed; storing one at a time", len(batch), exc_info=True)
            for job in batch:
                try:
                    self._store([job])
                except Exception as exc:  # noqa: BLE001 (answered to that request alone)
                    log.exception("comment intake: one comment failed")
                    job.error = exc
                    job.done.set()
            return
        for job, outcome in zip(batch, receipts, strict=True):
            if isinstance(outcome, DomainError):
                job.error = outcome
            else:
                job.receipt = outcome
            job.done.set()

    def _transaction(self, batch: list[_Job]) -> list[Receipt | DomainError]:
        # A request context of its own for each batch: its transaction begins IMMEDIATE on SQLite
        # (a POST that has not committed yet, core/database.py), e-mail templates render, and the
        # session is this context's alone. Its objects stay loaded after the commit (they are
        # only read, for the receipt mails, and the session ends with the batch).
        with self.app.test_request_context("/", method="POST"):
            db.session().expire_on_commit = False
            mails: list[ReceiptMail] = []
            submissions = [job.submission for job in batch]
            try:
                # The accounts, consultations and decisions are read first, in a transaction that
                # only reads: on SQLite these reads then do not hold the writers' lock (with the
                # GIL shared with the request threads, each statement there cost milliseconds).
                # On PostgreSQL they came before any lock already; measured, the second
                # transaction cost nothing there (152 and 196/s with it, 133 and 185/s without).
                with reading():
                    # Kept until the batch is stored: the session's identity map holds its objects weakly.
                    reads = load_for_batch(submissions)
                    db.session.commit()
                with self._turn():
                    results = submit_comments(submissions, receipts=mails, reads=reads)
                    outcomes = [r if isinstance(r, DomainError) else _receipt(r) for r in results]
                    db.session.commit()
            except BaseException:
                db.session.rollback()
                db.session.remove()
                raise
            # The receipt mails of the committed comments, written outside the writers' lock: the
            # other process's writer stores its batch meanwhile. The batch is stored whatever
            # happens here, so a failure is logged, never retried (that would store it twice).
            try:
                send_receipts(mails)
            except Exception:  # noqa: BLE001 (the comments and their ledger entries are committed)
                log.exception("comment intake: the receipt mails of a stored batch failed")
            finally:
                db.session.remove()
            return outcomes

    @contextmanager
    def _turn(self):
        """On SQLite, the writers of the worker processes take turns through a file lock.

        SQLite's own busy handler polls with growing sleeps, so a writer waiting for the lock
        sleeps on while the lock is free; a blocked ``flock`` wakes the moment it is released.
        """
        if self.lock_file is None:
            yield
            return
        fcntl.flock(self.lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)


_writers: dict[int, Writer] = {}
_writers_lock = threading.Lock()


def _writer_for(app: Flask) -> Writer:
    """This process's writer for ``app``, started on first use (after gunicorn forked the worker)."""
    key = id(app)
    writer = _writers.get(key)
    if writer is None or writer.pid != os.getpid() or not writer.thread.is_alive():
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None or writer.pid != os.getpid() or not writer.thread.is_alive():
                writer = _writers[key] = Writer(app)
    return writer
