"""API: a decision in force — implementation updates, evaluations, adjustments, public feedback."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import abort

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.decisions.queries import visible_decision_or_none
from portal.implementation import operations, queries

blp = make_blueprint("implementation_api", __name__, url_prefix="/api/v1", description="After publication")


class UpdateSchema(ma.Schema):
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True, metadata={"description": "Markdown"})
    created_at = ma.fields.DateTime(required=True)


class EvaluationSchema(ma.Schema):
    conclusion = ma.fields.String(required=True)
    conclusion_label = ma.fields.String(required=True)
    report = ma.fields.String(required=True, metadata={"description": "Markdown"})
    report_sha256 = ma.fields.String(required=True)
    feedback_received = ma.fields.Integer(required=True)
    feedback_published = ma.fields.Integer(required=True)
    evaluator = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class AdjustmentSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "adjust, suspend or resume"})
    reason = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)


class ImplementationSchema(ma.Schema):
    decision = ma.fields.String(required=True)
    stage = ma.fields.String(required=True)
    in_force = ma.fields.Boolean(required=True)
    suspended = ma.fields.Boolean(required=True)
    feedback_published = ma.fields.Integer(required=True)
    evaluation_proposed = ma.fields.Boolean(required=True)
    updates = ma.fields.List(ma.fields.Nested(UpdateSchema), required=True)
    evaluations = ma.fields.List(ma.fields.Nested(EvaluationSchema), required=True)
    adjustments = ma.fields.List(ma.fields.Nested(AdjustmentSchema), required=True)


class FeedbackResponseSchema(ma.Schema):
    disposition = ma.fields.String(required=True)
    disposition_label = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    updated_at = ma.fields.DateTime(required=True)


class FeedbackSchema(ma.Schema):
    tracking_number = ma.fields.String(required=True)
    author = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    response = ma.fields.Nested(FeedbackResponseSchema, allow_none=True)


FeedbackPage = page_schema(FeedbackSchema, "FeedbackPage")


def _decision(slug: str):
    decision = visible_decision_or_none(slug, current_user)
    if decision is None:
        abort(404)
    return decision


@blp.route("/decisions/<slug>/implementation")
@blp.response(200, ImplementationSchema)
@require(public)
def implementation(slug: str):
    """How a published decision is carried out: updates, post-evaluations, adjustments and suspensions."""
    decision = _decision(slug)
    return {
        "decision": decision.slug,
        "stage": decision.stage,
        "in_force": operations.is_in_force(decision),
        "suspended": operations.is_suspended(decision),
        "feedback_published": queries.feedback_counts(decision)["published"],
        "evaluation_proposed": queries.proposal_for(decision) is not None,
        "updates": [
            {"title": u.title, "body": u.body, "created_at": u.created_at} for u in queries.updates_for(decision)
        ],
        "evaluations": [
            {
                "conclusion": e.conclusion,
                "conclusion_label": e.conclusion_label,
                "report": e.report,
                "report_sha256": e.report_sha256,
                "feedback_received": e.feedback_received,
                "feedback_published": e.feedback_published,
                "evaluator": e.evaluator.display_name if e.evaluator else None,
                "created_at": e.created_at,
            }
            for e in queries.evaluations_for(decision)
        ],
        "adjustments": [
            {"kind": a.kind, "reason": a.reason, "created_at": a.created_at} for a in queries.adjustments_for(decision)
        ],
    }


@blp.route("/decisions/<slug>/feedback")
@blp.arguments(PageArgs, location="query")
@blp.response(200, FeedbackPage)
@require(public)
def feedback(args, slug: str):
    """Published feedback on a decision in force, newest first, with the department's responses."""
    decision = _decision(slug)
    page = paginate(queries.public_feedback_stmt(decision), args)
    page["items"] = [
        {
            "tracking_number": f.tracking_number,
            "author": f.public_name,
            "body": f.body,
            "created_at": f.created_at,
            "response": (
                {
                    "disposition": f.response.disposition,
                    "disposition_label": f.response.disposition_label,
                    "body": f.response.body,
                    "updated_at": f.response.updated_at,
                }
                if f.response
                else None
            ),
        }
        for f in page["items"]
    ]
    return page
