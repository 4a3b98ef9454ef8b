"""Demo data of the review steps (idempotent):

- experts with profiles and declared interests (one of them conflicted with the water-price decision);
- the water-price decision (``2026-water-price``) waiting for reviews: two signed (one amended),
  one expert not yet declared;
- a bus-fare decision blocked at the legality review (the reviewer found it unlawful);
- a parking-charges decision decided at an executive meeting with one recorded dissent.

Demo timestamps: the legality submissions are dated back so that the working-days rule is met (or
visibly not met) today; everything else happens when the step runs, through the normal operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from portal import trace
from portal.auth import operations as auth_ops
from portal.auth.models import Role, department_by_code, user_by_email
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision, Stage
from portal.reviews import operations as ops
from portal.reviews import queries
from portal.reviews.models import CommitteeMember, ExpertProfile, Rating
from portal.reviews.rules import local_date

EXPERT_PASSWORD = "Lunzheng-2026-demo"  # noqa: S105 (demo accounts, printed by seed-demo)
LEADER_PASSWORD = "Jueding-2026-demo"  # noqa: S105

#: email, name, field, title, organisation, declared interests
EXPERTS = [
    ("expert@demo.gov.cn", "陈立群", "价格管理", "教授", "市财经大学", [("organisation", "市财经大学资产经营公司")]),
    (
        "expert.water@demo.gov.cn",
        "林水生",
        "水利工程",
        "正高级工程师",
        "省水利水电勘测设计研究院",
        [("subject", "水库移民")],
    ),
    ("expert.law@demo.gov.cn", "方正", "行政法学", "教授", "市行政学院", []),
    ("expert.social@demo.gov.cn", "黄晓燕", "社会学", "研究员", "市社会科学院", [("organisation", "市教育局")]),
    (
        "expert.utility@demo.gov.cn",
        "孙启明",
        "供水工程",
        "高级工程师",
        "市水务集团",
        [("subject", "水价"), ("organisation", "市水务局")],
    ),
    ("expert.traffic@demo.gov.cn", "何远航", "交通运输规划", "教授", "市交通大学", [("organisation", "市公交集团")]),
]

#: email, name (the demo head 周市长 exists already: leader@demo.gov.cn)
LEADERS = [
    ("leader.qian@demo.gov.cn", "钱副市长"),
    ("leader.zheng@demo.gov.cn", "郑副市长"),
    ("leader.feng@demo.gov.cn", "冯秘书长"),
]

WATER_SLUG = "2026-water-price"
BUS_SLUG = "2026-bus-fare"
PARKING_SLUG = "2026-parking-charges"


def _review(text: dict, recommendation: str, conditions: str = "", ratings: dict | None = None) -> dict:
    ratings = ratings or {}
    return {
        "aspects": {
            code: {"rating": ratings.get(code, Rating.NONE.value), "text": body} for code, body in text.items()
        },
        "recommendation": recommendation,
        "conditions": conditions,
    }


WATER_REVIEW_PRICE = _review(
    {
        "necessity": "经成本监审，单位供水成本已高于现行价格，调整具有必要性。",
        "feasibility": "分两步实施可以缓和居民负担，技术上可行。",
        "soundness": "成本测算方法符合《政府制定价格成本监审办法》，但折旧年限取值偏短。",
        "legality": "价格听证程序须在决定前完成。",
        "risks": "低收入家庭负担上升，减免措施须同步落实。",
        "cost_benefit": "户均月增支约4元，节水效益可观。",
    },
    "conditional",
    "1. 复核管网折旧年限；2. 减免政策与调价同日实施。",
    {"soundness": "minor", "risks": "minor"},
)
WATER_REVIEW_ENGINEERING_V1 = _review(
    {
        "necessity": "管网漏损率偏高，需要价格机制支持改造投入。",
        "feasibility": "第一档水量基数可以覆盖大多数家庭。",
        "soundness": "用水量分布数据来自2024年抄表，基本可靠。",
        "legality": "未发现问题。",
        "risks": "未发现重大风险。",
        "cost_benefit": "收入增加应专项用于管网改造。",
    },
    "support",
)
WATER_REVIEW_ENGINEERING_V2 = _review(
    {
        **{k: v["text"] for k, v in WATER_REVIEW_ENGINEERING_V1["aspects"].items()},
        "feasibility": "第一档水量基数可以覆盖大多数家庭；多人口家庭的基数须依户籍数据核定，需与公安部门共享数据。",
    },
    "conditional",
    "建立多人口家庭水量基数核定的数据共享机制。",
    {"feasibility": "minor"},
)

FARE_REVIEW = _review(
    {
        "necessity": "公交票价多年未调整，企业亏损依赖财政补贴，调整有一定必要性。",
        "feasibility": "刷卡系统可在一个月内完成参数调整。",
        "soundness": "运营成本测算未区分线路，建议补充分线路数据。",
        "legality": "票价属政府定价，调整权限须符合《价格法》和地方定价目录。",
        "risks": "涨幅较大，通勤群体负担上升，可能引发不满。",
        "cost_benefit": "每年可减少财政补贴约1.2亿元。",
    },
    "conditional",
    "对低收入群体给予补贴；分阶段实施。",
    {"soundness": "minor", "risks": "significant"},
)

BUS_BODY = """# 关于调整城市公共汽车票价的决定（草案）

第一条 本市城市公共汽车普通线路票价由每人次1元调整为2元，空调线路由2元调整为3元。

第二条 持老年人优待证、残疾人证的乘客继续免费乘车；学生卡乘车享受五折优惠。

第三条 公交企业可以根据客流情况自行调整线路票价，报市交通运输局备案。

第四条 本决定自2027年7月1日起施行。
"""
BUS_EXPLANATION = "## 起草说明\n\n本市公交票价自2008年以来未作调整，公交企业运营亏损逐年扩大，财政补贴压力较大。"

PARKING_REVIEW = _review(
    {
        "necessity": "中心城区车位周转率低，差别化收费有助于缓解停车难。",
        "feasibility": "现有停车场均已安装电子收费设备。",
        "soundness": "分区方案依据停车位供需调查，方法适当。",
        "legality": "符合机动车停放服务收费管理的规定。",
        "risks": "医院周边停车负担上升，需设置免费时段。",
        "cost_benefit": "预计车位周转率提高30%。",
    },
    "support",
    "",
    {"risks": "minor"},
)

PARKING_BODY = """# 关于调整公共停车场收费标准的决定（草案）

第一条 本市中心城区公共停车场实行分区域、分时段差别化收费。

第二条 一类区域白天首小时收费由5元调整为8元，此后每小时6元；夜间每次收费不超过10元。

第三条 医院、学校周边停车场首15分钟免费。

第四条 本决定自2027年3月1日起施行。
"""
PARKING_EXPLANATION = "## 起草说明\n\n中心城区停车位供需矛盾突出，通过价格杠杆提高车位周转率，引导绿色出行。"


def _account(email: str, name: str, password: str, role: Role, departments=()) -> tuple:
    user = user_by_email(email)
    if user is not None:
        if not user.has_role(role):
            auth_ops.set_roles(None, user, sorted({*user.roles, role.value}))
        return user, None
    user = auth_ops.create_user(
        None,
        email=email,
        display_name=name,
        password=password,
        roles=[role],
        departments=list(departments),
        confirmed=True,
    )
    return user, f"user {email} / {password} ({role.value})"


def _experts() -> Iterator[str]:
    for email, name, field, title, organisation, interests in EXPERTS:
        user, line = _account(email, name, EXPERT_PASSWORD, Role.EXPERT)
        if line:
            yield line
        db.session.flush()
        if queries.profile_for_user(user) is not None:
            continue
        profile = ops.create_profile(None, user, field=field, title=title, organisation=organisation)
        for kind, value in interests:
            ops.declare_profile_interest(None, profile, kind=kind, value=value)
        yield f"expert {name} ({field}, {organisation})"


def _leaders() -> Iterator[str]:
    office = department_by_code("bgt")
    for email, name in LEADERS:
        _user, line = _account(email, name, LEADER_PASSWORD, Role.LEADER, [office] if office else [])
        if line:
            yield line
    db.session.flush()


def _profile(email: str) -> ExpertProfile:
    return queries.profile_for_user(user_by_email(email))


def _sit(decision: Decision, official, email: str, *, review: dict | None = None, amend: dict | None = None):
    """Assign an expert; optionally declare no interest, sign a review and amend it."""
    member = ops.assign_expert(official, decision, _profile(email))
    expert = user_by_email(email)
    if review is None:
        return member
    ops.declare_interest(expert, member, declaration="no_interest")
    first = ops.submit_review(expert, member, **review)
    if amend is not None:
        ops.amend_review(expert, member, supersedes=first, reason="补充数据共享方面的条件。", **amend)
    return member


def _move(actor, decision: Decision, target: Stage) -> None:
    """Demo shortcut along the procedure (recorded as a stage change like any other)."""
    previous = decision.move_to(target)
    db.session.flush()
    trace.record(
        actor,
        "decision.stage_changed",
        decision,
        department=decision.department_id,
        **{"from": previous.value, "to": target.value, "override": False},
        demo=True,
    )


def _new_decision(official, department, *, slug, title, summary, category, body, explanation, stability) -> Decision:
    from portal.decisions import operations as decision_ops

    decision = decision_ops.create_decision(
        official,
        department=department,
        title=title,
        slug=slug,
        summary=summary,
        category=category,
        legal_basis="《中华人民共和国价格法》；《重大行政决策程序暂行条例》。",
        affects_stability=stability,
        responsible=[official],
    )
    version = decision_ops.create_version(official, decision, body=body, explanation=explanation, change_note="")
    decision_ops.publish_version(official, version)
    for stage in (Stage.CONSULTATION, Stage.EXPERT_REVIEW):
        _move(official, decision, stage)
    return decision


def _water(water_official) -> Iterator[str]:
    decision = queries.decision_by_slug(WATER_SLUG)
    if decision is None:
        yield "reviews: decision 2026-water-price missing, its committee skipped"
        return
    if db.session.scalar(select(CommitteeMember.id).where(CommitteeMember.decision_id == decision.id).limit(1)):
        return
    if decision.stage not in ("drafting", "consultation", "hearing", "expert_review"):
        yield f"reviews: {WATER_SLUG} is at {decision.stage}, committee skipped"
        return
    _sit(decision, water_official, "expert@demo.gov.cn", review=WATER_REVIEW_PRICE)
    _sit(
        decision,
        water_official,
        "expert.water@demo.gov.cn",
        review=WATER_REVIEW_ENGINEERING_V1,
        amend=WATER_REVIEW_ENGINEERING_V2,
    )
    _sit(decision, water_official, "expert.law@demo.gov.cn")
    yield f"committee for {WATER_SLUG}: 3 experts, 2 reviews (1 amended), 1 waiting"


def _materials(official, decision: Decision) -> None:
    ops.save_materials(
        official,
        decision,
        comment_report_url=f"/decisions/{decision.slug}",
        expert_adoption="专家提出的条件已逐条吸收：减免措施与调价同步实施；增加实施后评估条款。",
    )


def _bus(official, department) -> Iterator[str]:
    if queries.decision_by_slug(BUS_SLUG) is not None:
        return
    decision = _new_decision(
        official,
        department,
        slug=BUS_SLUG,
        title="关于调整城市公共汽车票价的决定",
        summary="拟将普通线路票价由1元调整为2元，空调线路由2元调整为3元。",
        category="transport",
        body=BUS_BODY,
        explanation=BUS_EXPLANATION,
        stability=True,
    )
    for email in ("expert@demo.gov.cn", "expert.law@demo.gov.cn"):
        _sit(decision, official, email, review=FARE_REVIEW)
    _move(official, decision, Stage.RISK_ASSESSMENT)
    ops.record_risk_assessment(
        official,
        decision,
        level="medium",
        controllable=True,
        findings="票价翻倍可能引发通勤群体不满；经问卷调查，约六成受访者可以接受。",
        mitigation="对低收入群体发放公交补贴卡；分阶段调整；加强舆情监测。",
    )
    _move(official, decision, Stage.LEGALITY_REVIEW)
    _materials(official, decision)
    submission = ops.submit_for_legality_review(
        official, decision, materials="决策草案及起草说明；专家论证意见；风险评估报告；票价成本测算报告。"
    )
    submission.submitted_at = utcnow() - timedelta(days=5)
    db.session.flush()
    ops.file_legality_opinion(
        user_by_email("legal@demo.gov.cn"),
        submission,
        result="fail",
        opinion="草案第三条授权公交企业自行调整票价，违反《中华人民共和国价格法》关于政府定价权限的规定，不合法。",
    )
    yield f"decision {BUS_SLUG}: blocked at the legality review (fail)"


def _parking(official, department) -> Iterator[str]:
    if queries.decision_by_slug(PARKING_SLUG) is not None:
        return
    decision = _new_decision(
        official,
        department,
        slug=PARKING_SLUG,
        title="关于调整公共停车场收费标准的决定",
        summary="中心城区公共停车场实行分区域、分时段差别化收费，一类区域首小时8元。",
        category="price",
        body=PARKING_BODY,
        explanation=PARKING_EXPLANATION,
        stability=False,
    )
    for email in ("expert@demo.gov.cn", "expert.traffic@demo.gov.cn"):
        _sit(decision, official, email, review=PARKING_REVIEW)
    _move(official, decision, Stage.LEGALITY_REVIEW)
    _materials(official, decision)
    submission = ops.submit_for_legality_review(
        official, decision, materials="决策草案及起草说明；专家论证意见；停车位供需调查报告。"
    )
    submission.submitted_at = utcnow() - timedelta(days=21)
    db.session.flush()
    ops.file_legality_opinion(
        user_by_email("legal@demo.gov.cn"),
        submission,
        result="pass",
        opinion="草案符合《中华人民共和国价格法》和本省机动车停放服务收费管理办法的规定，制定程序合法。",
    )
    _move(official, decision, Stage.DELIBERATION)
    head = user_by_email("leader@demo.gov.cn")
    members = [user_by_email(email) for email, _name in LEADERS]
    meeting = ops.schedule_meeting(
        official, decision, kind="executive", meeting_date=local_date(), head=head, attendees=[head, *members]
    )
    ops.record_opinion(members[0], meeting, position="agree", statement="同意。建议加强收费公示。")
    ops.record_opinion(
        members[1],
        meeting,
        position="dissent",
        statement="不同意。一类区域首小时涨幅达60%，对就医、就学群众负担过重；建议首小时不超过6元，并先在两个区试点。",
    )
    ops.record_opinion(members[2], meeting, position="agree", statement="同意，请发展改革委做好政策解读。")
    ops.record_decision(
        head,
        meeting,
        outcome="adopt_with_changes",
        statement="原则通过。医院、学校周边免费时段延长至30分钟，实施一年后评估。",
        minutes="会议听取了市发展改革委的汇报，钱副市长、冯秘书长同意，郑副市长不同意（意见见记录）。会议决定修改后通过。",
        public_summary="市政府常务会议讨论通过《关于调整公共停车场收费标准的决定》，医院、学校周边免费时段延长至30分钟。",
    )
    yield f"decision {PARKING_SLUG}: decided at an executive meeting, one dissent recorded"


def seed_reviews() -> Iterator[str]:
    """Experts, leaders, a committee on the water-price decision, and two decisions further along."""
    yield from _experts()
    yield from _leaders()
    water_department = department_by_code("swj")
    members = water_department.members if water_department else []
    water_official = next((u for u in members if u.has_role(Role.OFFICIAL)), None)
    yield from _water(water_official)
    price_department = department_by_code("fgw")
    official = user_by_email("official@demo.gov.cn")
    if price_department is None or official is None or user_by_email("legal@demo.gov.cn") is None:
        yield "reviews: demo department fgw or its accounts missing, bus and parking decisions skipped"
        return
    yield from _bus(official, price_department)
    yield from _parking(official, price_department)
    yield f"expert / leader demo passwords: {EXPERT_PASSWORD} / {LEADER_PASSWORD}"
