"""Journey: the spokesperson schedules a release (published by the clock), publishes another and
appends a correction; a visitor opens the accountability page, looks up a person, downloads the
archive, and the archive verifies."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.auth import operations as auth_ops
from portal.auth.models import Role, User
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.decisions.models import ORDER, Stage
from portal.releases import operations as release_ops
from portal.releases.forms import to_local_naive
from portal.releases.models import Release
from portal.reviews import operations as review_ops
from portal.reviews.rules import local_date
from tests.browser.axe import AXE, violations

PASSWORD = "Journey-pass-2026"
BODY = "# 关于调整公共停车场收费标准的决定\n\n第一条 一类区域首小时8元。\n"


def _user(email, name, role, departments=()):
    return auth_ops.create_user(
        None,
        email=email,
        display_name=name,
        password=PASSWORD,
        roles=[role],
        departments=list(departments),
        confirmed=True,
    )


def _published_decision_with_dissent() -> str:
    """A decision taken through its meeting (one member dissents) and published; returns its slug."""
    fgw = auth_ops.create_department(None, code="fgw", name="市发展和改革委员会")
    bgt = auth_ops.create_department(None, code="bgt", name="市政府办公厅")
    official = _user("official@example.cn", "王建国", Role.OFFICIAL, [fgw])
    _user("spokesperson@example.cn", "孙晓明", Role.SPOKESPERSON, [bgt])
    legal = _user("legal@example.cn", "赵法明", Role.LEGAL_REVIEWER)
    head, agree, dissent = (
        _user(f"leader{i}@example.cn", n, Role.LEADER) for i, n in enumerate(("周市长", "钱副市长", "郑副市长"))
    )
    db.session.flush()
    decision = decision_ops.create_decision(
        official, department=fgw, title="关于调整公共停车场收费标准的决定", slug="parking", responsible=[official]
    )
    version = decision_ops.create_version(official, decision, body=BODY, explanation="起草说明。")
    decision_ops.publish_version(official, version)
    while decision.stage != Stage.LEGALITY_REVIEW.value:
        decision.move_to(ORDER[ORDER.index(Stage(decision.stage)) + 1])
    review_ops.save_materials(official, decision, comment_report_url="/x/report", expert_adoption="采纳。")
    submission = review_ops.submit_for_legality_review(official, decision, materials="草案及说明")
    submission.submitted_at = utcnow() - timedelta(days=21)
    db.session.flush()
    review_ops.file_legality_opinion(legal, submission, result="pass", opinion="合法。")
    decision.move_to(Stage.DELIBERATION)
    meeting = review_ops.schedule_meeting(
        official, decision, kind="executive", meeting_date=local_date(), head=head, attendees=[head, agree, dissent]
    )
    review_ops.record_opinion(agree, meeting, position="agree", statement="同意。")
    review_ops.record_opinion(dissent, meeting, position="dissent", statement="不同意,涨幅过大。")
    review_ops.record_decision(
        head, meeting, outcome="adopt", statement="通过。", minutes="纪要。", public_summary="通过。"
    )
    release_ops.publish_decision(
        official,
        decision,
        title="关于调整公共停车场收费标准的决定",
        document_number="某政发〔2026〕18号",
        final_text=BODY,
        effective_date=release_ops.local_today() + timedelta(days=30),
        public_adoption="采纳5条。",
        expert_adoption="专家赞成。",
    )
    db.session.commit()
    return decision.slug


def _login(page, live_url, email):
    page.goto(live_url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit].primary")
    expect(page.locator("form[action='/logout'] button")).to_be_visible()


def _write_release(page, live_url, slug, title, body):
    page.goto(live_url + "/releases/new")
    page.get_by_label("稿件类型").select_option("news")
    page.get_by_label("关联决策事项(网址名称)").fill(slug)
    page.get_by_label("标题").fill(title)
    page.get_by_label("正文").fill(body)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("稿件已保存为草稿")).to_be_visible()


def test_release_schedule_correct_and_accountability(page, live_url, live_app, tmp_path):
    with live_app.app_context():
        slug = _published_decision_with_dissent()

    _login(page, live_url, "spokesperson@example.cn")

    # A release scheduled for later is not public until its time.
    _write_release(page, live_url, slug, "停车收费答记者问", "新标准施行前将在入口公示。")
    with live_app.app_context():
        later = to_local_naive(utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("发布时间").fill(later)
    page.get_by_role("button", name="设置定时发布").click()
    expect(page.get_by_text("已设置定时发布")).to_be_visible()
    page.goto(live_url + "/releases")
    expect(page.get_by_role("link", name="停车收费答记者问")).to_have_count(0)
    with live_app.app_context():  # an hour passes
        db.session.execute(sa.update(Release).values(scheduled_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    page.reload()
    expect(page.get_by_role("link", name="停车收费答记者问")).to_be_visible()

    # Another is published at once, then corrected; the original stays readable.
    _write_release(page, live_url, slug, "常务会议通过停车收费调整", "医院周边首15分钟免费。")
    page.get_by_role("button", name="立即发布").click()
    expect(page.get_by_text("稿件已发布")).to_be_visible()
    page.get_by_role("link", name="追加更正").click()
    page.get_by_label("更正说明").fill("免费时段应为30分钟。")
    page.get_by_label("更正后的正文").fill("医院周边首30分钟免费。")
    page.get_by_role("button", name="发布更正").click()
    expect(page.get_by_text("更正已发布")).to_be_visible()
    expect(page.get_by_role("heading", name="更正说明")).to_be_visible()
    expect(page.get_by_text("医院周边首30分钟免费。")).to_be_visible()
    page.get_by_role("link", name="查看更正前的文本").click()
    expect(page.get_by_text("医院周边首15分钟免费。")).to_be_visible()
    page.get_by_role("button", name="退出").click()

    # A visitor follows the chain of responsibility.
    page.goto(live_url + f"/decisions/{slug}")
    page.get_by_role("link", name="查看责任记录").click()
    expect(page.get_by_role("heading", name=re.compile("责任记录:"))).to_be_visible()
    expect(page.get_by_text(re.compile("责任记录链校验通过"))).to_be_visible()
    expect(page.get_by_text("持不同意见").first).to_be_visible()

    page.get_by_role("link", name="责任倒查").first.click()
    page.get_by_label("姓名").fill("郑副")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name="郑副市长").click()
    expect(page.get_by_role("heading", name="郑副市长")).to_be_visible()
    expect(page.get_by_text("持不同意见(已记录在案)")).to_be_visible()

    page.get_by_role("link", name="关于调整公共停车场收费标准的决定").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("下载决策档案")).click()
    path = tmp_path / "archive.zip"
    download_info.value.save_as(path)
    with live_app.app_context():
        from portal.accountability.archive import verify_archive

        assert verify_archive(str(path)) == []


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (make test runs npm ci)")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_pages_have_no_serious_accessibility_violations(chromium, live_url, live_app, lang):
    with live_app.app_context():
        slug = _published_decision_with_dissent()
        spokesperson = db.session.scalar(sa.select(User).where(User.email == "spokesperson@example.cn"))
        release = release_ops.create_release(spokesperson, kind="news", title="通稿", body="正文。")
        release_ops.publish_release(spokesperson, release)
        release_ops.correct_release(spokesperson, release, note="更正。", body="更正后的正文。")
        db.session.commit()
        release_id = release.id
        dissenter = db.session.scalar(sa.select(User.id).where(User.display_name == "郑副市长"))
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "lang", "value": lang, "url": live_url}])
    page = context.new_page()
    pages = [
        "/releases",
        f"/releases/{release_id}",
        f"/releases/{release_id}/texts/0",
        f"/decisions/{slug}/publication",
        f"/decisions/{slug}/accountability",
        f"/decisions/{slug}/implementation",
        "/people?q=郑",
        f"/people/{dissenter}",
        "/checkpoints",
    ]
    problems = {}
    for path in pages:
        page.goto(live_url + path)
        if found := violations(page):
            problems[path] = found
    _login(page, live_url, "spokesperson@example.cn")
    for path in ["/releases/new", "/releases/manage", f"/releases/{release_id}/correct"]:
        page.goto(live_url + path)
        if found := violations(page):
            problems[path] = found
    context.close()
    assert problems == {}
