"""Read API of the review steps: expert pool, committees, reviews, risk, legality, meetings.

What is not yet public (review contents, risk details, the legality result before the decision is
published; meeting opinions and minutes always) is left out for callers who may not read it.
"""

from __future__ import annotations

import marshmallow as ma
from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from portal.api.base import ErrorSchema, PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.core.errors import NotAllowed
from portal.core.extensions import db
from portal.reviews import permissions, procedure, queries
from portal.reviews.models import ExpertProfile, Review
from portal.reviews.rules import diversity_notes

blp = make_blueprint(
    "reviews_api",
    __name__,
    url_prefix="/api/v1",
    description="Expert pool, committees, feasibility reviews, risk and legality reviews, collective discussions",
)


class ExpertArgs(PageArgs):
    field = ma.fields.String(load_default="", validate=ma.validate.Length(max=80))
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=80))


class InterestSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "organisation or subject"})
    value = ma.fields.String(required=True)


class ExpertSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    field = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    organisation = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)
    interests = ma.fields.List(
        ma.fields.Nested(InterestSchema),
        allow_none=True,
        metadata={"description": "null unless the caller keeps the pool, oversees it, or is the expert"},
    )


ExpertPage = page_schema(ExpertSchema, "ExpertPage")


def _expert_view(profile: ExpertProfile) -> dict:
    return {
        "id": profile.id,
        "name": profile.name,
        "field": profile.field,
        "title": profile.title,
        "organisation": profile.organisation,
        "active": profile.active,
        "interests": [{"kind": i.kind, "value": i.value} for i in profile.interests]
        if permissions.can_see_interests(current_user, profile)
        else None,
    }


@blp.route("/experts")
@blp.arguments(ExpertArgs, location="query")
@blp.response(200, ExpertPage)
@require(public)
def experts(args):
    """The expert pool (专家库), searchable by field (substring) and by name or organisation (``q``)."""
    field = args["field"].replace("\x00", "").strip()
    q = args["q"].replace("\x00", "").strip()
    page = paginate(queries.experts_stmt(field=field, q=q), args)
    page["items"] = [_expert_view(p) for p in page["items"]]
    return page


@blp.route("/experts/<int:profile_id>")
@blp.response(200, ExpertSchema)
@require(public)
def expert(profile_id: int):
    """One expert of the pool."""
    profile = db.session.get(ExpertProfile, profile_id)
    if profile is None:
        abort(404)
    return _expert_view(profile)


def _decision(slug: str):
    decision = queries.decision_by_slug(slug)
    if decision is None:
        abort(404)
    return decision


class ExpertBriefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    field = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    organisation = ma.fields.String(required=True)


class MemberSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    expert = ma.fields.Nested(ExpertBriefSchema, required=True)
    declaration = ma.fields.String(
        allow_none=True, metadata={"description": "no_interest, interest (recused), or null before declaring"}
    )
    declared_at = ma.fields.DateTime(allow_none=True)
    review_id = ma.fields.Integer(allow_none=True, metadata={"description": "current version, when readable"})
    review_version = ma.fields.Integer(allow_none=True)
    review_signed_at = ma.fields.DateTime(allow_none=True)


class CommitteeSchema(ma.Schema):
    decision = ma.fields.String(required=True)
    stage = ma.fields.String(required=True)
    members = ma.fields.List(ma.fields.Nested(MemberSchema), required=True)
    diversity_notes = ma.fields.List(ma.fields.String(), required=True)
    unmet_conditions = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "what the expert-review gate still needs"}
    )


@blp.route("/decisions/<slug>/committee")
@blp.response(200, CommitteeSchema)
@require(public)
def committee(slug: str):
    """The decision's expert committee, each member's declaration and review status."""
    decision = _decision(slug)
    members = queries.committee(decision)
    visible = permissions.can_see_reviews(current_user, decision)
    return {
        "decision": decision.slug,
        "stage": decision.stage,
        "members": [
            {
                "id": m.id,
                "expert": _expert_view(m.profile),
                "declaration": m.declaration,
                "declared_at": m.declared_at,
                "review_id": m.current_review.id if m.current_review and visible else None,
                "review_version": m.current_review.version if m.current_review else None,
                "review_signed_at": m.current_review.signed_at if m.current_review else None,
            }
            for m in members
        ],
        "diversity_notes": diversity_notes([m.profile for m in members if not m.recused]),
        "unmet_conditions": procedure.expert_review_problems(decision),
    }


class AspectSchema(ma.Schema):
    part = ma.fields.String(required=True, metadata={"description": "necessity, feasibility, soundness, …"})
    rating = ma.fields.String(required=True, metadata={"description": "none, minor, significant, serious"})
    text = ma.fields.String(required=True)


class ReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    decision = ma.fields.String(required=True)
    expert = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)
    supersedes_id = ma.fields.Integer(allow_none=True)
    superseded = ma.fields.Boolean(required=True)
    draft_version = ma.fields.Integer(allow_none=True)
    aspects = ma.fields.List(ma.fields.Nested(AspectSchema), required=True)
    recommendation = ma.fields.String(required=True, metadata={"description": "support, conditional, oppose"})
    conditions = ma.fields.String(required=True)
    amendment_reason = ma.fields.String(required=True)
    signed_name = ma.fields.String(required=True)
    signed_at = ma.fields.DateTime(required=True)
    content_sha256 = ma.fields.String(required=True)
    signature_valid = ma.fields.Boolean(required=True)


def _review_view(review: Review) -> dict:
    latest = review.member.current_review
    return {
        "id": review.id,
        "decision": review.decision.slug,
        "expert": review.member.profile.name,
        "version": review.version,
        "supersedes_id": review.supersedes_id,
        "superseded": latest is not None and latest.id != review.id,
        "draft_version": review.draft_version.number if review.draft_version else None,
        "aspects": [
            {"part": code, "rating": rating.value, "text": text} for code, _label, rating, text in review.aspects
        ],
        "recommendation": review.recommendation,
        "conditions": review.conditions,
        "amendment_reason": review.amendment_reason,
        "signed_name": review.signed_name,
        "signed_at": review.signed_at,
        "content_sha256": review.content_sha256,
        "signature_valid": review.signature_valid,
    }


class ReviewListSchema(ma.Schema):
    visible = ma.fields.Boolean(required=True, metadata={"description": "false until the decision is published"})
    items = ma.fields.List(ma.fields.Nested(ReviewSchema), required=True)


@blp.route("/decisions/<slug>/reviews")
@blp.response(200, ReviewListSchema)
@require(public)
def reviews(slug: str):
    """Every version of every signed review; public once the decision is published."""
    decision = _decision(slug)
    if not permissions.can_see_reviews(current_user, decision):
        return {"visible": False, "items": []}
    return {"visible": True, "items": [_review_view(r) for r in queries.reviews_of(decision)]}


@blp.route("/reviews/<int:review_id>")
@blp.response(200, ReviewSchema)
@blp.alt_response(403, schema=ErrorSchema, description="The review is not public yet (until the decision is published)")
@require(public)
def review(review_id: int):
    """One signed review version."""
    found = db.session.get(Review, review_id)
    if found is None:
        abort(404)
    if not permissions.can_see_review(current_user, found):
        raise NotAllowed(_("论证意见在决策公布后向公众公开。"))
    return _review_view(found)


class RiskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    recorded_at = ma.fields.DateTime(required=True)
    draft_version = ma.fields.Integer(allow_none=True)
    level = ma.fields.String(allow_none=True, metadata={"description": "low, medium, high; null until public"})
    controllable = ma.fields.Boolean(allow_none=True)
    findings = ma.fields.String(allow_none=True)
    mitigation = ma.fields.String(allow_none=True)


class RiskListSchema(ma.Schema):
    required = ma.fields.Boolean(required=True)
    visible = ma.fields.Boolean(required=True)
    unmet_conditions = ma.fields.List(ma.fields.String(), required=True)
    items = ma.fields.List(ma.fields.Nested(RiskSchema), required=True)


@blp.route("/decisions/<slug>/risk-assessments")
@blp.response(200, RiskListSchema)
@require(public)
def risk_assessments(slug: str):
    """Risk assessments, oldest first; their content is public once the decision is published."""
    decision = _decision(slug)
    visible = permissions.can_see_reviews(current_user, decision)
    return {
        "required": procedure.risk_required(decision),
        "visible": visible,
        "unmet_conditions": procedure.risk_problems(decision),
        "items": [
            {
                "id": a.id,
                "recorded_at": a.created_at,
                "draft_version": a.draft_version.number if a.draft_version else None,
                "level": a.level if visible else None,
                "controllable": a.controllable if visible else None,
                "findings": a.findings if visible else None,
                "mitigation": a.mitigation if visible else None,
            }
            for a in queries.risk_assessments(decision)
        ],
    }


class LegalitySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    submitted_at = ma.fields.DateTime(required=True)
    draft_version = ma.fields.Integer(allow_none=True)
    working_days_required = ma.fields.Integer(required=True)
    working_days_given = ma.fields.Integer(required=True)
    earliest_deliberation = ma.fields.Date(required=True)
    filed = ma.fields.Boolean(required=True)
    filed_at = ma.fields.DateTime(allow_none=True)
    result = ma.fields.String(
        allow_none=True, metadata={"description": "pass, pass_with_changes, fail; null until filed and public"}
    )
    opinion = ma.fields.String(allow_none=True)
    required_changes = ma.fields.String(allow_none=True)
    reviewer = ma.fields.String(allow_none=True)
    opinion_sha256 = ma.fields.String(allow_none=True)


class LegalityListSchema(ma.Schema):
    visible = ma.fields.Boolean(required=True)
    unmet_conditions = ma.fields.List(ma.fields.String(), required=True)
    items = ma.fields.List(ma.fields.Nested(LegalitySchema), required=True)


@blp.route("/decisions/<slug>/legality-reviews")
@blp.response(200, LegalityListSchema)
@require(public)
def legality_reviews(slug: str):
    """Submissions to the legality review and, once the decision is published, their results."""
    decision = _decision(slug)
    visible = permissions.can_see_reviews(current_user, decision)
    items = []
    for r in queries.legality_reviews(decision):
        timing = procedure.legality_timing(r)
        shown = visible and r.is_filed
        items.append(
            {
                "id": r.id,
                "submitted_at": r.submitted_at,
                "draft_version": r.draft_version.number if r.draft_version else None,
                "working_days_required": timing.required,
                "working_days_given": timing.given,
                "earliest_deliberation": timing.earliest,
                "filed": r.is_filed,
                "filed_at": r.filed_at,
                "result": r.result if shown else None,
                "opinion": r.opinion if shown else None,
                "required_changes": r.required_changes if shown else None,
                "reviewer": r.reviewer.display_name if shown and r.reviewer else None,
                "opinion_sha256": r.opinion_sha256 if shown else None,
            }
        )
    return {"visible": visible, "unmet_conditions": procedure.legality_problems(decision), "items": items}


class MaterialSchema(ma.Schema):
    code = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    present = ma.fields.Boolean(required=True)
    required = ma.fields.Boolean(required=True)
    detail = ma.fields.String(required=True)
    url = ma.fields.String(allow_none=True)


class OpinionSchema(ma.Schema):
    member = ma.fields.String(required=True)
    position = ma.fields.String(required=True, metadata={"description": "agree, dissent, abstain"})
    statement = ma.fields.String(allow_none=True, metadata={"description": "verbatim; null for the public"})
    recorded_at = ma.fields.DateTime(required=True)


class MeetingSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "executive or plenary"})
    meeting_date = ma.fields.Date(required=True)
    status = ma.fields.String(required=True, metadata={"description": "scheduled or closed"})
    head = ma.fields.String(required=True)
    attendees = ma.fields.List(ma.fields.String(), required=True)
    tally = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    dissenters = ma.fields.List(ma.fields.String(), required=True)
    outcome = ma.fields.String(allow_none=True, metadata={"description": "adopt, adopt_with_changes, reject, postpone"})
    decided_at = ma.fields.DateTime(allow_none=True)
    departure_reason = ma.fields.String(allow_none=True)
    public_summary = ma.fields.String(allow_none=True)
    opinions = ma.fields.List(
        ma.fields.Nested(OpinionSchema), allow_none=True, metadata={"description": "internal readers only"}
    )
    minutes = ma.fields.String(allow_none=True, metadata={"description": "internal readers only"})


class MeetingListSchema(ma.Schema):
    materials = ma.fields.List(ma.fields.Nested(MaterialSchema), required=True)
    items = ma.fields.List(ma.fields.Nested(MeetingSchema), required=True)


@blp.route("/decisions/<slug>/meetings")
@blp.response(200, MeetingListSchema)
@require(public)
def meetings(slug: str):
    """The collective discussions: public summary, tally and dissenters; opinions and minutes for insiders."""
    decision = _decision(slug)
    internal = permissions.can_see_internal_records(current_user, decision)
    items = []
    for m in queries.meetings_of(decision):
        closed = m.is_closed
        items.append(
            {
                "id": m.id,
                "kind": m.kind,
                "meeting_date": m.meeting_date,
                "status": m.status,
                "head": m.head.display_name,
                "attendees": [u.display_name for u in m.attendees],
                "tally": m.tally(),
                "dissenters": [o.member.display_name for o in m.opinions if o.position == "dissent"]
                if closed or internal
                else [],
                "outcome": m.outcome,
                "decided_at": m.decided_at,
                "departure_reason": m.departure_reason if closed else None,
                "public_summary": m.public_summary if closed else None,
                "opinions": [
                    {
                        "member": o.member.display_name,
                        "position": o.position,
                        "statement": o.statement,
                        "recorded_at": o.recorded_at,
                    }
                    for o in m.opinions
                ]
                if internal
                else None,
                "minutes": m.minutes if internal and closed else None,
            }
        )
    return {"materials": [vars(x) for x in procedure.materials(decision)], "items": items}
