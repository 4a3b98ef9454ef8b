"""Hearings in the JSON API: the list, and one hearing with its draw and participants."""

from __future__ import annotations

import marshmallow as ma
from flask import abort, url_for

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.core.extensions import db
from portal.hearings import operations, queries
from portal.hearings.draw import ALGORITHM
from portal.hearings.models import Hearing
from portal.hearings.notify import absolute, hearing_path

blp = make_blueprint("hearings_api", __name__, url_prefix="/api/v1", description="Public hearings (听证会)")


class HearingListArgs(PageArgs):
    class Meta:
        unknown = ma.RAISE

    when = ma.fields.String(
        load_default="upcoming",
        validate=ma.validate.OneOf(queries.WHEN),
        metadata={"description": "upcoming (default, soonest first), past, or all"},
    )
    decision = ma.fields.String(
        validate=ma.validate.Length(max=120), metadata={"description": "Only hearings on the decision with this slug"}
    )


class HearingCategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    seats = ma.fields.Integer(required=True)
    min_share = ma.fields.String(allow_none=True, metadata={"description": "Minimum share of all seats, e.g. 2/5"})
    registrations = ma.fields.Integer(required=True, metadata={"description": "Registrations not withdrawn"})


class HearingDecisionRefSchema(ma.Schema):
    slug = ma.fields.String(required=True)
    title = ma.fields.String(required=True)


class HearingItemSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    slug = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    decision = ma.fields.Nested(HearingDecisionRefSchema, required=True)
    starts_at = ma.fields.DateTime(required=True)
    ends_at = ma.fields.DateTime(required=True)
    place = ma.fields.String(required=True)
    registration_opens_at = ma.fields.DateTime(required=True)
    registration_closes_at = ma.fields.DateTime(required=True)
    sequence = ma.fields.Integer(required=True, metadata={"description": "iCalendar SEQUENCE, rises on reschedule"})
    url = ma.fields.String(required=True)
    ics_url = ma.fields.String(required=True)


class HearingDrawOrderSchema(ma.Schema):
    registration = ma.fields.Integer(required=True)
    key = ma.fields.String(required=True)


class HearingDrawCategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    seats = ma.fields.Integer(required=True)
    entrants = ma.fields.List(ma.fields.Integer(), required=True)
    order = ma.fields.List(ma.fields.Nested(HearingDrawOrderSchema), required=True)
    selected = ma.fields.List(ma.fields.Integer(), required=True)
    waitlist = ma.fields.List(ma.fields.Integer(), required=True)


class HearingDrawResultSchema(ma.Schema):
    algorithm = ma.fields.String(required=True)
    drawn_at = ma.fields.DateTime(required=True)
    categories = ma.fields.List(ma.fields.Nested(HearingDrawCategorySchema), required=True)


class HearingParticipantSchema(ma.Schema):
    number = ma.fields.Integer(required=True, metadata={"description": "Registration number (input of the draw)"})
    name = ma.fields.String(required=True, metadata={"description": "Name or agreed pseudonym"})
    category = ma.fields.String(required=True)
    position = ma.fields.String(required=True, metadata={"description": "support, oppose or neutral"})
    status = ma.fields.String(required=True, metadata={"description": "selected (to confirm) or confirmed"})
    attended = ma.fields.Boolean(allow_none=True)
    record_response = ma.fields.String(allow_none=True, metadata={"description": "confirmed, objected or null"})


class HearingReportSchema(ma.Schema):
    published_at = ma.fields.DateTime(required=True)
    body = ma.fields.String(required=True)
    support = ma.fields.String(allow_none=True)
    oppose = ma.fields.String(allow_none=True)
    neutral = ma.fields.String(allow_none=True)


class HearingMaterialSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)


class HearingDetailSchema(HearingItemSchema):
    purpose = ma.fields.String(required=True)
    agenda = ma.fields.String(required=True)
    stream_url = ma.fields.String(allow_none=True)
    selection_method = ma.fields.String(required=True)
    categories = ma.fields.List(ma.fields.Nested(HearingCategorySchema), required=True)
    observer_seats = ma.fields.Integer(required=True)
    observers_booked = ma.fields.Integer(required=True)
    algorithm = ma.fields.String(required=True)
    commitment = ma.fields.String(
        required=True, metadata={"description": "Hex SHA-256 of the seed's UTF-8 text, public before registration"}
    )
    seed = ma.fields.String(allow_none=True, metadata={"description": "The seed; null until the draw"})
    draw = ma.fields.Nested(HearingDrawResultSchema, allow_none=True)
    participant_list_published_at = ma.fields.DateTime(allow_none=True)
    materials_delivered_at = ma.fields.DateTime(allow_none=True)
    participants = ma.fields.List(ma.fields.Nested(HearingParticipantSchema), required=True)
    materials = ma.fields.List(ma.fields.Nested(HearingMaterialSchema), required=True)
    transcript_sha256 = ma.fields.String(allow_none=True)
    report = ma.fields.Nested(HearingReportSchema, allow_none=True)


HearingPage = page_schema(HearingItemSchema, "HearingPage")


def _item(hearing: Hearing) -> dict:
    return {
        "id": hearing.id,
        "slug": hearing.slug,
        "title": hearing.title,
        "status": hearing.status,
        "decision": {"slug": hearing.decision.slug, "title": hearing.decision.title},
        "starts_at": hearing.starts_at,
        "ends_at": hearing.ends_at,
        "place": hearing.place,
        "registration_opens_at": hearing.registration_opens_at,
        "registration_closes_at": hearing.registration_closes_at,
        "sequence": hearing.sequence,
        "url": absolute(hearing_path(hearing)),
        "ics_url": absolute(hearing_path(hearing) + "/hearing.ics"),
    }


def _detail(hearing: Hearing) -> dict:
    counts = queries.registration_counts(hearing)
    draw = queries.draw_of(hearing)
    result = draw.result_data if draw else None
    report = None
    if hearing.report_published_at is not None:
        report = {
            "published_at": hearing.report_published_at,
            "body": hearing.report_body,
            "support": hearing.report_support,
            "oppose": hearing.report_oppose,
            "neutral": hearing.report_neutral,
        }
    return {
        **_item(hearing),
        "purpose": hearing.purpose,
        "agenda": hearing.agenda,
        "stream_url": hearing.stream_url,
        "selection_method": hearing.selection_method,
        "categories": [
            {
                "code": c.code,
                "name": c.name,
                "seats": c.seats,
                "min_share": c.min_share_text or None,
                "registrations": counts.get(c.id, 0),
            }
            for c in hearing.categories
        ],
        "observer_seats": hearing.observer_seats,
        "observers_booked": queries.observers_booked_count(hearing),
        "algorithm": ALGORITHM,
        "commitment": hearing.commitment,
        "seed": hearing.seed,
        "draw": {**result, "drawn_at": draw.drawn_at} if result else None,
        "participant_list_published_at": hearing.list_published_at,
        "materials_delivered_at": hearing.materials_delivered_at,
        "participants": [
            {
                "number": r.id,
                "name": r.public_name,
                "category": r.category.code,
                "position": r.position,
                "status": r.status,
                "attended": r.attended,
                "record_response": r.record_response,
            }
            for r in (queries.participants(hearing) if hearing.is_drawn else [])
        ],
        "materials": [
            {
                "id": a.id,
                "title": a.display_title,
                "sha256": a.sha256,
                "size": a.size,
                "url": url_for(
                    "decisions.download_attachment", attachment_id=a.id, filename=a.filename, _external=True
                ),
            }
            for a in operations.materials_of(hearing)
        ],
        "transcript_sha256": hearing.transcript_sha256,
        "report": report,
    }


@blp.route("/hearings")
@blp.arguments(HearingListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, HearingPage)
@require(public)
def hearings(args):
    """Published hearings; ``when`` = upcoming (default), past or all; optionally one decision's."""
    page = paginate(queries.public_hearings(args["when"], args.get("decision")), args)
    page["items"] = [_item(h) for h in page["items"]]
    return page


@blp.route("/hearings/<int:hearing_id>")
@blp.response(200, HearingDetailSchema)
@require(public)
def hearing(hearing_id: int):
    """One published hearing: categories, the commitment, the seed (null until the draw), the draw
    result, the participant list and the report."""
    found = db.session.get(Hearing, hearing_id)
    if found is None or not found.is_public:
        abort(404)
    return _detail(found)
