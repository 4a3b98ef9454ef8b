"""Demo hearings, each made through the normal operations (past steps run under a set clock):

- the water-price decision (``2026-water-price``): consumers 6 (at least 2/5), operators 3,
  experts 2, others 1; registrations, a completed draw, some confirmations and a promotion;
- the education-fees decision: registration open, registrations waiting for the draw;
- a taxi-fare decision of this step's own: a hearing held, with record confirmed and report.

Idempotent: a decision that already has a hearing is left alone.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.auth import operations as auth_ops
from portal.auth.models import Role, User, department_by_code, user_by_email
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.decisions.models import Decision
from portal.hearings import operations
from portal.hearings.models import Hearing, Position, clock_set_to
from portal.hearings.operations import CategorySpec

CITIZEN_PASSWORD = "Tingzheng-2026-demo"  # noqa: S105 (demo accounts, printed by seed-demo)
CITIZENS = [
    ("tz.wangfang@demo.gov.cn", "王芳"),
    ("tz.lina@demo.gov.cn", "李娜"),
    ("tz.zhangwei@demo.gov.cn", "张伟"),
    ("tz.liuyang@demo.gov.cn", "刘洋"),
    ("tz.chenjie@demo.gov.cn", "陈杰"),
    ("tz.yangfan@demo.gov.cn", "杨帆"),
    ("tz.zhaoli@demo.gov.cn", "赵丽"),
    ("tz.huangyong@demo.gov.cn", "黄勇"),
    ("tz.zhouping@demo.gov.cn", "周萍"),
    ("tz.wuhua@demo.gov.cn", "吴华"),
    ("tz.xuming@demo.gov.cn", "徐明"),
    ("tz.sunli@demo.gov.cn", "孙莉"),
    ("tz.majun@demo.gov.cn", "马骏"),
    ("tz.zhuhong@demo.gov.cn", "朱红"),
    ("tz.hulin@demo.gov.cn", "胡林"),
    ("tz.guoqiang@demo.gov.cn", "郭强"),
]

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

SELECTION_METHOD = (
    "参加人按类别报名。报名截止后,由承办单位在网上公开抽选:报名开始前公布随机种子的 SHA-256 承诺值,"
    "抽选时公开种子,每个类别按“SHA-256(种子:类别代码:报名编号)”从小到大排序,排在前面的入选,其余按顺序候补。"
    "报名人数不超过席位数的类别全部入选。任何人都可以用公开数据复核抽选结果。旁听席先到先得。"
)

WATER_CATEGORIES = [
    CategorySpec("consumers", "消费者", 6, Fraction(2, 5)),
    CategorySpec("operators", "经营者", 3),
    CategorySpec("experts", "专家学者", 2),
    CategorySpec("others", "其他利害关系人", 1),
]

STATEMENTS = {
    Position.SUPPORT: "调价有利于供水企业改善管网、降低漏损,支持分步实施。",
    Position.OPPOSE: "物价上涨压力大,第一档水价上调幅度偏高,建议暂缓或降低幅度。",
    Position.NEUTRAL: "希望公开供水成本监审的全部数据,再评估调价幅度是否合理。",
}


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def _local_day(days: int, hour: int, minute: int = 0) -> datetime:
    """``days`` from today at the given local time, as aware UTC."""
    local = (utcnow() + timedelta(days=days)).astimezone(_zone())
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(ZoneInfo("UTC"))


def _citizens() -> tuple[list[User], list[str]]:
    users, lines = [], []
    for email, name in CITIZENS:
        user = user_by_email(email)
        if user is None:
            user = auth_ops.create_user(
                None,
                email=email,
                display_name=name,
                password=CITIZEN_PASSWORD,
                roles=[Role.CITIZEN],
                departments=[],
                confirmed=True,
            )
            lines.append(f"user {email} / {CITIZEN_PASSWORD} (citizen)")
        users.append(user)
    return users, lines


def _official_of(decision: Decision, email: str, name: str) -> tuple[User, str | None]:
    for member in decision.department.members:
        if member.has_role(Role.OFFICIAL):
            return member, None
    user = user_by_email(email)
    if user is None:
        user = auth_ops.create_user(
            None,
            email=email,
            display_name=name,
            password="Chengban-2026-demo",  # noqa: S106 (demo account)
            roles=[Role.OFFICIAL],
            departments=[decision.department],
            confirmed=True,
        )
        return user, f"user {email} / Chengban-2026-demo (official, {decision.department.code})"
    return user, None


def _decision(slug: str, *, department_code: str, title: str, summary: str, category: str, body: str):
    """The decision with ``slug``, or one made here (with a published version) when missing."""
    found = db.session.scalar(select(Decision).where(Decision.slug == slug))
    if found is not None:
        return found, []
    department = department_by_code(department_code)
    if department is None:
        return None, [f"hearings: department {department_code} missing, {slug} skipped"]
    official = user_by_email(f"official.{department_code}@demo.gov.cn")
    lines = []
    if official is None:
        official = auth_ops.create_user(
            None,
            email=f"official.{department_code}@demo.gov.cn",
            display_name=f"{department.name}承办人",
            password="Chengban-2026-demo",  # noqa: S106 (demo account)
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        lines.append(f"user official.{department_code}@demo.gov.cn / Chengban-2026-demo (official)")
    decision = decision_ops.create_decision(
        official, department=department, title=title, slug=slug, summary=summary, category=category
    )
    version = decision_ops.create_version(official, decision, body=body, explanation="起草说明见附件。")
    decision_ops.publish_version(official, version)
    lines.append(f"decision {slug} {title}")
    return decision, lines


def _has_hearing(decision: Decision) -> bool:
    return db.session.scalar(select(Hearing.id).where(Hearing.decision_id == decision.id).limit(1)) is not None


def _material(official: User, hearing: Hearing, title: str) -> None:
    upload = FileStorage(io.BytesIO(DEMO_PDF), filename=f"{title}.pdf")
    operations.add_material(official, hearing, upload, title=title)


def _register(hearing: Hearing, users: list[User], plan: list[tuple[str, Position]]) -> list:
    registrations = []
    for user, (code, position) in zip(users, plan, strict=False):
        registrations.append(
            operations.register(
                user,
                hearing,
                category_code=code,
                real_name=user.display_name,
                contact=f"1380000{user.id:04d}",
                public_name=user.display_name if len(registrations) % 3 else user.display_name[0] + "某",
                position=position.value,
                statement=STATEMENTS[position],
                has_interest=code == "operators",
                interest_declaration="本人在供水企业工作。" if code == "operators" else "",
                accessibility_needs="需要轮椅通道" if len(registrations) == 2 else "",
            )
        )
    return registrations


def seed_hearings() -> Iterator[str]:
    """The three demo hearings (see the module docstring)."""
    citizens, lines = _citizens()
    yield from lines
    db.session.flush()
    now = utcnow()

    # 1. Water prices: registrations, a completed draw, confirmations, one decline and a promotion.
    water, lines = _decision(
        "2026-water-price",
        department_code="swj",
        title="关于调整城市居民生活用水价格的决定(征求意见稿)",
        summary="拟调整居民生活用水阶梯价格。",
        category="water",
        body="第一条 居民生活用水实行阶梯水价。\n\n第二条 第一档水价每立方米 3.55 元。",
    )
    yield from lines
    if water is not None and not _has_hearing(water):
        official, line = _official_of(water, "official.water@demo.gov.cn", "刘清源")
        if line:
            yield line
        starts = _local_day(10, 9, 30)
        with clock_set_to(now - timedelta(days=12)):
            hearing = operations.create_hearing(
                official,
                water,
                title="城市居民生活用水价格调整听证会",
                purpose="就《关于调整城市居民生活用水价格的决定(征求意见稿)》听取消费者、经营者、专家学者等各方意见,"
                "重点听取第一档水价调整幅度、减免政策和分步实施安排的意见。",
                agenda="1. 主持人宣布听证纪律\n2. 定价机关介绍调价方案和成本监审情况\n3. 参加人依次发言\n"
                "4. 互相质证、辩论\n5. 参加人最后陈述",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                place="市政务服务中心三楼听证室(人民路 100 号)",
                stream_url="https://live.example.gov.cn/hearings/water-2026",
                observer_seats=20,
                registration_opens_at=now - timedelta(days=12),
                registration_closes_at=now - timedelta(days=2),
                selection_method=SELECTION_METHOD,
                categories=WATER_CATEGORIES,
            )
            _material(official, hearing, "城市供水定价成本监审报告(摘要)")
            _material(official, hearing, "居民生活用水价格调整方案说明")
            operations.publish_hearing(official, hearing)
        plan = [("consumers", Position.OPPOSE)] * 4 + [("consumers", Position.SUPPORT)] * 2
        plan += [("consumers", Position.NEUTRAL)] * 2 + [("operators", Position.SUPPORT)] * 3
        plan += [("experts", Position.NEUTRAL)] * 2 + [("others", Position.OPPOSE)] * 2
        with clock_set_to(now - timedelta(days=10)):
            _register(hearing, citizens, plan)
        with clock_set_to(now - timedelta(days=1)):
            operations.run_draw(official, hearing)
        seated = operations.seated(hearing)
        with clock_set_to(now - timedelta(hours=12)):
            for registration in seated[:5]:
                operations.respond_to_selection(registration.user, registration, accept=True)
            operations.respond_to_selection(seated[5].user, seated[5], accept=False)
        yield f"hearing {hearing.slug}: {len(plan)} registrations, drawn, commitment {hearing.commitment[:16]}…"

    # 2. Education fees: registration open, registrations waiting for the draw.
    education, lines = _decision(
        "2026-compulsory-education-fees",
        department_code="jyj",
        title="关于规范义务教育阶段课后服务收费的意见(征求意见稿)",
        summary="拟规范课后服务收费标准和减免办法。",
        category="education",
        body="第一条 课后服务坚持自愿参加原则。\n\n第二条 课后服务费按成本补偿原则确定。",
    )
    yield from lines
    if education is not None and not _has_hearing(education):
        official, line = _official_of(education, "official.edu@demo.gov.cn", "李秀英")
        if line:
            yield line
        starts = _local_day(30, 14, 30)
        hearing = operations.create_hearing(
            official,
            education,
            title="义务教育课后服务收费听证会",
            purpose="听取家长、学校、专家学者对课后服务收费标准和困难家庭减免办法的意见。",
            agenda="1. 介绍收费方案\n2. 参加人发言\n3. 质证与辩论\n4. 最后陈述",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2, minutes=30),
            place="市教育局一楼会议室(文教路 8 号)",
            stream_url=None,
            observer_seats=10,
            registration_opens_at=now,
            registration_closes_at=starts - timedelta(days=12),
            selection_method=SELECTION_METHOD.replace("旁听席先到先得。", "旁听席先到先得,额满为止。"),
            categories=[
                CategorySpec("parents", "学生家长", 5, Fraction(2, 5)),
                CategorySpec("schools", "学校代表", 2),
                CategorySpec("experts", "专家学者", 2),
                CategorySpec("others", "其他", 1),
            ],
        )
        _material(official, hearing, "课后服务成本测算说明")
        operations.publish_hearing(official, hearing)
        plan = [("parents", Position.OPPOSE), ("parents", Position.SUPPORT), ("parents", Position.NEUTRAL)]
        plan += [("schools", Position.SUPPORT), ("experts", Position.NEUTRAL), ("others", Position.OPPOSE)]
        _register(hearing, citizens[4:], plan)
        operations.book_observer(citizens[0], hearing, real_name=citizens[0].display_name, contact="13800000000")
        yield f"hearing {hearing.slug}: registration open, {len(plan)} registrations"

    # 3. Taxi fares: held, transcript confirmed (one objection), report published.
    taxi, lines = _decision(
        "2026-taxi-fares",
        department_code="jtj",
        title="关于调整巡游出租汽车运价的方案(征求意见稿)",
        summary="拟将巡游出租汽车起步价由 10 元调整为 12 元,并建立运价与燃料价格联动机制。",
        category="transport",
        body="第一条 起步价由 10 元调整为 12 元(含 3 公里)。\n\n第二条 建立运价与燃料价格联动机制。",
    )
    yield from lines
    if taxi is not None and not _has_hearing(taxi):
        official, line = _official_of(taxi, "official.jtj@demo.gov.cn", "交通运输局承办人")
        if line:
            yield line
        t0 = now - timedelta(days=45)
        starts = _local_day(-25, 9, 0)
        with clock_set_to(t0):
            hearing = operations.create_hearing(
                official,
                taxi,
                title="巡游出租汽车运价调整听证会",
                purpose="听取乘客、出租汽车企业和驾驶员、专家学者对运价调整和联动机制的意见。",
                agenda="1. 介绍方案\n2. 参加人发言\n3. 质证与辩论\n4. 最后陈述",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                place="市交通运输局听证室(解放路 20 号)",
                stream_url=None,
                observer_seats=15,
                registration_opens_at=t0,
                registration_closes_at=t0 + timedelta(days=8),
                selection_method=SELECTION_METHOD,
                categories=[
                    CategorySpec("passengers", "乘客", 5, Fraction(2, 5)),
                    CategorySpec("operators", "经营者", 2),
                    CategorySpec("experts", "专家学者", 2),
                    CategorySpec("others", "其他", 1),
                ],
            )
            _material(official, hearing, "出租汽车运营成本监审报告")
            operations.publish_hearing(official, hearing)
        plan = [("passengers", Position.OPPOSE)] * 3 + [("passengers", Position.SUPPORT)] * 3
        plan += (
            [("operators", Position.SUPPORT)] * 2 + [("experts", Position.NEUTRAL)] * 2 + [("others", Position.OPPOSE)]
        )
        with clock_set_to(t0 + timedelta(days=1)):
            _register(hearing, citizens[5:], plan)
        with clock_set_to(t0 + timedelta(days=9)):
            operations.run_draw(official, hearing)
        with clock_set_to(t0 + timedelta(days=10)):
            for registration in operations.seated(hearing):
                operations.respond_to_selection(registration.user, registration, accept=True)
        seated = operations.seated(hearing)
        with clock_set_to(starts + timedelta(minutes=30)):
            operations.mark_attendance(official, hearing, present=[r.id for r in seated[:-1]])
        with clock_set_to(starts + timedelta(days=1)):
            operations.record_transcript(
                official,
                hearing,
                transcript="## 听证笔录\n\n时间:见公告。地点:见公告。\n\n主持人宣布听证开始……\n\n"
                "(参加人发言要点按发言顺序记录,略)\n\n主持人宣布听证结束。",
            )
        attendees = [r for r in seated if r.attended]
        with clock_set_to(starts + timedelta(days=2)):
            for registration in attendees[:-1]:
                operations.respond_to_record(registration.user, hearing, confirm=True)
            operations.respond_to_record(
                attendees[-1].user, hearing, confirm=False, objection="笔录遗漏了我关于夜间附加费的发言,请补充。"
            )
        with clock_set_to(starts + timedelta(days=5)):
            operations.publish_report(
                official,
                hearing,
                body="听证会于公告时间举行,参加人 9 人出席。"
                "多数参加人同意适当调整运价,同时要求联动机制公开透明、设置上限。",
                support="支持方认为运价八年未调整,驾驶员收入下降。处理:采纳,按方案调整起步价。",
                oppose="反对方担心增加市民出行负担。处理:部分采纳,联动机制设置每年调整幅度上限。",
                neutral="中立方要求公开成本监审报告全文。处理:采纳,已在听证材料中公开。",
            )
        yield f"hearing {hearing.slug}: held, record confirmed, report published"
