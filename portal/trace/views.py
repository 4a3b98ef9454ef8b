"""Public pages of the ledger: the chain, one entry, verification."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal.auth.permissions import public, require
from portal.core.extensions import db, limiter
from portal.core.utils import page_arg
from portal.trace.models import TraceEntry
from portal.trace.operations import can_read, head, verify

bp = Blueprint("trace", __name__, url_prefix="/trace")

PER_PAGE = 50


@bp.get("/")
@require(public)
def index():
    stmt = select(TraceEntry)
    action = (request.args.get("action") or "").strip()[:64]
    if action:
        stmt = stmt.where(TraceEntry.action == action)
    pagination = db.paginate(stmt.order_by(TraceEntry.seq.desc()), page=page_arg(), per_page=PER_PAGE, error_out=False)
    seq, head_hash = head()
    return render_template(
        "trace/index.html",
        pagination=pagination,
        head_seq=seq,
        head_hash=head_hash,
        action=action,
        can_read=lambda e: can_read(e, current_user),
    )


@bp.get("/<int:seq>")
@require(public)
def entry(seq: int):
    found = db.session.get(TraceEntry, seq)
    if found is None:
        abort(404)
    return render_template("trace/entry.html", entry=found, readable=can_read(found, current_user))


@bp.get("/verify")
@require(public)
@limiter.limit("6 per minute")
def verify_chain():
    result = verify()
    return render_template("trace/verify.html", result=result)
