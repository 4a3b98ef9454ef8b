"""Locale and timezone selection, and display helpers for templates."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, request
from flask_babel import format_datetime, get_locale
from flask_login import current_user

_wtforms_catalogues: dict[str, object] = {}


def wtforms_translations() -> None:
    """before_request: hand Flask-WTF this process's copy of WTForms' own messages for the locale.

    Flask-WTF reads ``request.wtforms_translations`` and otherwise loads the catalogue from disk
    on every request that builds a form (a sixth of the CPU of taking a comment, issue 8).
    """
    if request.endpoint in (None, "static"):
        return
    locale = get_locale()
    key = str(locale)
    catalogue = _wtforms_catalogues.get(key)
    if catalogue is None:
        from babel import support
        from wtforms.i18n import messages_path

        catalogue = _wtforms_catalogues[key] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    request.wtforms_translations = catalogue  # type: ignore[attr-defined]


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
