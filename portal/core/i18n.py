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
    on every request that builds a form (a sixth of the CPU of taking a comment, issue 8). The
    language is only settled when a message is needed: an accepted form never asks, so the
    comment intake does not read the account for its preferred language (auth/identity.py).
    """
    if request.endpoint in (None, "static"):
        return
    request.wtforms_translations = _WTFormsCatalogue()  # type: ignore[attr-defined]


class _WTFormsCatalogue:
    """WTForms' messages in the request's language, looked up on the first message."""

    _catalogue = None

    def _resolve(self):
        if self._catalogue is None:
            locale = get_locale()
            key = str(locale)
            catalogue = _wtforms_catalogues.get(key)
            if catalogue is None:
                from babel import support
                from wtforms.i18n import messages_path

                catalogue = _wtforms_catalogues[key] = support.Translations.load(
                    messages_path(), [locale], domain="wtforms"
                )
            self._catalogue = catalogue
        return self._catalogue

    def ugettext(self, string: str) -> str:
        return self._resolve().ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return self._resolve().ungettext(singular, plural, n)


def chosen_locale() -> str | None:
    """The language the visitor picked with the switch (a cookie), if any; no database read."""
    if not has_request_context():
        return None
    chosen = request.cookies.get("lang")
    return chosen if chosen in current_app.config["LANGUAGES"] else None


def select_locale() -> str:
    """The remembered choice (cookie), else the user's preference, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = chosen_locale()
    if chosen:
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
