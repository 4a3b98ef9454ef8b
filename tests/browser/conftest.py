"""Browser fixtures: a live server on its own database, and a Chromium page."""

from __future__ import annotations

import pytest

from tests.browser.live import browser, chromium_path, serve


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def committing_config() -> dict:
    # The browser drives the production intake: comments are stored by the writer thread.
    return {"COMMENT_INTAKE": "batched"}


@pytest.fixture
def live_app(committing_app):
    committing_app.config["WTF_CSRF_ENABLED"] = True  # the real forms, tokens and all
    return committing_app


@pytest.fixture
def live_url(live_app):
    with serve(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def chromium():
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    with browser() as instance:
        yield instance


@pytest.fixture
def page(chromium):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
