"""The public accountability record (责任倒查): a decision's chain of responsibility from the ledger,
the person lookup, the decision archive with ``archive verify``, and checkpoints of the ledger head."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register pages, API, CLI, the decision-page section and navigation."""
    from flask_babel import lazy_gettext as _l

    from portal.accountability import models  # noqa: F401 (models: tables known to the metadata)
    from portal.accountability.api import blp as api_blp
    from portal.accountability.cli import archive_cli, checkpoint_command
    from portal.accountability.views import bp
    from portal.api.base import api
    from portal.core.hooks import add_decision_section, add_nav_link

    app.config.setdefault("ACCOUNTABILITY_VERIFY_TTL", 60)
    app.config.setdefault("ACCOUNTABILITY_FULL_VERIFY_SECONDS", 86_400)
    app.register_blueprint(bp)
    api.register_blueprint(api_blp)
    app.cli.add_command(archive_cli)
    app.cli.add_command(checkpoint_command)
    add_decision_section(app, 95, "accountability/_section.html")
    add_nav_link(app, 60, "accountability.people", _l("责任倒查"))
