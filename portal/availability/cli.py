"""``flask availability probe|watch|apply``: the watcher of comment intake (run it from cron every minute)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from portal.core.extensions import db

availability_cli = AppGroup("availability", help="Availability of comment intake and outage extensions.")


def run_probe(*, url: str | None = None, timeout: float | None = None, apply: bool = True) -> list[str]:
    """Probe once, store the result (or buffer it), then find outages and extend consultations."""
    from portal.availability import operations

    s = operations.settings()
    result = operations.probe_intake(url or s["url"], timeout if timeout is not None else s["timeout"])
    lines = [
        f"probe {'ok' if result.ok else 'FAILED'} {result.target} "
        f"status={result.status_code} latency_ms={result.latency_ms} {result.error}".rstrip()
    ]
    recorded = operations.record_or_buffer(result, s["buffer"])
    if not recorded.stored:
        lines.append(f"database unavailable: {recorded.buffered} result(s) kept in {s['buffer']}")
        return lines
    if recorded.replayed:
        lines.append(f"replayed {recorded.replayed} buffered result(s)")
    if apply:
        lines.extend(run_apply(since=recorded.earliest))
    return lines


def run_apply(*, since=None) -> list[str]:
    """Recompute outages and extend; one transaction."""
    from portal.availability import operations

    try:
        outages = operations.detect_outages(since=since)
        made = operations.apply_extensions()
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return [f"apply failed, will retry on the next run: {type(exc).__name__}"]
    lines = [f"{len(outages)} outage interval(s) in the window"]
    for row in made:
        lines.append(
            f"consultation {row.consultation_id}: {row.outcome} by {row.minutes} min for outage {row.outage_id}"
        )
    return lines


@availability_cli.command("probe")
@click.option(
    "--url", default=None, help="URL to probe (default: AVAILABILITY_PROBE_URL or BASE_URL/availability/probe)."
)
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the answer.")
@click.option("--no-apply", is_flag=True, help="Only probe and record; do not extend consultations.")
def probe_command(url, timeout, no_apply):
    """Probe comment intake once, record the result, then apply outage extensions (run every minute)."""
    for line in run_probe(url=url, timeout=timeout, apply=not no_apply):
        click.echo(line)


@availability_cli.command("watch")
@click.option("--interval", type=click.IntRange(5, 3600), default=60, show_default=True, help="Seconds between probes.")
@click.option("--count", type=click.IntRange(0), default=0, help="Stop after this many probes (0: never).")
def watch_command(interval, count):
    """Probe in a loop (instead of cron)."""
    done = 0
    while True:
        started = time.monotonic()
        for line in run_probe():
            click.echo(line)
        db.session.remove()
        done += 1
        if count and done >= count:
            return
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


@availability_cli.command("apply")
def apply_command():
    """Find outages and extend the consultations open during them (idempotent)."""
    for line in run_apply():
        click.echo(line)
