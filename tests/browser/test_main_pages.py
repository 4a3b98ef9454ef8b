"""Every main page on the demo data, in both languages, for every role: it opens, axe-core finds no
serious or critical WCAG 2.1 A/AA violation, it fits a phone's width, and it works by keyboard
(the first Tab reaches the skip link; no positive tabindex reorders the page; nothing a user can
act on is taken out of the tab order)."""

from __future__ import annotations

import pytest

from portal import create_app
from portal.core.extensions import db
from portal.core.seed import seed_demo
from tests.browser.axe import AXE, violations
from tests.browser.live import serve
from tests.browser.main_pages import demo_passwords, main_pages
from tests.conftest import Database

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}

KEYBOARD_TRAPS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('[tabindex]')) {
    if (parseInt(el.getAttribute('tabindex'), 10) > 0) bad.push('positive tabindex: ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary')) {
    const hidden = el.offsetParent === null;
    if (el.getAttribute('tabindex') === '-1' && !hidden) bad.push('unfocusable: ' + el.outerHTML.slice(0, 80));
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    database = Database(root)
    database.migrate()
    app = create_app(database.config(root / "instance", WTF_CSRF_ENABLED=True))
    with app.app_context():
        for _line in seed_demo():
            pass
        pages = main_pages()
    try:
        with serve(app) as url:
            yield url, pages
    finally:
        with app.app_context():
            db.engine.dispose()
        database.drop()


def _log_in(page, url: str, account: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("#email", account)
    page.fill("#password", password)
    page.click("form button[type=submit].primary")
    page.wait_for_load_state()


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (make test runs npm ci)")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_main_pages_are_accessible_in_both_languages(chromium, demo, lang):
    url, pages = demo
    passwords = demo_passwords()
    context = chromium.new_context(bypass_csp=True, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: dict[str, object] = {}
    logged_in: object = object()
    for main in pages:
        if main.account != logged_in:
            context.clear_cookies()
            context.add_cookies([{"name": "lang", "value": lang, "url": url}])
            if main.account:
                _log_in(page, url, main.account, passwords[main.account])
            logged_in = main.account
        response = page.goto(url + main.path)
        expected = 404 if main.name == "not-found" else 200
        if response is None or response.status != expected:
            problems[main.path] = f"status {response.status if response else None} as {main.account}"
            continue
        expected_lang = "zh" if lang == "zh_CN" else "en"
        if not (page.get_attribute("html", "lang") or "").startswith(expected_lang):
            problems[main.path] = f"not in {lang}"
        if found := violations(page):
            problems[f"{main.path} (axe)"] = found
        if traps := page.evaluate(KEYBOARD_TRAPS):
            problems[f"{main.path} (keyboard)"] = traps
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.className") != "skip-link":
            problems[f"{main.path} (skip link)"] = "the first Tab does not reach the skip link"
        page.set_viewport_size(PHONE)
        if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"):
            problems[f"{main.path} (phone)"] = "scrolls sideways at 360 px"
        page.set_viewport_size(DESKTOP)
    context.close()
    assert problems == {}
