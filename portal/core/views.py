"""Home page, health check and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from portal.auth.permissions import public, require
from portal.core.extensions import csrf
from portal.core.utils import safe_next
from portal.trace.operations import head

bp = Blueprint("core", __name__)


#: The steps of Decree 713 as the home page explains them.
PROCEDURE = (
    "drafting",
    "consultation",
    "hearing",
    "expert_review",
    "risk_assessment",
    "legality_review",
    "deliberation",
    "decided",
    "published",
    "implementation",
    "evaluation",
    "archived",
)


@bp.get("/")
@require(public)
def home():
    seq, head_hash = head()
    return render_template("core/home.html", procedure=PROCEDURE, head_seq=seq, head_hash=head_hash)


@bp.get("/healthz")
@require(public)
def healthz():
    return jsonify(status="ok")


@bp.post("/language")
@require(public)
@csrf.exempt  # a display preference only; exempt so anonymous pages need no session or token
def set_language():
    code = request.form.get("lang", "")
    target = safe_next(request.form.get("next"), url_for("core.home"))
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, secure=request.is_secure
        )
    return response
