"""Configuration: defaults, then ``instance/config.py``, then ``PORTAL_*`` variables (later wins).

A mapping passed to ``create_app(config=...)`` is applied last; tests use it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

#: Environment variables read, with the config key each one sets.
ENV_KEYS: dict[str, str] = {
    "PORTAL_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "PORTAL_REDIS_URL": "REDIS_URL",
    "PORTAL_TIMEZONE": "BABEL_DEFAULT_TIMEZONE",
    "PORTAL_DEFAULT_LOCALE": "BABEL_DEFAULT_LOCALE",
    "PORTAL_SMTP_URL": "SMTP_URL",
    "PORTAL_MAIL_SENDER": "MAIL_SENDER",
    "PORTAL_BASE_URL": "BASE_URL",
    "PORTAL_PROXY_COUNT": "PROXY_COUNT",
    "PORTAL_LOGIN_LIMIT_ACCOUNT": "LOGIN_LIMIT_ACCOUNT",
    "PORTAL_LOGIN_LIMIT_ADDRESS": "LOGIN_LIMIT_ADDRESS",
    "PORTAL_MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
    "PORTAL_PAGE_CACHE_SECONDS": "PAGE_CACHE_SECONDS",
    "PORTAL_FORM_MAX_CONTENT_LENGTH": "FORM_MAX_CONTENT_LENGTH",
    "PORTAL_COMMENT_RATE_PER_ACCOUNT": "COMMENT_RATE_PER_ACCOUNT",
    "PORTAL_COMMENT_RATE_PER_ADDRESS": "COMMENT_RATE_PER_ADDRESS",
    "PORTAL_HEARING_REGISTRATION_RATE_PER_ACCOUNT": "HEARING_REGISTRATION_RATE_PER_ACCOUNT",
    "PORTAL_HEARING_REGISTRATION_RATE_PER_ADDRESS": "HEARING_REGISTRATION_RATE_PER_ADDRESS",
    "PORTAL_SIGNUP_RATE_PER_ACCOUNT": "SIGNUP_RATE_PER_ACCOUNT",
    "PORTAL_SIGNUP_RATE_PER_ADDRESS": "SIGNUP_RATE_PER_ADDRESS",
    "PORTAL_CONFIRMATION_RATE_PER_ACCOUNT": "CONFIRMATION_RATE_PER_ACCOUNT",
    "PORTAL_CONFIRMATION_RATE_PER_ADDRESS": "CONFIRMATION_RATE_PER_ADDRESS",
    "PORTAL_COMMENT_INTAKE": "COMMENT_INTAKE",
    "PORTAL_COMMENT_INTAKE_TIMEOUT": "COMMENT_INTAKE_TIMEOUT",
}

INT_KEYS = {
    "PROXY_COUNT",
    "MAX_CONTENT_LENGTH",
    "PAGE_CACHE_SECONDS",
    "FORM_MAX_CONTENT_LENGTH",
    "COMMENT_INTAKE_TIMEOUT",
}
#: Rate limits where an empty value is meaningful: it turns the limit off.
RATE_KEYS = {key for key in ENV_KEYS.values() if "_RATE_PER_" in key or key.startswith("LOGIN_LIMIT_")}


def defaults(instance_path: Path) -> dict[str, Any]:
    """The built-in settings for an instance folder."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path / 'portal.sqlite3'}",
        "REDIS_URL": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "SMTP_URL": None,
        "MAIL_SENDER": "noreply@portal.invalid",
        "BASE_URL": "http://127.0.0.1:5000",
        "PROXY_COUNT": 0,
        # Throttling of failed logins (Flask-Limiter syntax), per account and per client address.
        "LOGIN_LIMIT_ACCOUNT": "5 per 15 minutes",
        "LOGIN_LIMIT_ADDRESS": "20 per 15 minutes",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Requests to endpoints without file uploads (every form and API call but two) stop here.
        "FORM_MAX_CONTENT_LENGTH": 1024 * 1024,
        # Rate limits (Flask-Limiter syntax, ";" between several; empty turns one off), per account
        # and per client address. Per address is generous: offices and campuses share addresses.
        "COMMENT_RATE_PER_ACCOUNT": "10 per minute;60 per hour",
        "COMMENT_RATE_PER_ADDRESS": "120 per minute;2000 per hour",
        "HEARING_REGISTRATION_RATE_PER_ACCOUNT": "10 per minute;30 per hour",
        "HEARING_REGISTRATION_RATE_PER_ADDRESS": "120 per minute;1000 per hour",
        # Account registration: "account" is the e-mail address being registered.
        "SIGNUP_RATE_PER_ACCOUNT": "5 per hour",
        "SIGNUP_RATE_PER_ADDRESS": "30 per hour;200 per day",
        # Re-sending the confirmation e-mail.
        "CONFIRMATION_RATE_PER_ACCOUNT": "1 per minute;5 per day",
        "CONFIRMATION_RATE_PER_ADDRESS": "30 per hour",
        # Redis down: limit in this process's memory instead of failing the request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Comments are stored by each worker's writer thread, several in one transaction ("batched",
        # portal/consultation/intake.py), or in the request's own transaction ("inline").
        "COMMENT_INTAKE": "batched",
        # A request waits this long (seconds) for the writer before asking the citizen to send again.
        "COMMENT_INTAKE_TIMEOUT": 60,
        # E-mail confirmation links stay valid this long (seconds).
        "EMAIL_CONFIRMATION_MAX_AGE": 3 * 24 * 3600,
        # Anonymous views of public pages are cached this long at most (0 turns the cache off).
        "PAGE_CACHE_SECONDS": 30,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session; forms left open a day still post
        "API_TITLE": "Decision consultation portal API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_PER_PAGE_MAX": 100,
        "INSTANCE_PATH": str(instance_path),
        "INDEX_PATH": str(instance_path / "index"),
        "UPLOAD_PATH": str(instance_path / "uploads"),
        "OUTBOX_PATH": str(instance_path / "outbox"),
    }


def resolve_instance_path(default: Path) -> Path:
    """The instance folder: ``PORTAL_INSTANCE_PATH`` or the project's ``instance/``."""
    raw = os.environ.get("PORTAL_INSTANCE_PATH")
    return Path(raw).expanduser().resolve() if raw else default


def from_environment() -> dict[str, Any]:
    """Settings given as ``PORTAL_*`` variables."""
    found: dict[str, Any] = {}
    for var, key in ENV_KEYS.items():
        value = os.environ.get(var)
        if value is None or (value == "" and key not in RATE_KEYS):
            continue
        found[key] = int(value) if key in INT_KEYS else value
    return found


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_secret_key(instance_path: Path) -> str:
    """Read the instance's secret key, creating it on first start (no default key exists anywhere)."""
    path = instance_path / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        # O_EXCL: when several server workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def _read_when_written(path: Path) -> str:
    """Read a key another process is writing at this moment."""
    import time

    for _ in range(50):
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"secret key file {path} stayed empty")
