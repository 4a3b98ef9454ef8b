"""Hearings, releases, reviews and reports in the search index: found once public, never before,
and gone again when their record stops being public."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from portal.auth.models import Role
from portal.core.models import utcnow
from portal.decisions.models import Stage
from portal.hearings.models import Hearing, HearingCategory, Registration
from portal.releases import operations as release_ops
from portal.releases.models import Release
from portal.reviews.models import (
    CommitteeMember,
    ExpertProfile,
    LegalityReview,
    Meeting,
    Review,
    RiskAssessment,
)
from portal.search import providers_more
from portal.search.models import SearchQueueItem
from portal.search.registry import provider
from tests.search.helpers import titles


def hits(outcome) -> list[tuple[str, str]]:
    """``(type, plain title)`` of every item."""
    return list(zip([h.type for h in outcome.items], titles(outcome), strict=True))


def opens(client, hit) -> str:
    """The hit's page (without its anchor) answers 200 to an anonymous visitor; returns the HTML."""
    response = client.get(hit.url.partition("#")[0])
    assert response.status_code == 200, hit.url
    return response.get_data(as_text=True)


def queued(db) -> list[str]:
    return list(db.session.scalars(select(SearchQueueItem.doc_key).order_by(SearchQueueItem.id)))


# Hearings --------------------------------------------------------------------------------------


@pytest.fixture
def hearing_of(db):
    def make(decision, **fields) -> Hearing:
        now = utcnow()
        values = {
            "slug": f"hearing-{decision.slug}",
            "decision_id": decision.id,
            "title": "出租车运价调整听证会",
            "purpose": "听取社会各方对出租车燃油附加费调整方案的意见。",
            "agenda": "一、介绍方案\n二、参加人发言",
            "starts_at": now + timedelta(days=20),
            "ends_at": now + timedelta(days=20, hours=3),
            "place": "市政务服务中心听证室",
            "registration_opens_at": now - timedelta(days=1),
            "registration_closes_at": now + timedelta(days=5),
            "selection_method": "按类别公开抽选。",
        }
        values.update(fields)
        hearing = Hearing(**values)
        hearing.categories.append(HearingCategory(code="riders", name="乘客代表", seats=5, position=1))
        db.session.add(hearing)
        db.session.commit()
        return hearing

    return make


def test_hearing_notice_then_report_are_found_once_published(db, client, make_decision, make_user, hearing_of, find):
    decision = make_decision("关于调整出租车运价的决定", "出租车运价调整方案", stage=Stage.HEARING.value)
    hearing = hearing_of(decision)
    citizen = make_user(Role.CITIZEN)
    db.session.add(
        Registration(
            hearing_id=hearing.id,
            user_id=citizen.id,
            category_id=hearing.categories[0].id,
            real_name="欧阳明远",
            contact="13912345678",
            public_name="欧阳先生",
            position="support",
            statement="我赞成调整,芙蓉路段拥堵严重。",
            accessibility_needs="需要轮椅通道",
        )
    )
    db.session.commit()
    assert hits(find("燃油附加费")) == []  # an unpublished notice

    hearing.status = "published"
    hearing.published_at = utcnow()
    db.session.commit()
    outcome = find("燃油附加费")
    assert hits(outcome) == [("hearing", "出租车运价调整听证会")]
    assert outcome.items[0].decision == decision.slug
    assert "燃油附加费" in opens(client, outcome.items[0])
    # Registrations, accessibility needs and participants' personal data are never indexed.
    for secret in ("芙蓉", "轮椅", "欧阳明远", "13912345678"):
        assert find(secret).total == 0, secret

    hearing.transcript = "笔录:发言人提到琵琶巷的情况。"
    hearing.status = "recorded"
    db.session.commit()
    assert find("琵琶巷").total == 0  # the transcript is not public

    hearing.report_body = "听证会认为应当取消夜间加价。"
    hearing.report_support = "支持方意见已采纳。"
    hearing.report_published_at = utcnow()
    hearing.status = "reported"
    db.session.commit()
    outcome = find("夜间加价")
    assert hits(outcome) == [("hearing", "听证报告:出租车运价调整听证会")]
    assert outcome.items[0].url.endswith("#report")
    assert "夜间加价" in opens(client, outcome.items[0])

    # The parent decision's title is searchable with its records and follows a rename.
    decision.title = "关于调整网约车运价的决定"
    db.session.commit()
    assert {t for t, _ in hits(find("网约车", type="hearing"))} == {"hearing"}
    assert len(find("网约车", type="hearing").items) == 2

    decision.stage = Stage.WITHDRAWN.value
    db.session.commit()
    assert find("燃油附加费").total == 0
    assert find("夜间加价").total == 0


# Releases --------------------------------------------------------------------------------------


@pytest.fixture
def spokesperson(make_user):
    return make_user(Role.SPOKESPERSON, name="发言人")


def test_releases_are_found_only_when_published_with_their_current_text(db, client, spokesperson, find):
    release = release_ops.create_release(
        spokesperson, kind="news", title="我市启动垃圾分类宣传周", body="宣传周期间将开展桂花社区示范活动。"
    )
    db.session.commit()
    assert find("桂花").total == 0  # a draft

    release_ops.publish_release(spokesperson, release)
    db.session.commit()
    outcome = find("桂花")
    assert hits(outcome) == [("release", "我市启动垃圾分类宣传周")]
    assert "桂花" in opens(client, outcome.items[0])

    release_ops.correct_release(spokesperson, release, note="更正社区名称", body="宣传周期间将开展腊梅社区示范活动。")
    db.session.commit()
    assert find("桂花").total == 0  # only the current text is searchable
    assert hits(find("腊梅")) == [("release", "我市启动垃圾分类宣传周")]


def test_interpretations_are_releases(db, spokesperson, make_decision, find):
    decision = make_decision("关于推行生活垃圾分类的决定", "生活垃圾分类", stage=Stage.PUBLISHED.value)
    release = release_ops.create_release(
        spokesperson,
        kind="interpretation",
        title="《关于推行生活垃圾分类的决定》政策解读",
        body="解读:厨余垃圾单独投放,茉莉小区先行。",
        decision=decision,
        public_adoption="采纳公众意见12条。",
        expert_adoption="采纳专家意见3条。",
    )
    release_ops.publish_release(spokesperson, release)
    db.session.commit()
    outcome = find("茉莉")
    assert hits(outcome) == [("release", "《关于推行生活垃圾分类的决定》政策解读")]
    assert outcome.items[0].decision == decision.slug


def _make_due(db, release: Release) -> None:
    """Time passes: the scheduled moment is now behind us (no ORM change, so nothing is queued)."""
    db.session.execute(
        update(Release).where(Release.id == release.id).values(scheduled_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def test_a_scheduled_release_is_searchable_once_due_even_before_a_release_page_is_read(
    db, client, spokesperson, find, index_now
):
    release = release_ops.create_release(
        spokesperson, kind="news", title="地铁票价听证结果发布", body="地铁票价调整方案将于下月实施,海棠站试点。"
    )
    release_ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert find("海棠").total == 0  # scheduled, not yet due

    _make_due(db, release)
    index_now()
    assert queued(db) == []
    # The first search after its time marks it published and indexes it before answering.
    body = client.get("/search?q=海棠").get_data(as_text=True)
    assert "地铁票价听证结果发布" in body
    assert db.session.get(Release, release.id).status == "published"
    assert hits(find("海棠")) == [("release", "地铁票价听证结果发布")]

    # The API's searches do the same.
    other = release_ops.create_release(spokesperson, kind="news", title="公交线路调整", body="新增紫薇线公交。")
    release_ops.schedule_release(spokesperson, other, scheduled_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert client.get("/api/v1/search?q=紫薇线").get_json()["total"] == 0
    _make_due(db, other)
    items = client.get("/api/v1/search?q=紫薇线").get_json()["items"]
    assert [(i["type"], re.sub(r"</?mark>", "", i["title"])) for i in items] == [("release", "公交线路调整")]


def test_the_release_pages_flip_queues_the_release_in_the_same_transaction(db, spokesperson, find, index_now):
    release = release_ops.create_release(
        spokesperson, kind="news", title="共享单车停放新规", body="共享单车须停放在银杏路指定区域。"
    )
    release_ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    _make_due(db, release)
    index_now()
    # What a release page or feed does on first read: a bulk UPDATE plus the ledger entry.
    assert release_ops.observe_due_releases() == 1
    assert queued(db) == [f"release:{release.id}"]
    assert hits(find("银杏路")) == [("release", "共享单车停放新规")]


def test_unscheduling_before_the_time_keeps_it_out(db, spokesperson, find):
    release = release_ops.create_release(spokesperson, kind="news", title="噪声治理通告", body="石榴街夜间施工管理。")
    release_ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(hours=1))
    release_ops.unschedule_release(spokesperson, release)
    db.session.commit()
    assert find("石榴街").total == 0


# Reviews ---------------------------------------------------------------------------------------


@pytest.fixture
def reviewed(db, make_user, make_decision):
    """A decision in expert review with a signed review, a risk assessment, a filed and an unfiled
    legality review, and a meeting whose minutes are internal."""
    decision = make_decision("关于老旧小区改造的决定", "老旧小区改造实施方案", stage=Stage.EXPERT_REVIEW.value)
    expert = make_user(Role.EXPERT, name="钱教授")
    leader = make_user(Role.LEADER, name="李市长")
    profile = ExpertProfile(user_id=expert.id, field="城市规划")
    db.session.add(profile)
    db.session.flush()
    member = CommitteeMember(decision_id=decision.id, profile_id=profile.id, declaration="no_interest")
    db.session.add(member)
    db.session.flush()
    review = _review(decision, member, 1, "加装电梯的资金分担需明确。")
    risk = RiskAssessment(
        decision_id=decision.id,
        level="medium",
        controllable=True,
        findings="施工扰民可能引发投诉。",
        mitigation="设立樱桃热线。",
    )
    filed = LegalityReview(decision_id=decision.id, materials="送审稿及说明", submitted_at=utcnow())
    pending = LegalityReview(decision_id=decision.id, materials="补充材料:枇杷园方案", submitted_at=utcnow())
    meeting = Meeting(
        decision_id=decision.id,
        kind="executive",
        meeting_date=date.today(),
        head_id=leader.id,
        minutes="内部纪要:讨论了柠檬巷拆迁补偿的底价。",
        public_summary="会议讨论了改造方案。",
    )
    db.session.add_all([review, risk, filed, pending, meeting])
    db.session.flush()
    filed.result = "pass_with_changes"
    filed.opinion = "草案第五条与上位法衔接,须修改山楂条款。"
    filed.required_changes = "修改第五条。"
    filed.filed_at = utcnow()
    filed.reviewer_id = leader.id
    db.session.commit()
    return {"decision": decision, "member": member, "review": review}


def _review(decision, member, version: int, feasibility: str, supersedes=None) -> Review:
    review = Review(
        decision_id=decision.id,
        member_id=member.id,
        version=version,
        supersedes_id=supersedes.id if supersedes else None,
        necessity_rating="none",
        necessity_text="改造十分必要。",
        feasibility_rating="minor",
        feasibility_text=feasibility,
        soundness_rating="none",
        soundness_text="方案科学。",
        legality_rating="none",
        legality_text="未见合法性问题。",
        risks_rating="minor",
        risks_text="风险可控。",
        cost_benefit_rating="none",
        cost_benefit_text="效益明显。",
        recommendation="conditional",
        conditions="明确资金来源。",
        amendment_reason="补充意见" if version > 1 else "",
        signed_name="钱教授",
        signed_at=utcnow(),
        content_sha256="",
    )
    review.content_sha256 = review.compute_sha256()
    return review


def test_reviews_are_found_only_from_the_moment_they_are_public(db, client, reviewed, find):
    secrets = ("电梯", "樱桃", "山楂", "枇杷园", "柠檬巷")
    for word in secrets:
        assert find(word).total == 0, word  # the decision is not published: nothing is public yet

    decision = reviewed["decision"]
    decision.stage = Stage.PUBLISHED.value
    db.session.commit()
    expert = find("电梯")
    assert hits(expert) == [("review", "专家论证意见(钱教授):关于老旧小区改造的决定")]
    assert "电梯" in opens(client, expert.items[0])
    risk = find("樱桃")
    assert hits(risk) == [("review", "风险评估:关于老旧小区改造的决定")]
    assert "#risk-" in risk.items[0].url
    assert "樱桃" in opens(client, risk.items[0])
    legality = find("山楂")
    assert hits(legality) == [("review", "合法性审查意见:关于老旧小区改造的决定")]
    assert "#legality-" in legality.items[0].url
    assert "山楂" in opens(client, legality.items[0])
    assert find("枇杷园").total == 0  # submitted but no opinion filed
    assert find("柠檬巷").total == 0  # collective-discussion minutes are internal, always

    # An amendment replaces the earlier version in results.
    amended = _review(decision, reviewed["member"], 2, "资金分担方案已明确,建议增设无障碍坡道。", reviewed["review"])
    db.session.add(amended)
    db.session.commit()
    assert find("电梯").total == 0
    assert hits(find("无障碍坡道")) == [("review", "专家论证意见(钱教授):关于老旧小区改造的决定")]

    # The decision's new title reaches the review documents' titles.
    decision.title = "关于城镇老旧小区综合改造的决定"
    db.session.commit()
    assert titles(find("樱桃")) == ["风险评估:关于城镇老旧小区综合改造的决定"]


def test_reviews_use_the_pages_own_rule(reviewed, monkeypatch, find):
    """The provider asks ``can_see_reviews``: changing that rule changes what is found."""
    from portal.reviews import permissions

    decision = reviewed["decision"]
    monkeypatch.setattr(permissions, "can_see_reviews", lambda user, d: True)
    prov = providers_more.review_provider()
    ident = providers_more.encode(reviewed["review"].id, providers_more.EXPERT)
    assert prov.load([ident])[ident] is not None
    monkeypatch.undo()
    assert provider("review").load([ident])[ident] is None
    assert decision.stage == Stage.EXPERT_REVIEW.value


# Reports ---------------------------------------------------------------------------------------


def test_implementation_updates_and_evaluations_are_found_while_their_decision_is_public(
    db, client, make_decision, find
):
    from portal.implementation.models import ImplementationUpdate, PostEvaluation

    hidden = make_decision("起草中的养老服务决定", "养老服务", published=False, stage=Stage.DRAFTING.value)
    decision = make_decision("关于完善社区养老服务的决定", "社区养老服务", stage=Stage.IMPLEMENTATION.value)
    db.session.add_all(
        [
            ImplementationUpdate(decision_id=hidden.id, title="内部进度", body="荔枝街道试点。"),
            ImplementationUpdate(decision_id=decision.id, title="第一季度执行情况", body="已建成向日葵助餐点12个。"),
            PostEvaluation(
                decision_id=decision.id,
                conclusion="continue",
                report="评估认为蒲公英服务效果良好。",
                report_sha256="0" * 64,
            ),  # fmt: skip
        ]
    )
    db.session.commit()
    assert find("荔枝").total == 0  # its decision is not public

    update_hit = find("向日葵")
    assert hits(update_hit) == [("report", "第一季度执行情况")]
    assert update_hit.items[0].url.endswith("#updates")
    assert "向日葵" in opens(client, update_hit.items[0])
    evaluation = find("蒲公英")
    assert hits(evaluation) == [("report", "决策后评估报告:关于完善社区养老服务的决定")]
    assert evaluation.items[0].url.endswith("#evaluations")
    assert "蒲公英" in opens(client, evaluation.items[0])

    decision.stage = Stage.WITHDRAWN.value
    db.session.commit()
    assert find("向日葵").total == 0
    assert find("蒲公英").total == 0


# Registration, the page, the CLI ---------------------------------------------------------------


def test_a_missing_feature_leaves_the_other_providers(monkeypatch):
    monkeypatch.setitem(sys.modules, "portal.hearings.models", None)  # import raises ImportError
    assert providers_more.hearing_provider() is None
    assert "hearing" not in providers_more.register_more()
    assert {"release", "review", "report"} <= set(providers_more.register_more())
    monkeypatch.undo()
    assert "hearing" in providers_more.register_more()


def facet_labels(html: str) -> dict[str, str]:
    """Type facet links of a search page: ``{type code: label}``."""
    return dict(re.findall(r'type=(\w+)[^"]*">([^<]+)</a> <span class="search-count">', html))


def test_type_facet_labels_in_both_languages(db, client, make_decision, hearing_of, reviewed, spokesperson, index_now):
    from portal.implementation.models import ImplementationUpdate

    decision = make_decision("关于调整出租车运价的决定", "出租车运价", stage=Stage.HEARING.value)
    hearing_of(decision, status="published", published_at=utcnow(), purpose="出租车运价听证")
    release = release_ops.create_release(spokesperson, kind="news", title="出租车运价听证公告", body="出租车运价")
    release_ops.publish_release(spokesperson, release)
    reviewed["decision"].stage = Stage.IMPLEMENTATION.value
    db.session.add(ImplementationUpdate(decision_id=reviewed["decision"].id, title="出租车运价执行", body="出租车运价"))
    db.session.add(RiskAssessment(decision_id=reviewed["decision"].id, level="low", controllable=True,
                                  findings="出租车运价风险", mitigation="无"))  # fmt: skip
    db.session.commit()
    index_now()
    labels = facet_labels(client.get("/search?q=出租车运价").get_data(as_text=True))
    assert labels == {
        "decision": "决策事项",
        "hearing": "听证会",
        "release": "新闻发布",
        "review": "论证与审查",
        "report": "执行与评估",
    }
    client.set_cookie("lang", "en")
    labels = facet_labels(client.get("/search?q=出租车运价").get_data(as_text=True))
    assert labels == {
        "decision": "Decisions",
        "hearing": "Public hearings",
        "release": "News releases",
        "review": "Reviews and assessments",
        "report": "Implementation and evaluation",
    }
    english = client.get("/search?q=出租车运价风险").get_data(as_text=True)
    assert "Risk assessment: 关于老旧小区改造的决定" in english  # titles' labels follow the reader's language


def test_reindex_and_status_show_every_type(db, runner, make_decision, hearing_of, reviewed, spokesperson):
    decision = make_decision("关于调整出租车运价的决定", "出租车运价", stage=Stage.HEARING.value)
    hearing_of(decision, status="published", published_at=utcnow())
    release = release_ops.create_release(spokesperson, kind="news", title="出租车运价听证公告", body="出租车运价")
    release_ops.publish_release(spokesperson, release)
    reviewed["decision"].stage = Stage.PUBLISHED.value
    db.session.commit()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0, result.output
    counts = dict(line.split() for line in result.output.splitlines()[1:] if line.startswith("  "))
    assert counts["hearing"] == "1"  # the notice; no report yet
    assert counts["release"] == "1"
    assert counts["review"] == "3"  # the signed review, the risk assessment, the filed legality opinion
    assert counts["report"] == "0"
