"""Rules of the consultation: periods, comments, moderation, responses, duplicates, gate, report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.consultation import dedupe, operations, queries
from portal.consultation.models import Comment, CommentStatus, Consultation, Response
from portal.core.errors import DomainError, NotAllowed
from portal.core.models import utcnow
from portal.decisions.gates import unmet_conditions
from portal.decisions.models import Stage
from portal.trace.models import INTERNAL, PUBLIC, TraceEntry


def entries(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq)))


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# Opening ---------------------------------------------------------------------------------------


def test_open_moves_drafting_to_consultation_and_records(db, make_decision, official):
    decision = make_decision()
    start = utcnow()
    consultation = operations.open_consultation(official, decision, starts_at=start, ends_at=start + timedelta(days=30))
    db.session.commit()
    assert decision.stage == Stage.CONSULTATION.value
    assert consultation.is_open()
    assert consultation.emergency_reason is None
    opened = entries(db, "consultation.opened")
    assert len(opened) == 1
    assert opened[0].visibility == PUBLIC
    assert opened[0].payload_data["days"] == 30
    assert any(e.payload_data.get("to") == "consultation" for e in entries(db, "decision.stage_changed"))


def test_short_period_needs_a_reason_and_stores_nothing_without(db, make_decision, official):
    decision = make_decision()
    start = utcnow()
    with pytest.raises(DomainError) as refused:
        operations.open_consultation(official, decision, starts_at=start, ends_at=start + timedelta(days=29))
    assert refused.value.code == "period_too_short"
    db.session.rollback()
    assert count(db, Consultation) == 0
    assert decision.stage == Stage.DRAFTING.value
    consultation = operations.open_consultation(
        official, decision, starts_at=start, ends_at=start + timedelta(days=10), emergency_reason="汛期供水安全需要"
    )
    assert consultation.is_shortened
    assert consultation.emergency_reason == "汛期供水安全需要"
    assert entries(db, "consultation.opened")[0].payload_data["emergency_reason"] == "汛期供水安全需要"


def test_only_the_owning_department_opens(db, make_decision, other_official, citizen):
    decision = make_decision()
    start = utcnow()
    for actor in (other_official, citizen):
        with pytest.raises(NotAllowed):
            operations.open_consultation(actor, decision, starts_at=start, ends_at=start + timedelta(days=30))
    assert count(db, Consultation) == 0


@pytest.mark.parametrize(
    ("start_offset", "length", "code"),
    [(-timedelta(days=1), timedelta(days=30), "start_in_past"), (timedelta(0), -timedelta(days=1), "bad_period")],
)
def test_bad_periods_are_refused(db, make_decision, official, start_offset, length, code):
    decision = make_decision()
    start = utcnow() + start_offset
    with pytest.raises(DomainError) as refused:
        operations.open_consultation(official, decision, starts_at=start, ends_at=start + length)
    assert refused.value.code == code


def test_needs_a_published_version_and_opens_once(db, make_decision, make_consultation, official):
    unpublished = make_decision(published=False)
    start = utcnow()
    with pytest.raises(DomainError) as refused:
        operations.open_consultation(official, unpublished, starts_at=start, ends_at=start + timedelta(days=30))
    assert refused.value.code == "no_version"
    consultation = make_consultation()
    with pytest.raises(DomainError) as twice:
        operations.open_consultation(
            official, consultation.decision, starts_at=start, ends_at=start + timedelta(days=30)
        )
    assert twice.value.status == 409


def test_status_follows_the_server_clock(make_consultation):
    c = make_consultation(started_days_ago=0)
    assert c.status(c.starts_at - timedelta(seconds=1)).value == "upcoming"
    assert c.status(c.starts_at).value == "open"
    assert c.status(c.ends_at - timedelta(seconds=1)).value == "open"
    assert c.status(c.ends_at).value == "closed"


def test_extension_needs_reason_and_later_end(db, make_consultation, official):
    c = make_consultation()
    old_end = c.ends_at
    with pytest.raises(DomainError):
        operations.extend_consultation(official, c, ends_at=old_end + timedelta(days=5), reason=" ")
    with pytest.raises(DomainError):
        operations.extend_consultation(official, c, ends_at=old_end - timedelta(days=1), reason="理由")
    operations.extend_consultation(official, c, ends_at=old_end + timedelta(days=7), reason="收到意见较多")
    db.session.commit()
    assert c.ends_at == old_end + timedelta(days=7)
    assert c.original_ends_at == old_end
    extended = entries(db, "consultation.extended")
    assert extended[0].visibility == PUBLIC
    assert extended[0].payload_data["reason"] == "收到意见较多"


def test_no_extension_after_close(make_consultation, official):
    c = make_consultation(started_days_ago=40)
    with pytest.raises(DomainError) as refused:
        operations.extend_consultation(official, c, ends_at=utcnow() + timedelta(days=5), reason="再听听")
    assert refused.value.code == "closed"


def test_closed_is_recorded_once_when_an_official_acts(db, make_consultation, make_comment, official):
    c = make_consultation(started_days_ago=10)
    comment = make_comment(c, publish_by=official)
    after = c.ends_at + timedelta(hours=1)
    operations.respond(official, comment, disposition="adopted", reason="采纳。", now=after)
    operations.respond(official, comment, disposition="adopted", reason="采纳,并已修改。", now=after)
    closed = entries(db, "consultation.closed")
    assert len(closed) == 1
    assert closed[0].payload_data["received"] == 1


# Comments --------------------------------------------------------------------------------------


def test_tracking_numbers_are_sequential_per_local_year(db, make_consultation, citizen, make_user):
    c = make_consultation(started_days_ago=1)
    first = operations.submit_comment(citizen, c, body="意见一")
    second = operations.submit_comment(make_user(Role.CITIZEN), c, body="意见二")
    year = first.year
    assert first.tracking_number == f"GY-{year}-{first.number:06d}"
    assert second.number == first.number + 1


def test_tracking_year_is_the_shanghai_year(app):
    with app.app_context():
        # 17:00 UTC on 31 December is already 1 January in Beijing.
        assert operations.local_year(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == 2027
        assert operations.local_year(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == 2026


def test_comment_outside_the_period_is_refused_and_nothing_stored(db, make_consultation, citizen):
    closed = make_consultation(started_days_ago=31)
    with pytest.raises(DomainError) as after:
        operations.submit_comment(citizen, closed, body="太晚了")
    assert after.value.code == "closed"
    upcoming = make_consultation(started_days_ago=-2)
    with pytest.raises(DomainError) as before:
        operations.submit_comment(citizen, upcoming, body="太早了")
    assert before.value.code == "not_open_yet"
    db.session.rollback()
    assert count(db, Comment) == 0
    assert entries(db, "comment.accepted") == []


def test_article_must_be_in_the_current_version(db, make_consultation, citizen):
    c = make_consultation()
    comment = operations.submit_comment(citizen, c, body="关于第二条", article_anchor="art-2")
    assert comment.article_label == "第二条"
    for bad in ("art-99", "<script>", "x" * 300):
        with pytest.raises(DomainError) as refused:
            operations.submit_comment(citizen, c, body="不存在的条款", article_anchor=bad)
        assert refused.value.code == "unknown_article"


def test_length_limit(db, make_consultation, citizen):
    c = make_consultation()
    operations.submit_comment(citizen, c, body="字" * 5000)
    with pytest.raises(DomainError) as refused:
        operations.submit_comment(citizen, c, body="字" * 5001)
    assert refused.value.code == "too_long"
    with pytest.raises(DomainError):
        operations.submit_comment(citizen, c, body="  \n ")


def test_a_stored_comment_is_returned_complete_as_the_database_holds_it(db, make_consultation, citizen):
    """The batch insert (Core, then made persistent) leaves no column unset on the object it returns."""
    from sqlalchemy import inspect

    c = make_consultation()
    comment = operations.submit_comment(citizen, c, body="意见:请公开避难场所。", submission_token="form-1")
    state = inspect(comment)
    assert state.persistent
    assert not {column.key for column in Comment.__table__.columns} & state.unloaded
    stored = db.session.execute(select(Comment.__table__).where(Comment.__table__.c.id == comment.id)).one()._mapping
    assert {key: getattr(comment, key) for key in stored} == dict(stored)
    assert comment.author is citizen
    assert comment.consultation is c
    db.session.commit()
    assert comment.group.text_hash


def test_double_submit_creates_one_comment(db, make_consultation, citizen):
    c = make_consultation()
    first = operations.submit_comment(citizen, c, body="同一个表单", submission_token="tok-1")
    again = operations.submit_comment(citizen, c, body="同一个表单", submission_token="tok-1")
    assert first.id == again.id
    assert count(db, Comment) == 1
    assert len(entries(db, "comment.accepted")) == 1


def test_anonymous_comment_hides_name_publicly_and_ledger_is_internal(db, make_consultation, citizen, official):
    c = make_consultation()
    comment = operations.submit_comment(citizen, c, body="匿名提出", anonymous=True)
    assert comment.public_name == "匿名公众"
    assert comment.internal_name == "张小红"
    accepted = entries(db, "comment.accepted")[0]
    assert accepted.visibility == INTERNAL
    assert accepted.department_id == c.decision.department_id
    assert "张小红" not in accepted.payload
    operations.publish_comment(official, comment)
    published = entries(db, "comment.published")[0]
    assert published.visibility == PUBLIC
    assert "张小红" not in published.payload
    assert published.actor_id == official.id


def test_withdrawal_by_author_only_while_open(db, make_consultation, citizen, make_user, official):
    c = make_consultation(started_days_ago=1)
    comment = operations.submit_comment(citizen, c, body="我再想想")
    with pytest.raises(NotAllowed):
        operations.withdraw_comment(make_user(Role.CITIZEN), comment)
    with pytest.raises(DomainError) as closed:
        operations.withdraw_comment(citizen, comment, now=c.ends_at + timedelta(minutes=1))
    assert closed.value.code == "closed"
    operations.withdraw_comment(citizen, comment)
    assert comment.status == CommentStatus.WITHDRAWN.value
    assert entries(db, "comment.withdrawn")[0].visibility == INTERNAL
    with pytest.raises(DomainError):
        operations.withdraw_comment(citizen, comment)
    with pytest.raises(DomainError):
        operations.publish_comment(official, comment)


# Moderation and responses ----------------------------------------------------------------------


def test_publish_and_reject_rules(db, make_consultation, make_comment, official, other_official):
    c = make_consultation()
    comment = make_comment(c)
    with pytest.raises(NotAllowed):
        operations.publish_comment(other_official, comment)
    with pytest.raises(DomainError) as bad:
        operations.reject_comment(official, comment, reason="dislike")
    assert bad.value.code == "bad_reason"
    operations.reject_comment(official, comment, reason="advertising", note="推销净水器")
    assert comment.status == "rejected"
    rejected = entries(db, "comment.rejected")[0]
    assert rejected.visibility == INTERNAL
    assert rejected.payload_data["reason"] == "advertising"
    with pytest.raises(DomainError):
        operations.publish_comment(official, comment)


def test_response_only_for_published_and_notifies_author(db, make_consultation, make_comment, official, citizen):
    from portal.notifications.models import Notification

    c = make_consultation()
    comment = make_comment(c, author=citizen)
    with pytest.raises(DomainError):
        operations.respond(official, comment, disposition="adopted", reason="采纳")
    operations.publish_comment(official, comment)
    with pytest.raises(DomainError):
        operations.respond(official, comment, disposition="maybe", reason="?")
    with pytest.raises(DomainError):
        operations.respond(official, comment, disposition="not_adopted", reason="")
    operations.respond(official, comment, disposition="not_adopted", reason="超出本办法调整范围。")
    db.session.commit()
    assert comment.response.disposition == "not_adopted"
    recorded = entries(db, "response.recorded")[0]
    assert recorded.visibility == PUBLIC
    assert recorded.payload_data["disposition"] == "not_adopted"
    notes = db.session.scalars(select(Notification).where(Notification.user_id == citizen.id)).all()
    assert [n.kind for n in notes] == ["comment_responded"]
    assert "不予采纳" in notes[0].message


def test_offline_comment_with_channel(db, make_consultation, official, citizen):
    c = make_consultation()
    with pytest.raises(NotAllowed):
        operations.enter_offline_comment(citizen, c, channel="letter", sender_name="王先生", body="来信")
    with pytest.raises(DomainError):
        operations.enter_offline_comment(official, c, channel="portal", sender_name="王先生", body="来信")
    comment = operations.enter_offline_comment(
        official, c, channel="hotline_12345", sender_name="王先生", body="来电反映水压低", publish=True
    )
    assert comment.channel == "hotline_12345"
    assert comment.is_published
    assert comment.author_id is None
    assert comment.public_name == "匿名公众"  # anonymous unless the sender agreed


# Duplicates ------------------------------------------------------------------------------------


def test_normalise_and_similarity():
    assert dedupe.normalise("坚决反对!水价  上涨。ＡＢＣ") == "坚决反对水价上涨abc"
    a = dedupe.shingles(dedupe.normalise("坚决反对此次水价上涨,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。"))
    b = dedupe.shingles(dedupe.normalise("坚决反对此次水价上涨!涨价会加重普通家庭的负担,请求暂缓实施阶梯水价!!"))
    c = dedupe.shingles(dedupe.normalise("建议公开供水企业的成本监审报告,让市民了解调价的依据。"))
    assert dedupe.jaccard(a, b) >= dedupe.THRESHOLD
    assert dedupe.jaccard(a, c) < 0.2


CAMPAIGN = "坚决反对此次水价上涨!水是生活必需品,涨价会加重普通家庭负担,请求暂缓实施阶梯水价。"


def test_identical_and_near_identical_comments_share_a_group(db, make_consultation, make_user):
    c = make_consultation()
    texts = [CAMPAIGN, CAMPAIGN + "!!", CAMPAIGN.replace("请求", "恳请"), "  " + CAMPAIGN.replace("!", ",")]
    grouped = [operations.submit_comment(make_user(Role.CITIZEN), c, body=t) for t in texts]
    other = operations.submit_comment(make_user(Role.CITIZEN), c, body="建议公开供水成本监审报告。")
    assert len({g.group_id for g in grouped}) == 1
    assert other.group_id != grouped[0].group_id
    assert len({g.tracking_number for g in grouped}) == 4  # each keeps its own number
    # Groups do not cross consultations.
    elsewhere = operations.submit_comment(make_user(Role.CITIZEN), make_consultation(), body=CAMPAIGN)
    assert elsewhere.group_id != grouped[0].group_id


def test_one_action_publishes_and_answers_a_group(db, make_consultation, make_user, official):
    from portal.consultation.models import CommentGroup

    c = make_consultation()
    authors = [make_user(Role.CITIZEN) for _ in range(5)]
    comments = [operations.submit_comment(a, c, body=CAMPAIGN + "!" * i) for i, a in enumerate(authors)]
    group = db.session.get(CommentGroup, comments[0].group_id)
    assert operations.publish_group(official, group) == 5
    assert operations.respond_group(official, group, disposition="not_adopted", reason="第一档水价不变。") == 5
    db.session.commit()
    assert db.session.scalar(select(func.count(Response.id))) == 5
    assert len(entries(db, "response.recorded")) == 5
    with pytest.raises(DomainError):
        operations.respond_group(official, group, disposition="adopted", reason="再答一次")
    report = queries.build_report(c)
    assert report.received == 5
    assert report.distinct_texts == 1
    assert report.duplicate_groups[0].size == 5


# Gate and report -------------------------------------------------------------------------------


def test_gate_until_closed_and_every_published_comment_answered(db, make_consultation, make_comment, official):
    c = make_consultation(started_days_ago=29)
    decision = c.decision
    comment = make_comment(c, publish_by=official)
    problems = unmet_conditions(decision, Stage.CONSULTATION)
    assert len(problems) == 2  # still open; one published comment unanswered
    operations.respond(official, comment, disposition="adopted", reason="采纳。")
    db.session.commit()
    assert len(unmet_conditions(decision, Stage.CONSULTATION)) == 1
    c.starts_at -= timedelta(days=2)
    c.ends_at -= timedelta(days=2)
    db.session.commit()
    assert unmet_conditions(decision, Stage.CONSULTATION) == []


def test_gate_without_consultation(make_decision):
    assert unmet_conditions(make_decision(), Stage.CONSULTATION)


def test_report_figures(db, make_consultation, make_comment, make_user, official):
    c = make_consultation()
    a = make_comment(c, "关于第二条", article="art-2", publish_by=official)
    b = make_comment(c, "关于整体", publish_by=official)
    make_comment(c, "广告", publish_by=None)
    ad = db.session.scalar(select(Comment).where(Comment.body == "广告"))
    operations.reject_comment(official, ad, reason="advertising")
    mine = make_comment(c, "要撤回的")
    operations.withdraw_comment(mine.author, mine)
    operations.enter_offline_comment(official, c, channel="letter", sender_name="李女士", body="来信意见")
    operations.respond(official, a, disposition="partly_adopted", reason="部分采纳的理由")
    operations.respond(official, b, disposition="not_adopted", reason="不采纳的理由")
    db.session.commit()
    report = queries.build_report(c)
    assert report.received == 5
    assert report.distinct_texts == 5
    assert (report.published, report.rejected, report.withdrawn, report.pending) == (2, 1, 1, 1)
    assert report.rejected_by_reason["advertising"] == 1
    assert report.rejected_by_reason["abusive"] == 0
    assert report.by_channel == {
        "portal": 4,
        "letter": 1,
        "phone": 0,
        "hotline_12345": 0,
        "email": 0,
        "other": 0,
    }
    art2 = next(row for row in report.by_article if row["anchor"] == "art-2")
    assert art2["received"] == 1
    assert art2["partly_adopted"] == 1
    assert report.adoption.by_disposition["not_adopted"] == 1
    assert report.adoption.unanswered == 0
    reasons = {r["reason"] for r in report.not_adopted_reasons}
    assert reasons == {"部分采纳的理由", "不采纳的理由"}
    json.dumps(report.as_dict())  # serialisable for the API


def test_report_counts_stay_cheap(db, make_consultation, make_user):
    """2,000 comments: the report is a handful of aggregate queries, not one per comment."""
    from sqlalchemy import event

    c = make_consultation()
    _bulk_comments(db, c, 2000, make_user(Role.CITIZEN))
    statements = []

    def count_statement(*_args):
        statements.append(1)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        report = queries.build_report(c)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    assert report.received == 2000
    assert len(statements) <= 15


def _bulk_comments(db, consultation, n: int, author, status: str = "published") -> None:
    """Insert ``n`` published comments quickly (one group each) for scale tests."""
    from portal.consultation.models import CommentGroup

    now = utcnow()
    groups = [
        {
            "consultation_id": consultation.id,
            "text_hash": f"{i:064d}",
            "normalised": f"g{i}",
            "text_length": 2,
            "created_at": now,
        }
        for i in range(n)
    ]
    db.session.execute(CommentGroup.__table__.insert(), groups)
    ids = db.session.scalars(
        select(CommentGroup.id).where(CommentGroup.consultation_id == consultation.id).order_by(CommentGroup.id)
    ).all()
    rows = [
        {
            "consultation_id": consultation.id,
            "year": 1999,
            "number": i + 1 + consultation.id * 10_000,
            "tracking_number": f"GY-1999-{i + 1 + consultation.id * 10_000:06d}",
            "author_id": author.id,
            "anonymous": i % 2 == 0,
            "channel": "portal",
            "body": f"第 {i} 条意见:**建议**提高第一档水量。",
            "status": status,
            "group_id": ids[i],
            "published_at": now,
            "created_at": now,
        }
        for i in range(n)
    ]
    db.session.execute(Comment.__table__.insert(), rows)
    db.session.commit()


# Concurrency (real commits, several threads) ---------------------------------------------------


def test_tracking_numbers_and_double_submits_under_concurrency(committing_app):
    import threading

    from portal.auth import operations as auth_ops
    from portal.auth.models import User
    from portal.core.extensions import db as real_db
    from portal.decisions.models import Decision, DraftArticle, DraftVersion

    app = committing_app
    with app.app_context():
        department = auth_ops.create_department(None, code="conc", name="并发测试单位")
        official = auth_ops.create_user(
            None,
            email="o@conc.cn",
            display_name="官员",
            password="Test-pass-2026",
            roles=[Role.OFFICIAL],
            departments=[department],
            confirmed=True,
        )
        people = [
            auth_ops.create_user(
                None,
                email=f"p{i}@conc.cn",
                display_name=f"公众{i}",
                password="Test-pass-2026",
                roles=[Role.CITIZEN],
                confirmed=True,
            )
            for i in range(8)
        ]
        decision = Decision(slug="conc", title="并发", summary="", department=department, legal_basis="")
        real_db.session.add(decision)
        real_db.session.flush()
        version = DraftVersion(
            decision=decision,
            number=1,
            body="第一条 内容",
            explanation="说明",
            status="published",
            published_at=utcnow(),
        )
        real_db.session.add(version)
        real_db.session.flush()
        real_db.session.add(DraftArticle(version=version, anchor="art-1", label="第一条", position=1, text="内容"))
        start = utcnow() - timedelta(days=1)
        consultation = operations.open_consultation(
            official, decision, starts_at=start, ends_at=start + timedelta(days=30), now=start
        )
        real_db.session.commit()
        consultation_id, person_ids = consultation.id, [p.id for p in people]

    errors: list[BaseException] = []

    def submit(user_id: int, token: str, body: str) -> None:
        try:
            with app.app_context():
                user = real_db.session.get(User, user_id)
                found = real_db.session.get(Consultation, consultation_id)
                operations.submit_comment(user, found, body=body, submission_token=token)
                real_db.session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(pid, f"tok-{pid}", f"意见{pid}")) for pid in person_ids]
    # The same form of person 0 sent three more times at once.
    threads += [threading.Thread(target=submit, args=(person_ids[0], f"tok-{person_ids[0]}", "重复")) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        numbers = real_db.session.scalars(select(Comment.number).order_by(Comment.number)).all()
        assert len(numbers) == 8
        assert numbers == list(range(numbers[0], numbers[0] + 8))  # unique, no gaps
        assert (
            real_db.session.scalar(select(func.count(TraceEntry.seq)).where(TraceEntry.action == "comment.accepted"))
            == 8
        )
        assert trace_ok()


def trace_ok() -> bool:
    from portal.trace import verify

    return verify().ok


def test_a_comment_is_on_the_newest_published_version_and_its_article(db, make_consultation, official, citizen):
    """The intake reads the consultation with one plain query (CommentTarget): the version it picks
    is the decision's current one (the newest published; a newer draft does not count), and an
    article is looked up in that version."""
    from portal.decisions import operations as decisions

    consultation = make_consultation()
    decision = consultation.decision
    second = decisions.create_version(
        official, decision, body="第一条 新的第一条。\n\n第二条 新增的第二条。", explanation="改"
    )
    decisions.publish_version(official, second)
    decisions.create_version(official, decision, body="第一条 还在起草。", explanation="草稿")
    db.session.commit()
    db.session.refresh(decision)
    assert decision.current_version.id == second.id
    [target] = operations.load_for_batch(
        [operations.CommentSubmission(author_id=citizen.id, consultation_id=consultation.id, body="x")]
    ).targets.values()
    assert target.decision.current_version_id == second.id
    assert (target.starts_at, target.ends_at) == (consultation.starts_at, consultation.ends_at)
    assert (target.decision.slug, target.decision.department_id) == (decision.slug, decision.department_id)
    comment = operations.submit_comment(citizen, consultation, body="针对新版本第二条。", article_anchor="art-2")
    assert comment.version_id == second.id
    assert comment.article_label == "第二条"
    with pytest.raises(DomainError) as refused:
        operations.submit_comment(citizen, consultation, body="不存在的条款。", article_anchor="art-9")
    assert refused.value.code == "unknown_article"
