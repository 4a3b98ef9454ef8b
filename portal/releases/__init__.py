"""Spokesperson releases (新闻发布, 政策解读) with corrections, the publication of decisions, Atom feeds
and the sitemap."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register pages, feeds, API, the publication gate, the decision-page section, navigation, demo data."""
    from flask_babel import lazy_gettext as _l

    from portal.api.base import api
    from portal.auth.models import Role
    from portal.auth.permissions import roles
    from portal.core.hooks import add_decision_section, add_nav_link, add_seed_step
    from portal.core.markdown import plain_text, render_markdown
    from portal.decisions.gates import add_gate
    from portal.decisions.models import Stage
    from portal.releases import models, operations, queries  # noqa: F401 (models: tables known to the metadata)
    from portal.releases.api import blp as api_blp
    from portal.releases.feeds import bp as feeds_bp
    from portal.releases.seed import seed_releases
    from portal.releases.views import bp

    app.jinja_env.globals.setdefault("render_markdown", render_markdown)
    app.jinja_env.globals.setdefault("plain_text", plain_text)
    app.register_blueprint(bp)
    app.register_blueprint(feeds_bp)
    api.register_blueprint(api_blp)
    add_gate(app, Stage.DECIDED, operations.publication_gate)
    app.add_template_global(queries.publication_for, "release_publication_for")
    app.add_template_global(queries.releases_for_decision, "releases_for_decision")
    app.add_template_global(operations.can_write_releases, "can_write_releases")
    app.add_template_global(operations.can_publish_decision, "can_publish_decision")
    add_decision_section(app, 80, "releases/_section.html")
    add_nav_link(app, 30, "releases.index", _l("新闻发布"))
    add_nav_link(app, 92, "releases.manage", _l("稿件管理"), roles(Role.SPOKESPERSON))
    add_seed_step(app, "releases", seed_releases)
