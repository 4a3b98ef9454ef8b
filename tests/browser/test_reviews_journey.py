"""Journey in Chromium: an expert declares no interest and files a review; a legal reviewer passes
the draft; leaders record their opinions and the head decides; the public sees the result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.auth import operations as auth_ops
from portal.auth.models import Role
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftVersion, Stage
from portal.reviews import operations as ops
from portal.reviews.models import ASPECT_CODES
from portal.reviews.rules import local_date
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _user(email, name, role, department=None):
    return auth_ops.create_user(
        None,
        email=email,
        display_name=name,
        password=PASSWORD,
        roles=[role],
        departments=[department] if department else [],
        confirmed=True,
    )


@pytest.fixture
def world(live_app):
    with live_app.app_context():
        water = auth_ops.create_department(None, code="swj", name="市水务局")
        official = _user("official@example.cn", "王承办", Role.OFFICIAL, water)
        expert = _user("expert@example.cn", "陈立群", Role.EXPERT)
        _user("legal@example.cn", "赵法明", Role.LEGAL_REVIEWER)
        head = _user("head@example.cn", "周市长", Role.LEADER)
        members = [_user(f"m{i}@example.cn", name, Role.LEADER) for i, name in enumerate(("钱副市长", "郑副市长"))]
        decision = Decision(
            slug="journey-water",
            title="关于调整城市居民生活用水价格的决定",
            department=water,
            category="water",
            stage=Stage.EXPERT_REVIEW.value,
        )
        db.session.add(decision)
        db.session.add(
            DraftVersion(decision=decision, number=1, body="第一条 正文。", status="published", published_at=utcnow())
        )
        db.session.flush()
        profile = ops.create_profile(official, expert, field="价格管理", organisation="市财经大学")
        ops.assign_expert(official, decision, profile)
        db.session.commit()
        return {"slug": decision.slug, "official": official.id, "head": head.id, "members": [m.id for m in members]}


def _login(page, url, email):
    page.goto(url + "/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def _logout(page):
    page.get_by_role("button", name="退出").click()


def _advance_to_legality_and_submit(live_app, slug):
    with live_app.app_context():
        from portal.auth.models import user_by_email

        decision = db.session.query(Decision).filter_by(slug=slug).one()
        official = user_by_email("official@example.cn")
        decision.move_to(Stage.LEGALITY_REVIEW)
        ops.save_materials(official, decision, comment_report_url="/r", expert_adoption="全部采纳。")
        review = ops.submit_for_legality_review(official, decision, materials="草案及说明")
        review.submitted_at = utcnow() - timedelta(days=21)  # the reviewer had the working days
        db.session.commit()


def _schedule(live_app, slug):
    with live_app.app_context():
        from portal.auth.models import user_by_email

        decision = db.session.query(Decision).filter_by(slug=slug).one()
        decision.move_to(Stage.DELIBERATION)
        head = user_by_email("head@example.cn")
        members = [user_by_email("m0@example.cn"), user_by_email("m1@example.cn")]
        meeting = ops.schedule_meeting(
            user_by_email("official@example.cn"),
            decision,
            kind="executive",
            meeting_date=local_date(),
            head=head,
            attendees=[head, *members],
        )
        db.session.commit()
        return meeting.id


def test_review_legality_and_collective_decision(page, live_url, live_app, world):
    slug = world["slug"]

    # The expert declares no direct interest, then files and signs the review.
    _login(page, live_url, "expert@example.cn")
    page.get_by_role("link", name="我的论证").click()
    page.get_by_role("link", name="去声明").click()
    page.get_by_label("本人与该决策事项无直接利害关系", exact=False).check()
    page.get_by_role("button", name="提交声明").click()
    expect(page.get_by_text("声明已记录")).to_be_visible()
    for code in ASPECT_CODES:
        page.locator(f"input[name={code}_rating][value=none]").check()
        page.locator(f"textarea[name={code}_text]").fill(f"{code}:论证充分。")
    page.get_by_label("有条件赞成").check()
    page.get_by_label("条件", exact=True).fill("减免政策与调价同步实施。")
    page.get_by_label("我确认以上意见由本人独立作出", exact=False).check()
    page.get_by_role("button", name="签署并提交").click()
    expect(page.get_by_text("论证意见已签署提交")).to_be_visible()
    expect(page.get_by_text("与签署时一致")).to_be_visible()
    _logout(page)

    # The legal reviewer passes the draft.
    _advance_to_legality_and_submit(live_app, slug)
    _login(page, live_url, "legal@example.cn")
    page.get_by_role("link", name="合法性审查").first.click()
    page.get_by_role("link", name="出具审查意见").click()
    page.get_by_label("合法,通过").check()
    page.get_by_label("审查意见").fill("草案符合《价格法》的规定。")
    page.get_by_role("button", name="出具审查意见").click()
    expect(page.get_by_text("合法性审查意见已出具")).to_be_visible()
    _logout(page)

    # The members speak, one dissenting; the head speaks last and decides.
    meeting_id = _schedule(live_app, slug)
    for email, position, statement in (
        ("m0@example.cn", "同意", "同意。"),
        ("m1@example.cn", "不同意", "不同意,涨幅过大。"),
    ):
        _login(page, live_url, email)
        page.get_by_role("link", name="集体讨论").first.click()
        page.get_by_role("link", name=local_date().isoformat()).click()
        page.get_by_label(position, exact=True).check()
        page.get_by_label("发言内容(如实记录)").fill(statement)
        page.get_by_role("button", name="记录我的意见").click()
        expect(page.get_by_text("您的意见已如实记录")).to_be_visible()
        _logout(page)
    _login(page, live_url, "head@example.cn")
    page.goto(f"{live_url}/meetings/{meeting_id}")
    page.get_by_label("通过", exact=True).check()
    page.get_by_label("行政首长意见").fill("同意通过。")
    page.get_by_label("会议纪要(内部)").fill("完整会议纪要。")
    page.get_by_label("公开摘要").fill("常务会议讨论通过。")
    page.get_by_role("button", name="作出决定并结束会议").click()
    expect(page.get_by_text("决定已记录,会议结束")).to_be_visible()
    _logout(page)

    # The public sees the outcome, who dissented, and not the internal minutes.
    page.goto(f"{live_url}/meetings/{meeting_id}")
    expect(page.get_by_text("常务会议讨论通过。")).to_be_visible()
    expect(page.get_by_text("郑副市长", exact=False).first).to_be_visible()
    assert "完整会议纪要" not in page.content()
    page.goto(f"{live_url}/decisions/{slug}/committee")
    expect(page.get_by_text("已决定")).to_be_visible()
