"""Availability of comment intake: a watcher's probes, server errors of comment submission, outages, and
the automatic extension of consultations that an outage longer than the threshold caused (issue 8, point 10)."""

from __future__ import annotations

import logging
import os

from flask import Flask, request

#: Settings with their defaults and the PORTAL_* variable that overrides each (instance/config.py also may).
SETTINGS: dict[str, tuple[str, object]] = {
    "OUTAGE_EXTENSION_THRESHOLD_MINUTES": ("PORTAL_OUTAGE_EXTENSION_THRESHOLD_MINUTES", 30),
    "OUTAGE_EXTENSION_ROUND_MINUTES": ("PORTAL_OUTAGE_EXTENSION_ROUND_MINUTES", 60),
    "AVAILABILITY_PROBE_URL": ("PORTAL_AVAILABILITY_PROBE_URL", None),
    "AVAILABILITY_PROBE_TIMEOUT": ("PORTAL_AVAILABILITY_PROBE_TIMEOUT", 10),
    "AVAILABILITY_ERROR_MINUTE_THRESHOLD": ("PORTAL_AVAILABILITY_ERROR_MINUTE_THRESHOLD", 10),
    "AVAILABILITY_BUFFER_PATH": ("PORTAL_AVAILABILITY_BUFFER_PATH", None),
    "AVAILABILITY_RECOMPUTE_DAYS": ("PORTAL_AVAILABILITY_RECOMPUTE_DAYS", 7),
    "AVAILABILITY_INTAKE_ENDPOINTS": (None, ("consultation.submit_comment",)),
}

log = logging.getLogger("portal.availability")


def init_app(app: Flask) -> None:
    """Register the pages, the API, the CLI and the hook that counts server errors of comment submission."""
    from portal.api.base import api
    from portal.availability import models  # noqa: F401
    from portal.availability.api import blp
    from portal.availability.cli import availability_cli
    from portal.availability.views import bp

    for key, (var, default) in SETTINGS.items():
        value = os.environ.get(var) if var else None
        if value:
            app.config[key] = value
        else:
            app.config.setdefault(key, default)
    from portal.core.hooks import add_state_table

    add_state_table(app, "availability_heartbeat")  # its one row comes with the migration
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.cli.add_command(availability_cli)
    app.after_request(_count_intake_errors)


def _count_intake_errors(response):
    """Count a 5xx answer of comment submission, in its own short transaction after the request's.

    The request's own transaction is rolled back first (it failed anyway). If the database is what
    failed, this write fails too and is only logged: the watcher's probes record that outage.
    """
    if response.status_code < 500:
        return response
    from sqlalchemy.exc import SQLAlchemyError

    from portal.availability.operations import count_intake_error, is_intake_endpoint
    from portal.core.extensions import db

    if not is_intake_endpoint(request.endpoint, request.method):
        return response
    try:
        db.session.rollback()
        count_intake_error(request.endpoint)
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("availability: could not count a server error of %s: %s", request.endpoint, type(exc).__name__)
    return response
