"""The decision-consultation and public-hearing portal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as cfg
from portal.core.sessions import SessionInterface
from portal.core.utils import BoundedIntegerConverter

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: No inline script or style anywhere; nothing may frame the portal.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: Feature packages beyond the foundation; each has ``init_app(app)`` that registers its
#: blueprints, API blueprints, CLI commands, seed steps and decision-page sections.
FEATURES: tuple[str, ...] = (
    "portal.decisions",
    "portal.consultation",
    "portal.notifications",
    "portal.reviews",
    "portal.hearings",
    "portal.releases",
    "portal.implementation",
    "portal.accountability",
    "portal.search",
    "portal.availability",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, CLI."""
    instance_path = cfg.resolve_instance_path(PROJECT_ROOT / "instance")
    if config and config.get("INSTANCE_PATH"):
        instance_path = Path(config["INSTANCE_PATH"]).resolve()
    instance_path.mkdir(parents=True, exist_ok=True)

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.url_map.converters["int"] = BoundedIntegerConverter  # before any route: huge ids are 404, not 500
    app.config.update(cfg.defaults(instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(cfg.from_environment())
    if config:
        app.config.update(config)
    if str(app.config.get("BASE_URL", "")).startswith("https://"):
        # Served over HTTPS: cookies never travel over plain HTTP.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = cfg.load_secret_key(instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = cfg.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or (
        app.config["REDIS_URL"] or "memory://"
    )
    for key in ("INDEX_PATH", "UPLOAD_PATH", "OUTBOX_PATH"):
        Path(app.config[key]).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)

    app.json.ensure_ascii = False  # JSON carries UTF-8 text, not \u escapes
    app.session_interface = SessionInterface()  # Flask's signed cookie, its serializer built once
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _init_features(app)
    _install_hooks(app)
    from portal.core.ratelimits import drop_idle_request_check

    drop_idle_request_check(app)  # once every view and its limits are known (docs/DECISIONS.md)
    logging.getLogger("portal").setLevel(logging.INFO)
    return app


def _init_extensions(app: Flask) -> None:
    from portal.api.base import api
    from portal.auth import identity
    from portal.auth.models import AnonymousUser
    from portal.core import database
    from portal.core.extensions import babel, csrf, db, limiter, login_manager, migrate
    from portal.core.i18n import select_locale, wtforms_translations

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = database.engine_options(url)
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                database.configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(PROJECT_ROOT / "portal" / "translations"),
    )
    limiter.init_app(app)
    app.before_request(wtforms_translations)

    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.anonymous_user = AnonymousUser
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    login_manager.user_loader(identity.load_user)

    api.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from portal.api.base import api
    from portal.api.views import blp as api_blp
    from portal.auth.admin import bp as admin_bp
    from portal.auth.permissions import declare_endpoint, public
    from portal.auth.views import bp as auth_bp
    from portal.core.errors import register_error_handlers
    from portal.core.views import bp as core_bp
    from portal.trace.views import bp as trace_bp

    for bp in (core_bp, auth_bp, admin_bp, trace_bp):
        app.register_blueprint(bp)
    api.register_blueprint(api_blp)
    declare_endpoint(app, "static", public)
    register_error_handlers(app)


def _init_features(app: Flask) -> None:
    import importlib

    from portal.auth.permissions import declare_endpoint, public

    for name in FEATURES:
        importlib.import_module(name).init_app(app)
    for endpoint in list(app.view_functions):
        if endpoint.startswith("api-docs."):
            declare_endpoint(app, endpoint, public)


def _register_cli(app: Flask) -> None:
    from portal.core.cli import (
        backup_command,
        create_user_command,
        init_db_command,
        restore_command,
        seed_demo_command,
    )
    from portal.trace.cli import trace_cli

    commands = (init_db_command, create_user_command, seed_demo_command, backup_command, restore_command, trace_cli)
    for command in commands:
        app.cli.add_command(command)


def _install_hooks(app: Flask) -> None:
    from werkzeug.local import LocalProxy

    from portal.auth.identity import confirmed_user
    from portal.auth.models import ROLE_LABELS, Role
    from portal.auth.permissions import enforce_access
    from portal.core import bodylimits, pagecache
    from portal.core.hooks import decision_sections, nav_links
    from portal.core.i18n import is_english, local_time

    app.before_request(enforce_access)
    bodylimits.init_app(app)  # first of all hooks: an oversized body is refused before anything reads it
    pagecache.init_app(app)  # after enforce_access: only pages anyone may see are cached
    pagecache.add_cacheable(app, "core.home")

    @app.context_processor
    def shell_context():
        return {
            # Babel spells zh_CN as zh_Hans_CN; the switch and the cookie use the configured codes.
            "current_locale": "en" if is_english() else app.config["BABEL_DEFAULT_LOCALE"],
            "is_english": is_english(),
            "languages": app.config["LANGUAGES"],
            "Role": Role,
            "role_label": lambda code: (
                str(ROLE_LABELS.get(Role(code), code)) if code in Role._value2member_map_ else code
            ),
            "current_path": request.full_path.rstrip("?") if request else "/",
            # A page is drawn with the stored account (the session may only have named it: rule
            # signed_in), read when the template first asks; a receipt mail never asks.
            "user": LocalProxy(confirmed_user),
            "nav_links": nav_links,
            "decision_sections": decision_sections,
        }

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.globals["g"] = g

    @app.after_request
    def security_headers(response):
        if "Cookie" not in response.headers.get("Vary", ""):
            response.headers.add("Vary", "Cookie")  # the language and the login live in cookies
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
