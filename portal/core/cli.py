"""Commands: ``init-db``, ``create-user``, ``seed-demo``."""

from __future__ import annotations

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
    upgrade(directory=current_app.extensions["migrate"].directory)
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
            None, email=email, display_name=name, password=password, roles=list(roles) or [Role.CITIZEN],
            departments=found, confirmed=True,
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc.message)) from exc
    db.session.commit()
    click.echo(f"created user {user.id} {user.email} roles={','.join(sorted(user.roles))}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load realistic demo content; running it again adds nothing twice."""
    from portal.core.seed import seed_demo

    for line in seed_demo():
        click.echo(line)
