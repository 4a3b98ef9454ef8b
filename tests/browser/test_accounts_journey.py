"""Journey: a citizen registers, logs out, logs in, switches to English and back, logs out."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_register_login_language_logout(page, live_url):
    page.goto(live_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="注册", exact=True).first.click()

    page.get_by_label("邮箱").fill("chen.mei@example.cn")
    page.get_by_label("姓名或昵称").fill("陈梅")
    page.get_by_label("密码", exact=True).fill("Chunfeng-2026")
    page.get_by_label("再次输入密码").fill("Chunfeng-2026")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name="个人中心")).to_be_visible()
    expect(page.get_by_text("注册成功")).to_be_visible()

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已退出登录")).to_be_visible()

    page.get_by_role("link", name="登录", exact=True).first.click()
    page.get_by_label("邮箱").fill("chen.mei@example.cn")
    page.get_by_label("密码").fill("wrong-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#password-error")).to_contain_text("邮箱或密码不正确")
    page.get_by_label("密码").fill("Chunfeng-2026")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("欢迎您,陈梅")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.reload()  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("link", name=re.compile("^登录$")).first).to_be_visible()


def test_keyboard_skip_link_reaches_main(page, live_url):
    page.goto(live_url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_phone_width_has_no_horizontal_scroll(chromium, live_url):
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    for path in ("/", "/login", "/register", "/trace/"):
        page.goto(live_url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, path
    context.close()
