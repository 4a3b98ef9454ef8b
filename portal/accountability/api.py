"""API: a decision's accountability record and ledger entries, the person lookup, checkpoints."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select

from portal.accountability import chain, people, record
from portal.accountability.checkpoints import ensure_daily_checkpoint
from portal.accountability.models import Checkpoint
from portal.api.base import PageArgs, make_blueprint, page_schema, paginate
from portal.api.views import TraceEntrySchema, _entry_view
from portal.auth.permissions import public, require
from portal.decisions.queries import visible_decision_or_none
from portal.trace.models import TraceEntry

blp = make_blueprint(
    "accountability_api",
    __name__,
    url_prefix="/api/v1",
    description="Accountability record, person lookup, checkpoints",
)


class PersonRefSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(required=True)


class EntryRefSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    hash = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    visibility = ma.fields.String(required=True)


class AccountabilityItemSchema(ma.Schema):
    section = ma.fields.String(required=True, metadata={"description": "Step of the procedure"})
    role = ma.fields.String(required=True, metadata={"description": "Stable role code"})
    role_label = ma.fields.String(required=True)
    person = ma.fields.Nested(PersonRefSchema, allow_none=True, metadata={"description": "null when not public"})
    detail = ma.fields.String(required=True)
    at = ma.fields.DateTime(allow_none=True)
    dissent = ma.fields.Boolean(required=True)
    url = ma.fields.String(allow_none=True)
    entry = ma.fields.Nested(EntryRefSchema, allow_none=True)


class ChainStatusSchema(ma.Schema):
    ok = ma.fields.Boolean(required=True, metadata={"description": "The chain verifies and every checkpoint matches"})
    head_seq = ma.fields.Integer(required=True)
    head_hash = ma.fields.String(required=True)
    checked_at = ma.fields.DateTime(required=True)
    broken_seq = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(required=True)
    broken_checkpoints = ma.fields.List(ma.fields.String(), required=True)


class AccountabilitySchema(ma.Schema):
    decision = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    stage = ma.fields.String(required=True)
    document_number = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(AccountabilityItemSchema), required=True)
    chain = ma.fields.Nested(ChainStatusSchema, required=True)


class PersonDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    stage = ma.fields.String(required=True)
    outcome = ma.fields.String(required=True)
    dissent = ma.fields.Boolean(required=True)
    url = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.Nested(AccountabilityItemSchema), required=True)


class PersonSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    decisions = ma.fields.List(ma.fields.Nested(PersonDecisionSchema), required=True)


class CheckpointSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    hash = ma.fields.String(required=True)
    token = ma.fields.String(required=True, metadata={"description": "SEQ:HASH for trace verify --checkpoint"})
    reason = ma.fields.String(required=True, metadata={"description": "daily, publication or manual"})
    created_at = ma.fields.DateTime(required=True)


LedgerPage = page_schema(TraceEntrySchema, "DecisionLedgerPage")
CheckpointPage = page_schema(CheckpointSchema, "CheckpointPage")


def _chain() -> dict:
    status = chain.chain_status()
    return {
        "ok": status.intact,
        "head_seq": status.head_seq,
        "head_hash": status.head_hash,
        "checked_at": status.checked_at,
        "broken_seq": status.broken_seq,
        "reason": status.reason,
        "broken_checkpoints": [f"{seq}:{h}" for seq, h in status.broken_checkpoints],
    }


def _decision(slug: str):
    decision = visible_decision_or_none(slug, current_user, full=True)
    if decision is None:
        abort(404)
    return decision


@blp.route("/decisions/<slug>/accountability")
@blp.response(200, AccountabilitySchema)
@require(public)
def accountability(slug: str):
    """The chain of responsibility (责任倒查): who did each step, the outcome, and the ledger entry."""
    chain_state = _chain()  # first: storing the result commits
    decision = _decision(slug)
    found = record.build_record(decision, current_user)
    return {
        "decision": decision.slug,
        "title": decision.title,
        "department": decision.department.code,
        "stage": decision.stage,
        "document_number": decision.document_number,
        "items": [i.as_dict() for i in found.items],
        "chain": chain_state,
    }


@blp.route("/decisions/<slug>/ledger")
@blp.arguments(PageArgs, location="query")
@blp.response(200, LedgerPage)
@require(public)
def decision_ledger(args, slug: str):
    """The ledger entries of the decision and its records, oldest first, with their hashes."""
    decision = _decision(slug)
    stmt = select(TraceEntry).where(record.subject_filter(record.subjects_of(decision))).order_by(TraceEntry.seq)
    page = paginate(stmt, args)
    page["items"] = [_entry_view(e) for e in page["items"]]
    return page


@blp.route("/people/<int:user_id>")
@blp.response(200, PersonSchema)
@require(public)
def person(user_id: int):
    """Every decision the person had a role in (public: published decisions), with the roles and outcome."""
    found = people.person_or_none(user_id, current_user)
    if found is None:
        abort(404)
    return {
        "id": found.id,
        "name": found.display_name,
        "decisions": [
            {
                "decision": d.decision.slug,
                "title": d.decision.title,
                "stage": d.decision.stage,
                "outcome": d.outcome,
                "dissent": d.dissent,
                "url": url_for("decisions.detail", slug=d.decision.slug, _external=True),
                "roles": [i.as_dict() for i in d.items],
            }
            for d in people.person_decisions(found, current_user)
        ],
    }


@blp.route("/ledger/status")
@blp.response(200, ChainStatusSchema)
@require(public)
def ledger_status():
    """Whether the ledger verifies (cached for a short time) and the published checkpoints still match."""
    return _chain()


@blp.route("/checkpoints")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CheckpointPage)
@require(public)
def checkpoints(args):
    """Published checkpoints of the ledger head, newest first; keep copies to detect a rewrite later."""
    ensure_daily_checkpoint()
    page = paginate(select(Checkpoint).order_by(Checkpoint.id.desc()), args)
    page["items"] = [
        {"seq": c.seq, "hash": c.hash, "token": c.token, "reason": c.reason, "created_at": c.created_at}
        for c in page["items"]
    ]
    return page
