"""Requests per second for /healthz, the catalogue and a decision page, served by Granian (as deployed).

Builds a throwaway instance (SQLite in a temporary folder), loads the demo data, adds published
comments to the water-price decision (2,000 by default; needs the consultation feature), starts
the server (``--server``: Granian, or gunicorn for comparison) on a free port and loads each
page with wrk (or, when wrk is missing, a threaded Python client). Prints requests/s for each
page and its ratio to /healthz measured in the same run, then appends the figures to
docs/PERFORMANCE.md (unless --no-write).

Target (issue 3): every page at least 20% of /healthz.

    .venv/bin/python bench/pages.py [--duration 10] [--connections 16] [--comments 2000]
                                    [--server granian|gunicorn]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
PYTHON = sys.executable

from _server import SERVERS, free_port, server_command  # noqa: E402

DECISION_SLUG = "2026-water-price"
#: "/" is a reference: the cost of the shared page frame (base template, session, language form).
PAGES = ["/healthz", "/", "/decisions", f"/decisions/{DECISION_SLUG}"]
TARGET_RATIO = 0.20


def run(args: list[str], env: dict) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def populate(count: int) -> None:
    """Add ``count`` published comments to the demo water decision (runs inside the instance's env)."""
    import random

    from sqlalchemy import func, select

    from portal import create_app
    from portal.auth.models import Role, User, UserRole
    from portal.core.extensions import db
    from portal.decisions.models import Decision

    app = create_app()
    with app.app_context():
        try:
            from portal.consultation import operations as consult
            from portal.consultation.models import Comment, CommentStatus
            from portal.consultation.queries import consultation_for
        except ImportError:
            print("comments: consultation feature missing; the decision page is measured without comments")
            return
        decision = db.session.scalar(select(Decision).where(Decision.slug == DECISION_SLUG))
        consultation = consultation_for(decision) if decision else None
        if consultation is None:
            print("comments: no open consultation on the demo decision; measured without comments")
            return
        officials = [u for u in decision.department.members if u.has_role(Role.OFFICIAL)]
        citizens = db.session.scalars(
            select(User).join(UserRole).where(UserRole.role == Role.CITIZEN.value).order_by(User.id)
        ).all()
        anchors = [None, *(a.anchor for a in decision.current_version.articles)]
        have = db.session.scalar(
            select(func.count(Comment.id)).where(
                Comment.consultation_id == consultation.id, Comment.status == CommentStatus.PUBLISHED.value
            )
        )
        rng = random.Random(713)
        phrases = ["建议分步实施", "低收入家庭负担", "阶梯水量基数偏低", "供水成本应公开", "多人口家庭", "抄表衔接"]
        started = time.perf_counter()
        for i in range(max(0, count - have)):
            body = f"第{i + 1}条意见：{rng.choice(phrases)}，{rng.choice(phrases)}。编号{rng.randrange(10**6)}。"
            comment = consult.submit_comment(
                citizens[i % len(citizens)], consultation, body=body, article_anchor=rng.choice(anchors)
            )
            consult.publish_comment(officials[0], comment)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        total = db.session.scalar(
            select(func.count(Comment.id)).where(
                Comment.consultation_id == consultation.id, Comment.status == CommentStatus.PUBLISHED.value
            )
        )
        print(f"comments: {total} published on {DECISION_SLUG} (added in {time.perf_counter() - started:.0f} s)")


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not start")


def warm_up(port: int, path: str, rounds: int = 12) -> None:
    """Sequential requests so each worker has imported, connected and cached before timing starts."""
    for _ in range(rounds):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"{path} answered {response.status}")
        conn.close()


def measure_wrk(url: str, duration: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)

    def pct(p: str) -> str:
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        return m.group(1) if m else "?"

    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": failed}


def measure_python(url: str, duration: int, connections: int) -> dict:
    """A threaded keep-alive client: slower than wrk, so it understates the server."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    stop = time.monotonic() + duration
    counts, errors, latencies = [0] * connections, [0] * connections, [[] for _ in range(connections)]

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except OSError:
                errors[n] += 1
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            latencies[n].append(time.perf_counter() - t0)
            counts[n] += 1
            if response.status >= 400:
                errors[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = sorted(x for lat in latencies for x in lat)

    def pct(p: float) -> str:
        return f"{flat[min(len(flat) - 1, int(len(flat) * p))] * 1000:.2f}ms" if flat else "?"

    return {"rps": sum(counts) / duration, "p50": pct(0.5), "p99": pct(0.99), "errors": sum(errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/PERFORMANCE.md")
    parser.add_argument(
        "--instance", help="keep the instance in this folder and reuse it next time (seeding takes minutes)"
    )
    parser.add_argument("--populate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.populate is not None:
        populate(args.populate)
        return

    instance = Path(args.instance).resolve() if args.instance else Path(tempfile.mkdtemp(prefix="portal-bench-pages-"))
    instance.mkdir(parents=True, exist_ok=True)
    prepared = (instance / "portal.sqlite3").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_INSTANCE_PATH"] = str(instance)
    flask = [PYTHON, "-m", "flask", "--app", "app"]
    server = None
    try:
        print(f"instance {instance}{' (reused)' if prepared else ''}")
        run([*flask, "init-db"], env)
        if not prepared:
            run([*flask, "seed-demo"], env)
        note = run([PYTHON, str(Path(__file__).resolve()), "--populate", str(args.comments)], env).strip()
        print(note)

        port = free_port()
        server = subprocess.Popen(  # noqa: S603 (our own server)
            server_command(args.server, port, args.workers, args.threads),
            cwd=ROOT,
            env=env,
        )
        wait_ready(port)
        tool = "wrk" if shutil.which("wrk") else "python"
        measure = measure_wrk if tool == "wrk" else measure_python
        results = {}
        for page in PAGES:
            warm_up(port, page)
        for page in PAGES:
            url = f"http://127.0.0.1:{port}{page}"
            measure(url, 2, args.connections)  # warm-up under load: every worker thread has served it
            results[page] = measure(url, args.duration, args.connections)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if not args.instance:
            shutil.rmtree(instance, ignore_errors=True)

    base = results["/healthz"]["rps"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    setup = (
        f"SQLite, {args.server} {args.workers} workers x {args.threads} threads, {tool} {args.connections} connections,"
        f" {args.duration} s per page; load average {load:.1f} on {os.cpu_count()} CPUs at the end; {note}"
    )
    lines = [
        f"#### {when}",
        "",
        setup,
        "",
        "| page | requests/s | ratio to /healthz | p50 | p99 | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ok = True
    for page, r in results.items():
        ratio = r["rps"] / base if base else 0
        ok = ok and (page in ("/healthz", "/") or ratio >= TARGET_RATIO) and r["errors"] == 0
        lines.append(f"| `{page}` | {r['rps']:.0f} | {ratio:.0%} | {r['p50']} | {r['p99']} | {r['errors']} |")
    lines.append("")
    lines.append(
        f"Target: the catalogue and the decision page at least {TARGET_RATIO:.0%} of /healthz:"
        f" {'met' if ok else 'NOT met'} (`/` is shown for reference: the shared page frame alone)."
    )
    report = "\n".join(lines)
    print()
    print(report)
    if not args.no_write:
        doc = ROOT / "docs" / "PERFORMANCE.md"
        if not doc.exists():
            doc.write_text("# Performance\n", encoding="utf-8")
        with doc.open("a", encoding="utf-8") as fh:
            fh.write("\n" + report + "\n")
        print(f"\nappended to {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
