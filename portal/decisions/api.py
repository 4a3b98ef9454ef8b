"""API: the decision catalogue, one decision, its published versions with articles."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.models import Department
from portal.auth.permissions import public, require
from portal.core.extensions import db
from portal.decisions import queries
from portal.decisions.models import CATEGORIES, Decision, DraftVersion, Stage

blp = make_blueprint(
    "decisions_api", __name__, url_prefix="/api/v1", description="Decision catalogue and draft versions"
)


class DecisionListArgs(PageArgs):
    stage = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Stage]))
    department = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")],
        metadata={"description": "Department code, e.g. swj"},
    )
    category = ma.fields.String(validate=ma.validate.OneOf(list(CATEGORIES)))
    year = ma.fields.Integer(
        validate=ma.validate.Range(min=queries.YEAR_MIN, max=queries.YEAR_MAX),
        metadata={"description": "Year of creation (portal time zone)"},
    )
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(list(queries.SORTS)))


class DepartmentRefSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class DecisionItemSchema(ma.Schema):
    slug = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    stage = ma.fields.String(required=True, metadata={"description": "Stage code (stable)"})
    stage_label = ma.fields.String(required=True)
    department = ma.fields.Nested(DepartmentRefSchema, required=True)
    category = ma.fields.String(required=True)
    category_label = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    document_number = ma.fields.String(allow_none=True)
    affects_stability = ma.fields.Boolean(required=True)
    url = ma.fields.String(required=True, metadata={"description": "Absolute URL of the public page"})
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    stage_changed_at = ma.fields.DateTime(required=True)


class AttachmentRefSchema(ma.Schema):
    filename = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class VersionRefSchema(ma.Schema):
    number = ma.fields.Integer(required=True)
    published_at = ma.fields.DateTime(required=True)
    change_note = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class DecisionDetailSchema(DecisionItemSchema):
    legal_basis = ma.fields.String(required=True)
    responsible = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "直接责任人"})
    withdrawn_reason = ma.fields.String(allow_none=True)
    current_version = ma.fields.Integer(allow_none=True, metadata={"description": "Number of the current version"})
    versions = ma.fields.List(ma.fields.Nested(VersionRefSchema), required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentRefSchema), required=True)


class ArticleSchema(ma.Schema):
    anchor = ma.fields.String(required=True, metadata={"description": "Stable anchor, e.g. art-3 or art-3-p2"})
    label = ma.fields.String(required=True)
    text = ma.fields.String(required=True, metadata={"description": "Markdown"})


class VersionSchema(ma.Schema):
    number = ma.fields.Integer(required=True)
    published_at = ma.fields.DateTime(required=True)
    body = ma.fields.String(required=True, metadata={"description": "Markdown"})
    explanation = ma.fields.String(required=True, metadata={"description": "起草说明, Markdown"})
    change_note = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    articles = ma.fields.List(ma.fields.Nested(ArticleSchema), required=True)


class VersionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VersionSchema), required=True)


DecisionPage = page_schema(DecisionItemSchema, "DecisionPage")


def _item(decision: Decision) -> dict:
    return {
        "slug": decision.slug,
        "title": decision.title,
        "stage": decision.stage,
        "stage_label": decision.stage_label,
        "department": {"code": decision.department.code, "name": decision.department.name},
        "category": decision.category,
        "category_label": str(CATEGORIES.get(decision.category, decision.category)),
        "summary": decision.summary,
        "document_number": decision.document_number,
        "affects_stability": decision.affects_stability,
        "url": url_for("decisions.detail", slug=decision.slug, _external=True),
        "created_at": decision.created_at,
        "updated_at": decision.updated_at,
        "stage_changed_at": decision.stage_changed_at,
    }


def _visible(slug: str) -> Decision:
    decision = queries.visible_decision_or_none(slug, current_user, full=True)
    if decision is None:
        abort(404)
    return decision


@blp.route("/decisions")
@blp.arguments(DecisionListArgs, location="query")
@blp.response(200, DecisionPage)
@require(public)
def decisions(args):
    """The public catalogue, filtered (stage, department, category, year) and sorted.

    Sort orders: newest, oldest, title, stage_changed. Unknown values are refused (422).
    """
    department = args.get("department")
    if department and db.session.scalar(select(Department.id).where(Department.code == department)) is None:
        abort(422, messages={"query": {"department": [_("未知的承办单位代码。")]}})
    stmt = queries.catalogue(
        stage=args.get("stage"),
        department=department,
        category=args.get("category"),
        year=args.get("year"),
        sort=args["sort"],
    )
    page = paginate(stmt, args)
    page["items"] = [_item(d) for d in page["items"]]
    return page


@blp.route("/decisions/<slug>")
@blp.response(200, DecisionDetailSchema)
@require(public)
def decision(slug: str):
    """One decision with its published versions and attachments."""
    found = _visible(slug)
    current = found.current_version
    return {
        **_item(found),
        "legal_basis": found.legal_basis,
        "responsible": [u.display_name for u in found.responsible],
        "withdrawn_reason": found.withdrawn_reason,
        "current_version": current.number if current else None,
        "versions": [
            {
                "number": v.number,
                "published_at": v.published_at,
                "change_note": v.change_note,
                "url": url_for("decisions.version", slug=found.slug, number=v.number, _external=True),
            }
            for v in found.published_versions
        ],
        "attachments": [
            {
                "filename": a.filename,
                "title": a.title,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "url": url_for(
                    "decisions.download_attachment", attachment_id=a.id, filename=a.filename, _external=True
                ),
            }
            for a in queries.decision_attachments(found)
        ],
    }


@blp.route("/decisions/<slug>/versions")
@blp.response(200, VersionListSchema)
@require(public)
def versions(slug: str):
    """Published versions, oldest first, each with its articles and their stable anchors."""
    found = _visible(slug)
    rows = db.session.scalars(
        select(DraftVersion)
        .where(DraftVersion.decision_id == found.id, DraftVersion.status == "published")
        .options(selectinload(DraftVersion.articles))
        .order_by(DraftVersion.number)
    ).all()
    return {
        "items": [
            {
                "number": v.number,
                "published_at": v.published_at,
                "body": v.body,
                "explanation": v.explanation,
                "change_note": v.change_note,
                "url": url_for("decisions.version", slug=found.slug, number=v.number, _external=True),
                "articles": [{"anchor": a.anchor, "label": a.label, "text": a.text} for a in v.articles],
            }
            for v in rows
        ]
    }
