"""The smorest Api object, the shared error shape and the pagination convention."""

from __future__ import annotations

import math

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, current_app, request, url_for
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint

from portal.core.extensions import db


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "Message in the user's language"})
    fields = ma.fields.Dict(metadata={"description": "Per-field messages for invalid input"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class ErrorResponsesPlugin(BasePlugin):
    """Document the errors every operation can answer, from its URL rule and its access rule.

    404 where the path names a record; 401 where a login is required; 403 where roles are. Without
    them only ``default`` would cover these answers, and a client could not tell what to expect.
    """

    def __init__(self) -> None:
        self.app: Flask | None = None

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        from portal.auth.permissions import rule_for

        view = self.app.view_functions.get(rule.endpoint) if self.app is not None else None
        access = rule_for(view) if view is not None else None
        extra = {}
        if rule.arguments:
            extra["404"] = "NOT_FOUND"
        if access is not None and access.login_required:
            extra["401"] = "UNAUTHORIZED"
            if access.roles:
                extra["403"] = "FORBIDDEN"
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, name in extra.items():
                responses.setdefault(status, name)


class Api(SmorestApi):
    """flask-smorest, with the portal's one error shape and handlers instead of its own."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args, **kwargs):
        self.error_responses = ErrorResponsesPlugin()
        super().__init__(*args, **kwargs)

    def init_app(self, app, *args, **kwargs):
        self.error_responses.app = app
        super().init_app(app, *args, **kwargs)

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), self.error_responses], **kwargs)

    def _register_error_handlers(self):
        # core.errors registers app-wide handlers that give {"error": {...}} under /api/.
        pass


api = Api()


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class LinksSchema(ma.Schema):
    self = ma.fields.String(required=True)
    first = ma.fields.String(required=True)
    last = ma.fields.String(required=True)
    prev = ma.fields.String(allow_none=True)
    next = ma.fields.String(allow_none=True)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of ``item_schema``: items, page, per_page, total, pages, links."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "page": ma.fields.Integer(required=True),
            "per_page": ma.fields.Integer(required=True),
            "total": ma.fields.Integer(required=True),
            "pages": ma.fields.Integer(required=True),
            "links": ma.fields.Nested(LinksSchema, required=True),
        },
    )


def paginate(stmt, args: dict, *, count_stmt=None) -> dict:
    """Run ``stmt`` for one page and build the convention's envelope (links keep the other filters)."""
    per_page = min(args["per_page"], current_app.config["API_PER_PAGE_MAX"])
    page = args["page"]
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)
    pages = max(1, math.ceil((pagination.total or 0) / per_page))

    def link(n: int) -> str:
        params = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
        return url_for(request.endpoint, **(request.view_args or {}), **params, page=n, per_page=per_page)

    return {
        "items": list(pagination.items),
        "page": page,
        "per_page": per_page,
        "total": pagination.total or 0,
        "pages": pages,
        "links": {
            "self": link(page),
            "first": link(1),
            "last": link(pages),
            "prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < pages else None,
        },
    }


def make_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    return Blueprint(name, import_name, **kwargs)
