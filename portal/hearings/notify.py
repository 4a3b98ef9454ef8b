"""Messages to registrants: an in-site message (``/hearings/mine``) and an e-mail after commit.

Each message is rendered from ``templates/hearings/emails/<kind>.txt`` in the recipient's
language; the first line of the rendered text is the subject.
"""

from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale

from portal.auth.models import User
from portal.core.extensions import db
from portal.core.mail import send_mail
from portal.hearings.models import Hearing, HearingMessage

SUBJECT_MAX = 200


def hearing_path(hearing: Hearing) -> str:
    """The hearing's public page (kept in step with ``views.detail``); works outside a request."""
    return f"/hearings/{hearing.id}"


def absolute(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def _template_context():
    # Templates need a request context (context processors read it); the CLI and seed have none.
    return nullcontext() if has_request_context() else current_app.test_request_context("/")


def notify(user: User, hearing: Hearing, kind: str, **context) -> HearingMessage:
    """Add the in-site message and queue the e-mail (sent only if the transaction commits)."""
    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with _template_context(), force_locale(locale):
        text = render_template(
            f"hearings/emails/{kind}.txt",
            hearing=hearing,
            user=user,
            link=absolute(hearing_path(hearing)),
            absolute=absolute,
            **context,
        )
    subject, _, body = text.strip().partition("\n")
    subject = subject.strip()[:SUBJECT_MAX]
    body = body.strip()
    message = HearingMessage(user_id=user.id, hearing_id=hearing.id, subject=subject, body=body)
    db.session.add(message)
    send_mail(user.email, subject, body)
    return message
