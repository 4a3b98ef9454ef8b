"""Commands: ``init-db``, ``create-user``, ``seed-demo``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from portal.auth import operations
from portal.auth.models import Role, department_by_code
from portal.core.errors import DomainError
from portal.core.extensions import db


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Apply every migration (creates the database on first run)."""
    # "heads": feature branches of the migration tree are all applied.
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    click.echo("database is at the newest migration")


@click.command("create-user")
@click.argument("email")
@click.option("--password", required=True, help="Initial password (strength rule applies).")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", "roles", multiple=True, help=f"Role, repeatable: {', '.join(r.value for r in Role)}.")
@click.option("--department", "departments", multiple=True, help="Department code, repeatable.")
@with_appcontext
def create_user_command(email, password, name, roles, departments):
    """Create an account from the command line (recorded in the ledger as done by the system)."""
    found = []
    for code in departments:
        department = department_by_code(code)
        if department is None:
            raise click.UsageError(f"unknown department {code!r}")
        found.append(department)
    try:
        user = operations.create_user(
            None,
            email=email,
            display_name=name,
            password=password,
            roles=list(roles) or [Role.CITIZEN],
            departments=found,
            confirmed=True,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc.message)) from exc
    db.session.commit()
    click.echo(f"created user {user.id} {user.email} roles={','.join(sorted(user.roles))}")


@click.command("seed-demo")
@click.option("--first-run", is_flag=True, help="Do nothing when the database already has accounts.")
@with_appcontext
def seed_demo_command(first_run):
    """Load realistic demo content; running it again adds nothing twice."""
    from sqlalchemy import func, select

    from portal.auth.models import User
    from portal.core.seed import seed_demo

    if first_run and db.session.scalar(select(func.count(User.id))):
        click.echo("accounts exist already; demo data not loaded (run seed-demo to add what is missing)")
        return

    for line in seed_demo():
        click.echo(line)


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path):
    """Back up the database, uploads and ledger checkpoint into DEST while the site runs."""
    from portal.core.backup import BackupError, backup

    try:
        result = backup(dest)
    except BackupError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(
        f"backup written to {result.path}: {result.files} files, ledger checkpoint {result.head_seq}:{result.head_hash}"
    )


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(source: Path):
    """Restore a backup made by ``backup`` into this empty instance, then verify the ledger."""
    from portal.core.backup import BackupError, restore

    try:
        seq, head_hash = restore(source)
    except BackupError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"restored; ledger verifies and contains checkpoint {seq}:{head_hash}")
