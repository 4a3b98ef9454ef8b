"""Demo data: an open consultation (water prices) and a closed one with its report (kindergarten fees).

Uses the decisions ``2026-water-price`` and ``2026-school-fees`` when the decisions step made
them; otherwise creates them (with a published version and its articles) so this step always
works. Idempotent: a decision that already has a consultation is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from portal import trace
from portal.auth import operations as auth_ops
from portal.auth.models import Department, Role, User, user_by_email
from portal.consultation import operations
from portal.consultation.models import Comment, CommentGroup
from portal.consultation.queries import consultation_for, current_articles, decision_by_slug
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftArticle, DraftVersion, Stage, VersionStatus

CITIZEN_PASSWORD = "Gongzhong-2026-demo"  # noqa: S105 (demo accounts, printed by seed-demo)
CITIZENS = [
    ("liuwei@demo.gov.cn", "刘伟"),
    ("chenjing@demo.gov.cn", "陈静"),
    ("huanglei@demo.gov.cn", "黄磊"),
    ("zhoumin@demo.gov.cn", "周敏"),
    ("wuqiang@demo.gov.cn", "吴强"),
    ("zhengli@demo.gov.cn", "郑丽"),
    ("sunhao@demo.gov.cn", "孙浩"),
    ("machao@demo.gov.cn", "马超"),
    ("zhulin@demo.gov.cn", "朱琳"),
    ("hujun@demo.gov.cn", "胡军"),
    ("guoyan@demo.gov.cn", "郭燕"),
    ("hetao@demo.gov.cn", "何涛"),
    ("gaofeng@demo.gov.cn", "高峰"),
    ("linna@demo.gov.cn", "林娜"),
    ("luobin@demo.gov.cn", "罗斌"),
]

WATER = {
    "slug": "2026-water-price",
    "department": "fgw",
    "category": "price",
    "title": "关于调整本市居民生活用水阶梯价格的方案(征求意见稿)",
    "summary": "拟完善居民生活用水阶梯水价制度,调整第二、第三阶梯水价,并对多人口家庭和困难群众给予照顾。",
    "legal_basis": "《中华人民共和国价格法》《城镇供水价格管理办法》《政府制定价格听证办法》",
    "articles": [
        (
            "第一条",
            "为促进节约用水,合理配置水资源,根据《中华人民共和国价格法》《城镇供水价格管理办法》等规定,"
            "结合本市实际,制定本方案。",
        ),
        (
            "第二条",
            "居民生活用水实行阶梯水价。第一阶梯年用水量 0 至 180 立方米(含),水价为每立方米 3.45 元;"
            "第二阶梯 180 至 260 立方米(含),每立方米 4.83 元;第三阶梯 260 立方米以上,每立方米 6.90 元。",
        ),
        ("第三条", "家庭户籍人口超过 4 人的,每增加 1 人,各阶梯水量基数相应增加 45 立方米。"),
        ("第四条", "对城乡低保家庭、特困人员,每户每月减免 5 立方米水费。"),
        ("第五条", "本方案自 2026 年 7 月 1 日起施行。"),
    ],
}
FEES = {
    "slug": "2026-school-fees",
    #: The decisions step names its education decision so; used when present.
    "also": ("2026-compulsory-education-fees",),
    "department": "jyj",
    "category": "education",
    "title": "关于进一步规范义务教育阶段学校收费的实施意见(征求意见稿)",
    "summary": "明确义务教育阶段学校不得收取的费用、服务性收费和代收费的范围与程序,建立收费公示和投诉处理机制。",
    "legal_basis": "《中华人民共和国义务教育法》第二条、第四十二条",
    "articles": [
        ("第一条", "义务教育阶段学校不收学费、杂费,不得以任何名义向学生收取与入学挂钩的费用。"),
        ("第二条", "学校不得收取补课费、资料费、试卷费,不得以自愿名义收取赞助费、捐资助学费。"),
        ("第三条", "课后服务、校内午餐等服务性收费,应当坚持自愿原则,由家长书面选择,按照成本补偿、非营利原则确定标准。"),
        ("第四条", "代收费项目限于校服、社会实践活动交通费和保险费,学校不得从中获取任何收益。"),
        ("第五条", "学校收费项目、标准、依据和投诉电话一律公示,未经公示的不得收取。"),
        ("第六条", "本意见自 2027 年 3 月 1 日起施行。"),
    ],
}

CAMPAIGN = [
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价!!",
    "坚决反对这次水价上涨。水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭的负担,请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨! 水是生活必需品, 涨价会加重普通家庭负担, 请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,恳请暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。谢谢",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!!!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。",
    "坚决反对此次水价上涨,水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求政府暂缓实施阶梯水价。",
    "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。",
]
CAMPAIGN_RESPONSE = (
    "第一阶梯水价维持每立方米 3.45 元不变,全市约 80% 的居民家庭年用水量在第一阶梯以内,不受本次调整影响;"
    "阶梯水价旨在促进节约用水。对低保家庭、特困人员另有减免措施,多人口家庭可申请增加阶梯水量。"
)


def _citizens() -> list[User]:
    people = []
    main = user_by_email("citizen@demo.gov.cn")
    if main is not None:
        people.append(main)
    for email, name in CITIZENS:
        user = user_by_email(email)
        if user is None:
            user = auth_ops.create_user(
                None,
                email=email,
                display_name=name,
                password=CITIZEN_PASSWORD,
                roles=[Role.CITIZEN],
                confirmed=True,
            )
        people.append(user)
    db.session.flush()
    return people


def _official_of(decision: Decision) -> User | None:
    members = [u for u in decision.department.members if u.has_role(Role.OFFICIAL) and u.is_enabled]
    return members[0] if members else user_by_email("admin@demo.gov.cn")


def _ensure_decision(spec: dict, when) -> Decision | None:
    """The decision of ``spec``, created with a published version when the decisions step made none."""
    for slug in (spec["slug"], *spec.get("also", ())):
        decision = decision_by_slug(slug)
        if decision is not None:
            return decision
    department = db.session.scalar(select(Department).where(Department.code == spec["department"]))
    if department is None:
        return None
    author = next((u for u in department.members if u.has_role(Role.OFFICIAL)), None)
    decision = Decision(
        slug=spec["slug"],
        title=spec["title"],
        summary=spec["summary"],
        department=department,
        category=spec["category"],
        legal_basis=spec["legal_basis"],
        stage=Stage.DRAFTING.value,
        created_by_id=author.id if author else None,
    )
    db.session.add(decision)
    db.session.flush()
    trace.record(author, "decision.created", decision, slug=decision.slug, title=decision.title)
    body = "\n\n".join(f"**{label}** {text}" for label, text in spec["articles"])
    version = DraftVersion(
        decision=decision,
        number=1,
        body=body,
        explanation="起草说明:" + spec["summary"],
        change_note="首次公布。",
        status=VersionStatus.PUBLISHED.value,
        published_at=when,
        created_by_id=author.id if author else None,
    )
    db.session.add(version)
    db.session.flush()
    for position, (label, text) in enumerate(spec["articles"], start=1):
        db.session.add(
            DraftArticle(version=version, anchor=f"art-{position}", label=label, position=position, text=text)
        )
    db.session.flush()
    trace.record(author, "version.published", version, decision=decision.slug, number=1)
    db.session.refresh(decision)
    return decision


def _anchor(articles, *keywords: str) -> str | None:
    """The first article mentioning one of ``keywords`` (the demo works with either draft text)."""
    for keyword in keywords:
        for article in articles:
            if keyword in article.text:
                return article.anchor
    return None


def _say(author, consultation, body, at, *, article=None, anonymous=False) -> Comment:
    return operations.submit_comment(
        author, consultation, body=body, article_anchor=article, anonymous=anonymous, now=at
    )


def _seed_water(citizens: list[User]) -> Iterator[str]:
    now = utcnow()
    start = now - timedelta(days=10)
    decision = _ensure_decision(WATER, start - timedelta(days=1))
    if decision is None or consultation_for(decision) is not None:
        return
    if decision.current_version is None or decision.stage not in (Stage.DRAFTING.value, Stage.CONSULTATION.value):
        yield f"consultation: {WATER['slug']} has no published version or is past consultation; skipped"
        return
    official = _official_of(decision)
    consultation = operations.open_consultation(
        official,
        decision,
        starts_at=start,
        ends_at=start + timedelta(days=30),
        notice="也可来信寄至:市发展和改革委员会价格管理处(邮编 100000),或拨打 12345 政务服务便民热线。",
        now=start,
    )
    arts = current_articles(decision)
    day = timedelta(days=1)
    zhang, liu, chen, huang = citizens[0], citizens[1], citizens[2], citizens[3]
    c1 = _say(
        zhang,
        consultation,
        "第一档 180 立方米对三口之家基本够用,但建议**按月提示**累计用水量。夏季用水多,按年核算容易在年底"
        "集中进入第二档,居民不容易察觉。",
        start + day,
        article=_anchor(arts, "第一档", "第一阶梯"),
    )
    c2 = _say(
        liu,
        consultation,
        "多人口家庭每增加 1 人增加的水量基数偏低,建议提高到每人每年 60 立方米,并简化申报手续,凭户口簿即可办理。",
        start + 2 * day,
        article=_anchor(arts, "增加1人", "增加 1 人"),
        anonymous=True,
    )
    c3 = _say(chen, consultation, "希望公开供水企业的成本监审报告,让市民了解调价的依据。", start + 2 * day)
    c4 = _say(
        huang,
        consultation,
        "低保家庭每月减免 5 立方米偏少,建议把低收入家庭也纳入减免范围,并由供水企业主动办理、无需申请。",
        start + 3 * day,
        article=_anchor(arts, "低保"),
    )
    campaign = [
        _say(person, consultation, text, start + 4 * day + timedelta(minutes=7 * i), anonymous=i % 3 == 0)
        for i, (person, text) in enumerate(zip(citizens[3:], CAMPAIGN, strict=False))
    ]
    ad = _say(citizens[-1], consultation, "专业净水器上门安装,全市最低价!扫码领取优惠券,详询客服。", start + 5 * day)
    _say(zhang, consultation, "建议在水费账单上标注当前所处的阶梯和剩余水量。", start + 9 * day)
    hotline = operations.enter_offline_comment(
        official,
        consultation,
        channel="hotline_12345",
        sender_name="王先生",
        body="来电反映:老旧小区一户一表改造尚未完成,合表用户如何执行阶梯水价?",
        article_anchor=_anchor(arts, "第一档", "第一阶梯"),
        now=start + 6 * day,
    )
    later = start + 7 * day
    for comment in (c1, c2, c3, c4, hotline):
        operations.publish_comment(official, comment, now=later)
    operations.publish_group(official, db.session.get(CommentGroup, campaign[0].group_id), now=later)
    operations.reject_comment(official, ad, reason="advertising", note="商业推广信息。", now=later)
    answer = start + 8 * day
    operations.respond(
        official,
        c1,
        disposition="partly_adopted",
        reason="阶梯水量仍按年度核算,以平衡季节差异;供水企业将在每月账单上提示累计用水量和所处阶梯。",
        now=answer,
    )
    operations.respond(
        official,
        c2,
        disposition="adopted",
        reason="采纳。修改为每增加 1 人各档水量基数每年增加 60 立方米,凭户口簿即可申报,5 个工作日内办结。",
        now=answer,
    )
    operations.respond(
        official,
        c3,
        disposition="adopted",
        reason="采纳。供水成本监审报告摘要已作为附件随草案公布,今后每年公开供水成本和价格信息。",
        now=answer,
    )
    operations.respond(
        official,
        hotline,
        disposition="for_reference",
        reason="合表用户按每户平均用水量核定阶梯;一户一表改造计划于 2026 年底前完成。",
        now=answer,
    )
    operations.respond_group(
        official,
        db.session.get(CommentGroup, campaign[0].group_id),
        disposition="not_adopted",
        reason=CAMPAIGN_RESPONSE,
        now=answer,
    )
    yield f"consultation: {decision.slug} open until {consultation.ends_at:%Y-%m-%d}, {6 + len(campaign) + 1} comments"


def _seed_fees(citizens: list[User]) -> Iterator[str]:
    now = utcnow()
    start = now - timedelta(days=45)
    decision = _ensure_decision(FEES, start - timedelta(days=1))
    if decision is None or consultation_for(decision) is not None:
        return
    if decision.current_version is None or decision.stage not in (Stage.DRAFTING.value, Stage.CONSULTATION.value):
        yield f"consultation: {FEES['slug']} has no published version or is past consultation; skipped"
        return
    official = _official_of(decision)
    consultation = operations.open_consultation(
        official, decision, starts_at=start, ends_at=start + timedelta(days=30), now=start
    )
    arts = current_articles(decision)
    day = timedelta(days=1)
    c1 = _say(
        citizens[4],
        consultation,
        "课后服务收费建议公开成本测算,并按学期公示收支情况,结余部分应当退还或结转。",
        start + day,
        article=_anchor(arts, "课后服务"),
    )
    c2 = _say(
        citizens[5],
        consultation,
        "校服应当允许家长自行购买符合式样要求的款式,不应强制统一订购。",
        start + 2 * day,
        article=_anchor(arts, "校服"),
        anonymous=True,
    )
    c3 = _say(citizens[6], consultation, "建议公布各区收费年度检查结果,并开通线上投诉渠道。", start + 3 * day)
    c4 = _say(
        citizens[12],
        consultation,
        "建议校内午餐费用由财政全额补贴,减轻家庭负担。",
        start + 3 * day,
        article=_anchor(arts, "午餐"),
    )
    same = [
        _say(citizens[7 + i], consultation, text, start + 4 * day + timedelta(hours=i), article=_anchor(arts, "资料费"))
        for i, text in enumerate(
            [
                "支持禁止收取资料费、试卷费,建议明确教辅材料由学校统一免费提供。",
                "支持禁止收取资料费、试卷费!建议明确教辅材料由学校统一免费提供。",
                "支持禁止收取资料费和试卷费,建议明确教辅材料由学校统一免费提供。",
            ]
        )
    ]
    off_topic = _say(citizens[10], consultation, "小区门口道路早高峰经常堵车,希望交警加强管理。", start + 5 * day)
    withdrawn = _say(citizens[11], consultation, "建议施行日期推迟到 2027 年秋季学期。", start + 6 * day)
    operations.withdraw_comment(citizens[11], withdrawn, now=start + 6 * day + timedelta(hours=1))
    letter = operations.enter_offline_comment(
        official,
        consultation,
        channel="letter",
        sender_name="赵女士",
        body="希望把学校课后服务时间延长到 18 点,方便双职工家庭接送。",
        article_anchor=_anchor(arts, "课后服务"),
        now=start + 8 * day,
        publish=True,
    )
    later = start + 10 * day
    for comment in (c1, c2, c3, c4):
        operations.publish_comment(official, comment, now=later)
    group = db.session.get(CommentGroup, same[0].group_id)
    operations.publish_group(official, group, now=later)
    operations.reject_comment(official, off_topic, reason="off_topic", note="已转交通管理部门。", now=later)
    answer = start + 32 * day  # after the period closed
    operations.respond(
        official,
        c1,
        disposition="partly_adopted",
        reason="采纳按学期公示收支的建议;课后服务费按成本补偿原则核定,结余结转下学期使用,不再逐户退还。",
        now=answer,
    )
    operations.respond(
        official,
        c2,
        disposition="adopted",
        reason="采纳。增加规定:学校不得强制学生购买校服,家长可自行选购符合学校式样要求的校服。",
        now=answer,
    )
    operations.respond(
        official,
        c3,
        disposition="adopted",
        reason="采纳。检查结果将在市教育局网站公开,投诉可通过 12345 热线和本平台提出。",
        now=answer,
    )
    operations.respond(
        official,
        c4,
        disposition="not_adopted",
        reason="校内午餐实行家长自愿选择、成本补偿,财政已对家庭经济困难学生给予补助;全额补贴超出现行财力,暂不采纳。",
        now=answer,
    )
    operations.respond(
        official,
        letter,
        disposition="for_reference",
        reason="课后服务时间由学校根据家长需求确定,已请各区教育局将延时服务纳入课后服务方案统筹研究。",
        now=answer,
    )
    operations.respond_group(
        official,
        group,
        disposition="for_reference",
        reason="学校不得统一征订或变相强制购买教辅材料;由学校免费提供涉及财政保障,将在下一步研究。",
        now=answer,
    )
    yield f"consultation: {decision.slug} closed on {consultation.ends_at:%Y-%m-%d}, report published"


def seed_consultations() -> Iterator[str]:
    """The demo step: two consultations, one open and one closed with its report."""
    citizens = _citizens()
    if len(citizens) < 14:
        return
    yield from _seed_water(citizens)
    yield from _seed_fees(citizens)
    yield f"demo citizens: {', '.join(e for e, _n in CITIZENS[:3])}… / {CITIZEN_PASSWORD}"
