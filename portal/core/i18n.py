"""Locale and timezone selection, and display helpers for templates."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, request
from flask_babel import format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    """The remembered choice (cookie), else the user's preference, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    preferred = getattr(current_user, "locale", None) if current_user else None
    if preferred in languages:
        return preferred
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time shown in the portal's timezone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def is_english() -> bool:
    return str(get_locale()).startswith("en")
