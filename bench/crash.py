"""Crash safety: SIGKILL the server (main process and workers) in the middle of a comment surge, restart it.

Builds a throwaway instance like ``bench/surge.py`` (SQLite; ``--pg URL`` for a fresh PostgreSQL
database), logs the accounts in, and lets them post comments through the HTML form. Before the
surge some comments are published through the operations so the search queue holds work. When
``--kill-after`` receipts have come back, the server's whole process group (Granian, as
deployed, or ``--server gunicorn``) is killed with SIGKILL while requests are in flight; the
server is started again on the same port and the
accounts post the comments they had not been given a receipt for (same sessions: the secret key
lives in the instance). Then it checks:

* every comment whose receipt (the redirect with its tracking number) was received is stored;
* no half-written record: every comment has its ``comment.accepted`` ledger entry and every such
  entry its comment, tracking numbers are unique and the counter is at the highest number;
* ``flask trace verify`` passes;
* the search queue drains after the restart and the published comments are found.

Prints one PASS or FAIL line (exit status 0 or 1).

    .venv/bin/python bench/crash.py [--comments 300] [--accounts 100] [--kill-after 120] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import SERVERS, Instance, Server, load_average  # noqa: E402
from surge import (  # noqa: E402
    SLUG,
    Citizen,
    Outcome,
    check_receipts,
    comment_body,
    login_all,
    post_comment,
    prepare,
    wait_for_receipts,
)


async def surge_until_killed(server: Server, plan: list[tuple[Citizen, str, str]], concurrency: int, kill_after: int):
    """Post ``plan`` until ``kill_after`` receipts came back, then SIGKILL the server group.

    Returns the outcome and the items that got no receipt (to post again after the restart)."""
    import aiohttp

    outcome = Outcome()
    queue = list(reversed(plan))
    unanswered: list[tuple[Citizen, str, str]] = []
    busy: set[str] = set()
    killed = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=60)
    ) as http:

        async def worker():
            while queue and not killed.is_set():
                citizen, body, token = queue.pop()
                if citizen.email in busy:  # one request at a time per account, like a browser
                    queue.insert(0, (citizen, body, token))
                    await asyncio.sleep(0)
                    continue
                busy.add(citizen.email)
                try:
                    number = await post_comment(http, server.base, citizen, body, outcome, token)
                finally:
                    busy.discard(citizen.email)
                if number is None:
                    unanswered.append((citizen, body, token))
                if outcome.accepted >= kill_after and not killed.is_set():
                    killed.set()
                    server.kill()

        outcome.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        outcome.finished = time.perf_counter()
    unanswered.extend(reversed(queue))
    return outcome, unanswered


async def post_rest(server: Server, plan: list[tuple[Citizen, str, str]], outcome: Outcome, concurrency: int) -> None:
    import aiohttp

    by_account: dict[str, list[tuple[Citizen, str, str]]] = {}
    for citizen, body, token in plan:
        by_account.setdefault(citizen.email, []).append((citizen, body, token))
    groups = list(by_account.values())
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as http:

        async def worker():
            while groups:
                for citizen, body, token in groups.pop():
                    await post_comment(http, server.base, citizen, body, outcome, token)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def publish_some(official_id: int, count: int) -> int:
    """Publish ``count`` pending comments through the operations (queues search work, not applied)."""
    from sqlalchemy import select

    from portal import create_app
    from portal.auth.models import User
    from portal.consultation import operations as consult
    from portal.consultation.models import Comment, CommentStatus
    from portal.core.extensions import db

    app = create_app()
    with app.app_context():
        official = db.session.get(User, official_id)
        pending = db.session.scalars(
            select(Comment).where(Comment.status == CommentStatus.PENDING.value).order_by(Comment.id).limit(count)
        ).all()
        for comment in pending:
            consult.publish_comment(official, comment)
        db.session.commit()
        return len(pending)


def queued_receipts() -> int:
    """Receipt mails queued and not yet sent (right after the kill: those the restart must send)."""
    from portal import create_app
    from portal.consultation.operations import queued_receipts as count

    app = create_app()
    with app.app_context():
        return count()


def check_after_restart(tracking: list[str]) -> dict:
    """The stored state after the crash and restart (see the module docstring)."""
    from sqlalchemy import func, select

    from portal import create_app
    from portal.consultation.models import Comment, CommentStatus, TrackingCounter
    from portal.core.extensions import db
    from portal.search import service
    from portal.search.query import parse
    from portal.search.queue import apply_pending, backlog
    from portal.trace.models import TraceEntry

    app = create_app()
    with app.app_context():
        stored = {
            number: cid
            for number, cid in db.session.execute(select(Comment.tracking_number, Comment.id))
            if number is not None
        }
        entries = db.session.execute(
            select(TraceEntry.subject_id).where(TraceEntry.action == "comment.accepted")
        ).scalars()
        entry_ids = [int(x) for x in entries]
        comment_ids = set(stored.values())
        numbers = db.session.execute(select(Comment.year, Comment.number)).all()
        counters = dict(db.session.execute(select(TrackingCounter.year, TrackingCounter.last)).all())
        highest: dict[int, int] = {}
        for year, number in numbers:
            highest[year] = max(highest.get(year, 0), number)
        queued_before = backlog()
        db.session.rollback()
        drained = apply_pending(wait=True)
        queued_after = backlog()
        published = db.session.scalar(
            select(func.count(Comment.id)).where(Comment.status == CommentStatus.PUBLISHED.value)
        )
        db.session.rollback()
        found = service.search(
            parse(""), service.Filters(type="comment", decision=SLUG), per_page=1, snippets=False
        ).total
        return {
            "receipts": len(set(tracking)),
            "missing": sorted(set(tracking) - set(stored))[:10],
            "missing_count": len(set(tracking) - set(stored)),
            "comments": len(stored),
            "entries": len(entry_ids),
            "comments_without_entry": len(comment_ids - set(entry_ids)),
            "entries_without_comment": len(set(entry_ids) - comment_ids),
            "duplicate_entries": len(entry_ids) - len(set(entry_ids)),
            "duplicate_numbers": len(numbers) - len(set(numbers)),
            "counter_behind": any(counters.get(year, 0) < top for year, top in highest.items()),
            "queued_before": queued_before,
            "drained": drained.rows,
            "queued_after": queued_after,
            "published": published,
            "found": found,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--kill-after", type=int, default=None, help="receipts before SIGKILL (default: 40%%)")
    parser.add_argument("--publish", type=int, default=20, help="comments published before the surge")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--pg", metavar="URL")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    kill_after = args.kill_after if args.kill_after is not None else max(1, int(args.comments * 0.4))

    instance = Instance(pg_url=args.pg, keep=args.keep)
    server = Server(instance, workers=args.workers, threads=args.threads, kind=args.server)
    ok = False
    try:
        started = time.perf_counter()
        instance.flask("init-db")
        instance.activate()
        prepared = prepare(args.accounts)
        server.start()
        citizens = [Citizen(email) for email in prepared["emails"]]
        asyncio.run(login_all(server.base, citizens, args.concurrency))
        citizens = [c for c in citizens if c.cookies and c.csrf]
        rng = random.Random(713)
        # Each comment keeps its form's submission token: sent again after the crash, a comment that
        # was stored but whose receipt was lost comes back as the same comment, not a second one.
        plan = [(citizens[i % len(citizens)], comment_body(rng, i), f"crash-{i}") for i in range(args.comments)]

        # A first few comments, published through the operations: their index work waits in the queue.
        warm = Outcome()
        asyncio.run(post_rest(server, plan[: args.publish], warm, args.concurrency))
        published = publish_some(prepared["official_id"], args.publish)

        outcome, unanswered = asyncio.run(
            surge_until_killed(server, plan[args.publish :], args.concurrency, kill_after)
        )
        print(
            f"killed {server.kind} (SIGKILL to the process group) after {outcome.accepted} receipts; "
            f"{len(unanswered)} comments without a receipt; responses {dict(outcome.statuses)}"
        )
        queued_at_kill = queued_receipts()
        print(f"{queued_at_kill} receipt mails were queued and not yet sent at the kill")
        server.start()
        rest = Outcome()
        asyncio.run(post_rest(server, unanswered, rest, args.concurrency))
        tracking = warm.tracking + outcome.tracking + rest.tracking
        # The receipts queued with the comments before the kill are sent by the restarted workers'
        # senders (before the graceful stop, which would send what is left itself).
        waited = wait_for_receipts(server, instance.path / "outbox", len(set(tracking)), 60)
        server.stop()
        print(f"restarted; posted the rest: {rest.accepted} receipts, responses {dict(rest.statuses)}")
        mails = check_receipts(instance.path / "outbox", tracking)
        print(
            f"receipt mails: {mails['mailed']} of {mails['handed_out']} tracking numbers mailed once "
            f"({mails['extra']} other or duplicate), {waited['lag_seconds']:.1f} s after the last answer"
        )
        state = check_after_restart(tracking)
        verify = instance.flask("trace", "verify", check=False)
        print(
            f"receipts {state['receipts']}, missing {state['missing_count']} {state['missing']}; "
            f"comments {state['comments']}, comment.accepted entries {state['entries']} "
            f"({state['comments_without_entry']} comments without, {state['entries_without_comment']} entries without)"
        )
        print(
            f"search queue: {state['queued_before']} rows after restart, {state['drained']} applied, "
            f"{state['queued_after']} left; {state['found']}/{state['published']} published comments found"
        )
        print(f"flask trace verify: exit {verify.returncode}: {(verify.stdout or verify.stderr).strip()}")
        checks = {
            "every receipted comment stored": state["missing_count"] == 0
            and state["receipts"] == args.comments
            and state["comments"] == args.comments,
            "no half-written record": state["comments_without_entry"] == 0
            and state["entries_without_comment"] == 0
            and state["duplicate_entries"] == 0
            and state["duplicate_numbers"] == 0
            and not state["counter_behind"],
            "trace verify": verify.returncode == 0,
            "every receipt mailed once after the restart": mails["mailed"] == mails["handed_out"] == args.comments
            and mails["extra"] == 0,
            "search queue drained": state["queued_after"] == 0 and state["drained"] >= state["queued_before"],
            "published comments searchable": state["published"] == published and state["found"] == published,
        }
        for name, passed in checks.items():
            print(f"  {'ok  ' if passed else 'FAIL'} {name}")
        ok = all(checks.values())
        print(
            f"{'PASS' if ok else 'FAIL'}: crash safety on {instance.kind} ({args.comments} comments, SIGKILL after "
            f"{outcome.accepted}; {time.perf_counter() - started:.0f} s; load {load_average()})"
        )
    finally:
        server.kill()
        instance.destroy()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
