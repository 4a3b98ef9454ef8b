"""Factories for releases, publication, implementation and accountability tests: people, a decision
at a given stage (built through the catalogue's operations), a published decision."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.decisions import operations as decision_ops
from portal.decisions.models import ORDER, Decision, Stage
from portal.releases import operations as release_ops

BODY = """# 关于调整公共停车场收费标准的决定

第一条 中心城区公共停车场实行分区域收费。

第二条 一类区域首小时8元。
"""


@pytest.fixture
def department(make_department):
    return make_department(code="fgw", name="市发展和改革委员会")


@pytest.fixture
def official(make_user, department):
    return make_user(Role.OFFICIAL, department=department, name="王承办")


@pytest.fixture
def spokesperson(make_user, make_department):
    return make_user(Role.SPOKESPERSON, department=make_department(code="bgt", name="市政府办公厅"), name="孙发言")


@pytest.fixture
def leader(make_user):
    return make_user(Role.LEADER, name="周市长")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, name="吴审计")


@pytest.fixture
def citizen(make_user):
    return make_user(Role.CITIZEN, name="张市民")


def move(decision: Decision, target: Stage) -> None:
    """Walk the decision along the procedure without the gates (what the other steps would do)."""
    while decision.stage != target.value:
        current = ORDER.index(Stage(decision.stage))
        decision.move_to(ORDER[current + 1])


@pytest.fixture
def make_decision(db, official):
    """``make_decision(stage=Stage.DECIDED, **fields)``: a committed decision with one published version."""
    counter = iter(range(1, 10_000))

    def make(stage: Stage = Stage.DECIDED, *, actor=None, **fields) -> Decision:
        actor = actor or official
        n = next(counter)
        fields.setdefault("title", f"关于调整公共停车场收费标准的决定{n}")
        fields.setdefault("category", "price")
        decision = decision_ops.create_decision(
            actor, department=actor.departments[0], slug=f"parking-{n}", responsible=[actor], **fields
        )
        version = decision_ops.create_version(actor, decision, body=BODY, explanation="## 说明\n\n起草说明。")
        decision_ops.publish_version(actor, version)
        move(decision, Stage(stage))
        db.session.commit()
        return decision

    return make


PUBLICATION = {
    "title": "关于调整公共停车场收费标准的决定",
    "document_number": "某政发〔2026〕18号",
    "final_text": BODY,
    "public_adoption": "共收到意见12条,采纳5条。",
    "expert_adoption": "两位专家均赞成。",
}


@pytest.fixture
def published_decision(db, make_decision, official):
    """A decision published through ``publish_decision`` (stage ``published``)."""

    def make(**fields) -> Decision:
        decision = make_decision(Stage.DECIDED, **fields)
        release_ops.publish_decision(
            official, decision, effective_date=release_ops.local_today() + timedelta(days=30), **PUBLICATION
        )
        db.session.commit()
        return decision

    return make
