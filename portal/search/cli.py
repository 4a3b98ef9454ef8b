"""Commands: ``search reindex|status|worker`` and ``import-decision``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.search import service
from portal.search.importer import UnreadableFile, find_date, local_midnight, read_file, split_title
from portal.search.index import Store
from portal.search.operations import IMPORT_STAGES, import_decision
from portal.search.queue import apply_pending

search_cli = AppGroup("search", help="The search index: rebuild, status, queue worker.")


@search_cli.command("reindex")
@click.option("--procs", type=click.IntRange(1, 16), default=None, help="Analysing processes (default: by size).")
def reindex_command(procs):
    """Rebuild the index from the database into a new folder and swap it in (searches go on)."""
    result = service.rebuild(procs=procs)
    rate = result.documents / result.seconds if result.seconds else 0
    click.echo(
        f"indexed {result.documents} documents in {result.seconds:.1f}s ({rate:.0f}/s) into {result.generation}; "
        f"applied {result.applied} queued changes"
    )


@search_cli.command("status")
def status_command():
    """Documents per type in the live index, and the queue's backlog."""
    status = service.status()
    if status.unavailable:
        click.echo(f"index: {status.unavailable} (run: flask --app app search reindex)")
    else:
        click.echo(f"index: {status.generation} ({status.size_bytes / 1e6:.1f} MB)")
        for doc_type, count in status.documents.items():
            click.echo(f"  {doc_type:<10} {count}")
        click.echo(f"  {'total':<10} {sum(status.documents.values())}")
    line = f"backlog: {status.backlog} queued"
    if status.oldest_queued is not None:
        line += f", oldest {status.oldest_queued:%Y-%m-%d %H:%M:%S} UTC"
    click.echo(line)


@search_cli.command("worker")
@click.option(
    "--interval", type=click.FloatRange(0.1, 3600), default=2.0, show_default=True, help="Seconds between polls."
)
@click.option("--once", is_flag=True, help="Apply what is queued now, then stop.")
def worker_command(interval, once):
    """Apply the queue continuously (instead of, or as well as, web processes after responses)."""
    while True:
        result = apply_pending(wait=True)
        if result.rows:
            click.echo(f"applied {result.rows} queued rows ({result.written} written, {result.removed} removed)")
        if result.unavailable:
            click.echo(f"index {result.unavailable}: run `flask --app app search reindex`", err=True)
        if once:
            return
        db.session.remove()
        time.sleep(interval)


def _read_archive(path: Path):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableFile("empty file")
    return read_file(data)


def _import_one(path: Path, *, title, department, department_name, day, stage):
    archive = _read_archive(path)
    body = archive.text
    first, rest = split_title(body)
    if not title:
        title, body = first, rest
    elif first == " ".join(title.split()):
        body = rest  # the file repeats the title on its first line
    if day is None:
        day = find_date(body)
    when = local_midnight(day, current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")) if day else None
    decision = import_decision(
        None,
        title=title,
        department_code=department,
        department_name=department_name,
        body=body,
        when=when,
        stage=stage,
        source=path.name,
        encoding=archive.encoding,
    )
    return decision, archive.encoding


@click.command("import-decision")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Import every file in FOLDER.",
)
@click.option("--title", help="Title (default: the file's first line).")
@click.option("--department", required=True, help="Department code; created when unknown.")
@click.option("--department-name", help="Name for a department created by the import (default: its code).")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Decision date, YYYY-MM-DD (default: the last date in the text).",
)
@click.option("--stage", type=click.Choice(IMPORT_STAGES), default="archived", show_default=True)
@with_appcontext
def import_decision_command(file, folder, title, department, department_name, day, stage):
    """Import archived decisions (Markdown or text; UTF-8, GB18030/GBK or Big5) into the catalogue and index."""
    if bool(file) == bool(folder):
        raise click.UsageError("give either FILE or --dir FOLDER")
    if folder and title:
        raise click.UsageError("--title applies to a single FILE; with --dir each file's first line is its title")
    day = day.date() if day else None
    options = {"department": department, "department_name": department_name, "day": day, "stage": stage}
    if file:
        try:
            decision, encoding = _import_one(file, title=title, **options)
        except (DomainError, UnreadableFile) as exc:
            db.session.rollback()
            raise click.ClickException(f"{file.name}: {getattr(exc, 'message', exc)}") from exc
        db.session.commit()
        click.echo(f"imported {file.name} ({encoding}) as {decision.slug}: {decision.title}")
    else:
        paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        imported, failures = 0, []
        with click.progressbar(paths, label=f"importing {len(paths)} files", show_pos=True) as bar:
            for path in bar:
                try:
                    _import_one(path, title=None, **options)
                except (DomainError, UnreadableFile) as exc:
                    db.session.rollback()
                    failures.append((path.name, str(getattr(exc, "message", exc))))
                    continue
                db.session.commit()
                imported += 1
        click.echo(f"imported {imported} of {len(paths)} files")
        if failures:
            click.echo(f"{len(failures)} failed:")
            for name, reason in failures:
                click.echo(f"  {name}: {reason}")
    indexed = apply_pending(wait=True, store=Store.for_app())
    click.echo(f"search index updated ({indexed.rows} queued changes applied)")
    if folder and failures:
        raise SystemExit(1)
