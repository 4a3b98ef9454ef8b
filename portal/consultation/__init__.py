"""Public notice and consultation (公开征求意见): periods, comments, moderation, responses, reports."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def consultation_gate(decision) -> list:
    """Unmet conditions for leaving the consultation stage (Decree 713 art. 15 and 18)."""
    from portal.consultation import queries
    from portal.consultation.models import CommentStatus
    from portal.core.i18n import local_time

    consultation = queries.consultation_for(decision)
    if consultation is None:
        return [_l("尚未公开征求意见。")]
    problems = []
    if not consultation.is_closed():
        problems.append(_l("征求意见期尚未结束(截止 %(t)s)。", t=local_time(consultation.ends_at)))
    if consultation.is_shortened and not consultation.emergency_reason:
        problems.append(_l("征求意见期限少于 30 日,且未随公告说明理由。"))
    counts = queries.status_counts(consultation)
    pending = counts.get(CommentStatus.PENDING.value, 0)
    if pending:
        problems.append(_l("尚有 %(n)s 条意见待审核。", n=pending))
    unanswered = queries.unanswered_count(consultation)
    if unanswered:
        problems.append(_l("尚有 %(n)s 条已公开的意见未作答复。", n=unanswered))
    return problems


def init_app(app: Flask) -> None:
    """Register pages, API, the decision-page section, the stage gate and the demo step."""
    from portal.api.base import api
    from portal.consultation import models  # noqa: F401
    from portal.consultation.api import blp
    from portal.consultation.rendering import cached_markdown
    from portal.consultation.seed import seed_consultations
    from portal.consultation.views import bp, panel
    from portal.core.hooks import add_decision_section, add_seed_step
    from portal.core.markdown import render_markdown
    from portal.decisions.gates import add_gate
    from portal.decisions.models import Stage

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    from portal.consultation.cli import consultation_cli

    app.cli.add_command(consultation_cli)
    from portal.consultation.models import CHANNELS, COMMENT_STATUS_LABELS, DISPOSITIONS, REJECTION_REASONS
    from portal.consultation.views import MANAGE_VIEW_LABELS, paged_url
    from portal.core.markdown import plain_text
    from portal.notifications.operations import decision_path

    app.jinja_env.globals.update(
        consultation_panel=panel,
        paged_url=paged_url,
        decision_url=decision_path,
        disposition_labels=DISPOSITIONS,
        rejection_labels=REJECTION_REASONS,
        channel_labels=CHANNELS,
        comment_status_labels={k.value: v for k, v in COMMENT_STATUS_LABELS.items()},
        manage_view_labels=MANAGE_VIEW_LABELS,
    )
    app.jinja_env.globals.setdefault("render_markdown", render_markdown)
    app.jinja_env.globals["comment_html"] = cached_markdown
    app.jinja_env.globals.setdefault("plain_text", plain_text)
    add_decision_section(app, 30, "consultation/_section.html")
    add_gate(app, Stage.CONSULTATION, consultation_gate)
    add_seed_step(app, "consultation", seed_consultations)
    from portal.consultation.operations import release_held_comments
    from portal.core.hooks import add_listener

    add_listener(app, "user.email_confirmed", release_held_comments)
    from portal.consultation.intake import MODES, Arrivals, is_batched
    from portal.core.database import add_reading_endpoint

    if app.config.get("COMMENT_INTAKE", "batched") not in MODES:
        raise ValueError(f"COMMENT_INTAKE must be one of {', '.join(MODES)}, not {app.config['COMMENT_INTAKE']!r}")
    if is_batched(app):
        add_reading_endpoint(app, "consultation.submit_comment")
        app.wsgi_app = Arrivals(app, app.wsgi_app)  # type: ignore[method-assign]
