"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.core.models import Base


def client_address() -> str:
    """The client's address; trusted proxy headers are applied by ProxyFix only when configured."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=client_address, headers_enabled=True)


def config(key: str, default=None):
    """Shortcut for ``current_app.config.get``."""
    return current_app.config.get(key, default)
