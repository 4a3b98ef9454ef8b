"""``flask --app app trace verify [--checkpoint SEQ:HASH]``."""

from __future__ import annotations

import re
import sys
import time

import click
from flask.cli import AppGroup

from portal.trace.operations import verify

trace_cli = AppGroup("trace", help="The responsibility ledger.")

CHECKPOINT = re.compile(r"^(\d{1,18}):([0-9a-f]{64})$")


@trace_cli.command("verify")
@click.option("--checkpoint", help="SEQ:HASH of a published head that must still be in the chain.")
def verify_command(checkpoint):
    """Recompute the whole chain; exit 0 when intact, 1 naming the first broken seq."""
    point = None
    if checkpoint:
        match = CHECKPOINT.match(checkpoint.strip().lower())
        if not match:
            raise click.UsageError("--checkpoint must be SEQ:HASH with a 64-hex-digit SHA-256")
        point = (int(match.group(1)), match.group(2))
    started = time.perf_counter()
    result = verify(point)
    elapsed = time.perf_counter() - started
    if result.ok:
        click.echo(
            f"ledger intact: {result.count} entries, head {result.head_seq} {result.head_hash} ({elapsed:.2f} s)"
        )
        if point:
            click.echo(f"checkpoint {point[0]} found in the chain")
        return
    click.echo(
        f"ledger BROKEN at seq {result.broken_seq}: {result.reason} (entries before it verified: {result.count})",
        err=True,
    )
    sys.exit(1)
