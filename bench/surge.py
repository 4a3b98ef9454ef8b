"""Surge benchmark: thousands of citizens comment on one open decision at once, through the WSGI server.

Builds a throwaway instance (SQLite in a temporary folder; ``--pg URL`` creates a fresh database on
that PostgreSQL server and drops it afterwards), applies the migrations, creates one department,
official and decision with an open consultation through the operations, and bulk-inserts
``--accounts`` confirmed citizen accounts. Granian serves the app as deployed (``--server gunicorn``
for the earlier deployment's server), with the rate limits raised.
An asyncio client (aiohttp) logs every account in through the login form (CSRF token, cookies
kept per account), then the accounts post ``--per-account`` comments each through the real HTML
form, ``--concurrency`` at a time, each on a kept-alive connection of a lighter client written on
asyncio's streams (``RawClient``: the load generator shares the two cores with the server). A
comment counts as accepted when the POST answers with the redirect to its receipt (the receipt
page itself is not fetched).

Then it waits for the receipt mails (the intake writes them once the surge has passed, at the
latest 30 s after they were queued), reports how long they took and the CPU they cost, and checks
that every tracking number handed out was mailed once, that it is in the database with its
ledger entry, that ``flask trace verify`` passes, publishes every comment through the operations,
drains the search queue and measures the lag until the search service finds all of them.

Targets (issue 8, this 2-core machine): >= 300 accepted comments/s on SQLite, >= 500 on
PostgreSQL, no 5xx, zero lost.

    .venv/bin/python bench/surge.py [--accounts 2000] [--per-account 2] [--concurrency 64]
                                    [--workers 2] [--threads 32] [--server granian|gunicorn]
                                    [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import secrets
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import (  # noqa: E402
    SERVERS,
    Instance,
    Server,
    cpu_share,
    cpu_ticks,
    load_average,
    log_errors,
    machine_speed,
)

PASSWORD = "Surge-2026-bench"  # noqa: S105 (throwaway accounts of a throwaway instance)
SLUG = "2026-surge-bench"
TARGETS = {"SQLite": 300, "PostgreSQL": 500}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
RECEIPT_RE = re.compile(r"/comments/([A-Z]+-\d{4}-\d+)/receipt")
RECEIPT_NUMBER_RE = re.compile(r"[A-Z]+-\d{4}-\d+")
DRAFT = """# 第一章 总则

第一条 为规范本市突发事件应急响应,提高应对能力,制定本办法。

第二条 本办法适用于本市行政区域内突发事件的应急响应。

# 第二章 响应

第三条 市人民政府应当在突发事件发生后两小时内发布预警信息。

第四条 各区人民政府应当设置应急避难场所,并向社会公布其位置。
"""
#: Campaign texts: a surge is mostly the same few texts, sent by many people.
CAMPAIGN = [
    "我支持本办法,建议尽快实施,并把应急避难场所的位置在地图上公开。",
    "反对第三条的两小时时限,偏远地区做不到,建议改为四小时并说明理由。",
    "建议增加对老年人和残障人士的专门预警方式,例如电话通知和上门告知。",
]
PHRASES = [
    "建议明确责任部门",
    "预警信息应同时通过短信发布",
    "避难场所应配备饮用水和药品",
    "请公开往年的演练记录",
    "学校和医院应优先安排",
    "外来务工人员也应被告知",
    "请说明经费来源",
    "建议每年评估一次执行情况",
    "社区网格员应参与通知",
    "夜间预警容易被忽视",
]


def comment_body(rng: random.Random, n: int) -> str:
    """Half campaign texts (grouped as duplicates), half individual texts."""
    if rng.random() < 0.5:
        return rng.choice(CAMPAIGN)
    picks = rng.sample(PHRASES, 3)
    return f"{picks[0]}。{picks[1]},{picks[2]}。(第{n}号意见,参考编号 {rng.randrange(10**8):08d})"


# The portal side: runs in this process against the instance (``Instance.activate`` first).


def prepare(accounts: int) -> dict:
    """Department, official, decision with an open consultation (operations), and confirmed citizens (bulk)."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from portal import create_app
    from portal.auth import operations as auth_ops
    from portal.auth.models import Department, Role, User, UserRole
    from portal.consultation import operations as consult
    from portal.core.extensions import db
    from portal.core.models import utcnow
    from portal.decisions import operations as decisions

    app = create_app()
    with app.app_context():
        department = Department(code="yjj", name="市应急管理局", name_en="Emergency Management Bureau")
        db.session.add(department)
        db.session.flush()
        official = auth_ops.create_user(
            None,
            email="official@surge-bench.cn",
            display_name="承办人",
            password=PASSWORD,
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        decision = decisions.create_decision(
            official,
            department=department,
            title="突发事件应急响应办法(征求意见稿)",
            slug=SLUG,
            summary="压力测试用的决策事项。",
            responsible=[official],
        )
        version = decisions.create_version(official, decision, body=DRAFT, explanation="起草说明:压力测试。")
        decisions.publish_version(official, version)
        now = utcnow()
        consult.open_consultation(
            official, decision, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=30)
        )
        db.session.commit()

        started = time.perf_counter()
        # One cheap hash shared by every bench account, so logging in thousands does not measure scrypt.
        password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        confirmed = utcnow()
        emails = [f"citizen{i:06d}@surge-bench.cn" for i in range(accounts)]
        for start in range(0, accounts, 1000):
            chunk = emails[start : start + 1000]
            ids = db.session.scalars(
                insert(User).returning(User.id),
                [
                    {
                        "email": email,
                        "display_name": f"市民{start + i:06d}",
                        "password_hash": password_hash,
                        "session_token": secrets.token_hex(16),
                        "is_enabled": True,
                        "email_confirmed_at": confirmed,
                    }
                    for i, email in enumerate(chunk)
                ],
            ).all()
            db.session.execute(insert(UserRole), [{"user_id": uid, "role": Role.CITIZEN.value} for uid in ids])
        db.session.commit()
        created = db.session.scalar(select(db.func.count(User.id)))
        return {
            "emails": emails,
            "official_id": official.id,
            "accounts_seconds": time.perf_counter() - started,
            "users": created,
        }


@dataclass
class Outcome:
    started: float = 0.0
    finished: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    tracking: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.tracking)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def answered(self, status: int, location: str, started: float) -> str | None:
        """Count one answer to the comment form; the tracking number when it is the receipt redirect."""
        self.statuses[status] += 1
        match = RECEIPT_RE.search(location) if status in (302, 303) else None
        if not match:
            return None
        self.latencies.append(time.perf_counter() - started)
        self.tracking.append(match.group(1))
        return match.group(1)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Citizen:
    """One account: its cookies and the form's CSRF token."""

    def __init__(self, email: str):
        self.email = email
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def keep(self, response) -> None:
        for name, morsel in response.cookies.items():
            self.set(name, morsel.value)

    def keep_raw(self, set_cookies: list[str]) -> None:
        """The cookies of raw ``Set-Cookie`` header values (``RawClient``)."""
        for header in set_cookies:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.set(name.strip(), value.strip())

    def set(self, name: str, value: str) -> None:
        if value:
            self.cookies[name] = value
        else:  # the server deleted it
            self.cookies.pop(name, None)

    def comment_form(self, body: str, token: str | None = None) -> dict[str, str]:
        """The comment form's fields; ``token`` is the form's submission token (a browser sending
        the same form again sends the same one)."""
        return {
            "csrf_token": self.csrf,
            "body": body,
            "article": "",
            "submission_token": token or secrets.token_urlsafe(18),
        }


async def login(http, base: str, citizen: Citizen) -> int:
    async with http.get(f"{base}/login", headers=citizen.header(), allow_redirects=False) as r:
        citizen.keep(r)
        html = await r.text()
    match = CSRF_RE.search(html)
    if not match:
        return -r.status
    citizen.csrf = match.group(1) or match.group(2)
    data = {"csrf_token": citizen.csrf, "email": citizen.email, "password": PASSWORD}
    async with http.post(f"{base}/login", data=data, headers=citizen.header(), allow_redirects=False) as r:
        citizen.keep(r)
        await r.read()
        return r.status


async def post_comment(
    http, base: str, citizen: Citizen, body: str, outcome: Outcome, token: str | None = None
) -> str | None:
    """POST the comment form; returns the tracking number when the receipt redirect came back.

    ``token`` is the form's submission token: a browser sending the same form again sends the same one."""
    data = citizen.comment_form(body, token)
    t0 = time.perf_counter()
    try:
        async with http.post(
            f"{base}/decisions/{SLUG}/consultation/comments", data=data, headers=citizen.header(), allow_redirects=False
        ) as r:
            citizen.keep(r)
            await r.read()
            status = r.status
            location = r.headers.get("Location", "")
    except Exception as exc:  # noqa: BLE001 (a refused connection counts as an error, not a crash of the client)
        outcome.statuses[f"error:{type(exc).__name__}"] += 1
        return None
    return outcome.answered(status, location, t0)


async def login_all(base: str, citizens: list[Citizen], concurrency: int) -> Counter:
    import aiohttp

    statuses: Counter = Counter()
    queue = list(citizens)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=120)
    ) as http:

        async def worker():
            while queue:
                citizen = queue.pop()
                statuses[await login(http, base, citizen)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


class RawClient:
    """One keep-alive HTTP/1.1 connection of the load generator, on asyncio's streams.

    The load generator shares the machine's two cores with the server. aiohttp spent 0.7-1.0 ms
    of CPU per comment (docs/PERFORMANCE.md), about a seventh of what gunicorn spent; this
    client writes the same form POST (CSRF token, cookies, urlencoded body) and reads the
    status line, the headers it needs and the body by its Content-Length, for a fraction of it.
    The logins and the crash test keep aiohttp."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        # The browser that logged in (aiohttp): the session is bound to it (session_protection).
        from aiohttp.http import SERVER_SOFTWARE

        self.agent = SERVER_SOFTWARE

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, form: dict, cookie: str) -> tuple[int, str, list[str]]:
        """POST ``form`` to ``path``: (status, Location, Set-Cookie values). Reconnects once when
        the server closed the kept-alive connection meanwhile."""
        body = urlencode(form).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: {self.agent}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nCookie: {cookie}\r\n\r\n"
        ).encode("latin-1")
        try:
            return await self._exchange(head + body)
        except (ConnectionError, asyncio.IncompleteReadError):
            # The server closed the kept-alive connection meanwhile: once more on a new one.
            await self.close()
            return await self._exchange(head + body)

    async def _exchange(self, request: bytes) -> tuple[int, str, list[str]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        return await self._response()

    async def _response(self) -> tuple[int, str, list[str]]:
        assert self.reader is not None
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        location, cookies, length, close = "", [], None, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "location":
                location = value
            elif name == "set-cookie":
                cookies.append(value)
            elif name == "connection" and value.lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise ValueError("chunked responses are not expected from the comment form")
        if length is None:
            await self.reader.read()
            close = True
        else:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, location, cookies


async def post_comment_raw(client: RawClient, citizen: Citizen, body: str, outcome: Outcome) -> str | None:
    """``post_comment`` on a raw connection: the tracking number when the receipt redirect came back."""
    t0 = time.perf_counter()
    try:
        status, location, cookies = await client.post(
            f"/decisions/{SLUG}/consultation/comments", citizen.comment_form(body), citizen.header().get("Cookie", "")
        )
    except Exception as exc:  # noqa: BLE001 (a refused connection counts as an error, not a crash of the client)
        outcome.statuses[f"error:{type(exc).__name__}"] += 1
        await client.close()
        return None
    citizen.keep_raw(cookies)
    return outcome.answered(status, location, t0)


async def surge(base: str, citizens: list[Citizen], per_account: int, concurrency: int, seed: int = 8) -> Outcome:
    """Each account posts ``per_account`` comments one after the other; ``concurrency`` accounts at
    a time, each of the ``concurrency`` clients on its own kept-alive connection (``RawClient``)."""
    rng = random.Random(seed)
    outcome = Outcome()
    queue = list(reversed(citizens))
    counter = iter(range(1, 10**9))
    address = urlsplit(base)

    async def worker():
        client = RawClient(address.hostname, address.port)
        try:
            while queue:
                citizen = queue.pop()
                for _ in range(per_account):
                    await post_comment_raw(client, citizen, comment_body(rng, next(counter)), outcome)
        finally:
            await client.close()

    outcome.started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    outcome.finished = time.perf_counter()
    return outcome


def wait_for_receipts(server: Server, outbox: Path, expected: int, limit_seconds: float) -> dict:
    """Wait until the outbox holds ``expected`` mails (the receipts: logging in sends none), at most
    ``limit_seconds``; the time it took after the surge's last answer and the server's CPU meanwhile.

    The intake queues each receipt in the comment's transaction and its sender writes them once
    the writer is quiet (intake.ReceiptSender), so under a surge their cost comes after it."""
    started, cpu_before = time.perf_counter(), server.cpu_seconds()
    count = 0
    while time.perf_counter() - started < limit_seconds:
        count = sum(1 for _ in outbox.glob("*.eml")) if outbox.exists() else 0
        if count >= expected:
            break
        time.sleep(0.1)
    lag, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu_before
    return {"count": count, "lag_seconds": lag, "cpu_seconds": cpu}


def check_receipts(outbox: Path, tracking: list[str]) -> dict:
    """Every tracking number handed out has exactly one receipt mail (its number is in the subject)."""
    from email import message_from_bytes
    from email.policy import default

    handed_out = set(tracking)
    mailed: Counter[str] = Counter()
    for path in outbox.glob("*.eml") if outbox.exists() else ():
        subject = str(message_from_bytes(path.read_bytes(), policy=default)["Subject"] or "")
        found = RECEIPT_NUMBER_RE.search(subject)
        mailed[found.group(0) if found else subject] += 1
    return {
        "handed_out": len(handed_out),
        "mailed": sum(1 for number in handed_out if mailed[number] == 1),
        "extra": sum(n for number, n in mailed.items() if number not in handed_out)
        + sum(n - 1 for number, n in mailed.items() if number in handed_out and n > 1),
    }


def check_stored(tracking: list[str]) -> dict:
    """Every tracking number handed out is stored, with its ``comment.accepted`` ledger entry."""
    from sqlalchemy import func, select

    from portal import create_app
    from portal.consultation.models import Comment
    from portal.core.extensions import db
    from portal.trace.models import TraceEntry

    app = create_app()
    with app.app_context():
        found: set[str] = set()
        for start in range(0, len(tracking), 900):
            chunk = tracking[start : start + 900]
            found.update(db.session.scalars(select(Comment.tracking_number).where(Comment.tracking_number.in_(chunk))))
        comments = db.session.scalar(select(func.count(Comment.id)))
        entries = db.session.scalar(select(func.count(TraceEntry.seq)).where(TraceEntry.action == "comment.accepted"))
        # A comment without its entry, or an entry without its comment, would be a half-written record.
        orphans = db.session.scalar(
            select(func.count(Comment.id)).where(
                ~select(TraceEntry.seq)
                .where(
                    TraceEntry.action == "comment.accepted",
                    TraceEntry.subject_kind == "comment",
                    TraceEntry.subject_id == db.cast(Comment.id, db.String),
                )
                .exists()
            )
        )
        numbers = db.session.execute(select(Comment.year, Comment.number)).all()
        duplicates = len(numbers) - len(set(numbers))
        return {
            "handed_out": len(set(tracking)),
            "duplicates_handed_out": len(tracking) - len(set(tracking)),
            "lost": len(set(tracking) - found),
            "comments": comments,
            "ledger_entries": entries,
            "comments_without_entry": orphans,
            "duplicate_numbers": duplicates,
        }


def publish_and_search(official_id: int, limit_seconds: float = 300) -> dict:
    """Publish every pending comment (operations, one commit per 500), drain the search queue as the
    single writer, and measure the time from the last commit until the search service finds them all."""
    from sqlalchemy import select

    from portal import create_app
    from portal.auth.models import User
    from portal.consultation import operations as consult
    from portal.consultation.models import Comment, CommentStatus
    from portal.core.extensions import db
    from portal.search import service
    from portal.search.query import parse
    from portal.search.queue import apply_pending, backlog

    app = create_app()
    with app.app_context():
        official = db.session.get(User, official_id)
        ids = db.session.scalars(
            select(Comment.id).where(Comment.status == CommentStatus.PENDING.value).order_by(Comment.id)
        ).all()
        t0 = time.perf_counter()
        for start in range(0, len(ids), 500):
            for comment in db.session.scalars(select(Comment).where(Comment.id.in_(ids[start : start + 500]))):
                consult.publish_comment(official, comment)
            db.session.commit()
        published_at = time.perf_counter()
        queued = backlog()
        db.session.rollback()
        filters = service.Filters(type="comment", decision=SLUG)
        found = 0
        while time.perf_counter() - published_at < limit_seconds:
            apply_pending(wait=True)
            outcome = service.search(parse(""), filters, per_page=1, snippets=False)
            found = outcome.total
            if found >= len(ids):
                break
            time.sleep(0.2)
        lag = time.perf_counter() - published_at
        # And a few by their own words: the unique reference number of individual texts.
        sample = db.session.execute(
            select(Comment.id, Comment.body).where(Comment.body.like("%参考编号%")).order_by(db.func.random()).limit(10)
        ).all()
        by_words = 0
        for comment_id, body in sample:
            ref = body.rsplit("参考编号 ", 1)[1].rstrip(")")
            hits = service.search(parse(ref), filters, per_page=10, snippets=False)
            by_words += any(h.id == comment_id for h in hits.items)
        return {
            "published": len(ids),
            "publish_seconds": published_at - t0,
            "queued_rows": queued,
            "found": found,
            "lag_seconds": lag,
            "sampled": len(sample),
            "sampled_found": by_words,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=2000, help="citizen accounts (a few thousand)")
    parser.add_argument("--per-account", type=int, default=2, help="comments each account posts")
    parser.add_argument("--concurrency", type=int, default=64, help="accounts posting at the same time")
    parser.add_argument("--workers", type=int, default=2, help="the server's worker processes")
    parser.add_argument("--server", choices=SERVERS, default="granian", help="the WSGI server (default: as deployed)")
    parser.add_argument(
        "--threads",
        type=int,
        default=32,
        help="threads per worker: the requests one writer thread can batch (32: docs/DECISIONS.md)",
    )
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server to create a throwaway database on")
    parser.add_argument("--keep", action="store_true", help="keep the instance (and database) afterwards")
    parser.add_argument("--search-lag", type=float, default=120, help="seconds allowed for search to catch up")
    parser.add_argument("--mail-lag", type=float, default=120, help="seconds allowed for the receipt mails")
    args = parser.parse_args()

    instance = Instance(pg_url=args.pg, keep=args.keep)
    server = Server(instance, workers=args.workers, threads=args.threads, kind=args.server)
    ok = True
    try:
        where = f", database {instance.database}" if instance.database else ""
        print(f"instance {instance.path} ({instance.kind}{where})")
        t = time.perf_counter()
        instance.flask("init-db")
        print(f"migrated in {time.perf_counter() - t:.1f} s")
        instance.activate()
        prepared = prepare(args.accounts)
        print(f"{args.accounts} confirmed citizen accounts inserted in {prepared['accounts_seconds']:.1f} s")

        server.start()
        citizens = [Citizen(email) for email in prepared["emails"]]
        t = time.perf_counter()
        logins = asyncio.run(login_all(server.base, citizens, args.concurrency))
        login_s = time.perf_counter() - t
        print(f"logged in {logins.get(302, 0)}/{len(citizens)} through the form in {login_s:.1f} s: {dict(logins)}")
        citizens = [c for c in citizens if c.cookies and c.csrf]

        speed_before = machine_speed()
        load_before = load_average()
        cpu_before = server.cpu_seconds()
        ticks_before, generator_before = cpu_ticks(), time.process_time()
        outcome = asyncio.run(surge(server.base, citizens, args.per_account, args.concurrency))
        generator = time.process_time() - generator_before
        share = cpu_share(ticks_before, cpu_ticks())
        cpu = server.cpu_seconds() - cpu_before
        load_after = load_average()
        mailed = wait_for_receipts(server, instance.path / "outbox", outcome.accepted, args.mail_lag)
        server.stop()
        speed_after = machine_speed()

        rate = outcome.accepted / outcome.seconds if outcome.seconds else 0
        five_xx = sum(n for s, n in outcome.statuses.items() if isinstance(s, int) and s >= 500)
        print()
        print(
            f"setup: {instance.kind}, {server.describe()}, "
            f"{len(citizens)} accounts x {args.per_account} comments, {args.concurrency} concurrent"
        )
        print(f"load average before {load_before}; after {load_after}")
        print(
            f"machine speed: a fixed Python loop on every CPU at once took {speed_before:.0f} ms before "
            f"and {speed_after:.0f} ms after (lower is faster; compare runs only at similar speeds)"
        )
        print(f"accepted {outcome.accepted} comments in {outcome.seconds:.1f} s: {rate:.0f} comments/s")
        if outcome.latencies:
            ms = [x * 1000 for x in outcome.latencies]
            print(
                f"latency p50 {percentile(ms, 0.5):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
                f"p99 {percentile(ms, 0.99):.0f} ms (mean {statistics.fmean(ms):.0f} ms)"
            )
        print(f"responses by status: {dict(outcome.statuses)}")
        if outcome.accepted:
            per = cpu / outcome.accepted * 1000
            print(
                f"{server.kind} used {cpu:.0f} CPU-seconds: {per:.1f} ms per accepted comment, a ceiling of "
                f"{2000 / per if per else 0:.0f}/s on 2 idle cores (the load generator not counted)"
            )
            print(
                f"the load generator used {generator:.0f} CPU-seconds ({generator / outcome.accepted * 1000:.1f} ms "
                f"per comment); the machine's CPUs during the surge: {share}"
            )

        receipts = check_receipts(instance.path / "outbox", outcome.tracking)
        print(
            f"receipt mails: {receipts['mailed']} of {receipts['handed_out']} tracking numbers mailed "
            f"({receipts['extra']} duplicate or unknown), the last {mailed['lag_seconds']:.1f} s after the last "
            f"answer; writing them took {server.kind} {mailed['cpu_seconds']:.1f} CPU-seconds after the surge "
            f"({mailed['cpu_seconds'] / max(receipts['mailed'], 1) * 1000:.2f} ms per mail)"
        )
        stored = check_stored(outcome.tracking)
        print(
            f"stored: {stored['handed_out']} tracking numbers handed out, {stored['lost']} lost; "
            f"{stored['comments']} comments, {stored['ledger_entries']} comment.accepted entries, "
            f"{stored['comments_without_entry']} without entry, {stored['duplicate_numbers']} duplicate numbers"
        )
        verify = instance.flask("trace", "verify", check=False)
        print(f"flask trace verify: exit {verify.returncode}: {verify.stdout.strip() or verify.stderr.strip()}")
        for line in log_errors(server):
            print(f"{server.kind} logged: {line}")
        try:
            searched = publish_and_search(prepared["official_id"], args.search_lag)
        except Exception as exc:  # noqa: BLE001 (report the search failure with the other figures)
            print(f"publishing or searching failed: {type(exc).__name__}: {exc}")
            searched = {"published": 1, "publish_seconds": 0, "queued_rows": 0, "found": 0, "lag_seconds": 0}
            searched |= {"sampled": 0, "sampled_found": 0}
        print(
            f"published {searched['published']} comments in {searched['publish_seconds']:.1f} s "
            f"({searched['queued_rows']} queue rows); search found {searched['found']} "
            f"{searched['lag_seconds']:.1f} s after the last commit; "
            f"{searched['sampled_found']}/{searched['sampled']} sampled found by their own words"
        )
        target = TARGETS[instance.kind]
        checks = {
            f">= {target} accepted/s": rate >= target,
            "no 5xx": five_xx == 0,
            "zero lost": stored["lost"] == 0 and stored["duplicates_handed_out"] == 0,
            "every comment has its ledger entry": stored["comments_without_entry"] == 0
            and stored["ledger_entries"] == stored["comments"],
            "trace verify": verify.returncode == 0,
            f"searchable within {args.search_lag:.0f} s": searched["found"] >= searched["published"]
            and searched["sampled_found"] == searched["sampled"],
            f"every receipt mailed once within {args.mail_lag:.0f} s": receipts["mailed"] == receipts["handed_out"]
            and receipts["extra"] == 0,
        }
        print()
        for name, passed in checks.items():
            print(f"  {'ok  ' if passed else 'FAIL'} {name}")
        ok = all(checks.values())
        print(f"\n{'PASS' if ok else 'FAIL'}: surge on {instance.kind}, {rate:.0f} accepted comments/s")
    finally:
        server.stop()
        instance.destroy()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
