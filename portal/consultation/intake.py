"""Comment intake: group commit of the comments that arrive at the same moment (issue 8, surge).

Under a surge, most of the cost of taking a comment used to be paid while holding the database's
write lock (SQLite has one; the ledger has one append lock on both databases): the request took
the lock at its first query and kept it while checking the login, reading the decision, grouping
duplicates, numbering, appending to the ledger and writing the receipt. Writers queued behind it.

With ``COMMENT_INTAKE = "batched"`` (the default), each worker process has one writer thread:

- the request checks the login, the form and the decision with reads only (no write lock), and
  hands the comment, as plain values, to the writer, then waits for its answer;
- the writer takes every comment waiting at that moment (at most ``BATCH_MAX``), and waits a
  moment (at most ``GATHER_WAIT``) for the comment requests that have already arrived in this
  process and are still reading their forms (``Arrivals`` counts them); it reads the accounts,
  consultations and decisions they need in a transaction that only reads (``load_for_batch``),
  then takes its turn (on SQLite a file lock the worker processes share), adds the comments that
  came meanwhile, and stores them with ``operations.submit_comments`` in one transaction: each
  comment with its ledger entry and its receipt mail queued (a row). It commits, ends its turn,
  and answers each request with its tracking number. A comment refused on its own merits (period
  closed, empty text) gets its message; the others are not affected;
- the process's ``ReceiptSender`` writes the queued receipt mails once the writer is quiet (at
  the latest ``RECEIPT_DEFER`` seconds later), so that under a surge they do not compete with
  storing comments;
- if the batch fails for another reason, it is rolled back and retried one comment per
  transaction, so one bad comment cannot take others down with it.

So a receipt is only ever shown for a committed comment with its ledger entry, as before; what
changes is that one transaction holds several users' actions (each still complete: comment,
ledger entry and receipt together), which docs/DECISIONS.md records as a deliberate exception to
"one transaction per user action". With no other comment waiting or on its way, a batch is one
comment: a quiet site pays nothing for this.

``COMMENT_INTAKE = "inline"`` stores the comment in the request's own transaction. The tests use
it, because each test runs inside one transaction that is rolled back, which another thread's
connection could not see.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import queue
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy handler alone then
    fcntl = None  # type: ignore[assignment]
from dataclasses import dataclass, field

from flask import Flask, current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from portal.consultation.operations import (
    BatchReads,
    CommentSubmission,
    load_for_batch,
    send_queued_receipts,
    submit_comments,
    submit_one,
)
from portal.core.database import reading
from portal.core.errors import DomainError
from portal.core.extensions import db

log = logging.getLogger("portal.intake")

#: At most this many comments in one transaction.
BATCH_MAX = 64
#: How long (seconds) a writer waits for comment requests that have arrived in this process but
#: not yet reached it, before it stores what it has (``Writer._gather``).
GATHER_WAIT = 0.01
#: The comment form's POST (``consultation.submit_comment``), as the WSGI layer sees it.
COMMENT_PATH = re.compile(r"/decisions/[^/]+/consultation/comments\Z")
#: WSGI environ key: the writer that counted this request as arriving (``Arrivals``).
_ARRIVAL = "portal.intake.arrival"
#: Config values of COMMENT_INTAKE.
MODES = ("batched", "inline")
#: Receipt mails wait while this process's writer keeps storing comments: they are sent once it
#: has stored none for ``RECEIPT_QUIET`` seconds, or ``RECEIPT_DEFER`` seconds after the first of
#: them was queued, whichever comes first (``ReceiptSender``).
RECEIPT_QUIET = 0.5
RECEIPT_DEFER = 30.0
#: The queue is also looked at this often without a new comment (mails another process left).
RECEIPT_POLL = 60.0
#: After a failure to send (the database is away), the sender tries again this much later.
RECEIPT_RETRY = 5.0
#: Receipt mails taken from the queue in one transaction.
RECEIPT_CHUNK = 100


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
    counted = request.environ.pop(_ARRIVAL, None) if has_request_context() else None
    writer = _writer_for(app)
    return writer.submit(submission, float(app.config.get("COMMENT_INTAKE_TIMEOUT", 60)), arrived=counted is writer)


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
        #: Comment requests of this process that have arrived and not yet handed their comment
        #: over (or left without one): the writer waits a moment for them (``_gather``).
        self.arriving = 0
        self._arriving_lock = threading.Lock()
        self.stopping = False
        self.receipts = ReceiptSender(app)  # before the thread, which tells it of every batch
        self.thread = threading.Thread(target=self._run, name="portal-comment-intake", daemon=True)
        self.thread.start()

    def arrive(self) -> None:
        with self._arriving_lock:
            self.arriving += 1

    def leave(self) -> None:
        with self._arriving_lock:
            self.arriving -= 1

    def submit(self, submission: CommentSubmission, timeout: float, *, arrived: bool = False) -> Receipt:
        """Queue the comment and wait for its answer; ``arrived``: this request was counted as arriving."""
        job = _Job(submission)
        self.jobs.put(job)
        if arrived:  # after the put: the writer never sees nobody arriving while this job is on its way
            self.leave()
        if not job.done.wait(timeout):
            raise Busy(_l("系统繁忙,您的意见可能尚未保存。请重新提交同一表单:同一份意见不会被重复计入。"))
        if job.error is not None:
            raise job.error
        assert job.receipt is not None
        return job.receipt

    def stop(self) -> None:
        """End the writer thread after the comments already queued, and the sender (``stop``)."""
        self.stopping = True
        self.jobs.put(None)  # type: ignore[arg-type]  # wakes the writer; ``_run`` ends on it
        self.thread.join(10)
        self.receipts.stop()
        if self.lock_file is not None and not self.thread.is_alive():
            self.lock_file.close()

    def _run(self) -> None:
        while True:
            first = self.jobs.get()
            if first is None:
                return
            batch = [first]
            self.receipts.writing(True)
            try:
                batch = self._gather(first)
                self._store(batch)
            except BaseException as exc:  # noqa: BLE001 (the thread must outlive any one batch)
                log.exception("comment intake batch failed")
                for job in batch:
                    if not job.done.is_set():
                        job.error = exc
                        job.done.set()
            finally:
                self.receipts.writing(False)

    def _gather(self, first: _Job) -> list[_Job]:
        """A batch: ``first``, every comment waiting, and those of the requests already in this
        process that are on their way (at most ``GATHER_WAIT`` seconds more).

        Each batch costs about 10 ms whatever its size (issue 8). Without waiting, a writer that
        had just answered a batch took the first comment of the next round at once, while the
        request threads just freed were still reading their forms: under a surge batches
        averaged 8 comments, 14 with the wait. On a quiet site nobody is on the way and a comment
        is stored at once.
        """
        batch = [first]
        deadline = None
        while len(batch) < BATCH_MAX:
            job = self._take()
            if job is None:
                if self.arriving <= 0 or self.stopping:
                    break
                now = time.monotonic()
                deadline = deadline or now + GATHER_WAIT
                if now >= deadline:
                    break
                job = self._take(deadline - now)
                if job is None:
                    break
            batch.append(job)
        return batch

    def _take(self, timeout: float | None = None) -> _Job | None:
        """The next queued comment, waiting at most ``timeout`` seconds (None: not at all); None
        when none came, or when the writer is stopping (its mark goes back for ``_run``)."""
        try:
            job = self.jobs.get(timeout=timeout) if timeout else self.jobs.get_nowait()
        except queue.Empty:
            return None
        if job is None:
            self.jobs.put(job)
        return job

    def _store(self, batch: list[_Job], *, top_up: bool = True) -> None:
        """Store ``batch`` (which may grow: see ``_transaction``) and answer every job in it."""
        try:
            receipts = self._transaction(batch, top_up=top_up)
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("comment intake: a batch of %d failed; storing one at a time", len(batch), exc_info=True)
            for job in batch:
                try:
                    self._store([job], top_up=False)
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

    def _transaction(self, batch: list[_Job], *, top_up: bool = True) -> list[Receipt | DomainError]:
        # A request context of its own for each batch: its transaction begins IMMEDIATE on SQLite
        # (a POST that has not committed yet, core/database.py), and the session is this
        # context's alone. Each comment's receipt mail is queued in the batch's transaction and
        # written later by this process's ``ReceiptSender``.
        with self.app.test_request_context("/", method="POST"):
            submissions = [job.submission for job in batch]
            try:
                # The accounts, consultations and decisions are read first, in a transaction that
                # only reads: on SQLite these reads then do not hold the writers' lock (with the
                # GIL shared with the request threads, each statement there cost milliseconds).
                # On PostgreSQL they came before any lock already; measured, the second
                # transaction cost nothing there (152 and 196/s with it, 133 and 185/s without).
                with reading():
                    reads = load_for_batch(submissions)
                    db.session.commit()
                with self._turn():
                    if top_up:
                        reads = self._top_up(batch, submissions, reads)
                    results = submit_comments(submissions, queue_receipts=True, reads=reads)
                    outcomes = [r if isinstance(r, DomainError) else _receipt(r) for r in results]
                    db.session.commit()
            finally:
                db.session.remove()  # rolls back what did not commit
            if any(isinstance(outcome, Receipt) for outcome in outcomes):
                self.receipts.queued()
            return outcomes

    def _top_up(self, batch: list[_Job], submissions: list, reads: BatchReads) -> BatchReads:
        """Add the comments that arrived while this writer waited for its turn to the batch (in
        place), with what they need read (read in the turn).

        Under a surge on SQLite the two processes' writers take turns, and the comments that
        arrived during the other's turn waited for the next one, in a batch of their own; each
        batch costs about 10 ms whatever its size (issue 8).
        """
        more: list[_Job] = []
        while len(batch) + len(more) < BATCH_MAX and (job := self._take()) is not None:
            more.append(job)
        if not more:
            return reads
        batch.extend(more)
        submissions.extend(job.submission for job in more)
        return reads.merged(load_for_batch([job.submission for job in more]))

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


class ReceiptSender:
    """One process's sender of the receipt mails its writer queued (``ReceiptQueueItem``).

    The writer queues each comment's receipt as a row of the comment's own transaction; this
    thread writes the mails (the outbox, or SMTP) and removes the rows, once the writer has been
    out of a batch for ``RECEIPT_QUIET`` seconds, and at the latest ``RECEIPT_DEFER`` seconds
    after the first mail waited. Under a surge, writing the mails in the writer was a fifth of
    the CPU per comment (issue 8): they now wait until the comments are stored. The promise is the stored
    comment and the tracking number the page shows; the mail confirms it a little later. Rows
    left by a process that stopped are sent by the next sender that looks (soon after it starts,
    every ``RECEIPT_POLL`` seconds) or by ``flask consultation send-receipts``.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.wake = threading.Event()
        #: monotonic time the writer last stored a comment (or ended a batch), and the first mail
        #: queued since the queue was last emptied (None: nothing waits)
        self.last_stored = time.monotonic()
        self.waiting_since: float | None = self.last_stored
        #: the writer is in a batch: not quiet, however long the batch takes
        self.busy = False
        self.halt = threading.Event()
        # Look soon: mails may have been left queued by a process that stopped. The writer was
        # started because a comment came, so that look waits for quiet as well (or at most
        # RECEIPT_DEFER): looking at once sent a hundred mails per worker at a surge's start.
        self.wake.set()
        self.thread = threading.Thread(target=self._run, name="portal-receipts", daemon=True)
        self.thread.start()
        # A worker that stops in good order sends what it queued; after a crash the rows wait
        # for another sender. Gunicorn's worker ends with sys.exit (atexit); Granian's is a
        # multiprocessing child, which ends with os._exit after multiprocessing's own exit
        # hooks, so the sender is registered with both (the first to run unregisters the other).
        atexit.register(self.stop)
        self._at_worker_exit = multiprocessing.util.Finalize(self, self.stop, exitpriority=10)

    def stop(self) -> None:
        """End the thread, then send what is still queued (without waiting for quiet)."""
        atexit.unregister(self.stop)
        self._at_worker_exit.cancel()
        self.halt.set()
        self.wake.set()
        self.thread.join(10)
        try:
            self.send_all(wait=False)
        except Exception:  # noqa: BLE001 (the rows stay queued for another sender)
            log.exception("receipt mails: sending at stop failed; they stay queued")

    def writing(self, busy: bool) -> None:
        """The writer begins (True) or ends (False) a batch."""
        self.busy = busy
        if not busy:
            self.last_stored = time.monotonic()

    def queued(self) -> None:
        """The writer committed comments with their receipt rows."""
        now = time.monotonic()
        self.last_stored = now
        if self.waiting_since is None:
            self.waiting_since = now
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait(RECEIPT_POLL)
            self.wake.clear()
            if self.halt.is_set():
                return
            try:
                self.send_all()
            except Exception:  # noqa: BLE001 (the thread must outlive a database outage; the rows stay)
                log.exception("receipt mails: sending failed; they stay queued")
                self.halt.wait(RECEIPT_RETRY)
                self.wake.set()

    def send_all(self, *, wait: bool = True) -> int:
        """Send every queued receipt mail (after the writer's quiet moment, with ``wait``)."""
        sent = 0
        while True:
            if wait:
                self._wait_for_quiet()
                if self.halt.is_set():  # stop() sends the rest itself
                    return sent
            self.waiting_since = None  # before the chunk: a mail queued meanwhile sets it again
            taken = send_chunk(self.app)
            sent += taken
            if taken < RECEIPT_CHUNK:
                return sent

    def _wait_for_quiet(self) -> None:
        """Until the writer has been out of a batch for ``RECEIPT_QUIET`` seconds, or the first
        mail waiting has waited ``RECEIPT_DEFER`` seconds."""
        while not self.halt.is_set():
            now = time.monotonic()
            deadline = (self.waiting_since or now) + RECEIPT_DEFER
            quiet = now + RECEIPT_QUIET if self.busy else self.last_stored + RECEIPT_QUIET
            until = min(quiet, deadline)
            if now >= until:
                return
            self.halt.wait(until - now)


def send_chunk(app: Flask) -> int:
    """Send up to ``RECEIPT_CHUNK`` queued receipt mails in one transaction; how many were taken."""
    # A request context as the writer's: e-mail templates render and build links, and on SQLite
    # the transaction begins with the write lock (it removes the rows it sends).
    with app.test_request_context("/", method="POST"):
        try:
            taken = send_queued_receipts(RECEIPT_CHUNK)
            db.session.commit()  # the mails go out after this commit (core/mail.py)
        finally:
            db.session.remove()
    return taken


class Arrivals:
    """WSGI middleware: counts the comment form's POSTs from the moment they reach the app until
    they hand their comment to the writer (``submit``) or end without one, so that the writer
    can wait for them (``Writer._gather``). Counting starts before the session, CSRF and form work
    that comes before the view: that is most of a request's time."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or not COMMENT_PATH.match(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        writer = _writer_for(self.app)
        writer.arrive()
        environ[_ARRIVAL] = writer
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            if environ.pop(_ARRIVAL, None) is not None:  # ended without handing a comment over
                writer.leave()


_writers: dict[int, Writer] = {}
_writers_lock = threading.Lock()


def stop(app: Flask) -> None:
    """Stop this process's writer for ``app`` and send its queued receipt mails (tests, shutdown)."""
    with _writers_lock:
        writer = _writers.pop(id(app), None)
    if writer is not None and writer.pid == os.getpid():
        writer.stop()


def _writer_for(app: Flask) -> Writer:
    """This process's writer for ``app``, started on first use (in the worker process, after the server started it)."""
    key = id(app)
    writer = _writers.get(key)
    if writer is None or writer.pid != os.getpid() or not writer.thread.is_alive():
        with _writers_lock:
            writer = _writers.get(key)
            if writer is None or writer.pid != os.getpid() or not writer.thread.is_alive():
                writer = _writers[key] = Writer(app)
    return writer
