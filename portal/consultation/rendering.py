"""Comment and response text as safe HTML, rendered once per process and text.

``render_markdown`` builds a Markdown parser and runs the sanitiser on every call (a few
milliseconds); a page shows 20 comments, each with its response, and the same texts are shown
again and again. Published comments never change, so the rendered HTML is cached by text.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

from portal.core.markdown import render_markdown

#: Distinct texts kept (a few MB at most: comments are limited to 5,000 characters).
CACHE_SIZE = 4096


@lru_cache(maxsize=CACHE_SIZE)
def cached_markdown(text: str | None) -> Markup:
    """``render_markdown(text)``, remembered."""
    return render_markdown(text)
