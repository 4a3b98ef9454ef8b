"""Helpers the hearing templates (and the decision page's hearing section) call."""

from __future__ import annotations

from flask import current_app, url_for
from flask_login import current_user

from portal.core.extensions import db
from portal.core.markdown import render_markdown
from portal.hearings import queries
from portal.hearings.models import Hearing
from portal.hearings.permissions import can_manage_hearings_of, can_see_hearing


def hearings_for_decision(decision) -> list[Hearing]:
    """Hearings shown on ``decision``'s page to the current user."""
    return queries.hearings_for_decision(decision, current_user)


def decision_url(decision) -> str | None:
    """The decision's public page, when the decisions pages are installed."""
    if "decisions.detail" in current_app.view_functions:
        return url_for("decisions.detail", slug=decision.slug)
    return None


def may_organise_hearing(decision) -> bool:
    return can_manage_hearings_of(current_user, decision)


def attachment_visible(owner_id: int, user) -> bool:
    """Hearing materials download like the hearing: public once published, drafts for the department."""
    return can_see_hearing(user, db.session.get(Hearing, owner_id))


def template_globals() -> dict:
    return {
        "hearings_for_decision": hearings_for_decision,
        "hearing_decision_url": decision_url,
        "may_organise_hearing": may_organise_hearing,
        "hearing_markdown": render_markdown,
    }
