"""Markdown rendered, then sanitised with nh3: the only way user text becomes HTML."""

from __future__ import annotations

import threading
from html import unescape as html_unescape

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set(), "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Headings in user text start at h2: the page's h1 is the page's own title.
EXTENSIONS = ["tables", "sane_lists", "fenced_code"]


def render_markdown(text: str | None) -> Markup:
    """Markdown to safe HTML: raw HTML in the source is escaped, then an allowlist removes the rest."""
    if not text:
        return Markup("")
    # Raw HTML is not passed through at all; nh3 below is the second line of defence.
    html = _converter().reset().convert(_escape_raw_html(text))
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )
    return Markup(clean)  # noqa: S704 (sanitised by nh3 just above)


SAFE_HREF_PREFIXES = ("http://", "https://", "mailto:", "/", "#")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Links only to the web, e-mail, this site or an anchor; anything odd is dropped."""
    if attribute == "href":
        candidate = value.strip()
        if candidate.startswith("//") or not candidate.lower().startswith(SAFE_HREF_PREFIXES):
            return None
        return candidate
    return value


def _escape_raw_html(text: str) -> str:
    # Escaping "<" is enough to stop every tag; ">" stays so Markdown block quotes keep working.
    return text.replace("<", "&lt;")


_local = threading.local()


def _converter() -> md.Markdown:
    """One Markdown parser per thread: building one costs about twice the conversion itself."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(extensions=EXTENSIONS, output_format="html")
    return converter


def plain_text(text: str | None, limit: int | None = None) -> str:
    """Text with the markup removed, for snippets, feeds and e-mails."""
    if not text:
        return ""
    stripped = nh3.clean(_converter().reset().convert(_escape_raw_html(text)), tags=set())
    stripped = " ".join(html_unescape(stripped).split())
    if limit and len(stripped) > limit:
        return stripped[: limit - 1] + "…"
    return stripped
