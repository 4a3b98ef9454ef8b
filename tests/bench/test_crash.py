"""Crash safety (issue 8): SIGKILL the server in the middle of a comment surge, restart, nothing lost.

Runs ``bench/crash.py`` small (a throwaway instance, its own Granian on a free port, as deployed) in a separate
process, so this process's environment and database are untouched: on SQLite, or on a throwaway
database of the PostgreSQL server when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("granian", path=str(Path(sys.executable).parent)) is None, reason="needs granian")
def test_sigkill_mid_surge_loses_no_receipted_comment():
    args = ["--comments", "60", "--accounts", "20", "--kill-after", "20", "--publish", "8", "--concurrency", "8"]
    if PG_URL:
        args += ["--pg", PG_URL]
    result = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(ROOT / "bench" / "crash.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = result.stdout + result.stderr
    assert "killed granian (SIGKILL" in report, report
    for check in (
        "every receipted comment stored",
        "no half-written record",
        "trace verify",
        "every receipt mailed once after the restart",
        "search queue drained",
        "published comments searchable",
    ):
        assert f"ok   {check}" in report, report
    assert result.returncode == 0, report
    assert f"PASS: crash safety on {'PostgreSQL' if PG_URL else 'SQLite'}" in report
