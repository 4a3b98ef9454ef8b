"""Factories: those of tests/releases, and a decision walked through the whole procedure."""

from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.decisions.models import Stage
from portal.releases import operations as release_ops
from portal.reviews import operations as review_ops
from portal.reviews.rules import local_date
from tests.releases.conftest import (  # noqa: F401 (fixtures)
    PUBLICATION,
    auditor,
    citizen,
    department,
    leader,
    make_decision,
    official,
    published_decision,
    spokesperson,
)

REVIEW = {
    "aspects": {
        code: {"rating": "none", "text": f"{code} 的论证意见。"}
        for code in ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")
    },
    "recommendation": "support",
    "conditions": "",
}
DISSENT = "不同意。首小时涨幅过大,建议先试点。"
MINUTES = "会议纪要:内部记录,不公开。"


@pytest.fixture
def people(make_user, make_department):
    """The cast of a decision's procedure."""

    def expert(name):
        user = make_user(Role.EXPERT, name=name)
        return review_ops.create_profile(None, user, field="交通", title="教授", organisation=f"{name}所在大学")

    return {
        "experts": [expert("陈立群"), expert("何远航"), expert("迟到专家")],
        "legal": make_user(Role.LEGAL_REVIEWER, department=make_department(code="sfj"), name="赵法明"),
        "leaders": [make_user(Role.LEADER, name=n) for n in ("周市长", "钱副市长", "郑副市长", "冯秘书长")],
    }


@pytest.fixture
def walk(db, make_decision, official, people):  # noqa: F811 (fixtures imported above)
    """``walk(publish=True)``: a decision taken through reviews, an override, legality, a meeting with one
    dissent, and (unless ``publish=False``) publication."""

    def do(*, publish: bool = True):
        decision = make_decision(Stage.EXPERT_REVIEW, title="关于调整公共停车场收费标准的决定")
        first, second, late = people["experts"]
        for profile, recommendation in ((first, "support"), (second, "oppose")):
            member = review_ops.assign_expert(official, decision, profile)
            review_ops.declare_interest(profile.user, member, declaration="no_interest")
            review_ops.submit_review(profile.user, member, **{**REVIEW, "recommendation": recommendation})
        review_ops.assign_expert(official, decision, late)
        head, *members = people["leaders"]
        decision_ops.advance(
            head, decision, Stage.LEGALITY_REVIEW, override_reason="市政府决定先行送审,专家意见随后补齐。"
        )
        review_ops.save_materials(
            official, decision, comment_report_url="/decisions/x/report", expert_adoption="采纳。"
        )
        submission = review_ops.submit_for_legality_review(official, decision, materials="草案及说明")
        submission.submitted_at = utcnow() - timedelta(days=21)
        db.session.flush()
        review_ops.file_legality_opinion(people["legal"], submission, result="pass", opinion="合法,内部意见原文。")
        decision.move_to(Stage.DELIBERATION)
        meeting = review_ops.schedule_meeting(
            official, decision, kind="executive", meeting_date=local_date(), head=head, attendees=people["leaders"]
        )
        review_ops.record_opinion(members[0], meeting, position="agree", statement="同意。")
        review_ops.record_opinion(members[1], meeting, position="dissent", statement=DISSENT)
        review_ops.record_opinion(members[2], meeting, position="agree", statement="同意。")
        review_ops.record_decision(
            head, meeting, outcome="adopt", statement="通过。", minutes=MINUTES, public_summary="会议通过。"
        )
        if publish:
            release_ops.publish_decision(
                official, decision, effective_date=release_ops.local_today() + timedelta(days=30), **PUBLICATION
            )
        db.session.commit()
        return decision

    return do
