"""Expert pool, committees and signed reviews, risk assessment, legality review, collective
discussion, and the procedure gates of those stages (Decree 713, art. 19–31)."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register pages, API, gates, decision-page sections, navigation and demo data."""
    from portal.api.base import api
    from portal.auth.models import Role
    from portal.auth.permissions import roles
    from portal.core.hooks import add_decision_section, add_nav_link, add_seed_step
    from portal.core.markdown import render_markdown
    from portal.reviews import models, procedure  # noqa: F401 (models: tables known to the metadata)
    from portal.reviews.api import blp as api_blp
    from portal.reviews.sections import review_summary
    from portal.reviews.seed import seed_reviews
    from portal.reviews.views import bp

    app.config.setdefault("LEGALITY_REVIEW_WORKING_DAYS", 7)
    app.config.setdefault("WORKING_DAY_HOLIDAYS", ())
    app.register_blueprint(bp)
    api.register_blueprint(api_blp)
    procedure.register(app)

    app.add_template_global(review_summary, "review_summary")
    app.add_template_global(procedure.decision_url, "review_decision_url")
    app.jinja_env.globals.setdefault("render_markdown", render_markdown)

    add_decision_section(app, 40, "reviews/_section_committee.html")
    add_decision_section(app, 50, "reviews/_section_risk.html")
    add_decision_section(app, 60, "reviews/_section_legality.html")
    add_decision_section(app, 70, "reviews/_section_deliberation.html")

    add_nav_link(app, 40, "reviews.experts", _l("专家库"))
    add_nav_link(app, 41, "reviews.my_assignments", _l("我的论证"), roles(Role.EXPERT))
    add_nav_link(app, 42, "reviews.legality_queue", _l("合法性审查"), roles(Role.LEGAL_REVIEWER))
    add_nav_link(app, 43, "reviews.meetings", _l("集体讨论"), roles(Role.LEADER))

    add_seed_step(app, "reviews", seed_reviews)
