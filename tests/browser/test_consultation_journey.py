"""Journey (issue 3, point 13): a citizen finds a decision in the catalogue, follows it and comments
on one article; an official of the owning department publishes the comment and answers it; the
citizen sees the answer under the comment and a notification with the unread count in the header."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from portal.auth import operations as auth_ops
from portal.auth.models import Role
from portal.consultation import operations as consultation_ops
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops

PASSWORD = "Journey-pass-2026"
TITLE = "关于调整居民生活用水阶梯水价的决定"
BODY = (
    "第一条 为促进节约用水,根据有关规定,制定本决定。\n\n"
    "第二条 居民生活用水实行阶梯水价,第一档年用水量为 180 立方米以内。\n\n"
    "第三条 对低保家庭每户每月减免 5 立方米水费。"
)
COMMENT = "建议将第一档年用水量提高到 200 立方米,三口之家 180 立方米不够用。"
REASON = "第一档水量维持不变,但对四人以上家庭按人口增加第一档水量。"
TRACKING = re.compile(r"GY-\d{4}-\d{6}")


def _open_consultation() -> None:
    """A water bureau decision with a published draft of three articles, open for comment."""
    bureau = auth_ops.create_department(None, code="swj", name="市水务局")
    official = auth_ops.create_user(
        None,
        email="official@example.cn",
        display_name="李承办",
        password=PASSWORD,
        roles=[Role.OFFICIAL],
        departments=[bureau],
        confirmed=True,
    )
    auth_ops.create_user(None, email="citizen@example.cn", display_name="张小红", password=PASSWORD, confirmed=True)
    db.session.flush()
    decision = decision_ops.create_decision(
        official,
        department=bureau,
        title=TITLE,
        slug="water-price",
        summary="拟调整居民生活用水阶梯水价。",
        category="water",
        responsible=[official],
    )
    version = decision_ops.create_version(official, decision, body=BODY, explanation="为落实节水要求,起草本决定。")
    decision_ops.publish_version(official, version)
    start = utcnow()
    consultation_ops.open_consultation(official, decision, starts_at=start, ends_at=start + timedelta(days=30))
    db.session.commit()


def _login(page, live_url, email):
    page.goto(live_url + "/")
    page.get_by_role("link", name="登录", exact=True).first.click()
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_comment_moderate_respond_notify(page, chromium, live_app, live_url):
    with live_app.app_context():
        _open_consultation()

    # 1. The citizen finds the decision in the catalogue, follows it and comments on article 2.
    _login(page, live_url, "citizen@example.cn")
    main_nav = page.get_by_role("navigation", name="主导航")
    expect(main_nav.get_by_role("link", name="通知", exact=True)).to_be_visible()  # nothing unread yet
    main_nav.get_by_role("link", name="决策事项").click()
    expect(page.get_by_role("heading", name="决策事项目录")).to_be_visible()
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    consultation = page.locator("#consultation")
    expect(consultation.locator(".status")).to_have_text("正在征求意见")
    expect(consultation.get_by_text("暂无公开的意见。")).to_be_visible()

    page.get_by_role("button", name="关注此事项").click()
    expect(page.get_by_text("已关注。")).to_be_visible()
    expect(page.get_by_role("button", name="取消关注")).to_be_visible()

    article = consultation.get_by_label("针对的条款")
    expect(article.locator("option")).to_have_count(4)  # the whole draft and three articles
    second = article.locator("option", has_text="第二条")
    expect(second).to_contain_text("阶梯水价")
    article.select_option(label=second.inner_text().strip())
    consultation.get_by_label("您的意见").fill(COMMENT)
    consultation.get_by_role("button", name="提交意见").click()

    expect(page.get_by_role("heading", name="意见回执")).to_be_visible()
    tracking = page.locator(".receipt .tracking").inner_text().strip()
    assert TRACKING.fullmatch(tracking), tracking
    expect(page.get_by_role("status")).to_contain_text(f"您的意见已提交,编号 {tracking}")
    receipt = page.locator("dl.receipt")
    expect(receipt).to_contain_text(TITLE)
    expect(receipt).to_contain_text("第二条")
    expect(receipt).to_contain_text("张小红")
    expect(receipt).to_contain_text("待审核")
    expect(page.get_by_text(COMMENT)).to_be_visible()
    citizen_page = page

    # 2. An official of the water bureau publishes the comment and answers it (own browser context).
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        _login(page, live_url, "official@example.cn")
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="决策事项").click()
        page.get_by_role("link", name=TITLE).click()
        page.get_by_role("link", name="办理意见(承办单位)").click()
        expect(page.get_by_role("heading", level=1, name="办理意见")).to_be_visible()
        expect(page.get_by_role("link", name="待审核")).to_have_attribute("aria-current", "page")
        item = page.locator("article.queue-item", has_text=tracking)
        expect(item).to_contain_text("张小红")
        expect(item).to_contain_text("第二条")
        expect(item).to_contain_text(COMMENT)
        item.get_by_role("link", name="逐条处理").click()

        expect(page.get_by_role("heading", level=1, name=f"处理意见 {tracking}")).to_be_visible()
        page.get_by_role("button", name="公开这条意见").click()
        expect(page.get_by_role("status")).to_contain_text(f"意见 {tracking} 已公开。")
        expect(page.locator("dl.facts")).to_contain_text("已公开")

        respond = page.locator("form", has=page.get_by_role("button", name="保存答复"))
        respond.get_by_label("采纳情况").select_option(label="部分采纳")
        respond.get_by_label("理由", exact=True).fill(REASON)
        respond.get_by_role("button", name="保存答复").click()
        expect(page.get_by_role("status")).to_contain_text(f"已答复意见 {tracking},并通知提交人。")
        expect(page.get_by_role("link", name="待答复")).to_have_attribute("aria-current", "page")
        expect(page.get_by_text("没有需要处理的意见。")).to_be_visible()
    finally:
        context.close()

    # 3. Back in the citizen's browser: the unread count in the header, the answer on the decision page.
    page = citizen_page
    page.reload()
    main_nav = page.get_by_role("navigation", name="主导航")
    notifications_link = main_nav.get_by_role("link", name="通知(1)")
    expect(notifications_link).to_be_visible()
    expect(page.locator("dl.receipt")).to_contain_text("已公开")

    main_nav.get_by_role("link", name="决策事项").click()
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    comment = page.locator(f"#c-{tracking}")
    expect(comment).to_contain_text("张小红")
    expect(comment).to_contain_text("针对第二条")
    expect(comment.locator(".comment-body")).to_contain_text(COMMENT)
    expect(comment.locator(".response .disposition")).to_have_text("部分采纳")
    expect(comment.locator(".response-body")).to_contain_text(REASON)
    stats = page.get_by_role("table", name=re.compile("已公开意见 1 条,已答复 1 条"))
    expect(stats.get_by_role("row", name=re.compile("部分采纳"))).to_contain_text("1")

    main_nav.get_by_role("link", name="通知(1)").click()
    expect(page.get_by_role("heading", level=1, name="通知")).to_be_visible()
    expect(page.get_by_text("未读 1 条。")).to_be_visible()
    message = f"您对《{TITLE}》提出的意见({tracking})已有答复:部分采纳。"
    notice = page.get_by_role("button", name=message)
    expect(notice).to_be_visible()
    expect(page.locator(".notification--unread")).to_have_count(1)
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()  # among the followed decisions

    # Opening the notification marks it read and leads to the receipt with the answer.
    notice.click()
    expect(page.get_by_role("heading", name="意见回执")).to_be_visible()
    expect(page.locator(".receipt .tracking")).to_have_text(tracking)
    expect(page.locator("dl.receipt")).to_contain_text("已公开")
    expect(page.get_by_role("heading", name="承办单位答复")).to_be_visible()
    expect(page.locator(".response .disposition")).to_have_text("部分采纳")
    expect(page.get_by_text(REASON)).to_be_visible()
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="通知", exact=True)).to_be_visible()
