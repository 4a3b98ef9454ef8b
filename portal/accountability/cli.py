"""``flask --app app archive verify FILE.zip`` and ``flask --app app checkpoint``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, with_appcontext

from portal.core.extensions import db

archive_cli = AppGroup("archive", help="Decision archives (决策档案).")


@archive_cli.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def verify_command(path):
    """Check a downloaded archive against its manifest and the ledger; exit 1 naming what changed."""
    from portal.accountability.archive import verify_archive

    findings = verify_archive(path)
    if not findings:
        click.echo(f"archive intact: every file matches its manifest and the ledger ({path})")
        return
    click.echo(f"archive CHANGED: {len(findings)} problem(s) in {path}", err=True)
    for finding in findings:
        click.echo(f"  {finding}", err=True)
    sys.exit(1)


@click.command("checkpoint")
@click.option("--reason", type=click.Choice(["daily", "manual"]), default="daily", show_default=True)
@with_appcontext
def checkpoint_command(reason):
    """Verify the whole chain and publish its head as a checkpoint (daily: once per local day; for cron)."""
    from portal.accountability.chain import refresh
    from portal.accountability.checkpoints import create_checkpoint

    status = refresh(force_full=True)
    click.echo(
        f"ledger {'intact' if status.intact else 'BROKEN'}: head {status.head_seq} ({status.recomputed} verified)"
    )
    found = create_checkpoint(reason)
    db.session.commit()
    if found is None:
        click.echo("ledger is empty: no checkpoint")
        return
    click.echo(f"checkpoint {found.token} ({found.reason}, {found.created_at.isoformat()})")
