"""API: published releases with their corrections, and the publication data of a decision."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_login import current_user
from flask_smorest import abort

from portal.api.base import ErrorSchema, PageArgs, make_blueprint, page_schema, paginate
from portal.auth.permissions import public, require
from portal.decisions.queries import visible_decision_or_none
from portal.releases import operations, queries
from portal.releases.models import Release, ReleaseKind

blp = make_blueprint("releases_api", __name__, url_prefix="/api/v1", description="Releases and decision publication")


@blp.before_request
def _publish_due():
    operations.observe_due_releases()


class ReleaseListArgs(PageArgs):
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in ReleaseKind]))
    decision = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=120), ma.validate.Regexp(r"^[a-z0-9-]+$")],
        metadata={"description": "Slug of the decision the releases are about"},
    )
    department = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=32), ma.validate.Regexp(r"^[A-Za-z0-9_-]+$")],
        metadata={"description": "Department code"},
    )


class CorrectionSchema(ma.Schema):
    number = ma.fields.Integer(required=True)
    note = ma.fields.String(required=True)
    body = ma.fields.String(required=True, metadata={"description": "The corrected text, Markdown"})
    corrected_at = ma.fields.DateTime(required=True)


class ReleaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "news or interpretation"})
    kind_label = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    published_at = ma.fields.DateTime(required=True)
    decision = ma.fields.String(allow_none=True, metadata={"description": "Slug of the decision"})
    department = ma.fields.String(allow_none=True, metadata={"description": "Department code"})
    author = ma.fields.String(allow_none=True)
    url = ma.fields.String(required=True)


class ReleaseDetailSchema(ReleaseSchema):
    body = ma.fields.String(required=True, metadata={"description": "The original text, Markdown"})
    current_text = ma.fields.String(required=True, metadata={"description": "The newest text (after corrections)"})
    public_adoption = ma.fields.String(required=True)
    expert_adoption = ma.fields.String(required=True)
    corrections = ma.fields.List(ma.fields.Nested(CorrectionSchema), required=True)


ReleasePage = page_schema(ReleaseSchema, "ReleasePage")


class PublicationLinkSchema(ma.Schema):
    label = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class PublicationSchema(ma.Schema):
    decision = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    document_number = ma.fields.String(required=True)
    effective_date = ma.fields.Date(required=True)
    published_at = ma.fields.DateTime(required=True)
    final_text = ma.fields.String(required=True, metadata={"description": "Markdown"})
    text_sha256 = ma.fields.String(required=True)
    public_adoption = ma.fields.String(required=True)
    expert_adoption = ma.fields.String(required=True)
    links = ma.fields.List(ma.fields.Nested(PublicationLinkSchema), required=True)
    releases = ma.fields.List(ma.fields.Nested(ReleaseSchema), required=True)


def _item(release: Release) -> dict:
    return {
        "id": release.id,
        "kind": release.kind,
        "kind_label": release.kind_enum.label,
        "title": release.title,
        "summary": release.summary,
        "published_at": release.public_time(),
        "decision": release.decision.slug if release.decision else None,
        "department": release.department.code if release.department else None,
        "author": release.created_by.display_name if release.created_by else None,
        "url": url_for("releases.detail", release_id=release.id, _external=True),
    }


@blp.route("/releases")
@blp.arguments(ReleaseListArgs, location="query")
@blp.response(200, ReleasePage)
@blp.alt_response(404, schema=ErrorSchema, description="No such decision or department to filter by")
@require(public)
def releases(args):
    """Published releases (新闻发布, 政策解读), newest first; a scheduled release appears at its time."""
    decision_id = department_id = None
    if args.get("decision"):
        decision = visible_decision_or_none(args["decision"], current_user)
        if decision is None:
            abort(404)
        decision_id = decision.id
    if args.get("department"):
        department = queries.department_by_code(args["department"])
        if department is None:
            abort(404)
        department_id = department.id
    stmt = queries.public_releases(kind=args.get("kind"), decision_id=decision_id, department_id=department_id)
    page = paginate(stmt, args)
    page["items"] = [_item(r) for r in page["items"]]
    return page


@blp.route("/releases/<int:release_id>")
@blp.response(200, ReleaseDetailSchema)
@require(public)
def release(release_id: int):
    """One published release with every correction (earlier texts stay readable)."""
    found = queries.release_or_none(release_id, current_user)
    if found is None or not found.is_published():
        abort(404)
    return {
        **_item(found),
        "body": found.body,
        "current_text": found.current_text,
        "public_adoption": found.public_adoption,
        "expert_adoption": found.expert_adoption,
        "corrections": [
            {"number": c.number, "note": c.note, "body": c.body, "corrected_at": c.created_at}
            for c in found.corrections
        ],
    }


@blp.route("/decisions/<slug>/publication")
@blp.response(200, PublicationSchema)
@require(public)
def publication(slug: str):
    """The published decision: final text, 文号, effective date, how opinions were adopted, and links."""
    decision = visible_decision_or_none(slug, current_user)
    found = queries.publication_for(decision) if decision is not None else None
    if found is None:
        abort(404)
    return {
        "decision": decision.slug,
        "title": found.title,
        "document_number": found.document_number,
        "effective_date": found.effective_date,
        "published_at": found.published_at,
        "final_text": found.final_text,
        "text_sha256": found.text_sha256,
        "public_adoption": found.public_adoption,
        "expert_adoption": found.expert_adoption,
        "links": [{"label": label, "url": url} for label, url in queries.publication_links(decision)],
        "releases": [_item(r) for r in queries.releases_for_decision(decision)],
    }
