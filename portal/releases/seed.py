"""Demo data (idempotent): the parking-charges decision (decided by the reviews step, with one dissent
at the meeting) is published and put into effect; the spokesperson publishes a news release on the
water-price consultation, a news release on the parking decision later corrected, an interpretation
of it, and schedules one more release."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from portal.auth.models import user_by_email
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision, Stage
from portal.releases import operations, queries
from portal.releases.models import Release, ReleaseKind

PARKING_SLUG = "2026-parking-charges"
WATER_SLUG = "2026-water-price"

PARKING_FINAL = """# 关于调整公共停车场收费标准的决定

第一条 中心城区公共停车场实行分区域、分时段差别化收费。

第二条 一类区域白天首小时8元，之后每小时4元；夜间每2小时2元。

第三条 医院、学校周边停车场首30分钟免费。

第四条 本决定自公布之日起30日后施行，施行一年后开展决策后评估。
"""

WATER_NEWS = """市水务局今天发布《关于调整城市居民生活用水价格的决定（征求意见稿）》，公开征求社会意见。

征求意见稿拟将第一档居民生活用水价格由每立方米3.20元调整为3.55元，分两步实施，继续实行阶梯水价，并对低保家庭、特困供养人员和多人口家庭给予减免。

欢迎市民通过本平台逐条发表意见，每条意见都会得到答复。
"""

PARKING_NEWS = """市政府常务会议讨论通过《关于调整公共停车场收费标准的决定》，自公布之日起30日后施行。

一类区域白天首小时收费8元，医院、学校周边停车场首15分钟免费。
"""
PARKING_NEWS_FIXED = PARKING_NEWS.replace("首15分钟", "首30分钟")

PARKING_INTERPRETATION = """## 为什么调整

中心城区停车位供需矛盾突出，平均周转率不足每天3次。通过价格杠杆提高车位周转率，引导短时停车和绿色出行。

## 调整了什么

- 一类区域白天首小时8元，之后每小时4元；
- 医院、学校周边停车场首30分钟免费（征求意见稿为15分钟）；
- 施行一年后开展决策后评估。
"""


def _release(title: str) -> Release | None:
    return db.session.scalar(select(Release).where(Release.title == title))


def _publish_parking(official) -> Iterator[str]:
    decision = db.session.scalar(select(Decision).where(Decision.slug == PARKING_SLUG))
    if decision is None or official is None:
        yield "releases: the parking decision or its official is missing; publication skipped"
        return
    if decision.stage == Stage.DECIDED.value and queries.publication_for(decision) is None:
        public_adoption, expert_adoption = queries.adoption_prefill(decision)
        operations.publish_decision(
            official,
            decision,
            title="关于调整公共停车场收费标准的决定",
            document_number="某政发〔2026〕18号",
            final_text=PARKING_FINAL,
            effective_date=operations.local_today() + timedelta(days=30),
            public_adoption=public_adoption
            or "公开征求意见期间共收到意见12条，采纳5条，部分采纳3条；未采纳的理由已逐条公布。",
            expert_adoption=expert_adoption or "两位专家均赞成，建议加强收费公示，已采纳。",
        )
        yield f"decision {PARKING_SLUG}: published as 某政发〔2026〕18号 (checkpoint taken)"
    if decision.stage == Stage.PUBLISHED.value:
        from portal.decisions import operations as decision_ops

        decision_ops.advance(official, decision, Stage.IMPLEMENTATION)
        yield f"decision {PARKING_SLUG}: in implementation"


def seed_releases() -> Iterator[str]:
    official = user_by_email("official@demo.gov.cn")
    spokesperson = user_by_email("spokesperson@demo.gov.cn")
    yield from _publish_parking(official)
    if spokesperson is None:
        yield "releases: the demo spokesperson is missing; releases skipped"
        return
    water = db.session.scalar(select(Decision).where(Decision.slug == WATER_SLUG))
    parking = db.session.scalar(select(Decision).where(Decision.slug == PARKING_SLUG))

    title = "市水务局就调整居民生活用水价格公开征求意见"
    if water is not None and _release(title) is None:
        release = operations.create_release(
            spokesperson, kind=ReleaseKind.NEWS.value, title=title, body=WATER_NEWS, decision=water
        )
        operations.publish_release(spokesperson, release)
        yield f"release: {title}"

    published = parking is not None and queries.publication_for(parking) is not None
    title = "市政府常务会议通过公共停车场收费标准调整决定"
    if published and _release(title) is None:
        release = operations.create_release(
            spokesperson, kind=ReleaseKind.NEWS.value, title=title, body=PARKING_NEWS, decision=parking
        )
        operations.publish_release(spokesperson, release, now=utcnow() - timedelta(hours=2))
        operations.correct_release(
            spokesperson,
            release,
            note="原稿误将医院、学校周边停车场免费时段写为15分钟，应为30分钟（会议修改后通过的内容）。",
            body=PARKING_NEWS_FIXED,
        )
        yield f"release: {title} (with one correction)"

    title = "《关于调整公共停车场收费标准的决定》政策解读"
    if published and _release(title) is None:
        publication = queries.publication_for(parking)
        release = operations.create_release(
            spokesperson,
            kind=ReleaseKind.INTERPRETATION.value,
            title=title,
            body=PARKING_INTERPRETATION,
            decision=parking,
            public_adoption=publication.public_adoption,
            expert_adoption=publication.expert_adoption,
        )
        operations.publish_release(spokesperson, release)
        yield f"release: {title}"

    title = "停车收费调整实施前的答记者问"
    if published and _release(title) is None:
        release = operations.create_release(
            spokesperson,
            kind=ReleaseKind.NEWS.value,
            title=title,
            body="新标准施行前，市发展改革委将在各停车场入口公示收费标准，并开通咨询电话。",
            decision=parking,
        )
        operations.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(days=2))
        yield f"release: {title} (scheduled in two days)"
