"""Pages: a decision's accountability record, its archive, the person lookup, the checkpoints."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from portal.accountability import archive, chain, record
from portal.accountability import checkpoints as checkpoint_queries
from portal.accountability import people as people_queries
from portal.auth.permissions import public, require
from portal.core.extensions import limiter
from portal.decisions.queries import visible_decision_or_none

bp = Blueprint("accountability", __name__)


def _decision(slug: str):
    decision = visible_decision_or_none(slug, current_user, full=True)
    if decision is None:
        abort(404)
    return decision


@bp.get("/decisions/<slug>/accountability")
@require(public)
def decision_record(slug: str):
    status = chain.chain_status()  # first: storing the result commits
    decision = _decision(slug)
    return render_template(
        "accountability/record.html",
        decision=decision,
        record=record.build_record(decision, current_user),
        status=status,
        checkpoint=checkpoint_queries.latest_checkpoint(),
    )


@bp.get("/decisions/<slug>/archive.zip")
@require(public)
@limiter.limit("10 per minute")
def decision_archive(slug: str):
    decision = _decision(slug)
    data, filename = archive.build_archive(decision, current_user)
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/people")
@require(public)
def people():
    query = " ".join((request.args.get("q") or "").split())[: people_queries.QUERY_MAX]
    found = people_queries.search_people(query, current_user) if query else []
    return render_template("accountability/people.html", query=query, found=found)


@bp.get("/people/<int:user_id>")
@require(public)
def person(user_id: int):
    found = people_queries.person_or_none(user_id, current_user)
    if found is None:
        abort(404)
    return render_template(
        "accountability/person.html", person=found, decisions=people_queries.person_decisions(found, current_user)
    )


@bp.get("/checkpoints")
@require(public)
def checkpoints():
    checkpoint_queries.ensure_daily_checkpoint()
    status = chain.chain_status()
    return render_template(
        "accountability/checkpoints.html",
        checkpoints=checkpoint_queries.recent_checkpoints(100),
        status=status,
    )
