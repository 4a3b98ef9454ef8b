"""``flask --app app consultation send-receipts``: receipt mails left queued (issue 8)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

consultation_cli = AppGroup("consultation", help="Public consultations.")


@consultation_cli.command("send-receipts")
def send_receipts_command():
    """Send every queued receipt mail now.

    Each worker's sender does this by itself a moment after comments are stored; run this after
    the workers stopped with mails still queued (e.g. from cron, like notifications send-due).
    """
    from portal.consultation.intake import RECEIPT_CHUNK, send_chunk
    from portal.consultation.operations import queued_receipts

    sent = 0
    while True:
        taken = send_chunk(current_app._get_current_object())  # type: ignore[attr-defined]
        sent += taken
        if taken < RECEIPT_CHUNK:
            break
    click.echo(f"{sent} receipt mail(s) sent; {queued_receipts()} still queued")
