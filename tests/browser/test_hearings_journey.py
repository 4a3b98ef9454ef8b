"""Journey in Chromium: a citizen registers; the official runs the draw; the citizen sees the
result and confirms; the official marks attendance, enters the record, the citizen confirms it,
and the official publishes the report. Real forms with CSRF tokens, on a live server.

Time cannot be frozen in the server's thread, so between steps the test moves the hearing's
dates as the calendar would have (registration closes; the hearing day comes).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from portal.auth import operations as auth_ops
from portal.auth.models import Role
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.hearings import operations
from portal.hearings.models import Hearing
from tests.conftest import PASSWORD
from tests.hearings.conftest import add_pdf, hearing_fields


@pytest.fixture
def world(live_app):
    with live_app.app_context():
        department = auth_ops.create_department(None, code="swj", name="市水务局")
        official = auth_ops.create_user(
            None,
            email="official@example.cn",
            display_name="刘清源",
            password=PASSWORD,
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        auth_ops.create_user(
            None,
            email="citizen@example.cn",
            display_name="王芳",
            password=PASSWORD,
            roles=[Role.CITIZEN],
            departments=[],
            confirmed=True,
        )
        decision = decision_ops.create_decision(official, department=department, title="关于调整水价的决定")
        decision_ops.publish_version(official, decision_ops.create_version(official, decision, body="第一条 水价。"))
        hearing = operations.create_hearing(official, decision, **hearing_fields(observer_seats=2))
        add_pdf(official, hearing)
        operations.publish_hearing(official, hearing)
        hearing_id = hearing.id
        db.session.commit()
    return hearing_id


def _move(app, hearing_id, **values):
    with app.app_context():
        db.session.execute(update(Hearing).where(Hearing.id == hearing_id).values(**values))
        db.session.commit()


def _login(page, base, email):
    page.goto(base + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def _logout(page):
    page.get_by_role("button", name="退出").click()


def test_register_draw_confirm_attend_record_report(page, live_app, live_url, world):
    hearing_id = world
    hearing_url = f"{live_url}/hearings/{hearing_id}"

    # A citizen finds the hearing in the list and registers.
    _login(page, live_url, "citizen@example.cn")
    page.get_by_role("link", name="听证会", exact=True).click()
    page.get_by_role("link", name="水价调整听证会").click()
    expect(page.get_by_text("报名中")).to_be_visible()
    page.get_by_role("link", name="报名参加听证").click()
    page.get_by_label("报名类别").select_option("consumers")
    page.get_by_label("真实姓名").fill("王芳")
    page.get_by_label("联系方式").fill("13900001111")
    page.get_by_label("公布名单时使用的姓名").fill("王女士")
    page.get_by_label("对决策草案的立场").select_option("oppose")
    page.get_by_label("观点陈述").fill("第一档水价上调幅度偏大。")
    page.get_by_role("button", name="提交报名").click()
    expect(page.get_by_text("报名已提交")).to_be_visible()
    expect(page.get_by_text("已报名,待抽选")).to_be_visible()
    _logout(page)

    # Registration closes; the official runs the draw.
    now = utcnow()
    _move(
        live_app,
        hearing_id,
        registration_opens_at=now - timedelta(hours=3),
        registration_closes_at=now - timedelta(minutes=1),
    )
    _login(page, live_url, "official@example.cn")
    page.goto(f"{hearing_url}/manage")
    page.get_by_role("button", name="进行抽选").click()
    expect(page.get_by_role("heading", name="抽选结果")).to_be_visible()
    seed = page.locator("dt:has-text('种子') + dd code").inner_text()
    assert len(seed) == 64
    _logout(page)

    # The citizen sees the result and confirms.
    _login(page, live_url, "citizen@example.cn")
    page.goto(hearing_url)
    expect(page.get_by_role("table", name="参加人(姓名或经同意的化名)")).to_contain_text("王女士")
    page.get_by_role("button", name="确认参加").click()
    expect(page.get_by_text("已确认参加。")).to_be_visible()
    _logout(page)

    # The hearing day: the official marks attendance and enters the record.
    _move(live_app, hearing_id, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=30))
    _login(page, live_url, "official@example.cn")
    page.goto(f"{hearing_url}/manage")
    page.get_by_label("王芳", exact=False).check()
    page.get_by_role("button", name="保存出席情况").click()
    expect(page.get_by_text("已登记出席")).to_be_visible()
    page.get_by_role("link", name="录入听证笔录").click()
    page.get_by_label("听证笔录").fill("## 笔录\n\n王女士:第一档水价上调幅度偏大。")
    page.get_by_role("button", name="录入笔录").click()
    expect(page.get_by_text("听证笔录已录入")).to_be_visible()
    _logout(page)

    # The citizen confirms the record.
    _login(page, live_url, "citizen@example.cn")
    page.goto(hearing_url)
    page.get_by_role("link", name="阅读并确认听证笔录").click()
    expect(page.get_by_text("第一档水价上调幅度偏大")).to_be_visible()
    page.get_by_role("button", name="确认笔录无误").click()
    expect(page.get_by_text("已确认笔录。")).to_be_visible()
    _logout(page)

    # The official publishes the report; it is on the hearing page.
    _login(page, live_url, "official@example.cn")
    page.goto(f"{hearing_url}/report")
    page.get_by_label("听证报告").fill("听证会如期举行,参加人 1 人出席。")
    page.get_by_label("反对方意见及处理情况").fill("建议降低调价幅度。处理:部分采纳。")
    page.get_by_role("button", name="发布听证报告").click()
    expect(page.get_by_role("heading", name="听证报告", exact=True)).to_be_visible()
    expect(page.get_by_text("处理:部分采纳")).to_be_visible()
