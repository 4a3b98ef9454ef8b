"""Search benchmark: build rate, index size, query latency, and the same queries as a LIKE scan.

    .venv/bin/python bench/search.py                 # 100,000 documents (5,000 decisions, 95,000 comments)
    .venv/bin/python bench/search.py --docs 20000    # smaller, for a quick look
    .venv/bin/python bench/search.py --keep /tmp/b   # keep the database and index in /tmp/b
    .venv/bin/python bench/search.py --keep /tmp/b --reuse   # only the queries, on what was kept

The corpus is synthetic but shaped like the real thing: words are drawn from jieba's own
dictionary (the same words the analyzer knows), ranked by jieba's frequencies and sampled
with a Zipf-Mandelbrot law (p ~ 1/(rank + 2.7)^1.07), so a few function words are very
common and most words are rare, as in real text; a few sentences are English. Decisions
have a title and a 800-2,500 character body, comments 40-600 characters (log-normal).

The documents are written to an SQLite table, the index is built from those rows with the
portal's own writer (``portal.search.index.build_into``), and each query runs the portal's
own search path (``portal.search.service.search``: parsing, the query with its fallbacks,
facet counts, top ten, snippets cut from the SQLite rows). The same 50 queries then run as
``LIKE '%word%'`` scans over the same rows. Figures are wall-clock on this machine, plus the
CPU time of the build (the machine is shared: CPU time shows what the work costs).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.search import analysis, service  # noqa: E402
from portal.search import index as ixmod  # noqa: E402
from portal.search.index import Store, build_into  # noqa: E402
from portal.search.query import parse  # noqa: E402
from portal.search.registry import Document, Provider, register_provider  # noqa: E402

VOCABULARY = 60_000
ENGLISH = (  # noqa: SIM905 (a word list reads better as text)
    "water price hearing public transport school fee parking noise pollution housing subsidy pension "
    "insurance hospital medical road traffic bus subway metro electricity gas heating waste recycling "
    "environment protection planning land compensation residents consumers operators experts report "
    "government city district policy regulation review evaluation implementation safety food market "
    "service quality standard adjustment tariff budget tax education teacher student kindergarten"
).split()
DEPARTMENTS = [f"d{n:02d}" for n in range(1, 21)]
STAGES = ["consultation", "hearing", "expert_review", "decided", "published", "implementation", "archived"]
KINDS = ["决定", "办法", "通知", "意见", "规定", "实施方案"]

#: The fixed queries: single words from common to rare, several words, phrases, exclusions,
#: traditional characters, English, single characters, a long title-like query.
QUERIES = [
    "价格",
    "供水",
    "学费",
    "幼儿园",
    "交通",
    "停车",
    "噪声",
    "医疗保险",
    "养老",
    "住房",
    "公积金",
    "拆迁",
    "补偿",
    "垃圾分类",
    "出租车",
    "地铁",
    "污水处理",
    "食品安全",
    "物业",
    "燃气",
    "电价",
    "听证",
    "征求意见",
    "城市建设",
    "供水 价格",
    "幼儿园 收费",
    "公共 交通",
    "环境 保护 噪声",
    "住房 补贴 标准",
    "医疗 改革 方案",
    "学校 安全 管理",
    "道路 交通 事故 处理",
    '"价格调整"',
    '"社会保障"',
    '"城市管理"',
    '"公共服务"',
    "交通 -地铁",
    "教育 -学校",
    "价格 -供水 -电价",
    "醫療保險",
    "價格調整",
    "學校 管理",
    "water price",
    "public transport",
    "school fee",
    "水",
    "电",
    "关于进一步加强城市供水价格管理的通知",
    "发展 经济 人民 生活 水平 提高",
    "征收 土地 补偿 安置",
]


# Corpus


def vocabulary(size: int) -> tuple[list[str], list[float]]:
    """jieba's dictionary words (CJK only, 1-4 characters) by frequency, with Zipf cumulative weights."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if 1 <= len(word) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", word):
                words.append((int(freq), word))
    words.sort(key=lambda item: (-item[0], item[1]))
    words = [w for _f, w in words[:size]]
    cum = list(itertools.accumulate(1.0 / (rank + 2.7) ** 1.07 for rank in range(len(words))))
    return words, cum


class Corpus:
    def __init__(self, seed: int = 2019):
        self.rng = random.Random(seed)
        self.words, self.cum = vocabulary(VOCABULARY)

    def text(self, chars: int) -> str:
        rng = self.rng
        # ~1.6 characters per word; draw them all at once, then cut into clauses.
        n = max(4, int(chars / 1.6))
        words = rng.choices(self.words, cum_weights=self.cum, k=n)
        out: list[str] = []
        i = 0
        while i < len(words):
            k = rng.randint(4, 12)
            if rng.random() < 0.03:
                out.append(" ".join(rng.choices(ENGLISH, k=k)) + ". ")
            else:
                out.append("".join(words[i : i + k]) + rng.choice("，，，。；、"))
            i += k
        return "".join(out)

    def title(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum, k=self.rng.randint(2, 5))
        return "关于" + "".join(words) + "的" + self.rng.choice(KINDS)


def make_database(path: Path, n_docs: int, corpus: Corpus) -> None:
    """The rows: 5% decisions, 95% comments, written to SQLite."""
    rng = corpus.rng
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, type TEXT, title TEXT, body TEXT, department TEXT, "
        "stage TEXT, decision INTEGER, date INTEGER)"
    )
    n_decisions = max(1, n_docs // 20)
    rows = []
    for i in range(n_docs):
        when = int(datetime(2015 + rng.randint(0, 11), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC).timestamp())
        if i < n_decisions:
            rows.append(
                (i + 1, "decision", corpus.title(), corpus.text(rng.randint(800, 2500)), rng.choice(DEPARTMENTS),
                 rng.choice(STAGES), i + 1, when)
            )  # fmt: skip
        else:
            decision = rng.randint(1, n_decisions)
            chars = min(600, max(40, int(rng.lognormvariate(4.9, 0.6))))
            rows.append((i + 1, "comment", "", corpus.text(chars), DEPARTMENTS[decision % 20], None, decision, when))
        if len(rows) >= 5000:
            con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            rows = []
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def to_document(row) -> tuple[str, Document]:
    ident, doc_type, title, body, department, stage, decision, when = row
    return doc_type, Document(
        id=ident,
        title=title or f"对事项 {decision} 的意见",
        body=body,
        date=datetime.fromtimestamp(when, UTC),
        department=department,
        stage=stage,
        decision=f"bench-{decision}",
        ref=str(ident),
        title_indexed=bool(title),
    )


def register_bench_providers(con: sqlite3.Connection) -> None:
    """Providers reading the benchmark rows, so results get their snippets as on the site."""

    def load(ids: list[int]) -> dict[int, Document]:
        marks = ",".join("?" * len(ids))
        rows = con.execute(f"SELECT * FROM docs WHERE id IN ({marks})", ids).fetchall()  # noqa: S608
        return {row[0]: to_document(row)[1] for row in rows}

    for doc_type in ("decision", "comment"):
        register_provider(
            Provider(
                type=doc_type,
                models=(),
                affected=lambda _obj: [],
                load=load,
                all_ids=lambda: [],
                url=lambda hit: f"/bench/{hit.get('ref')}",
            )
        )


# Measurements


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def like_scan(con: sqlite3.Connection, q: str) -> int:
    """The query as plain LIKE conditions over the same rows: every word (or quoted phrase) must
    occur in the title or body, ``-word`` must not; newest ten and the count, like a results page."""
    clauses, params = [], []
    for negative, phrase, word in re.findall(r'(-?)(?:"([^"]*)"|(\S+))', q):
        needle = f"%{phrase or word}%"
        if negative:
            clauses.append("NOT (title LIKE ? OR body LIKE ?)")
        else:
            clauses.append("(title LIKE ? OR body LIKE ?)")
        params += [needle, needle]
    sql = "SELECT id, date FROM docs WHERE " + " AND ".join(clauses)  # noqa: S608
    rows = con.execute(sql, params).fetchall()
    rows.sort(key=lambda r: -r[1])
    _top = rows[:10]
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the corpus (default 100,000)")
    parser.add_argument("--procs", type=int, default=max(1, min(4, os.cpu_count() or 1)), help="build processes")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over the 50 queries (after one warm-up)")
    parser.add_argument("--keep", type=Path, help="keep the database and index in this folder")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: query the database and index kept there, skip the build"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "bench.sqlite3"
    store = Store(work / "index")
    analysis.warm_up()
    if args.reuse and args.keep and db_path.exists() and store.exists():
        con = sqlite3.connect(db_path)
        count = con.execute("SELECT count(*) FROM docs").fetchone()[0]
        path = store.current_path()
        wall = cpu = float("nan")
        print(f"reusing {count:,} documents and the index in {work} (no build figures)")
    else:
        if db_path.exists():
            db_path.unlink()
        print(f"corpus: {args.docs:,} documents into {db_path}", flush=True)
        started = time.perf_counter()
        corpus = Corpus()
        make_database(db_path, args.docs, corpus)
        con = sqlite3.connect(db_path)
        chars = con.execute("SELECT sum(length(title) + length(body)) FROM docs").fetchone()[0]
        print(f"  generated in {time.perf_counter() - started:.0f}s, {chars / args.docs:.0f} characters per document")

        shutil.rmtree(store.root, ignore_errors=True)
        path, ix = store.new_generation()
        print(f"build: {args.procs} processes (load average {os.getloadavg()[0]:.1f})", flush=True)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        rows = con.execute("SELECT * FROM docs ORDER BY id")
        count = build_into(ix, (to_document(row) for row in rows), procs=args.procs)
        ix.close()
        store.publish(path)
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        print(f"  {count:,} documents in {wall:.1f}s: {count / wall:.0f} documents/s")
        print(f"  CPU {cpu:.1f}s (all processes): {count / cpu:.0f} documents per CPU-second")
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    print(f"  index size {size / 1e6:.1f} MB ({size / count:.0f} bytes per document)")

    register_bench_providers(con)
    print("queries: warm-up round, then timed rounds on one reused searcher", flush=True)
    for q in QUERIES:  # warm-up: opens the searcher, loads columns and caches
        service.search(parse(q), service.Filters(), store=store)
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    cpu_ms: list[float] = []
    cpu_by_query: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for _ in range(args.rounds):
        for q in QUERIES:
            t, c = time.perf_counter(), time.process_time()
            outcome = service.search(parse(q), service.Filters(), store=store)
            timings[q].append((time.perf_counter() - t) * 1000)
            cpu_ms.append((time.process_time() - c) * 1000)
            cpu_by_query.setdefault(q, []).append(cpu_ms[-1])
            totals[q] = outcome.total
    flat = [ms for values in timings.values() for ms in values]
    search_p50, search_p95 = statistics.median(flat), percentile(flat, 95)
    cpu_p50, cpu_p95 = statistics.median(cpu_ms), percentile(cpu_ms, 95)
    slowest = sorted(timings, key=lambda q: -statistics.median(timings[q]))[:5]

    print("LIKE scan: warm-up round, then one timed round", flush=True)
    for q in QUERIES[:3]:
        like_scan(con, q)
    like_ms: dict[str, float] = {}
    like_totals: dict[str, int] = {}
    for q in QUERIES:
        t = time.perf_counter()
        like_totals[q] = like_scan(con, q)
        like_ms[q] = (time.perf_counter() - t) * 1000
    like_p50, like_p95 = statistics.median(like_ms.values()), percentile(list(like_ms.values()), 95)

    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print()
    print(f"| documents | {count:,} ({count // 20:,} decisions, {count - count // 20:,} comments) |")
    print("| --- | --- |")
    print(f"| build | {count / wall:.0f} documents/s ({wall:.0f} s, {args.procs} processes) |")
    print(f"| build CPU | {cpu:.0f} CPU-s: {count / cpu:.0f} documents per CPU-second |")
    print(f"| index size | {size / 1e6:.0f} MB |")
    print(f"| search p50 / p95 | {search_p50:.1f} ms / {search_p95:.1f} ms ({len(flat)} timed searches) |")
    print(f"| search CPU time p50 / p95 | {cpu_p50:.1f} ms / {cpu_p95:.1f} ms |")
    print(f"| LIKE scan p50 / p95 | {like_p50:.0f} ms / {like_p95:.0f} ms |")
    print(f"| speed-up p50 / p95 | {like_p50 / search_p50:.0f}x / {like_p95 / search_p95:.0f}x |")
    print()
    print("slowest queries (median wall ms, median CPU ms, matches):")
    for q in slowest:
        print(
            f"  {q!r}: {statistics.median(timings[q]):.1f} ms, CPU {statistics.median(cpu_by_query[q]):.1f} ms, "
            f"{totals[q]:,} matches (LIKE {like_totals[q]:,})"
        )
    ixmod.close_searcher()
    con.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
