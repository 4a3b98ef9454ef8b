"""API: outages of comment intake and the extensions they caused."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from sqlalchemy import select

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.availability import operations
from portal.availability.models import Outage
from portal.core.i18n import is_english

blp = make_blueprint(
    "availability_api", __name__, url_prefix="/api/v1", description="Availability of comment intake and outages"
)


class OutageExtensionSchema(ma.Schema):
    decision = ma.fields.String(required=True, metadata={"description": "Slug of the decision"})
    decision_title = ma.fields.String(required=True)
    outcome = ma.fields.String(required=True, metadata={"description": "extended, reopened or not_reopened"})
    minutes = ma.fields.Integer(required=True, metadata={"description": "Minutes added to the period"})
    previous_ends_at = ma.fields.DateTime(allow_none=True)
    new_ends_at = ma.fields.DateTime(allow_none=True)
    reason = ma.fields.String(
        required=True, metadata={"description": "The published reason, in the request's language"}
    )
    reason_zh = ma.fields.String(required=True)
    reason_en = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class OutageSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    started_at = ma.fields.DateTime(required=True)
    ended_at = ma.fields.DateTime(allow_none=True, metadata={"description": "None while it lasts"})
    ongoing = ma.fields.Boolean(required=True)
    duration_minutes = ma.fields.Integer(required=True)
    over_threshold = ma.fields.Boolean(required=True)
    failed_probes = ma.fields.Integer(required=True)
    server_errors = ma.fields.Integer(required=True)
    extensions = ma.fields.List(ma.fields.Nested(OutageExtensionSchema), required=True)


OutagePage = page_schema(OutageSchema, "OutagePage")


class AvailabilitySchema(OutagePage):
    threshold_minutes = ma.fields.Integer(required=True)
    rounding_minutes = ma.fields.Integer(required=True)
    last_probe_at = ma.fields.DateTime(allow_none=True)
    last_probe_ok = ma.fields.Boolean(allow_none=True)


def outage_view(outage: Outage, threshold: int, english: bool) -> dict:
    extensions = []
    for row in outage.extensions:
        decision = row.consultation.decision
        ext = row.consultation_extension
        extensions.append(
            {
                "decision": decision.slug,
                "decision_title": decision.title,
                "outcome": row.outcome,
                "minutes": row.minutes,
                "previous_ends_at": ext.previous_ends_at if ext else None,
                "new_ends_at": ext.new_ends_at if ext else None,
                "reason": row.reason(english),
                "reason_zh": row.reason_zh,
                "reason_en": row.reason_en,
                "url": url_for("consultation.page", slug=decision.slug),
            }
        )
    return {
        "id": outage.id,
        "started_at": outage.started_at,
        "ended_at": outage.ended_at,
        "ongoing": outage.ongoing,
        "duration_minutes": outage.duration_minutes,
        "over_threshold": outage.duration_minutes > threshold,
        "failed_probes": outage.failed_probes,
        "server_errors": outage.server_errors,
        "extensions": extensions,
    }


@blp.route("/availability")
@blp.arguments(PageArgs, location="query", unknown=ma.RAISE)
@blp.response(200, AvailabilitySchema)
@require(public)
def availability(args):
    """Outages of comment intake (newest first) with the extensions they caused, and the rule applied."""
    s = operations.settings()
    english = is_english()
    body = paginate(select(Outage).order_by(Outage.started_at.desc()), args)
    body["items"] = [outage_view(o, s["threshold"], english) for o in body["items"]]
    probe = operations.last_probe()
    body.update(
        threshold_minutes=s["threshold"],
        rounding_minutes=s["round"],
        last_probe_at=probe.at if probe else None,
        last_probe_ok=probe.ok if probe else None,
    )
    return body
