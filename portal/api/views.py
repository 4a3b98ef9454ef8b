"""API endpoints of the foundation: the ledger, departments, the current user, user admin."""

from __future__ import annotations

import marshmallow as ma
from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.auth.models import Department, User
from portal.auth.permissions import admin_only, authenticated, public, require
from portal.core.extensions import db
from portal.trace.models import TraceEntry
from portal.trace.operations import can_read, head

blp = make_blueprint("api", __name__, url_prefix="/api/v1", description="Decision portal API v1")


class TraceEntrySchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    action = ma.fields.String(required=True)
    subject_kind = ma.fields.String(required=True)
    subject_id = ma.fields.String(required=True)
    visibility = ma.fields.String(required=True)
    department_id = ma.fields.Integer(allow_none=True)
    actor_hash = ma.fields.String(required=True)
    payload_hash = ma.fields.String(required=True)
    prev_hash = ma.fields.String(required=True)
    hash = ma.fields.String(required=True)
    actor = ma.fields.Dict(allow_none=True, metadata={"description": "id, name, roles; null when not readable"})
    payload = ma.fields.Dict(allow_none=True, metadata={"description": "null when the entry is internal"})


def _entry_view(entry: TraceEntry) -> dict:
    readable = can_read(entry, current_user)
    return {
        "seq": entry.seq,
        "at": entry.at,
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "visibility": entry.visibility,
        "department_id": entry.department_id,
        "actor_hash": entry.actor_hash,
        "payload_hash": entry.payload_hash,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "actor": {"id": entry.actor_id, "name": entry.actor_name, "roles": entry.roles_list} if readable else None,
        "payload": entry.payload_data if readable else None,
    }


class TraceHeadSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    hash = ma.fields.String(required=True)


TraceEntryPage = page_schema(TraceEntrySchema, "TraceEntryPage")


@blp.route("/trace/head")
@blp.response(200, TraceHeadSchema)
@require(public)
def trace_head():
    """The newest entry's seq and hash: publish it as a checkpoint."""
    seq, head_hash = head()
    return {"seq": seq, "hash": head_hash}


@blp.route("/trace/entries")
@blp.arguments(PageArgs, location="query")
@blp.response(200, TraceEntryPage)
@require(public)
def trace_entries(args):
    """The chain in order (seq ascending). Hashes are public for every entry; payloads only when readable."""
    page = paginate(select(TraceEntry).order_by(TraceEntry.seq), args)
    page["items"] = [_entry_view(e) for e in page["items"]]
    return page


@blp.route("/trace/entries/<int:seq>")
@blp.response(200, TraceEntrySchema)
@require(public)
def trace_entry(seq: int):
    """One ledger entry."""
    entry = db.session.get(TraceEntry, seq)
    if entry is None:
        abort(404)
    return _entry_view(entry)


class DepartmentSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean(required=True)


DepartmentPage = page_schema(DepartmentSchema, "DepartmentPage")


@blp.route("/departments")
@blp.arguments(PageArgs, location="query")
@blp.response(200, DepartmentPage)
@require(public)
def departments(args):
    """Departments (承办单位)."""
    return paginate(select(Department).order_by(Department.code), args)


class MeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    departments = ma.fields.List(ma.fields.String(), required=True)


def _user_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": sorted(user.roles),
        "departments": [d.code for d in user.departments],
    }


@blp.route("/me")
@blp.response(200, MeSchema)
@require(authenticated)
def me():
    """The logged-in account."""
    return _user_view(current_user)


class UserAdminSchema(MeSchema):
    enabled = ma.fields.Boolean(required=True)


UserPage = page_schema(UserAdminSchema, "UserPage")


@blp.route("/users")
@blp.arguments(PageArgs, location="query")
@blp.response(200, UserPage)
@require(admin_only)
def users(args):
    """Every account (administrators only)."""
    page = paginate(select(User).order_by(User.id), args)
    page["items"] = [{**_user_view(u), "enabled": u.is_enabled} for u in page["items"]]
    return page
