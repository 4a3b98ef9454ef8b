"""Decision catalogue (决策事项目录), draft versions with their articles, attachments, stages."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the decisions feature: pages, API, the drafting gate, attachments, demo data, nav links."""
    from portal.core.pagecache import add_cacheable

    add_cacheable(app, "decisions.index", "decisions.detail", "decisions.version", "decisions.diff")
    from flask_babel import lazy_gettext as _l
    from werkzeug.exceptions import RequestEntityTooLarge

    from portal.api.base import api
    from portal.auth.models import Role
    from portal.auth.permissions import roles
    from portal.core.hooks import add_nav_link, add_seed_step
    from portal.decisions import attachments, models  # noqa: F401 (models must be known to the metadata)
    from portal.decisions.api import blp as api_blp
    from portal.decisions.gates import add_gate
    from portal.decisions.operations import drafting_gate
    from portal.decisions.seed import seed_decisions
    from portal.decisions.views import bp

    app.config.setdefault("ATTACHMENT_MAX_BYTES", attachments.DEFAULT_MAX_BYTES)
    # The whole request must be able to carry one attachment plus its form fields.
    needed = int(app.config["ATTACHMENT_MAX_BYTES"]) + 1024 * 1024
    if app.config.get("MAX_CONTENT_LENGTH") and app.config["MAX_CONTENT_LENGTH"] < needed:
        app.config["MAX_CONTENT_LENGTH"] = needed

    app.register_blueprint(bp)
    api.register_blueprint(api_blp)
    add_gate(app, models.Stage.DRAFTING, drafting_gate)
    attachments.add_owner_check(app, "decision", _decision_attachment_check)
    add_seed_step(app, "decisions", seed_decisions)
    add_nav_link(app, 10, "decisions.index", _l("决策事项"))
    add_nav_link(
        app, 90, "decisions.mine", _l("我的单位事项"), roles(Role.OFFICIAL, Role.LEADER, Role.AUDITOR, Role.ADMIN)
    )
    app.register_error_handler(RequestEntityTooLarge, _too_large)


def _decision_attachment_check(owner_id: int, user) -> bool:
    from portal.core.extensions import db
    from portal.decisions.models import Decision
    from portal.decisions.permissions import can_view

    decision = db.session.get(Decision, owner_id)
    return decision is not None and can_view(user, decision)


def _too_large(exc):
    """413 in the user's language, naming the limits (JSON under /api/)."""
    from flask import current_app
    from flask_babel import gettext as _

    from portal.core.errors import api_error, error_page, is_api_request

    attachment_mb = int(current_app.config["ATTACHMENT_MAX_BYTES"]) // (1024 * 1024)
    message = _("提交的内容过大:每个附件不能超过 %(mb)s MB。请压缩文件或拆分成几个文件后重新上传。", mb=attachment_mb)
    if is_api_request():
        return api_error(413, "too_large", message)
    return error_page(413, message)
