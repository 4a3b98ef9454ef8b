"""One domain error type, and the handlers that turn errors into pages or JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refused user action; ``message`` is shown to the user (use lazy_gettext or gettext)."""

    status = 400
    code = "refused"

    def __init__(self, message, *, code: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


def is_api_request() -> bool:
    """True for requests under ``/api/``: they get JSON, never HTML."""
    return request.path == "/api" or request.path.startswith("/api/")


#: Codes and messages for the HTTP errors, in the user's language.
HTTP_MESSAGES = {
    400: ("bad_request", _l("请求无效,请检查后重试。")),
    401: ("unauthorized", _l("请先登录。")),
    403: ("forbidden", _l("您没有权限执行此操作。")),
    404: ("not_found", _l("找不到您要访问的页面。")),
    405: ("method_not_allowed", _l("不支持此请求方法。")),
    409: ("conflict", _l("请求与当前状态冲突。")),
    413: ("too_large", _l("提交的内容过大。")),
    422: ("invalid", _l("提交的数据有误。")),
    429: ("rate_limited", _l("操作过于频繁,请稍后再试。")),
    500: ("server_error", _l("服务器内部错误,我们已记录此问题。")),
}


def api_error(status: int, code: str, message, *, fields: dict | None = None, headers=None):
    """The one JSON error shape: ``{"error": {"code": ..., "message": ...}}``."""
    body: dict = {"error": {"code": code, "message": str(message)}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


def error_page(status: int, message, *, headers=None):
    """Render the error page for ``status`` in the user's language."""
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    response = render_template(template, status=status, message=message), status
    if headers:
        return (*response, headers)
    return response


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    code, default_message = HTTP_MESSAGES.get(status, ("error", exc.name))
    headers = {k: v for k, v in exc.get_headers() if k.lower() not in ("content-type", "content-length")}
    message = default_message
    # Extra detail given by the code that aborted (already translated), e.g. a validation summary.
    detail = getattr(exc, "portal_message", None)
    if detail:
        message = detail
    if is_api_request():
        data = getattr(exc, "data", None)
        fields = data.get("messages") if isinstance(data, dict) else None
        return api_error(status, code, message, fields=fields, headers=headers)
    return error_page(status, message, headers=headers)


def handle_domain_error(exc: DomainError):
    if is_api_request():
        return api_error(exc.status, exc.code, exc.message)
    return error_page(exc.status, exc.message)


def handle_csrf_error(exc: CSRFError):
    message = _("表单已过期或缺少安全令牌,请返回页面刷新后重新提交。")
    if is_api_request():
        return api_error(400, "csrf", message)
    return error_page(400, message)


def handle_unexpected(exc: Exception):
    from portal.core.extensions import db

    db.session.rollback()
    import logging

    logging.getLogger("portal").exception("unhandled error")
    code, message = HTTP_MESSAGES[500]
    if is_api_request():
        return api_error(500, code, message)
    return error_page(500, message)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; every error under /api/ is JSON, every other one a page."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
