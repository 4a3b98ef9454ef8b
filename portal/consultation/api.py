"""API of the consultation: published comments with responses, one comment, the report figures."""

from __future__ import annotations

import marshmallow as ma
from flask import abort, url_for
from flask_babel import lazy_gettext as _l

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.consultation import queries
from portal.consultation.models import (
    CHANNELS,
    DISPOSITIONS,
    REJECTION_REASONS,
    Comment,
)
from portal.consultation.rendering import cached_markdown as render_markdown
from portal.core.errors import DomainError

blp = make_blueprint(
    "consultation_api", __name__, url_prefix="/api/v1", description="Public consultation: comments and responses"
)


class CommentListArgs(PageArgs):
    class Meta:
        unknown = ma.RAISE

    article = ma.fields.String(
        validate=ma.validate.Regexp(r"^(whole|[a-z0-9-]{1,40})$"),
        metadata={"description": "An article anchor of the current version (e.g. art-3), or `whole`"},
    )
    sort = ma.fields.String(
        load_default="oldest",
        validate=ma.validate.OneOf(list(queries.SORTS)),
        metadata={"description": "oldest (default) or newest, by publication time"},
    )


class ResponseSchema(ma.Schema):
    disposition = ma.fields.String(required=True, metadata={"enum": list(DISPOSITIONS)})
    disposition_label = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    reason_html = ma.fields.String(required=True, metadata={"description": "Sanitised HTML"})
    at = ma.fields.DateTime(required=True)


class CommentSchema(ma.Schema):
    tracking_number = ma.fields.String(required=True)
    author = ma.fields.String(required=True, metadata={"description": "Public name; 匿名公众 when anonymous"})
    channel = ma.fields.String(required=True, metadata={"enum": list(CHANNELS)})
    article = ma.fields.String(allow_none=True, metadata={"description": "Article anchor; null for the whole draft"})
    article_label = ma.fields.String(allow_none=True)
    body = ma.fields.String(required=True, metadata={"description": "Markdown as written"})
    body_html = ma.fields.String(required=True, metadata={"description": "Sanitised HTML"})
    published_at = ma.fields.DateTime(required=True)
    duplicates = ma.fields.Integer(required=True, metadata={"description": "Comments sharing this text (incl. this)"})
    response = ma.fields.Nested(ResponseSchema, allow_none=True)
    url = ma.fields.String(required=True)


CommentPage = page_schema(CommentSchema, "CommentPage")


def comment_view(comment: Comment, sizes: dict[int, int]) -> dict:
    response = comment.response
    decision = comment.consultation.decision
    return {
        "tracking_number": comment.tracking_number,
        "author": comment.public_name,
        "channel": comment.channel,
        "article": comment.article_anchor,
        "article_label": comment.article_label,
        "body": comment.body,
        "body_html": str(render_markdown(comment.body)),
        "published_at": comment.published_at,
        "duplicates": sizes.get(comment.group_id, 1),
        "response": (
            {
                "disposition": response.disposition,
                "disposition_label": response.disposition_label,
                "reason": response.reason,
                "reason_html": str(render_markdown(response.reason)),
                "at": response.updated_at,
            }
            if response
            else None
        ),
        "url": url_for("consultation.page", slug=decision.slug, _anchor=f"c-{comment.tracking_number}"),
    }


@blp.route("/decisions/<slug>/comments")
@blp.arguments(CommentListArgs, location="query", unknown=ma.RAISE)
@blp.response(200, CommentPage)
@require(public)
def decision_comments(args, slug: str):
    """Published comments on a decision, each with the department's response (paginated)."""
    decision = queries.decision_by_slug(slug)
    if decision is None:
        abort(404)
    consultation = queries.consultation_for(decision)
    if consultation is None:
        abort(404)
    article = args.get("article")
    if article and article != "whole" and article not in {a.anchor for a in queries.current_articles(decision)}:
        raise DomainError(_l("所选条款不在当前版本的草案中。"), code="unknown_article", status=422)
    page = paginate(queries.published_comments(consultation, article=article, sort=args["sort"]), args)
    sizes = queries.group_sizes(c.group_id for c in page["items"])
    page["items"] = [comment_view(c, sizes) for c in page["items"]]
    return page


@blp.route("/comments/<tracking>")
@blp.response(200, CommentSchema)
@require(public)
def comment(tracking: str):
    """One published comment by its tracking number (others answer 404)."""
    found = queries.comment_by_tracking(tracking)
    if found is None or not found.is_published:
        abort(404)
    return comment_view(found, queries.group_sizes([found.group_id]))


class ExtensionSchema(ma.Schema):
    previous_ends_at = ma.fields.DateTime(required=True)
    ends_at = ma.fields.DateTime(required=True)
    reason = ma.fields.String(required=True)


class ConsultationSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"enum": ["upcoming", "open", "closed"]})
    starts_at = ma.fields.DateTime(required=True)
    ends_at = ma.fields.DateTime(required=True)
    original_ends_at = ma.fields.DateTime(required=True)
    emergency_reason = ma.fields.String(allow_none=True, metadata={"description": "Why shorter than 30 days"})
    extensions = ma.fields.List(ma.fields.Nested(ExtensionSchema), required=True)
    received = ma.fields.Integer(required=True, metadata={"description": "Comments received, all channels"})
    distinct_texts = ma.fields.Integer(required=True, metadata={"description": "Distinct texts among them"})
    published = ma.fields.Integer(required=True)
    pending = ma.fields.Integer(required=True)
    rejected = ma.fields.Integer(required=True)
    withdrawn = ma.fields.Integer(required=True)
    # The reasons are the keys: an "enum" here would declare the whole object one of the strings.
    rejected_by_reason = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "Rejected comments per reason: " + ", ".join(REJECTION_REASONS)},
    )
    by_channel = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_disposition = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    answered = ma.fields.Integer(required=True)
    unanswered = ma.fields.Integer(required=True)
    by_article = ma.fields.List(ma.fields.Dict())
    not_adopted_reasons = ma.fields.List(ma.fields.Dict())
    duplicate_groups = ma.fields.List(ma.fields.Dict())
    report_url = ma.fields.String(required=True)


@blp.route("/decisions/<slug>/consultation")
@blp.response(200, ConsultationSchema)
@require(public)
def consultation(slug: str):
    """The consultation of a decision: period, extensions and the figures of its report."""
    decision = queries.decision_by_slug(slug)
    if decision is None:
        abort(404)
    found = queries.consultation_for(decision)
    if found is None:
        abort(404)
    report = queries.build_report(found)
    return {
        "status": found.status().value,
        "starts_at": found.starts_at,
        "ends_at": found.ends_at,
        "original_ends_at": found.original_ends_at,
        "emergency_reason": found.emergency_reason,
        "extensions": [
            {"previous_ends_at": e.previous_ends_at, "ends_at": e.new_ends_at, "reason": e.reason}
            for e in found.extensions
        ],
        **report.as_dict(),
        "report_url": url_for("consultation.report", slug=slug),
    }
