"""Home page, health check and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from portal.auth.forms import LanguageForm
from portal.auth.permissions import public, require
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
def set_language():
    form = LanguageForm()
    code = request.form.get("lang", "")
    target = safe_next(form.next.data, url_for("core.home"))
    response = redirect(target)
    if form.validate_on_submit() and code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True, secure=request.is_secure
        )
    return response
