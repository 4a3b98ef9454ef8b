"""Fixtures for availability tests: the consultation factories, a fake HTTP target, probe rows."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.consultation.conftest import (  # noqa: F401 - fixtures shared with the consultation tests
    citizen,
    department,
    make_consultation,
    make_decision,
    official,
)


@pytest.fixture
def fake_target():
    """A local HTTP server whose answer the test sets: ``fake_target.answer = (status, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            status, body = server.answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.answer = (200, b'{"status": "ok"}')
    server.url = f"http://127.0.0.1:{server.server_address[1]}/availability/probe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def add_probes(db):
    """``add_probes(start, pattern, step_minutes=1)``: one probe per character of pattern ("." ok, "x" failed)."""
    from portal.availability import operations

    def add(start, pattern: str, step_minutes: float = 1):
        results = [
            operations.ProbeResult(
                at=start + timedelta(minutes=i * step_minutes),
                ok=ch == ".",
                latency_ms=5 if ch == "." else None,
                status_code=200 if ch == "." else None,
                error="" if ch == "." else "Connection refused",
                target="http://test/availability/probe",
            )
            for i, ch in enumerate(pattern)
        ]
        operations._store_probes(results, replayed=set())  # noqa: SLF001 - test setup
        db.session.commit()
        return results

    return add
