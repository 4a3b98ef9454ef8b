"""After publication: implementation updates, citizens' feedback with responses, post-evaluation
(决策后评估) proposed when feedback passes a threshold, adjustment and suspension."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register pages, API, the evaluation gate, the decision-page section and demo data."""
    from portal.api.base import api
    from portal.core.hooks import add_decision_section, add_seed_step
    from portal.decisions.gates import add_gate
    from portal.decisions.models import Stage
    from portal.implementation import models, operations, queries  # noqa: F401 (models: tables known to the metadata)
    from portal.implementation.api import blp as api_blp
    from portal.implementation.seed import seed_implementation
    from portal.implementation.views import bp

    app.config.setdefault("FEEDBACK_EVALUATION_THRESHOLD", operations.DEFAULT_THRESHOLD)
    app.register_blueprint(bp)
    api.register_blueprint(api_blp)
    add_gate(app, Stage.EVALUATION, operations.evaluation_gate)
    app.add_template_global(queries.updates_for, "implementation_updates_for")
    app.add_template_global(queries.feedback_counts, "implementation_feedback_counts")
    app.add_template_global(operations.is_in_force, "implementation_in_force")
    app.add_template_global(operations.is_suspended, "implementation_suspended")
    add_decision_section(app, 85, "implementation/_section.html")
    add_seed_step(app, "implementation", seed_implementation)
