"""Rules of releases and of the publication of decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portal.accountability.models import Checkpoint
from portal.core.errors import DomainError, NotAllowed
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.decisions.models import Stage
from portal.decisions.operations import GateClosed
from portal.releases import operations as ops
from portal.releases import queries
from portal.releases.models import DecisionPublication, Release, ReleaseCorrection
from portal.trace.models import TraceEntry
from portal.trace.operations import head
from tests.releases.conftest import PUBLICATION


def _entries(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq)))


def _release_count(db) -> int:
    return db.session.scalar(select(func.count(Release.id)))


def _news(spokesperson, **fields):
    fields.setdefault("kind", "news")
    fields.setdefault("title", "新闻发布会通稿")
    fields.setdefault("body", "今天举行新闻发布会。")
    return ops.create_release(spokesperson, **fields)


# Writing and publishing ----------------------------------------------------------------------------


def test_only_spokespersons_write_releases(db, official, citizen, leader):
    for actor in (official, citizen, leader, None):
        with pytest.raises(NotAllowed):
            _news(actor)
    assert _release_count(db) == 0


def test_draft_then_publish_records_public_entry(db, spokesperson):
    release = _news(spokesperson)
    assert not release.is_published()
    created = _entries(db, "release.created")[-1]
    assert created.visibility == "internal"
    ops.publish_release(spokesperson, release)
    assert release.is_published()
    assert release.published_at is not None
    entry = _entries(db, "release.published")[-1]
    assert entry.visibility == "public"
    assert entry.payload_data["body_sha256"] == ops.sha256_text(release.body)
    assert entry.actor_name == spokesperson.display_name


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("title", "", "required"),
        ("title", "标" * 201, "too_long"),
        ("body", "   ", "required"),
        ("body", "字" * 50_001, "too_long"),
        ("summary", "摘" * 501, "too_long"),
        ("kind", "opinion", "bad_kind"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_stored(db, spokesperson, field, value, code):
    with pytest.raises(DomainError) as caught:
        _news(spokesperson, **{field: value})
    assert caught.value.code == code
    assert str(caught.value.message)
    assert _release_count(db) == 0


def test_interpretation_needs_a_published_decision(db, spokesperson, make_decision):
    with pytest.raises(DomainError) as caught:
        _news(spokesperson, kind="interpretation")
    assert caught.value.code == "decision_required"
    decided = make_decision(Stage.DECIDED)
    with pytest.raises(DomainError) as caught:
        _news(spokesperson, kind="interpretation", decision=decided)
    assert caught.value.code == "decision_not_published"
    assert "尚未公布" in str(caught.value.message)
    assert _release_count(db) == 0


def test_interpretation_must_say_how_opinions_were_adopted(db, spokesperson, published_decision):
    decision = published_decision()
    release = _news(spokesperson, kind="interpretation", decision=decision, public_adoption="采纳5条。")
    with pytest.raises(DomainError) as caught:
        ops.publish_release(spokesperson, release)
    assert caught.value.code == "adoption_required"
    assert not release.is_published()
    release = ops.update_release(
        spokesperson,
        release,
        kind="interpretation",
        title=release.title,
        body=release.body,
        decision=decision,
        public_adoption="采纳5条。",
        expert_adoption="两位专家均赞成。",
    )
    ops.publish_release(spokesperson, release)
    assert release.is_published()


def test_news_about_a_decision_not_yet_public_is_refused(db, spokesperson, make_decision):
    hidden = make_decision(Stage.DRAFTING)
    hidden.versions[0].status = "draft"  # a draft nobody has published yet
    db.session.flush()
    with pytest.raises(DomainError) as caught:
        _news(spokesperson, decision=hidden)
    assert caught.value.code == "decision_not_public"


# Scheduling ------------------------------------------------------------------------------------


def test_scheduling_in_the_past_is_refused(db, spokesperson):
    release = _news(spokesperson)
    before = len(_entries(db, "release.scheduled"))
    for moment in (utcnow() - timedelta(minutes=1), utcnow()):
        with pytest.raises(DomainError) as caught:
            ops.schedule_release(spokesperson, release, scheduled_at=moment)
        assert caught.value.code == "time_in_past"
    with pytest.raises(DomainError):
        ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(days=400))
    assert release.status == "draft"
    assert release.scheduled_at is None
    assert len(_entries(db, "release.scheduled")) == before


def test_scheduled_release_is_published_by_the_clock_and_recorded_once(db, spokesperson):
    release = _news(spokesperson)
    now = utcnow()
    at = now + timedelta(hours=1)
    ops.schedule_release(spokesperson, release, scheduled_at=at, now=now)
    db.session.commit()
    assert not release.is_published(now)
    assert release.is_published(at)  # no job: the clock decides
    assert release not in db.session.scalars(queries.public_releases()).all()
    assert ops.publish_due(now) == []

    later = at + timedelta(seconds=1)
    assert [r.id for r in ops.publish_due(later)] == [release.id]
    assert ops.publish_due(later) == []  # the guard: recorded once
    db.session.refresh(release)
    assert release.status == "published"
    assert release.published_at == at
    entries = [e for e in _entries(db, "release.published") if e.subject_id == str(release.id)]
    assert len(entries) == 1
    assert entries[0].payload_data["scheduled"] is True
    assert entries[0].actor_id is None


def test_due_scheduled_release_is_listed_before_anyone_records_it(db, spokesperson):
    release = _news(spokesperson)
    ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(seconds=1))
    db.session.commit()
    db.session.execute(
        sa.update(Release).where(Release.id == release.id).values(scheduled_at=utcnow() - timedelta(minutes=5))
    )
    db.session.commit()
    db.session.refresh(release)
    assert release.status == "scheduled"
    assert release in db.session.scalars(queries.public_releases()).all()
    assert ops.observe_due_releases() == 1
    db.session.refresh(release)
    assert release.status == "published"


def test_unschedule_returns_to_draft(db, spokesperson):
    release = _news(spokesperson)
    ops.schedule_release(spokesperson, release, scheduled_at=utcnow() + timedelta(days=1))
    ops.unschedule_release(spokesperson, release)
    assert release.status == "draft"
    assert release.scheduled_at is None
    with pytest.raises(DomainError):
        ops.unschedule_release(spokesperson, release)


# Published releases are never edited in place ------------------------------------------------------


def test_editing_a_published_release_is_refused(db, spokesperson):
    release = _news(spokesperson)
    ops.publish_release(spokesperson, release)
    db.session.commit()
    with pytest.raises(DomainError) as caught:
        ops.update_release(spokesperson, release, kind="news", title="改过的标题", body="改过的正文")
    assert caught.value.code == "immutable"
    assert caught.value.status == 409
    db.session.rollback()
    db.session.refresh(release)
    assert release.title == "新闻发布会通稿"
    for action in (ops.publish_release, ops.unschedule_release):
        with pytest.raises(DomainError):
            action(spokesperson, release)


def test_orm_refuses_a_silent_edit(db, spokesperson):
    release = _news(spokesperson)
    ops.publish_release(spokesperson, release)
    db.session.commit()
    release.body = "悄悄改掉"
    with pytest.raises(DomainError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_a_silent_edit(db, spokesperson):
    release = _news(spokesperson)
    ops.publish_release(spokesperson, release)
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE press_release SET body = 'x' WHERE id = :id"), {"id": release.id})
    with pytest.raises(sa.exc.DBAPIError), db.session.begin_nested():
        db.session.execute(sa.text("DELETE FROM press_release WHERE id = :id"), {"id": release.id})
    db.session.refresh(release)
    assert release.body == "今天举行新闻发布会。"


def test_corrections_are_appended_dated_and_earlier_texts_stay(db, spokesperson):
    release = _news(spokesperson, body="原文:首15分钟免费。")
    with pytest.raises(DomainError) as caught:
        ops.correct_release(spokesperson, release, note="改", body="新")
    assert caught.value.code == "not_published"
    ops.publish_release(spokesperson, release)
    first = ops.correct_release(spokesperson, release, note="免费时段应为30分钟。", body="更正:首30分钟免费。")
    second = ops.correct_release(spokesperson, release, note="补充说明。", body="更正:首30分钟免费,夜间另计。")
    assert (first.number, second.number) == (1, 2)
    assert release.current_text == "更正:首30分钟免费,夜间另计。"
    assert release.text_number(0) == "原文:首15分钟免费。"
    assert release.text_number(1) == "更正:首30分钟免费。"
    assert release.body == "原文:首15分钟免费。"
    entries = _entries(db, "release.corrected")
    assert [e.payload_data["number"] for e in entries[-2:]] == [1, 2]
    assert entries[-1].payload_data["previous_sha256"] == ops.sha256_text("更正:首30分钟免费。")
    with pytest.raises(DomainError) as caught:
        ops.correct_release(spokesperson, release, note="再改", body=release.current_text)
    assert caught.value.code == "unchanged"
    with pytest.raises(DomainError):
        ops.correct_release(spokesperson, release, note="", body="再改一次")
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE release_correction SET body = 'x' WHERE id = :id"), {"id": first.id})
    assert db.session.scalar(select(func.count(ReleaseCorrection.id))) == 2


# Publication of decisions ----------------------------------------------------------------------------


def test_publish_decision_moves_stage_records_and_checkpoints(db, official, make_decision):
    decision = make_decision(Stage.DECIDED)
    publication = ops.publish_decision(
        official, decision, effective_date=ops.local_today() + timedelta(days=10), **PUBLICATION
    )
    assert decision.stage == Stage.PUBLISHED.value
    assert decision.document_number == PUBLICATION["document_number"]
    assert publication.text_sha256 == ops.sha256_text(PUBLICATION["final_text"].strip())
    entry = _entries(db, "decision.published")[-1]
    assert entry.visibility == "public"
    assert entry.subject_id == str(decision.id)
    assert entry.payload_data["text_sha256"] == publication.text_sha256
    checkpoint = db.session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()))
    assert checkpoint.reason == "publication"
    assert checkpoint.decision_id == decision.id
    assert (checkpoint.seq, checkpoint.hash) == head()
    with pytest.raises(DomainError) as caught:
        ops.publish_decision(official, decision, effective_date=ops.local_today(), **PUBLICATION)
    assert caught.value.code == "already_published"


def test_decided_decision_cannot_advance_without_publication(db, official, make_decision):
    decision = make_decision(Stage.DECIDED)
    with pytest.raises(GateClosed) as caught:
        decision_ops.advance(official, decision, Stage.PUBLISHED)
    assert any("尚未公布" in u for u in caught.value.unmet)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"document_number": ""}, "required"),
        ({"document_number": "号" * 81}, "too_long"),
        ({"final_text": ""}, "required"),
        ({"public_adoption": " "}, "required"),
        ({"expert_adoption": "见" * 10_001}, "too_long"),
        ({"effective_date": "past"}, "effective_in_past"),
    ],
)
def test_publication_bad_input_changes_nothing(db, official, make_decision, changes, code):
    decision = make_decision(Stage.DECIDED)
    fields = {**PUBLICATION, "effective_date": ops.local_today()}
    fields.update(changes)
    if fields["effective_date"] == "past":
        fields["effective_date"] = ops.local_today() - timedelta(days=1)
    with pytest.raises(DomainError) as caught:
        ops.publish_decision(official, decision, **fields)
    assert caught.value.code == code
    db.session.rollback()
    assert db.session.get(DecisionPublication, decision.id) is None
    db.session.refresh(decision)
    assert decision.stage == Stage.DECIDED.value


def test_publication_refused_outside_decided_and_to_other_departments(
    db, official, make_decision, make_user, make_department, spokesperson
):
    from portal.auth.models import Role

    early = make_decision(Stage.DELIBERATION)
    with pytest.raises(DomainError) as caught:
        ops.publish_decision(official, early, effective_date=ops.local_today(), **PUBLICATION)
    assert caught.value.code == "not_decided"
    decision = make_decision(Stage.DECIDED)
    foreign = make_user(Role.OFFICIAL, department=make_department(code="jyj"))
    for actor in (foreign, spokesperson):
        with pytest.raises(NotAllowed):
            ops.publish_decision(actor, decision, effective_date=ops.local_today(), **PUBLICATION)


def test_adoption_prefill_without_consultation_or_reviews(db, make_decision):
    public, expert = queries.adoption_prefill(make_decision(Stage.DECIDED))
    assert "未开展公开征求意见" in public
    assert "未组织专家论证" in expert


def test_adoption_prefill_from_consultation_statistics(db, official, make_decision, citizen):
    from portal.consultation import operations as consultation_ops

    decision = make_decision(Stage.DRAFTING)
    now = utcnow()
    consultation = consultation_ops.open_consultation(
        official, decision, starts_at=now, ends_at=now + timedelta(days=30)
    )
    comments = [
        consultation_ops.submit_comment(citizen, consultation, body=f"意见{i}", submission_token=f"t{i}")
        for i in range(3)
    ]
    for comment in comments:
        consultation_ops.publish_comment(official, comment)
    consultation_ops.respond(official, comments[0], disposition="adopted", reason="已修改第二条。")
    consultation_ops.respond(official, comments[1], disposition="not_adopted", reason="与上位法不符。")
    public, _expert = queries.adoption_prefill(decision)
    assert "共收到意见 3 条" in public
    assert "采纳 1 条" in public
    assert "不予采纳 1 条" in public
    assert "已逐条答复 2 条" in public
