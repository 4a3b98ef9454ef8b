"""Journey: a new citizen registers, is told to confirm, opens the link from the outbox and confirms."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

from playwright.sync_api import expect

LINK = re.compile(r"https?://\S+?(/confirm-email/[A-Za-z0-9_.\-]+)")


def confirmation_path(app, to: str) -> str:
    for path in sorted(Path(app.config["OUTBOX_PATH"]).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == to:
            found = LINK.search(message.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no confirmation mail to {to}")


def test_register_then_confirm_from_the_outbox(page, live_app, live_url):
    page.goto(live_url + "/register")
    page.get_by_label("邮箱").fill("wang.fang@example.cn")
    page.get_by_label("姓名或昵称").fill("王芳")
    page.get_by_label("密码", exact=True).fill("Chunfeng-2026")
    page.get_by_label("再次输入密码").fill("Chunfeng-2026")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_text("尚未确认", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="重新发送确认邮件")).to_be_visible()

    page.goto(live_url + confirmation_path(live_app, "wang.fang@example.cn"))
    page.get_by_role("button", name="确认我的邮箱").click()
    expect(page.get_by_text("邮箱已确认")).to_be_visible()
    expect(page.get_by_text("已确认", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="重新发送确认邮件")).to_have_count(0)
