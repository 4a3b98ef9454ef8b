"""Consistent backups of a running instance, and restore into an empty one.

A backup is a folder: the database (SQLite online-backup copy, or a ``pg_dump`` custom-format
file), the uploads, the secret key, and ``manifest.json`` with the ledger checkpoint (head seq and
hash) and the SHA-256 of every file. Restore checks the manifest, refuses a non-empty instance,
brings everything back, then verifies the ledger against the checkpoint and rebuilds derived data
(features register ``after_restore`` hooks, e.g. the search index).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from portal.core.extensions import db
from portal.core.models import utcnow
from portal.trace.operations import head, verify

FORMAT = "portal-backup-1"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class BackupResult:
    path: Path
    head_seq: int
    head_hash: str
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_target() -> tuple[str, str | None]:
    """libpq URL and schema (from the search_path option, as tests and some deployments set it)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    options = (current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("connect_args", {}).get("options", "")
    schema = options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else None
    return url.render_as_string(hide_password=False), schema


def _dialect() -> str:
    return db.engine.dialect.name


def backup(dest: Path) -> BackupResult:
    """Write a consistent backup of the database, uploads and ledger checkpoint into ``dest``."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    if _dialect() == "sqlite":
        source_path = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database
        target = dest / "portal.sqlite3"
        # The online backup API copies a consistent snapshot while other connections write.
        source, copy = sqlite3.connect(source_path), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        copy = sqlite3.connect(target)
        try:
            # A self-contained file: no -wal/-shm companions in the backup.
            copy.execute("PRAGMA journal_mode=DELETE")
            row = copy.execute("SELECT seq, hash FROM trace_entry ORDER BY seq DESC LIMIT 1").fetchone()
        finally:
            copy.close()
        head_seq, head_hash = row if row else head()
        database = {"kind": "sqlite", "file": "portal.sqlite3"}
    else:
        # The dump is taken after reading the head, so the dump's chain contains the checkpoint.
        head_seq, head_hash = head()
        db.session.rollback()
        url, schema = _pg_target()
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dest / 'database.dump'}"]
        if schema:
            command.append(f"--schema={schema}")
        _run([*command, url])
        database = {"kind": "postgresql", "file": "database.dump", "schema": schema}
    uploads = Path(current_app.config["UPLOAD_PATH"])
    if uploads.exists():
        shutil.copytree(uploads, dest / "uploads", dirs_exist_ok=True)
    secret = Path(current_app.instance_path) / "secret_key"
    if secret.exists():
        shutil.copy2(secret, dest / "secret_key")
    files = {
        str(path.relative_to(dest)): _sha256(path)
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != "manifest.json"
    }
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "database": database,
        "checkpoint": {"seq": head_seq, "hash": head_hash},
        "files": files,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return BackupResult(dest, head_seq, head_hash, len(files))


def _run(command: list[str]) -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def _read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError) as exc:
        raise BackupError(f"{source} has no readable manifest.json") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError("not a portal backup (unknown format)")
    for name, digest in manifest["files"].items():
        path = (source / name).resolve()
        if source.resolve() not in path.parents:
            raise BackupError(f"manifest names a file outside the backup: {name}")
        if not path.is_file():
            raise BackupError(f"missing from the backup: {name}")
        if _sha256(path) != digest:
            raise BackupError(f"changed since the backup was made: {name}")
    return manifest


def instance_is_empty() -> bool:
    """No table holds a row (but state tables, see ``hooks.add_state_table``) and no upload exists."""
    uploads = Path(current_app.config["UPLOAD_PATH"])
    if uploads.exists() and any(p.is_file() for p in uploads.rglob("*")):
        return False
    ignored = {"alembic_version", *current_app.extensions.get("portal_state_tables", ())}
    tables = [t for t in inspect(db.engine).get_table_names() if t not in ignored]
    probe = 'SELECT 1 FROM "{}" LIMIT 1'  # table names come from the schema itself
    return all(db.session.execute(text(probe.format(table))).first() is None for table in tables)


def restore(source: Path) -> tuple[int, str]:
    """Restore ``source`` into this (empty) instance; returns the verified checkpoint."""
    source = Path(source)
    manifest = _read_manifest(source)
    if not instance_is_empty():
        raise BackupError("the instance is not empty: restore only into a new, empty instance")
    db.session.remove()
    kind = manifest["database"]["kind"]
    if kind != _dialect():
        raise BackupError(f"backup is of {kind}, this instance uses {_dialect()}")
    if kind == "sqlite":
        target = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database
        db.engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
        backup_db = sqlite3.connect(f"file:{source / manifest['database']['file']}?mode=ro", uri=True)
        live = sqlite3.connect(target)
        try:
            backup_db.backup(live)
        finally:
            backup_db.close()
            live.close()
    else:
        url, schema = _pg_target()
        if schema:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            with db.engine.begin() as conn:
                for table in inspect(conn).get_table_names():
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
        db.engine.dispose()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                f"--dbname={url}",
                str(source / manifest["database"]["file"]),
            ]
        )
    uploads = source / "uploads"
    if uploads.exists():
        shutil.copytree(uploads, Path(current_app.config["UPLOAD_PATH"]), dirs_exist_ok=True)
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", Path(current_app.instance_path) / "secret_key")
    checkpoint = (manifest["checkpoint"]["seq"], manifest["checkpoint"]["hash"])
    result = verify(checkpoint if checkpoint[0] else None)
    if not result.ok:
        raise BackupError(f"restored ledger does not verify: seq {result.broken_seq}: {result.reason}")
    for hook in current_app.extensions.get("portal_after_restore", []):
        hook()
    return checkpoint
