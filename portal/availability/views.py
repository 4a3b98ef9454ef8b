"""Pages: the public record of intake availability, the probe endpoint the watcher calls, the admin's probe history."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.auth.permissions import admin_only, public, require
from portal.availability import operations
from portal.availability.models import AvailabilityProbe, IntakeErrorBucket, Outage
from portal.core.extensions import db, limiter
from portal.core.utils import page_arg

bp = Blueprint("availability", __name__)
log = logging.getLogger("portal.availability")

PER_PAGE = 20
PROBES_PER_PAGE = 100


@bp.get("/availability")
@require(public)
def index():
    """Outages of comment intake and the extensions they caused."""
    pagination = db.paginate(
        select(Outage).order_by(Outage.started_at.desc()), page=page_arg(), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "availability/index.html",
        outages=pagination,
        settings=operations.settings(),
        last_probe=operations.last_probe(),
    )


@bp.get("/availability/probe")
@require(public)
@limiter.limit("30 per minute")
def probe():
    """What the watcher GETs: the application answers and the database takes a write."""
    try:
        operations.write_heartbeat()
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("availability probe: database write failed: %s", type(exc).__name__)
        response = jsonify(status="unavailable", database="write failed")
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
        return response
    response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/availability")
@require(admin_only)
def admin_probes():
    """Probe history, server-error buckets and outages (admins)."""
    probes = db.paginate(
        select(AvailabilityProbe).order_by(AvailabilityProbe.at.desc(), AvailabilityProbe.id.desc()),
        page=page_arg(),
        per_page=PROBES_PER_PAGE,
        error_out=False,
    )
    buckets = db.session.scalars(select(IntakeErrorBucket).order_by(IntakeErrorBucket.minute.desc()).limit(60)).all()
    outages = db.session.scalars(select(Outage).order_by(Outage.started_at.desc()).limit(20)).all()
    return render_template(
        "availability/admin.html",
        probes=probes,
        buckets=buckets,
        outages=outages,
        settings=operations.settings(),
    )
