"""A small body limit for every endpoint that takes no file, before anything reads the body.

``MAX_CONTENT_LENGTH`` (16 MB) must let an attachment through, but a comment, a login or an API
call never needs more than a few kilobytes. Endpoints that accept uploads are named with
``allow_uploads``; every other request with a body over ``FORM_MAX_CONTENT_LENGTH`` (1 MB) gets
413 before CSRF, the rate limiter or the view parse it. A chunked body (no ``Content-Length``)
is read here up to the limit and refused whole when it is longer.
"""

from __future__ import annotations

import io

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

#: Endpoints that receive files (multipart forms); they keep ``MAX_CONTENT_LENGTH``.
DEFAULT_UPLOAD_ENDPOINTS = ("decisions.add_attachment", "hearings.add_material")


class FormTooLarge(RequestEntityTooLarge):
    """A body over the limit for endpoints without uploads."""


def allow_uploads(app: Flask, *endpoints: str) -> None:
    """Let ``endpoints`` receive bodies up to ``MAX_CONTENT_LENGTH`` (file uploads)."""
    app.extensions.setdefault("portal_upload_endpoints", set()).update(endpoints)


def upload_endpoints(app: Flask) -> set[str]:
    return set(app.extensions.get("portal_upload_endpoints", ()))


def _check_body() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    length = request.content_length
    if request.endpoint in current_app.extensions.get("portal_upload_endpoints", ()):
        # Refused at once too, before the access check or CSRF would answer something else.
        upload_limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if upload_limit and length is not None and length > int(upload_limit):
            raise RequestEntityTooLarge()
        return
    limit = int(current_app.config.get("FORM_MAX_CONTENT_LENGTH") or 0)
    if not limit:
        return
    if length is not None and length > limit:
        raise FormTooLarge()
    if length is None and request.environ.get("wsgi.input_terminated"):
        # A chunked body (no Content-Length): Werkzeug would silently cut it at the limit, so
        # read it here, at most one byte more than allowed, and refuse it whole.
        raw = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise FormTooLarge()
        request.environ["wsgi.input"] = io.BytesIO(raw)
        request.environ["CONTENT_LENGTH"] = str(len(raw))


def _too_large(exc: FormTooLarge):
    from portal.core.errors import api_error, error_page, is_api_request

    kb = int(current_app.config["FORM_MAX_CONTENT_LENGTH"]) // 1024
    message = _("提交的内容过大(不能超过 %(kb)s KB),请删减后重新提交。", kb=kb)
    if is_api_request():
        return api_error(413, "too_large", message)
    return error_page(413, message)


def init_app(app: Flask) -> None:
    """Install the check as the very first ``before_request`` hook."""
    allow_uploads(app, *DEFAULT_UPLOAD_ENDPOINTS)
    app.before_request_funcs.setdefault(None, []).insert(0, _check_body)
    app.register_error_handler(FormTooLarge, _too_large)
