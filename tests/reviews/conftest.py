"""Factories for the review steps: decisions at a stage, experts, signed reviews, a decision ready
for its collective discussion. Decisions are built from the models directly so these tests do not
depend on how the catalogue's own operations evolve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftVersion, Stage, VersionStatus
from portal.reviews import operations as ops

REVIEW = {
    "aspects": {
        code: {"rating": "none", "text": f"{code} 的论证意见。"}
        for code in ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")
    },
    "recommendation": "support",
    "conditions": "",
}


def review_form_data(**overrides) -> dict:
    """The review form's fields, filled in."""
    data = {}
    for code, part in REVIEW["aspects"].items():
        data[f"{code}_rating"] = part["rating"]
        data[f"{code}_text"] = part["text"]
    data.update(recommendation="support", conditions="", confirm="y")
    data.update(overrides)
    return data


@pytest.fixture
def department(make_department):
    return make_department(code="swj", name="市水务局")


@pytest.fixture
def official(make_user, department):
    return make_user(Role.OFFICIAL, department=department, name="王承办")


@pytest.fixture
def make_decision(db, department):
    counter = iter(range(1, 10_000))

    def make(stage: Stage = Stage.EXPERT_REVIEW, *, dept=None, versions: int = 1, **fields) -> Decision:
        n = next(counter)
        fields.setdefault("title", "关于调整城市居民生活用水价格的决定")
        fields.setdefault("category", "water")
        decision = Decision(
            slug=f"test-decision-{n}",
            summary="",
            legal_basis="《价格法》",
            department=dept or department,
            stage=Stage(stage).value,
            **fields,
        )
        db.session.add(decision)
        db.session.flush()
        for number in range(1, versions + 1):
            publish_version(decision, number)
        db.session.commit()
        return decision

    return make


def publish_version(decision: Decision, number: int | None = None) -> DraftVersion:
    from portal.core.extensions import db

    number = number or (max((v.number for v in decision.versions), default=0) + 1)
    version = DraftVersion(
        decision=decision,
        number=number,
        body=f"第一条 第{number}版正文。",
        explanation="起草说明",
        status=VersionStatus.PUBLISHED.value,
        published_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    db.session.refresh(decision, ["versions"])
    return version


@pytest.fixture
def make_expert(db, make_user):
    def make(name: str = "专家", *, field: str = "价格管理", organisation: str = "市财经大学", interests=()):
        user = make_user(Role.EXPERT, name=name)
        profile = ops.create_profile(None, user, field=field, title="教授", organisation=organisation)
        for kind, value in interests:
            ops.declare_profile_interest(None, profile, kind=kind, value=value)
        db.session.commit()
        return profile

    return make


@pytest.fixture
def seat(db, official):
    """``seat(decision, profile, review=True)`` → the member (declared and reviewed when asked)."""

    def do(decision, profile, *, declare: bool = True, review: bool = True):
        member = ops.assign_expert(official, decision, profile)
        if declare:
            ops.declare_interest(profile.user, member, declaration="no_interest")
        if review:
            ops.submit_review(profile.user, member, **REVIEW)
        db.session.commit()
        return member

    return do


@pytest.fixture
def legal_reviewer(make_user, make_department):
    return make_user(Role.LEGAL_REVIEWER, department=make_department(code="sfj", name="市司法局"), name="赵法明")


@pytest.fixture
def pass_legality(db, official, legal_reviewer):
    """``pass_legality(decision, days_ago=21, result="pass")`` → the filed review."""

    def do(decision, *, days_ago: int = 21, result: str = "pass", required_changes: str = ""):
        review = ops.submit_for_legality_review(official, decision, materials="草案及说明")
        review.submitted_at = utcnow() - timedelta(days=days_ago)
        db.session.flush()
        ops.file_legality_opinion(
            legal_reviewer, review, result=result, opinion="合法。", required_changes=required_changes
        )
        db.session.commit()
        return review

    return do


@pytest.fixture
def leaders(make_user):
    """Head first, then three members."""
    return [make_user(Role.LEADER, name=name) for name in ("周市长", "钱副市长", "郑副市长", "冯秘书长")]


@pytest.fixture
def ready(db, make_decision, make_expert, seat, pass_legality, official):
    """A decision in ``deliberation`` with every gate into it met."""
    decision = make_decision(Stage.EXPERT_REVIEW)
    seat(decision, make_expert("陈立群"))
    seat(decision, make_expert("林水生", field="水利工程", organisation="省设计院"))
    decision.move_to(Stage.LEGALITY_REVIEW)
    ops.save_materials(official, decision, comment_report_url="/decisions/x/report", expert_adoption="全部采纳。")
    pass_legality(decision)
    decision.move_to(Stage.DELIBERATION)
    db.session.commit()
    return decision


@pytest.fixture
def meeting(db, ready, official, leaders):
    from portal.reviews.rules import local_date

    found = ops.schedule_meeting(
        official, ready, kind="executive", meeting_date=local_date(), head=leaders[0], attendees=leaders
    )
    db.session.commit()
    return found
