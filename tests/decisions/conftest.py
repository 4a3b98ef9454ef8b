"""Factories for decisions tests: an official with a department, a decision at a given point."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from portal.decisions import operations
from portal.decisions.models import Stage

BODY_V1 = """# 某市示范办法

为了规范示范事项，制定本办法。

第一条 为了规范管理，制定本办法。

第二条 本办法适用于：
（一）城市居民；
（二）农村居民。

第三条 费用标准为每立方米3.20元。

第四条 本办法自公布之日起施行。
"""

EXPLANATION = "## 起草背景\n\n依据有关规定起草。"


@pytest.fixture
def official(make_department, make_user):
    """An official of a fresh department (``official.departments[0]``)."""
    department = make_department()
    return make_user(Role.OFFICIAL, department=department)


@pytest.fixture
def make_decision(db, official):
    """``make_decision(actor=official, versions=1, stage="drafting", **fields)`` → a committed decision.

    ``versions`` published versions are created (the last one can stay a draft with ``draft=True``).
    """

    def make(
        actor=None,
        *,
        versions: int = 1,
        draft: bool = False,
        stage: str = Stage.DRAFTING.value,
        bodies: list[str] | None = None,
        explanation: str = EXPLANATION,
        **fields,
    ):
        actor = actor or official
        fields.setdefault("title", "关于示范事项的决定")
        fields.setdefault("category", "water")
        decision = operations.create_decision(actor, department=actor.departments[0], **fields)
        for i in range(versions):
            body = (bodies[i] if bodies else None) or BODY_V1.replace("3.20", f"3.{20 + i}")
            version = operations.create_version(
                actor, decision, body=body, explanation=explanation, change_note=f"第{i + 1}次修改"
            )
            if not (draft and i == versions - 1):
                operations.publish_version(actor, version)
        if stage != Stage.DRAFTING.value:
            operations.advance(actor, decision, Stage(stage))
        db.session.commit()
        return decision

    return make
