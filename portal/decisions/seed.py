"""Demo decisions: a water-price decision with three versions and an education-fees opinion.

Idempotent by slug. The consultation feature's step (which runs after this one) opens the
comment periods; this step only creates the decisions, their versions and one attachment, and
moves both into ``consultation`` through the normal operation, as their officials.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.auth import operations as auth_ops
from portal.auth.models import Role, department_by_code, user_by_email
from portal.core.extensions import db
from portal.decisions import operations
from portal.decisions.models import Decision, Stage

WATER_SLUG = "2026-water-price"
EDUCATION_SLUG = "2026-compulsory-education-fees"

WATER_OFFICIAL = ("official.water@demo.gov.cn", "刘清源", "Chengban-2026-demo")

WATER_TITLE = "关于调整城市居民生活用水价格的决定（征求意见稿）"
WATER_SUMMARY = (
    "拟将第一档居民生活用水价格由每立方米3.20元调整为3.55元，分两步实施，"
    "继续实行阶梯水价，并对低保家庭、特困供养人员和多人口家庭给予减免。"
)
WATER_LEGAL_BASIS = (
    "《中华人民共和国价格法》第十八条、第二十三条；《城镇供水价格管理办法》（国家发展改革委、住房城乡建设部令第46号）；"
    "《政府制定价格行为规则》；《重大行政决策程序暂行条例》。"
)

_WATER_HEAD = """# 关于调整城市居民生活用水价格的决定（征求意见稿）

为促进节约用水，合理配置水资源，保障城市供水安全，根据《中华人民共和国价格法》《城镇供水价格管理办法\
》和《政府制定价格行为规则》等规定，结合本市实际，决定调整城市居民生活用水价格。
"""

WATER_V1 = (
    _WATER_HEAD
    + """
第一条 本决定适用于本市城市公共供水管网覆盖范围内的居民生活用水。

第二条 居民生活用水实行阶梯水价，按户年度用水量分为三档：
（一）第一档：年用水量180立方米（含）以内；
（二）第二档：年用水量180立方米至260立方米（含）；
（三）第三档：年用水量260立方米以上。

第三条 第一档水价由每立方米3.20元调整为每立方米3.65元，第二档、第三档水价分别按第一档水价的1.5倍和3倍确定。

第四条 居民生活用水价格由基本水价、污水处理费和水资源税组成，其中污水处理费每立方米1.10元，水资源税\
按国家和省有关规定执行。

第五条 对城乡低保家庭、特困供养人员，每户每月免收5立方米基本水费；对家庭人口5人（含）以上的居民户，\
每增加1人，各档水量基数每年增加30立方米。

第六条 供水企业应当在调价实施前完成抄表，不得将调价前的用水量按新价格计收水费。

第七条 供水企业应当每年公开供水成本、价格和服务质量信息，接受价格主管部门的监督检查和社会监督。

第八条 本决定自2027年1月1日起施行。
"""
)

WATER_V2 = WATER_V1.replace(
    "第三条 第一档水价由每立方米3.20元调整为每立方米3.65元",
    "第三条 第一档水价由每立方米3.20元调整为每立方米3.55元",
).replace(
    "第五条 对城乡低保家庭、特困供养人员，",
    "第五条 对城乡低保家庭、特困供养人员和持证重度残疾人家庭，",
)

WATER_V3 = (
    _WATER_HEAD
    + """
第一条 本决定适用于本市城市公共供水管网覆盖范围内的居民生活用水。

第二条 居民生活用水实行阶梯水价，按户年度用水量分为三档：
（一）第一档：年用水量200立方米（含）以内；
（二）第二档：年用水量200立方米至280立方米（含）；
（三）第三档：年用水量280立方米以上。

第三条 第一档水价分两步调整：
1. 自2027年1月1日起，由每立方米3.20元调整为每立方米3.40元；
2. 自2028年1月1日起，调整为每立方米3.55元。

第二档、第三档水价分别按第一档水价的1.5倍和3倍确定。

第四条 居民生活用水价格由基本水价、污水处理费和水资源税组成，其中污水处理费每立方米1.10元，水资源税\
按国家和省有关规定执行。

第五条 对城乡低保家庭、特困供养人员和持证重度残疾人家庭，每户每月免收5立方米基本水费；对家庭人口5人\
（含）以上的居民户，每增加1人，各档水量基数每年增加30立方米。

第六条 供水企业应当在每一步调价实施前完成抄表；无法按期抄表的，按抄表周期内日均用水量分段计费，不得\
将调价前的用水量按新价格计收水费。

第七条 供水企业应当每年公开供水成本、价格和服务质量信息，接受价格主管部门的监督检查和社会监督。

第八条 市发展改革委、市水务局应当在本决定实施满一年后组织评估，评估结果向社会公开。

第九条 本决定自2027年1月1日起施行。
"""
)

WATER_EXPLANATION = """## 一、调整的必要性

本市现行居民生活用水价格于2019年核定。2021年至2025年，原水、电力和人工成本持续上涨，经成本监审，单位\
供水成本由每立方米3.62元上升至4.18元，年均上涨3.7%，现行价格已不能弥补合理成本。

## 二、主要内容

（一）继续实行阶梯水价，第一档水量覆盖约85%的居民户；
（二）第一档水价适度上调，第二档、第三档比价保持1:1.5:3不变；
（三）对低收入家庭和多人口家庭给予减免。

## 三、对居民负担的影响

按户均年用水量140立方米测算，调整后每户每月增加支出约4.1元。
"""

WATER_NOTES = [
    "首次公开征求意见稿。",
    "根据成本监审结论，第一档水价由3.65元调整为3.55元；减免对象增加持证重度残疾人家庭。",
    "根据座谈会意见：第一档、第二档水量基数各提高20立方米；调价分两步实施；增加抄表衔接办法和实施后评估条款。",
]

EDUCATION_TITLE = "关于进一步规范义务教育阶段学校收费的实施意见"
EDUCATION_SUMMARY = "明确义务教育阶段学校不得收取的费用、服务性收费和代收费的范围与程序，建立收费公示和投诉处理机制。"
EDUCATION_LEGAL_BASIS = (
    "《中华人民共和国义务教育法》第二条、第四十二条；《教育收费公示制度》；"
    "国家和省关于规范中小学服务性收费和代收费的规定。"
)

EDUCATION_V1 = """# 关于进一步规范义务教育阶段学校收费的实施意见

为切实减轻学生家庭负担，保障适龄儿童、少年平等接受义务教育的权利，根据《中华人民共和国义务教育法》等\
法律法规，现就进一步规范本市义务教育阶段学校收费提出如下意见。

## 一、总体要求

（一）坚持义务教育公益属性。实施义务教育，不收学费、杂费，不得以任何名义向学生收取与入学挂钩的费用。

（二）坚持公开透明。学校收费项目、标准、依据和投诉电话一律公示，未经公示的不得收取。

## 二、明确收费范围

（三）学校不得收取下列费用：
1. 补课费、资料费、试卷费；
2. 以自愿名义收取的赞助费、捐资助学费；
3. 课后服务以外的托管费。

（四）课后服务、校内午餐等服务性收费，应当坚持自愿原则，由家长书面选择，按照成本补偿、非营利原则确定标准。

（五）代收费项目限于校服、社会实践活动交通费和保险费，学校不得从中获取任何收益。

## 三、加强监督管理

（六）各区教育行政部门应当建立收费年度检查制度，检查结果向社会公开。

（七）对违规收费的，责令限期退还，并依法追究有关学校负责人的责任。

## 四、附则

本意见自2027年3月1日起施行，有效期五年。
"""

EDUCATION_EXPLANATION = """## 起草说明

2025年，市12345热线受理涉及学校收费的诉求1,263件，主要集中在课后服务、校服和资料费。本意见在总结专项\
治理经验的基础上起草，已征求各区教育局、市发展改革委、市市场监管局意见。
"""

#: A small but real PDF for the demo attachment (one page, no external resources).
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _official(email: str, name: str, password: str, code: str):
    user = user_by_email(email)
    if user is not None:
        return user, None
    department = department_by_code(code)
    user = auth_ops.create_user(
        None,
        email=email,
        display_name=name,
        password=password,
        roles=[Role.OFFICIAL],
        departments=[department],
        confirmed=True,
    )
    return user, f"user {email} / {password} (official, {code})"


def _exists(slug: str) -> bool:
    return db.session.scalar(select(Decision.id).where(Decision.slug == slug)) is not None


def seed_decisions() -> Iterator[str]:
    """Create the two demo decisions with their versions (skipped when their slugs exist)."""
    water = department_by_code("swj")
    education = department_by_code("jyj")
    if water is None or education is None:
        yield "decisions: departments swj/jyj missing, skipped"
        return

    if not _exists(WATER_SLUG):
        official, line = _official(*WATER_OFFICIAL, "swj")
        if line:
            yield line
        db.session.flush()
        decision = operations.create_decision(
            official,
            department=water,
            title=WATER_TITLE,
            slug=WATER_SLUG,
            summary=WATER_SUMMARY,
            category="water",
            legal_basis=WATER_LEGAL_BASIS,
            affects_stability=True,
            responsible=[official],
        )
        for body, note in zip((WATER_V1, WATER_V2, WATER_V3), WATER_NOTES, strict=True):
            version = operations.create_version(
                official, decision, body=body, explanation=WATER_EXPLANATION, change_note=note
            )
            operations.publish_version(official, version)
        upload = FileStorage(io.BytesIO(DEMO_PDF), filename="城市供水定价成本监审报告（摘要）.pdf")
        operations.add_attachment(official, decision, upload, title="城市供水定价成本监审报告（摘要）")
        operations.advance(official, decision, Stage.CONSULTATION)
        yield f"decision {WATER_SLUG} {WATER_TITLE} (3 versions, consultation)"

    if not _exists(EDUCATION_SLUG):
        official = user_by_email("official.edu@demo.gov.cn")
        if official is None:
            official, line = _official("official.edu@demo.gov.cn", "李秀英", "Chengban-2026-demo", "jyj")
            if line:
                yield line
        decision = operations.create_decision(
            official,
            department=education,
            title=EDUCATION_TITLE,
            slug=EDUCATION_SLUG,
            summary=EDUCATION_SUMMARY,
            category="education",
            legal_basis=EDUCATION_LEGAL_BASIS,
            responsible=[official],
        )
        version = operations.create_version(
            official,
            decision,
            body=EDUCATION_V1,
            explanation=EDUCATION_EXPLANATION,
            change_note="\
首次公开征求意见稿。",
        )
        operations.publish_version(official, version)
        operations.advance(official, decision, Stage.CONSULTATION)
        yield f"decision {EDUCATION_SLUG} {EDUCATION_TITLE} (1 version, consultation)"
