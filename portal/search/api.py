"""API: ``GET /api/v1/search``."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext as _
from sqlalchemy import select

from portal.api.base import ErrorSchema, make_blueprint
from portal.auth.models import Department
from portal.auth.permissions import public, require
from portal.core.errors import api_error
from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.search import service
from portal.search.index import FACET_FIELDS as FACET_NAMES
from portal.search.query import MAX_QUERY, parse
from portal.search.registry import TYPES
from portal.search.service import SORTS, Filters

blp = make_blueprint("search_api", __name__, url_prefix="/api/v1", description="Full-text search over public records")


class SearchArgs(ma.Schema):
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=10_000),
        metadata={
            "description": f'Words (all must match), "a phrase", -excluded. Simplified and traditional '
            f"Chinese match each other. Only the first {MAX_QUERY} characters are used."
        },
    )
    type = ma.fields.String(validate=ma.validate.OneOf(TYPES))
    department = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")],
        metadata={"description": "Department code"},
    )
    stage = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Stage]))
    year = ma.fields.Integer(validate=ma.validate.Range(min=1900, max=2100))
    decision = ma.fields.String(
        validate=ma.validate.Length(min=1, max=120), metadata={"description": "Limit to one decision's records (slug)"}
    )
    sort = ma.fields.String(load_default="relevance", validate=ma.validate.OneOf(SORTS))
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=50))

    @ma.validates("department")
    def _known_department(self, value, **_kwargs):
        if db.session.scalar(select(Department.id).where(Department.code == value)) is None:
            raise ma.ValidationError(_("没有代码为“%(value)s”的单位。", value=value))

    @ma.validates("decision")
    def _known_decision(self, value, **_kwargs):
        if db.session.scalar(select(Decision.id).where(Decision.slug == value)) is None:
            raise ma.ValidationError(_("找不到该决策事项。"))


class SearchItemSchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={"description": "One of " + ", ".join(TYPES)})
    title = ma.fields.String(
        required=True, metadata={"description": "HTML: escaped text, matching words in <mark>...</mark>"}
    )
    url = ma.fields.String(required=True)
    snippet = ma.fields.String(
        required=True, metadata={"description": "HTML: escaped text, matching words in <mark>...</mark>"}
    )
    date = ma.fields.DateTime(allow_none=True)
    score = ma.fields.Float(allow_none=True, metadata={"description": "Relevance; null when sorted by date"})
    department = ma.fields.String(allow_none=True)
    stage = ma.fields.String(allow_none=True)
    decision = ma.fields.String(allow_none=True, metadata={"description": "Slug of the decision it belongs to"})


class FacetValueSchema(ma.Schema):
    value = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class FacetsSchema(ma.Schema):
    type = ma.fields.List(ma.fields.Nested(FacetValueSchema), required=True)
    department = ma.fields.List(ma.fields.Nested(FacetValueSchema), required=True)
    stage = ma.fields.List(ma.fields.Nested(FacetValueSchema), required=True)
    year = ma.fields.List(ma.fields.Nested(FacetValueSchema), required=True)


class SearchResultSchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    pages = ma.fields.Integer(required=True)
    sort = ma.fields.String(required=True)
    dropped = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Words not required because no record held every word (empty normally)"},
    )
    query_truncated = ma.fields.Boolean(required=True)
    facets = ma.fields.Nested(FacetsSchema, required=True)
    items = ma.fields.List(ma.fields.Nested(SearchItemSchema), required=True)


@blp.route("/search")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchResultSchema)
@blp.alt_response(503, schema=ErrorSchema, description="The index is missing or damaged (reindex repairs it)")
@require(public)
def search(args):
    """Search every public record: decisions, comments, hearings, releases, reviews, reports."""
    parsed = parse(args["q"])
    filters = Filters(
        type=args.get("type"),
        department=args.get("department"),
        stage=args.get("stage"),
        year=str(args["year"]) if args.get("year") else None,
        decision=args.get("decision"),
    )
    outcome = service.search(
        parsed, filters, sort=args["sort"], page=args["page"], per_page=args["per_page"], clamp=False
    )
    if outcome.unavailable:
        return api_error(503, "search_unavailable", _("搜索暂时无法使用,请稍后再试。"))
    return {
        "total": outcome.total,
        "page": outcome.page,
        "per_page": outcome.per_page,
        "pages": outcome.pages,
        "sort": outcome.sort,
        "dropped": outcome.dropped,
        "query_truncated": parsed.truncated,
        "facets": {name: [{"value": v, "count": n} for v, n in outcome.facets.get(name, [])] for name in FACET_NAMES},
        "items": [
            {
                "type": hit.type,
                "title": str(hit.title),
                "url": hit.url,
                "snippet": str(hit.snippet),
                "date": hit.date,
                "score": hit.score,
                "department": hit.department,
                "stage": hit.stage,
                "decision": hit.decision,
            }
            for hit in outcome.items
        ],
    }
