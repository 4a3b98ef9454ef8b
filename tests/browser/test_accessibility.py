"""axe-core on the main pages, in both languages, anonymous and logged in; keyboard use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth import operations as auth_ops
from portal.auth.models import Role, User
from portal.core.extensions import db
from tests.browser.axe import AXE, violations

PUBLIC_PAGES = ["/", "/login", "/register", "/trace/", "/trace/verify", "/trace/1", "/no-such-page"]
ADMIN_PAGES = ["/profile", "/profile/password", "/admin/users", "/admin/users/new", "/admin/departments"]


@pytest.fixture
def admin(live_app):
    with live_app.app_context():
        user = auth_ops.create_user(
            None,
            email="a11y@example.cn",
            display_name="无障碍",
            password="Kanjian-2026x",
            roles=[Role.ADMIN],
            confirmed=True,
        )
        auth_ops.create_department(user, code="a11y", name="无障碍测试单位")
        db.session.commit()
        return db.session.scalar(select(User.id).where(User.email == "a11y@example.cn"))


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (make test runs npm ci)")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_serious_violations(chromium, live_url, admin, lang):
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "lang", "value": lang, "url": live_url}])
    page = context.new_page()
    problems = {}
    for path in PUBLIC_PAGES:
        page.goto(live_url + path)
        if found := violations(page):
            problems[path] = found
    page.goto(live_url + "/login")
    page.fill("#email", "a11y@example.cn")
    page.fill("#password", "Kanjian-2026x")
    page.click("form button[type=submit].primary")
    for path in [*ADMIN_PAGES, f"/admin/users/{admin}", "/admin/departments/a11y"]:
        page.goto(live_url + path)
        if found := violations(page):
            problems[path] = found
    context.close()
    assert problems == {}


def test_login_form_works_by_keyboard_alone(page, live_url, live_app):
    with live_app.app_context():
        auth_ops.create_user(None, email="keys@example.cn", display_name="键盘", password="Jianpan-2026x")
        db.session.commit()
    page.goto(live_url + "/login")
    page.focus("#email")
    page.keyboard.type("keys@example.cn")
    page.keyboard.press("Tab")
    page.keyboard.type("Jianpan-2026x")
    page.keyboard.press("Enter")
    page.wait_for_url(live_url + "/")
    assert "键盘" in page.content()


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (make test runs npm ci)")
def test_the_checker_itself_finds_violations(chromium):
    page = chromium.new_page()
    page.set_content('<html lang="en"><body><main><input type="text"><img src="x.png"></main></body></html>')
    found = {v["id"] for v in violations(page, impacts=("serious", "critical"))}
    assert {"label", "image-alt"} <= found
    page.close()
