"""Shared helpers of the surge, crash and page benchmarks: a throwaway instance, the WSGI server, the CLI.

An ``Instance`` is a temporary instance folder (SQLite inside it by default) or, with a
PostgreSQL URL, a fresh database created for the run on that server and dropped afterwards.
The server is Granian, as deployed (README), or gunicorn (gthread) for comparison
(``--server``). It runs in its own process group so a crash test can SIGKILL the main process
and every worker at once.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

#: Settings that switch off the per-account and per-address throttles for a load test (every
#: simulated citizen posts from 127.0.0.1): an empty rate limit turns it off (portal/config.py).
UNTHROTTLED = {
    "PORTAL_COMMENT_RATE_PER_ACCOUNT": "",
    "PORTAL_COMMENT_RATE_PER_ADDRESS": "",
    "PORTAL_LOGIN_LIMIT_ACCOUNT": "",
    "PORTAL_LOGIN_LIMIT_ADDRESS": "",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(statement)


@dataclass
class Instance:
    """A throwaway instance folder, and a throwaway PostgreSQL database when ``pg_url`` is given."""

    pg_url: str | None = None
    keep: bool = False
    path: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="portal-bench-")))
    database: str | None = None
    extra_env: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.pg_url:
            self.database = f"portal_bench_{uuid.uuid4().hex[:10]}"
            _pg_admin(self.pg_url, f'CREATE DATABASE "{self.database}"')

    @property
    def kind(self) -> str:
        return "PostgreSQL" if self.pg_url else "SQLite"

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env["PORTAL_INSTANCE_PATH"] = str(self.path)
        if self.pg_url:
            env["PORTAL_DATABASE_URL"] = _with_database(self.pg_url, self.database)
        env.update(UNTHROTTLED)
        env.update(self.extra_env)
        return env

    def activate(self) -> None:
        """Point this process at the instance (before ``create_app``)."""
        for key in [k for k in os.environ if k.startswith("PORTAL_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("PORTAL_")})

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [PYTHON, "-m", "flask", "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def destroy(self) -> None:
        if self.keep:
            print(f"kept instance {self.path}" + (f" and database {self.database}" if self.database else ""))
            return
        if self.database:
            try:
                _pg_admin(self.pg_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 (report, keep cleaning up)
                print(f"could not drop database {self.database}: {exc}")
        shutil.rmtree(self.path, ignore_errors=True)


#: The WSGI servers a benchmark can start: Granian (the deployment's, README and docs/DECISIONS.md)
#: and gunicorn's threaded worker (the earlier deployment's), for comparison.
SERVERS = ("granian", "gunicorn")


def server_command(kind: str, port: int, workers: int, threads: int) -> list[str]:
    """The command line that serves ``app:app`` on 127.0.0.1:``port``."""
    if kind == "granian":
        return [
            str(Path(PYTHON).with_name("granian")),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            # The threads that run the app in each worker; Granian holds the connections itself.
            "--blocking-threads",
            str(threads),
            "--backlog",
            "2048",
            "--http",
            "1",
            "--log-level",
            "warning",
            "app:app",
        ]
    if kind != "gunicorn":
        raise ValueError(f"unknown server {kind!r}: one of {', '.join(SERVERS)}")
    return [
        str(Path(PYTHON).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--backlog",
        "2048",
        "--timeout",
        "120",
        # Longer than the client's pauses: a keep-alive connection closed by the server just as
        # the client reuses it shows up as a connection error that is not the app's.
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "app:app",
    ]


@dataclass
class Server:
    """A WSGI server (``SERVERS``) serving ``app:app`` for an instance, in its own process group."""

    instance: Instance
    workers: int = 2
    threads: int = 4
    kind: str = "granian"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        if self.kind == "granian":
            return f"Granian (WSGI) {self.workers} workers x {self.threads} blocking threads"
        return f"gunicorn {self.workers} workers x {self.threads} threads (gthread)"

    def start(self, timeout: float = 60) -> None:
        self.log = self.instance.path / "server.log"
        args = server_command(self.kind, self.port, self.workers, self.threads)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (our own server)
                args, cwd=ROOT, env=self.instance.env, stdout=out, stderr=out, start_new_session=True
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.kind} did not answer /healthz")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's main process and workers (Linux /proc)."""
        if self.proc is None:
            return 0.0
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # the process group the server leads
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def kill(self) -> None:
        """SIGKILL the main process and all its workers (the whole process group) at once."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        # Workers of the killed main process are reparented; wait until none of the group is left.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def log_errors(server: Server, limit: int = 6) -> list[str]:
    """The distinct exception lines the server logged (what a 500 was)."""
    if server.log is None or not server.log.exists():
        return []
    found: list[str] = []
    for line in server.log.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line) and line not in found:
            found.append(line[:300])
    return found[:limit]


_SPEED_LOOP = (
    "import time\n"
    "best = 1e9\n"
    "for _ in range(5):\n"
    "    t = time.perf_counter(); sum(i * i for i in range(1_000_000)); best = min(best, time.perf_counter() - t)\n"
    "print(best * 1000)\n"
)


def machine_speed() -> float:
    """Milliseconds for a fixed pure-Python loop, run on every CPU at once: the slowest (lower is faster).

    Printed beside every figure, to tell a slower machine from a slower build. On 2026-11-29 the
    surge figures of one build varied from 189 to 355 comments/s (4.1 to 8.0 ms of gunicorn CPU per
    comment) while this stayed at 41-49 ms: the spread came from the run (threads contending for
    the GIL and the writers' lock), not from the machine.
    """
    procs = [
        subprocess.Popen([PYTHON, "-c", _SPEED_LOOP], stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(os.cpu_count() or 1)
    ]
    return max(float(p.communicate()[0]) for p in procs)


def cpu_ticks() -> list[int]:
    """The machine's CPU time so far, by kind (Linux /proc/stat, in clock ticks); [] elsewhere."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:9]]
    except OSError:
        return []


def cpu_share(before: list[int], after: list[int]) -> str:
    """How the machine's CPUs spent the time between two ``cpu_ticks`` readings."""
    if not before or not after:
        return "not known on this system"
    user, nice, system, idle, iowait, irq, softirq, steal = (b - a for a, b in zip(before, after, strict=True))
    total = sum((user, nice, system, idle, iowait, irq, softirq, steal)) or 1
    parts = {"user": user + nice, "system": system + irq + softirq, "idle": idle + iowait, "stolen": steal}
    return ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in parts.items())


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"
