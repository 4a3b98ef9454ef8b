"""Rules of the decisions operations: who may act, what is refused, what the ledger records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.core.errors import DomainError, NotAllowed
from portal.decisions import operations, permissions
from portal.decisions.gates import unmet_conditions
from portal.decisions.models import Decision, DraftArticle, Stage
from portal.decisions.operations import GateClosed
from portal.trace.models import INTERNAL, PUBLIC, TraceEntry

from .conftest import BODY_V1


def entries(db, subject, action=None):
    stmt = select(TraceEntry).where(
        TraceEntry.subject_kind == subject.__tablename__, TraceEntry.subject_id == str(subject.id)
    )
    if action:
        stmt = stmt.where(TraceEntry.action == action)
    return db.session.scalars(stmt.order_by(TraceEntry.seq)).all()


# Creating and editing.


def test_official_creates_a_decision_in_drafting(db, official):
    decision = operations.create_decision(
        official,
        department=official.departments[0],
        title="  关于调整 水价的决定 ",
        category="water",
        responsible=[official],
    )
    assert decision.stage == Stage.DRAFTING.value
    assert decision.title == "关于调整 水价的决定"
    assert decision.responsible == [official]
    assert decision.slug.endswith("-water")  # a Chinese title gives year-category
    [entry] = entries(db, decision, "decision.created")
    assert entry.visibility == INTERNAL  # not public until a version is published
    assert entry.department_id == official.departments[0].id
    assert entry.payload_data["title"] == "关于调整 水价的决定"


def test_slugs_are_ascii_unique_and_given_ones_normalised(db, official):
    dept = official.departments[0]
    a = operations.create_decision(official, department=dept, title="Water Price Adjustment", category="water")
    b = operations.create_decision(official, department=dept, title="Water price adjustment!", category="water")
    assert a.slug == "water-price-adjustment"
    assert b.slug == "water-price-adjustment-2"
    c = operations.create_decision(official, department=dept, title="甲", slug=" Café 2026 Plan ")
    assert c.slug == "cafe-2026-plan"
    with pytest.raises(DomainError) as taken:
        operations.create_decision(official, department=dept, title="乙", slug="cafe-2026-plan")
    assert taken.value.code == "duplicate_slug"
    for bad in ("新", "new", "mine", "x" * 121):
        with pytest.raises(DomainError):
            operations.create_decision(official, department=dept, title="丙", slug=bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "长" * 201),
        ("summary", "长" * 2001),
        ("legal_basis", "长" * 2001),
        ("document_number", "号" * 81),
        ("category", "nonsense"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_created(db, official, field, value):
    fields = {"title": "标题", "category": "water", field: value}
    before = db.session.query(Decision).count()
    with pytest.raises(DomainError):
        operations.create_decision(official, department=official.departments[0], **fields)
    assert db.session.query(Decision).count() == before


def test_only_officials_of_the_department_create(db, official, make_user, make_department):
    dept = official.departments[0]
    citizen = make_user(Role.CITIZEN)
    other = make_user(Role.OFFICIAL, department=make_department())
    member_not_official = make_user(Role.EXPERT, department=dept)
    admin = make_user(Role.ADMIN)
    for actor in (citizen, other, member_not_official, None):
        with pytest.raises(NotAllowed):
            operations.create_decision(actor, department=dept, title="标题")
    assert operations.create_decision(admin, department=dept, title="管理员代建").department_id == dept.id


def test_responsible_persons_must_belong_to_the_department(db, official, make_user, make_department):
    outsider = make_user(Role.OFFICIAL, department=make_department())
    with pytest.raises(DomainError) as refused:
        operations.create_decision(official, department=official.departments[0], title="甲", responsible=[outsider])
    assert refused.value.code == "invalid_responsible"


def test_update_records_the_changes(db, official, make_decision, make_user):
    decision = make_decision()
    colleague = make_user(Role.OFFICIAL, department=official.departments[0])
    changes = operations.update_decision(
        official, decision, title="新标题", summary="新摘要", responsible=[colleague], affects_stability=True
    )
    assert set(changes) == {"title", "summary", "responsible", "affects_stability"}
    assert changes["title"] == {"from": "关于示范事项的决定", "to": "新标题"}
    [entry] = entries(db, decision, "decision.updated")
    assert entry.visibility == PUBLIC  # public now: a version is published
    assert entry.payload_data["changes"]["responsible"]["to"] == [colleague.display_name]
    # Saving the same values changes nothing and records nothing.
    assert operations.update_decision(official, decision, title="新标题") == {}
    assert len(entries(db, decision, "decision.updated")) == 1


def test_slug_can_change_only_before_the_decision_is_public(db, official, make_decision):
    hidden = make_decision(versions=0)
    operations.update_decision(official, hidden, slug="renamed-draft")
    assert hidden.slug == "renamed-draft"
    public_one = make_decision()
    with pytest.raises(DomainError) as locked:
        operations.update_decision(official, public_one, slug="other-name")
    assert locked.value.code == "slug_locked"


def test_another_department_cannot_edit(db, make_decision, make_user, make_department):
    decision = make_decision()
    other = make_user(Role.OFFICIAL, department=make_department())
    with pytest.raises(NotAllowed):
        operations.update_decision(other, decision, title="篡改")
    with pytest.raises(NotAllowed):
        operations.create_version(other, decision, body="第一条 篡改。")


# Versions.


def test_a_new_version_starts_from_the_previous_text(db, official, make_decision):
    decision = make_decision()
    first = decision.versions[0]
    second = operations.create_version(official, decision, change_note="第二稿")
    assert second.number == 2
    assert second.body == first.body
    assert second.explanation == first.explanation
    assert not second.is_published
    [entry] = entries(db, second, "version.created")
    assert entry.visibility == INTERNAL


def test_only_one_unpublished_draft_at_a_time(db, official, make_decision):
    decision = make_decision(versions=1, draft=True)
    with pytest.raises(DomainError) as refused:
        operations.create_version(official, decision, body="第一条 另一稿。")
    assert refused.value.code == "draft_exists"


def test_publish_stores_articles_and_makes_the_version_immutable(db, official, make_decision):
    decision = make_decision(versions=1, draft=True)
    version = decision.versions[0]
    operations.update_version(official, version, body=BODY_V1, explanation="说明", change_note="改")
    operations.publish_version(official, version)
    assert version.is_published
    assert version.published_at is not None
    anchors = [a.anchor for a in version.articles]
    assert anchors == ["art-1", "art-2", "art-2-p1", "art-2-p2", "art-3", "art-4"]
    assert (
        db.session.scalars(select(DraftArticle.label).where(DraftArticle.version_id == version.id)).first() == "第一条"
    )
    [entry] = entries(db, version, "version.published")
    assert entry.visibility == PUBLIC
    assert entry.payload_data["articles"] == 6
    with pytest.raises(DomainError) as immutable:
        operations.update_version(official, version, body="第一条 改。", explanation="", change_note="")
    assert immutable.value.code == "immutable"
    with pytest.raises(DomainError):
        operations.publish_version(official, version)
    assert decision.current_version is version
    assert permissions.is_public(decision)


def test_empty_or_over_long_bodies_are_refused(db, official, make_decision):
    decision = make_decision(versions=0)
    with pytest.raises(DomainError):
        operations.create_version(official, decision, body="   ")
    with pytest.raises(DomainError) as too_long:
        operations.create_version(official, decision, body="长" * 200_001)
    assert too_long.value.code == "too_long"
    assert decision.versions == []


# Stages.


def test_leaving_drafting_needs_a_published_version_with_explanation(db, official, make_decision):
    decision = make_decision(versions=0)
    assert unmet_conditions(decision) == ["尚未公布决策草案。"]
    with pytest.raises(GateClosed) as closed:
        operations.advance(official, decision, Stage.CONSULTATION)
    assert closed.value.unmet == ["尚未公布决策草案。"]
    assert "尚未公布决策草案" in str(closed.value.message)
    assert decision.stage == Stage.DRAFTING.value

    no_explanation = make_decision(explanation="")
    assert unmet_conditions(no_explanation) == ["已公布的草案缺少起草说明。"]


def test_advance_records_the_stage_change(db, official, make_decision):
    decision = make_decision()
    operations.advance(official, decision, Stage.CONSULTATION)
    assert decision.stage == Stage.CONSULTATION.value
    [entry] = entries(db, decision, "decision.stage_changed")
    assert entry.visibility == PUBLIC
    assert entry.payload_data == {"from": "drafting", "to": "consultation", "override": False}


def test_illegal_moves_are_refused(db, official, make_decision):
    decision = make_decision()
    for target in (Stage.DECIDED, Stage.DRAFTING, "withdrawn", "nonsense"):
        with pytest.raises(DomainError):
            operations.advance(official, decision, target)
    assert decision.stage == Stage.DRAFTING.value


def test_only_admin_or_leader_may_override_a_closed_gate(db, official, make_decision, make_user):
    decision = make_decision(versions=0)
    with pytest.raises(NotAllowed):
        operations.advance(official, decision, Stage.CONSULTATION, override_reason="赶时间")
    leader = make_user(Role.LEADER)
    with pytest.raises(GateClosed):
        operations.advance(leader, decision, Stage.CONSULTATION, override_reason="   ")
    operations.advance(leader, decision, Stage.CONSULTATION, override_reason="市政府常务会议决定先行公开征求意见")
    assert decision.stage == Stage.CONSULTATION.value
    [override] = entries(db, decision, "decision.gate_overridden")
    assert override.visibility == PUBLIC
    assert override.payload_data["unmet"] == ["尚未公布决策草案。"]
    assert override.payload_data["reason"] == "市政府常务会议决定先行公开征求意见"
    [moved] = entries(db, decision, "decision.stage_changed")
    assert moved.payload_data["override"] is True
    assert override.seq < moved.seq


def test_no_override_passes_a_non_overridable_gate(app, db, make_decision, make_user):
    from portal.decisions.gates import add_gate

    decision = make_decision(stage="consultation")
    add_gate(app, Stage.CONSULTATION, lambda d: ["合法性审查未通过。"], overridable=False)
    leader = make_user(Role.LEADER)
    with pytest.raises(GateClosed) as closed:
        operations.advance(leader, decision, Stage.EXPERT_REVIEW, override_reason="领导决定")
    assert "不能以说明理由代替:合法性审查未通过。" in str(closed.value)
    assert decision.stage == Stage.CONSULTATION.value
    assert entries(db, decision, "decision.gate_overridden") == []


def test_citizens_and_other_departments_cannot_move_stages(db, make_decision, make_user, make_department):
    decision = make_decision()
    for actor in (make_user(Role.CITIZEN), make_user(Role.OFFICIAL, department=make_department()), None):
        with pytest.raises(NotAllowed):
            operations.advance(actor, decision, Stage.CONSULTATION)
        with pytest.raises(NotAllowed):
            operations.withdraw(actor, decision, "理由")


def test_gates_of_skipped_optional_stages_are_checked(app, db, official, make_decision):
    from portal.decisions.gates import add_gate

    decision = make_decision(stage="consultation")
    add_gate(app, Stage.HEARING, lambda d: ["听证报告尚未公布。"])
    with pytest.raises(GateClosed) as closed:
        operations.advance(official, decision, Stage.EXPERT_REVIEW)
    assert "听证报告尚未公布。" in closed.value.unmet


def test_withdraw_needs_a_reason(db, official, make_decision):
    decision = make_decision()
    for reason in ("", "   ", None, "长" * 2001):
        with pytest.raises(DomainError):
            operations.withdraw(official, decision, reason)
    operations.withdraw(official, decision, "上位法已修改,不再需要本决定")
    assert decision.stage == Stage.WITHDRAWN.value
    assert decision.withdrawn_reason == "上位法已修改,不再需要本决定"
    [entry] = entries(db, decision, "decision.withdrawn")
    assert entry.payload_data["reason"] == "上位法已修改,不再需要本决定"
    assert entry.visibility == PUBLIC
    with pytest.raises(DomainError):
        operations.withdraw(official, decision, "再撤一次")


def test_visibility_rules(db, official, make_decision, make_user, make_department):
    hidden = make_decision(versions=0)
    public_one = make_decision()
    citizen = make_user(Role.CITIZEN)
    other_official = make_user(Role.OFFICIAL, department=make_department())
    for user in (citizen, other_official, None):
        assert not permissions.can_view(user, hidden)
        assert permissions.can_view(user, public_one)
    for role in (Role.LEADER, Role.AUDITOR, Role.ADMIN):
        assert permissions.can_view(make_user(role), hidden)
    assert permissions.can_view(official, hidden)
