"""``flask --app app consultation send-receipts``: receipt mails left queued (issue 8)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core.extensions import db

consultation_cli = AppGroup("consultation", help="Public consultations.")


@consultation_cli.command("send-receipts")
def send_receipts_command():
    """Send every queued receipt mail now.

    Each worker's sender does this by itself a moment after comments are stored; run this after
    the workers stopped with mails still queued (e.g. from cron, like notifications send-due).
    """
    from portal.consultation.intake import RECEIPT_CHUNK
    from portal.consultation.operations import queued_receipts, send_queued_receipts

    sent = 0
    while True:
        # A POST's context: on SQLite the transaction begins with the write lock (it removes rows).
        with current_app.test_request_context("/", method="POST"):
            taken = send_queued_receipts(RECEIPT_CHUNK)
            db.session.commit()
        sent += taken
        if taken < RECEIPT_CHUNK:
            break
    click.echo(f"{sent} receipt mail(s) sent; {queued_receipts()} still queued")
