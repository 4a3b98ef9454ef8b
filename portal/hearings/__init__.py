"""Public hearings (听证会): notice, registration, the verifiable draw, observers, the day,
the record and the report."""

from __future__ import annotations

from flask import Flask

#: Settings of this feature, overridable in instance/config.py.
DEFAULTS = {
    # The draw, the participant list and the materials: at least this many days before the hearing.
    "HEARING_DRAW_MIN_DAYS": 7,
    # A selected participant confirms or declines within this many days.
    "HEARING_CONFIRM_DAYS": 3,
    # Attendees confirm or object to the transcript within this many days.
    "HEARING_RECORD_CONFIRM_DAYS": 5,
}


def init_app(app: Flask) -> None:
    """Register pages, API, CLI, demo data, the decision-page section, the nav link and the gate."""
    from flask_babel import lazy_gettext as _l

    from portal.api.base import api
    from portal.core.hooks import add_decision_section, add_nav_link, add_seed_step
    from portal.decisions.attachments import add_owner_check
    from portal.decisions.gates import add_gate
    from portal.decisions.models import Stage
    from portal.hearings import models  # noqa: F401
    from portal.hearings.api import blp
    from portal.hearings.cli import hearings_cli
    from portal.hearings.gates import hearing_gate
    from portal.hearings.seed import seed_hearings
    from portal.hearings.templating import attachment_visible, template_globals
    from portal.hearings.views import bp

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.cli.add_command(hearings_cli)
    add_seed_step(app, "hearings", seed_hearings)
    from portal.core.hooks import add_listener
    from portal.hearings.operations import release_held_registrations

    add_listener(app, "user.email_confirmed", release_held_registrations)
    add_decision_section(app, 40, "hearings/_section.html")
    add_nav_link(app, 30, "hearings.index", _l("听证会"))
    add_gate(app, Stage.HEARING, hearing_gate)
    add_owner_check(app, "hearing", attachment_visible)
    app.jinja_env.globals.update(template_globals())
