"""``flask notifications send-due``: reminders that are due (run it from cron, e.g. hourly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.core.extensions import db

notifications_cli = AppGroup("notifications", help="Notifications to followers.")


@notifications_cli.command("send-due")
def send_due_command():
    """Remind followers three days before a consultation closes (each reminder goes once)."""
    from portal.notifications.operations import send_due

    lines = send_due()
    db.session.commit()
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} consultation(s) with reminders sent")
