"""The batched comment intake (intake.py): several comments in one transaction, each complete.

These tests commit for real (the writer thread has its own connection), on a database of their own.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
import warnings
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.auth import operations as auth_ops
from portal.auth.models import Department, Role, User
from portal.consultation import intake
from portal.consultation import operations as consult
from portal.consultation.models import Comment, Consultation, ReceiptQueueItem
from portal.core.database import reading, wants_write_lock
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decisions
from portal.trace.models import TraceEntry
from portal.trace.operations import verify
from tests.conftest import PASSWORD

DRAFT = "第一条 为规范应急响应,制定本办法。\n\n第二条 本办法适用于本市。\n"


@pytest.fixture
def committing_config() -> dict:
    return {"COMMENT_INTAKE": "batched", "COMMENT_INTAKE_TIMEOUT": 20}


@pytest.fixture
def batched(committing_app):
    """A committing app in batched mode, with an open consultation and ten confirmed citizens."""
    app = committing_app
    with app.app_context():
        department = Department(code="yjj", name="市应急管理局", name_en="Emergency Management Bureau")
        db.session.add(department)
        db.session.flush()
        official = auth_ops.create_user(
            None,
            email="official@intake.cn",
            display_name="承办人",
            password=PASSWORD,
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        decision = decisions.create_decision(
            official,
            department=department,
            title="应急响应办法",
            slug="intake-test",
            summary="测试",
            responsible=[official],
        )
        version = decisions.create_version(official, decision, body=DRAFT, explanation="说明")
        decisions.publish_version(official, version)
        now = utcnow()
        consultation = consult.open_consultation(
            official, decision, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=30)
        )
        citizens = [
            auth_ops.create_user(
                None,
                email=f"c{i}@intake.cn",
                display_name=f"市民{i}",
                password=PASSWORD,
                roles=[Role.CITIZEN],
                confirmed=True,
            )
            for i in range(10)
        ]
        db.session.commit()
        app.extensions["test_ids"] = {"consultation": consultation.id, "citizens": [c.id for c in citizens]}
    return app


@pytest.fixture
def held_writer(batched, monkeypatch):
    """The writer's first batch waits until ``release`` is set; every batch's size is recorded."""
    return hold_batch(monkeypatch, 1)


def hold_batch(monkeypatch, number: int) -> tuple[threading.Event, list[int]]:
    """The writer's ``number``-th batch waits until ``release`` is set; every batch's size is recorded."""
    release = threading.Event()
    sizes: list[int] = []
    real = intake.submit_comments

    def spy(submissions, **kwargs):
        sizes.append(len(submissions))
        if len(sizes) == number:
            release.wait(20)
        return real(submissions, **kwargs)

    monkeypatch.setattr(intake, "submit_comments", spy)
    return release, sizes


def outbox(app, wait_for: int = 0, timeout: float = 10) -> list:
    """The mails in the outbox, after waiting (at most ``timeout`` seconds) until there are ``wait_for``."""
    folder = Path(app.config["OUTBOX_PATH"])
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("*.eml"))) < wait_for and time.monotonic() < deadline:
        time.sleep(0.05)
    return [message_from_bytes(p.read_bytes(), policy=default) for p in sorted(folder.glob("*.eml"))]


def submission(app, i: int, body: str | None = None, **extra) -> consult.CommentSubmission:
    ids = app.extensions["test_ids"]
    return consult.CommentSubmission(
        author_id=ids["citizens"][i],
        consultation_id=ids["consultation"],
        body=body if body is not None else f"第{i}位市民的意见:建议把避难场所的位置公开在地图上。",
        **extra,
    )


def submit_all(app, items) -> list:
    """Submit each item from its own thread at the same time; results in order (receipt or exception)."""
    results: list = [None] * len(items)

    def run(index, item):
        with app.app_context():
            try:
                results[index] = intake.submit(item)
            except DomainError as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i, item)) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    return threads, results


def test_comments_waiting_together_are_stored_in_one_batch_each_with_entry_and_receipt(batched, held_writer):
    release, sizes = held_writer
    threads, first = submit_all(batched, [submission(batched, 0)])
    while not sizes:  # the writer holds the first comment
        threading.Event().wait(0.01)
    more, results = submit_all(batched, [submission(batched, i) for i in range(1, 10)])
    while intake._writer_for(batched).jobs.qsize() < 9:
        threading.Event().wait(0.01)
    release.set()
    for thread in threads + more:
        thread.join(30)
    receipts = first + results
    assert sizes == [1, 9]
    numbers = [r.tracking_number for r in receipts]
    assert len(set(numbers)) == 10
    with batched.app_context():
        stored = dict(db.session.execute(select(Comment.tracking_number, Comment.status)).all())
        assert set(stored) == set(numbers)
        assert all(stored[r.tracking_number] == r.status == "pending" for r in receipts)
        entries = db.session.scalars(select(TraceEntry).where(TraceEntry.action == "comment.accepted")).all()
        assert sorted(e.payload_data["tracking_number"] for e in entries) == sorted(numbers)
        assert verify().ok
    subjects = [m["Subject"] for m in outbox(batched, wait_for=10)]
    assert all(any(n in s for s in subjects) for n in numbers)


def test_a_refused_comment_does_not_take_the_others_down(batched, held_writer):
    release, sizes = held_writer
    threads, _ = submit_all(batched, [submission(batched, 0)])
    while not sizes:
        threading.Event().wait(0.01)
    items = [submission(batched, 1), submission(batched, 2, body="   "), submission(batched, 3)]
    more, results = submit_all(batched, items)
    while intake._writer_for(batched).jobs.qsize() < 3:
        threading.Event().wait(0.01)
    release.set()
    for thread in threads + more:
        thread.join(30)
    assert sizes == [1, 3]
    assert isinstance(results[1], DomainError)
    assert results[1].code == "empty"
    assert isinstance(results[0], intake.Receipt)
    assert isinstance(results[2], intake.Receipt)
    with batched.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 3
        assert verify().ok


def test_a_failing_batch_is_retried_one_comment_at_a_time(batched, monkeypatch):
    real = consult.submit_comments
    calls: list[int] = []

    def flaky(submissions, **kwargs):
        calls.append(len(submissions))
        if len(submissions) > 1:
            raise RuntimeError("simulated failure of a batch")
        return real(submissions, **kwargs)

    monkeypatch.setattr(intake, "submit_comments", flaky)
    writer = intake._writer_for(batched)
    jobs = [intake._Job(submission(batched, i)) for i in range(3)]
    writer._store(jobs)
    assert calls == [3, 1, 1, 1]
    assert all(job.receipt is not None and job.error is None for job in jobs)
    with batched.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 3
        assert verify().ok


def test_the_same_form_twice_in_one_batch_is_one_comment(batched):
    writer = intake._writer_for(batched)
    jobs = [intake._Job(submission(batched, 4, submission_token="form-token-1")) for _ in range(2)]
    writer._store(jobs)
    assert jobs[0].receipt == jobs[1].receipt
    with batched.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_a_writer_that_does_not_answer_in_time_asks_to_send_again(batched, held_writer):
    release, _ = held_writer
    batched.config["COMMENT_INTAKE_TIMEOUT"] = 0.2
    try:
        with batched.app_context(), pytest.raises(intake.Busy) as caught:
            intake.submit(submission(batched, 5, submission_token="slow-form"))
        assert caught.value.status == 503
    finally:
        release.set()
    # The form sent again finds the comment the writer stored meanwhile: still one comment.
    batched.config["COMMENT_INTAKE_TIMEOUT"] = 20
    with batched.app_context():
        again = intake.submit(submission(batched, 5, submission_token="slow-form"))
        assert db.session.scalar(select(func.count(Comment.id))) == 1
        assert db.session.scalar(select(Comment.tracking_number)) == again.tracking_number


def test_the_receipt_is_written_in_the_citizens_language(batched):
    with batched.app_context():
        intake.submit(submission(batched, 6, locale="en"))
    (message,) = outbox(batched, wait_for=1)
    assert message["Subject"].isascii()
    assert "GY-" in message["Subject"]


def queued(app) -> list[tuple[str, str]]:
    """(tracking number, locale) of the receipt mails queued, read through a connection of its own."""
    with app.app_context():
        rows = db.session.execute(
            select(Comment.tracking_number, ReceiptQueueItem.locale).join(
                Comment, Comment.id == ReceiptQueueItem.comment_id
            )
        ).all()
        db.session.remove()
    return sorted(tuple(r) for r in rows)


def test_the_receipt_is_queued_with_the_comment_and_sent_once_the_writer_is_quiet(batched, monkeypatch):
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 0.6)
    with batched.app_context():
        first = intake.submit(submission(batched, 3, locale="en"))
    # Committed with the comment, in its transaction; no mail yet: the writer was busy a moment ago.
    assert queued(batched) == [(first.tracking_number, "en")]
    assert outbox(batched) == []
    time.sleep(0.4)
    with batched.app_context():
        second = intake.submit(submission(batched, 4))  # the writer busy again: the mails wait on
    time.sleep(0.4)
    assert outbox(batched) == []
    assert len(queued(batched)) == 2
    messages = outbox(batched, wait_for=2)
    assert sorted(m["Subject"].split(":")[-1].strip() for m in messages) == sorted(
        [first.tracking_number, second.tracking_number]
    )
    assert queued(batched) == []


def test_receipt_mails_wait_no_longer_than_the_deferral_bound(batched, monkeypatch):
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)  # as if the writer never stopped storing comments
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 0.5)
    started = time.monotonic()
    with batched.app_context():
        receipt = intake.submit(submission(batched, 5))
    (message,) = outbox(batched, wait_for=1)
    assert receipt.tracking_number in message["Subject"]
    assert time.monotonic() - started < 10


def test_receipt_mails_wait_while_a_batch_takes_longer_than_the_quiet_time(batched, monkeypatch):
    """Quiet means out of a batch: a batch still running after RECEIPT_QUIET holds the mails back."""
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 0.3)
    release, _ = hold_batch(monkeypatch, 2)
    with batched.app_context():
        first = intake.submit(submission(batched, 1))

    def second():
        with batched.app_context():
            intake.submit(submission(batched, 2))

    thread = threading.Thread(target=second)
    thread.start()
    try:
        time.sleep(0.9)  # three times the quiet time since the first comment was stored
        assert outbox(batched) == []
        assert [number for number, _ in queued(batched)] == [first.tracking_number]
    finally:
        release.set()
        thread.join(20)
    assert len(outbox(batched, wait_for=2)) == 2


def test_a_new_sender_waits_for_quiet_before_sending_what_it_finds(batched, monkeypatch):
    """A writer starts because comments come: the rows another process left wait for quiet (or
    RECEIPT_DEFER), they are not sent at once in the middle of the surge that started it."""
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 1.0)
    with batched.test_request_context("/", method="POST"):  # as a process that stopped left it
        (left,) = consult.submit_comments([submission(batched, 3)], queue_receipts=True)
        number = left.tracking_number
        db.session.commit()
        db.session.remove()
    started = time.monotonic()
    intake._writer_for(batched)
    time.sleep(0.5)
    assert outbox(batched) == []
    (message,) = outbox(batched, wait_for=1)
    assert number in message["Subject"]
    assert time.monotonic() - started >= 1.0


def test_a_receipt_mail_that_cannot_be_built_is_dropped_without_holding_up_the_others(batched, monkeypatch):
    from portal.notifications import operations as notifications

    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)  # the test sends them itself
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 60)
    writer = intake._writer_for(batched)
    jobs = [intake._Job(submission(batched, i)) for i in range(3)]
    writer._store(jobs)
    broken = jobs[1].receipt.tracking_number
    real = notifications.render_mail

    def render(template, **context):
        if context["comment"].tracking_number == broken:
            raise RuntimeError("simulated failure of the mail template")
        return real(template, **context)

    monkeypatch.setattr(notifications, "render_mail", render)
    assert writer.receipts.send_all(wait=False) == 3
    subjects = " ".join(m["Subject"] for m in outbox(batched))
    assert jobs[0].receipt.tracking_number in subjects
    assert jobs[2].receipt.tracking_number in subjects
    assert broken not in subjects
    assert queued(batched) == []
    with batched.app_context():  # the batch was stored once, whatever happened to its mails
        assert db.session.scalar(select(func.count(Comment.id))) == 3
        assert verify().ok


def test_a_failure_to_send_leaves_the_receipts_queued_for_the_next_try(batched, monkeypatch):
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 60)
    with batched.app_context():
        receipt = intake.submit(submission(batched, 7))
    writer = intake._writer_for(batched)
    real = intake.send_queued_receipts

    def failing(limit):
        real(limit)  # the rows are taken and the mails built, then the transaction fails
        raise RuntimeError("simulated loss of the database connection")

    monkeypatch.setattr(intake, "send_queued_receipts", failing)
    with pytest.raises(RuntimeError):
        writer.receipts.send_all(wait=False)
    assert queued(batched) == [(receipt.tracking_number, batched.config["BABEL_DEFAULT_LOCALE"])]
    assert outbox(batched) == []  # nothing went out for the undone transaction
    monkeypatch.setattr(intake, "send_queued_receipts", real)
    assert writer.receipts.send_all(wait=False) == 1
    assert len(outbox(batched)) == 1


def test_receipts_left_queued_are_sent_by_the_command_and_at_stop(batched, monkeypatch):
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 60)
    with batched.app_context():
        first = intake.submit(submission(batched, 8))
    result = batched.test_cli_runner().invoke(args=["consultation", "send-receipts"])
    assert result.exit_code == 0, result.output
    assert "1 receipt mail(s) sent; 0 still queued" in result.output
    assert [first.tracking_number in m["Subject"] for m in outbox(batched)] == [True]
    with batched.app_context():
        second = intake.submit(submission(batched, 9))
    intake.stop(batched)  # a worker stopping in good order sends what it queued
    assert queued(batched) == []
    assert sorted(second.tracking_number in m["Subject"] for m in outbox(batched)) == [False, True]


def _worker_that_comments_and_ends(app, i: int) -> None:
    """A forked worker process's life: a comment through its own writer, then the end of the target."""
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        intake.submit(submission(app, i))
    # Returning ends the process as Granian's workers end: multiprocessing's exit hooks, then
    # os._exit (no atexit).


def test_a_worker_process_ending_in_good_order_sends_what_it_queued(batched, monkeypatch):
    # Granian runs each worker as a multiprocessing child: the sender must not rely on atexit.
    monkeypatch.setattr(intake, "RECEIPT_QUIET", 60)
    monkeypatch.setattr(intake, "RECEIPT_DEFER", 60)
    with batched.app_context():
        db.engine.dispose()  # nothing pooled to hand down to the child
    worker = multiprocessing.get_context("fork").Process(target=_worker_that_comments_and_ends, args=(batched, 7))
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks; Granian forks its workers so too.
        warnings.filterwarnings(
            "ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning
        )
        worker.start()
    worker.join(30)
    assert worker.exitcode == 0
    assert queued(batched) == []
    with batched.app_context():
        number = db.session.execute(select(Comment.tracking_number)).scalar_one()
        db.session.remove()
    assert [number in m["Subject"] for m in outbox(batched)] == [True]


def test_the_form_posts_through_the_writer_without_taking_the_write_lock_first(batched):
    client = batched.test_client()
    with batched.app_context():
        email = db.session.get(User, batched.extensions["test_ids"]["citizens"][7]).email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    with batched.test_request_context("/decisions/intake-test/consultation/comments", method="POST"):
        assert wants_write_lock() is False  # the checks before the write run without SQLite's write lock
    response = client.post(
        "/decisions/intake-test/consultation/comments",
        data={"body": "通过表单提交的意见。", "article": "", "submission_token": "t-1"},
    )
    assert response.status_code == 302
    assert "/receipt" in response.headers["Location"]
    with batched.app_context():
        comment = db.session.scalar(select(Comment))
        assert comment.body == "通过表单提交的意见。"
        assert db.session.get(Consultation, comment.consultation_id).decision.slug == "intake-test"


def test_inline_mode_takes_the_write_lock_for_the_form_as_before(app):
    with app.test_request_context("/decisions/x/consultation/comments", method="POST"):
        assert wants_write_lock() is True


def test_a_busy_writer_gives_the_citizen_a_clear_page_and_the_same_form_stores_once(batched, held_writer):
    release, _ = held_writer
    client = batched.test_client()
    with batched.app_context():
        email = db.session.get(User, batched.extensions["test_ids"]["citizens"][8]).email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    form = {"body": "繁忙时提交的意见。", "article": "", "submission_token": "busy-form"}
    batched.config["COMMENT_INTAKE_TIMEOUT"] = 0.2
    try:
        response = client.post("/decisions/intake-test/consultation/comments", data=form)
    finally:
        release.set()
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "系统繁忙" in page
    assert 'value="busy-form"' in page  # the form shown again keeps its token
    batched.config["COMMENT_INTAKE_TIMEOUT"] = 20
    again = client.post("/decisions/intake-test/consultation/comments", data=form)
    assert again.status_code == 302
    with batched.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_accounts_and_consultations_are_read_before_the_writers_turn(batched, monkeypatch):
    """Under the writers' lock only what must be there runs: the accounts, roles, consultation and
    decision of a batch are read before it, in a transaction of their own (on SQLite it begins
    without the write lock)."""
    from sqlalchemy import event

    writer = intake._writer_for(batched)
    statements: list[tuple[bool, str]] = []
    holding = threading.Event()
    real_turn = writer._turn

    @contextmanager
    def turn():
        with real_turn():
            holding.set()
            try:
                yield
            finally:
                holding.clear()

    monkeypatch.setattr(writer, "_turn", turn)
    with batched.app_context():
        engine = db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread() is writer.thread:
            statements.append((holding.is_set(), " ".join(statement.split())))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with batched.app_context():
            receipts = [intake.submit(submission(batched, i)) for i in (1, 2)]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert all(r.tracking_number for r in receipts)

    def reads(table: str, among: list[str]) -> list[str]:
        return [s for s in among if re.search(rf'(FROM|JOIN) "?{table}"?( |$)', s)]

    tables = ("user", "user_role", "consultation", "decision", "draft_version")
    if engine.dialect.name == "sqlite":
        inside = [s for held, s in statements if held]
        before = [s for held, s in statements if not held]
        for table in tables:
            assert not reads(table, inside), table
            assert reads(table, before), table
        assert any(s.startswith("INSERT INTO comment ") for s in inside)
        assert "BEGIN IMMEDIATE" not in before  # the reads do not take SQLite's write lock
        assert "BEGIN IMMEDIATE" in inside
    else:
        # PostgreSQL has no turn: no such read runs while a batch holds its locks, from the
        # counter row (taken first) to the ledger entries (written last).
        order = [s for _held, s in statements]
        locks = [i for i, s in enumerate(order) if s.startswith("UPDATE tracking_counter")]
        assert locks
        for start in locks:
            end = next(i for i in range(start, len(order)) if order[i].startswith("INSERT INTO trace_entry"))
            for table in tables:
                assert not reads(table, order[start:end]), table
        for table in tables:
            assert reads(table, order[: locks[0]]), table
    with batched.app_context():
        assert verify().ok


def test_a_reading_transaction_begins_without_the_write_lock_and_the_next_with_it(app):
    with app.test_request_context("/decisions/x/consultation/comments", method="POST"):
        assert wants_write_lock() is True
        with reading():
            assert wants_write_lock() is False
        assert wants_write_lock() is True
        # A request that had committed before stays so: its later transactions only read.
        from flask import g

        from portal.core.database import COMMITTED

        setattr(g, COMMITTED, True)
        with reading():
            assert wants_write_lock() is False
        assert wants_write_lock() is False


@pytest.fixture
def batch_sizes(batched, monkeypatch):
    """The size of every batch the writer stores."""
    sizes: list[int] = []
    real = intake.submit_comments

    def spy(submissions, **kwargs):
        sizes.append(len(submissions))
        return real(submissions, **kwargs)

    monkeypatch.setattr(intake, "submit_comments", spy)
    return sizes


def test_the_writer_waits_for_comments_already_on_their_way(batched, batch_sizes, monkeypatch):
    """Two requests have arrived; the first hands its comment over, the second a moment later: one
    batch. The writer stops waiting as soon as nobody else is on the way, not at the time limit."""
    monkeypatch.setattr(intake, "GATHER_WAIT", 5.0)
    writer = intake._writer_for(batched)
    writer.arrive()
    writer.arrive()
    results: list = []

    def send(i: int) -> None:
        with batched.app_context():
            results.append(writer.submit(submission(batched, i), 20, arrived=True))

    started = time.monotonic()
    first = threading.Thread(target=send, args=(0,))
    first.start()
    time.sleep(0.2)
    assert not results  # still waiting for the second
    second = threading.Thread(target=send, args=(1,))
    second.start()
    first.join(20)
    second.join(20)
    assert len(results) == 2
    assert batch_sizes == [2]
    assert time.monotonic() - started < 4
    assert writer.arriving == 0


def test_a_quiet_site_does_not_wait(batched, batch_sizes, monkeypatch):
    monkeypatch.setattr(intake, "GATHER_WAIT", 5.0)
    started = time.monotonic()
    with batched.app_context():
        assert intake.submit(submission(batched, 2)).tracking_number
    assert time.monotonic() - started < 4
    assert batch_sizes == [1]


def test_the_wait_for_comments_on_their_way_is_bounded(batched, batch_sizes, monkeypatch):
    """A request counted as arriving that never hands a comment over delays a batch by GATHER_WAIT at most."""
    monkeypatch.setattr(intake, "GATHER_WAIT", 0.3)
    writer = intake._writer_for(batched)
    writer.arrive()
    try:
        started = time.monotonic()
        with batched.app_context():
            assert intake.submit(submission(batched, 3)).tracking_number
        assert 0.25 <= time.monotonic() - started < 5
    finally:
        writer.leave()
    assert batch_sizes == [1]


def test_comment_requests_are_counted_from_arrival_until_they_hand_over_or_leave(batched):
    """Through the app: accepted, refused and unknown-decision POSTs all leave the count at zero,
    and the counted path is the comment form's own (the pattern follows the route)."""
    from flask import url_for

    with batched.test_request_context():
        path = url_for("consultation.submit_comment", slug="intake-test")
    assert intake.COMMENT_PATH.match(path)
    client = batched.test_client()
    with batched.app_context():
        email = db.session.get(User, batched.extensions["test_ids"]["citizens"][4]).email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    writer = intake._writer_for(batched)
    seen: list[int] = []
    real_submit = writer.submit

    def spy(*args, **kwargs):
        seen.append(writer.arriving)  # this request is still counted until its comment is queued
        return real_submit(*args, **kwargs)

    writer.submit = spy
    try:
        ok = client.post(path, data={"body": "计数测试的意见。", "article": "", "submission_token": "n-1"})
        assert ok.status_code == 302
        assert seen == [1]
        assert writer.arriving == 0
        assert client.post(path, data={"body": "", "article": "", "submission_token": "n-2"}).status_code == 400
        assert writer.arriving == 0
        assert client.post("/decisions/no-such/consultation/comments", data={"body": "x"}).status_code == 404
        assert writer.arriving == 0
    finally:
        del writer.submit


def test_comments_that_arrive_during_the_wait_for_the_turn_join_the_batch(batched, batch_sizes, monkeypatch):
    """The other process's writer holds the turn; comments queued meanwhile are stored with the
    batch that was waiting, not in a turn of their own."""
    writer = intake._writer_for(batched)
    waiting = threading.Event()
    go = threading.Event()
    real_turn = writer._turn

    @contextmanager
    def turn():
        waiting.set()
        go.wait(20)
        with real_turn():
            yield

    monkeypatch.setattr(writer, "_turn", turn)
    threads, results = submit_all(batched, [submission(batched, 5)])
    assert waiting.wait(20)
    more_threads, more = submit_all(batched, [submission(batched, i) for i in (6, 7, 8)])
    deadline = time.monotonic() + 20
    while writer.jobs.qsize() < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.set()
    for thread in threads + more_threads:
        thread.join(20)
    assert batch_sizes == [4]
    receipts = results + more
    assert len({r.tracking_number for r in receipts}) == 4
