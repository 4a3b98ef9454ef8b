"""Demo data (idempotent): the published parking-charges decision gets implementation updates,
public feedback (published, one answered, one pending), a post-evaluation and an adjustment."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from portal.auth.models import user_by_email
from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.implementation import operations, queries

PARKING_SLUG = "2026-parking-charges"

UPDATES = [
    ("各停车场完成收费标准公示", "全市212处公共停车场已在入口处公示新收费标准和投诉电话，收费系统升级完成。"),
    ("施行首月情况", "一类区域车位周转率由每天2.8次提高到3.6次；医院周边免费时段运行平稳。共受理咨询341件。"),
]
FEEDBACK = [
    (
        "市第一人民医院东门停车场仍按15分钟免费计费，与决定不符。",
        True,
        "resolved",
        "已责成运营单位当日改正，并退还多收费用。",
    ),
    ("建议在学校放学时段增加临时停车位。", True, None, None),
    ("夜间收费标准没有在入口公示。", False, None, None),
]
EVALUATION = """## 评估依据

施行以来的执行数据、公众反馈（见本页）和运营单位报告。

## 结论

车位周转率明显提高，群众反映的问题主要集中在个别停车场执行不到位，已整改。建议继续执行，并在学校周边增设临时停车位。
"""


def seed_implementation() -> Iterator[str]:
    decision = db.session.scalar(select(Decision).where(Decision.slug == PARKING_SLUG))
    official = user_by_email("official@demo.gov.cn")
    citizen = user_by_email("citizen@demo.gov.cn")
    leader = user_by_email("leader@demo.gov.cn")
    if decision is None or official is None or not operations.is_in_force(decision):
        yield "implementation: the parking decision is not in force; skipped"
        return
    if not queries.updates_for(decision):
        for title, body in UPDATES:
            operations.post_update(official, decision, title=title, body=body)
        yield f"implementation: {len(UPDATES)} updates on {PARKING_SLUG}"
    if citizen is not None and not queries.feedback_counts(decision)["published"]:
        for i, (body, publish, disposition, answer) in enumerate(FEEDBACK):
            feedback = operations.submit_feedback(
                citizen, decision, body=body, anonymous=i == 1, submission_token=f"demo-feedback-{i}"
            )
            if publish:
                operations.publish_feedback(official, feedback)
            if disposition:
                operations.respond_feedback(official, feedback, disposition=disposition, body=answer)
        yield f"implementation: {len(FEEDBACK)} feedback reports (tracking numbers FK-…)"
    if leader is not None and not queries.adjustments_for(decision):
        operations.adjust(
            leader,
            decision,
            kind="adjust",
            reason="根据施行首月情况，学校周边停车场放学时段（16:00—18:00）增加临时停车位，收费标准不变。",
        )
        yield "implementation: one adjustment recorded"
    if not queries.evaluations_for(decision):
        if decision.stage == Stage.IMPLEMENTATION.value:
            from portal.decisions import operations as decision_ops

            decision_ops.advance(official, decision, Stage.EVALUATION)
        operations.file_evaluation(official, decision, conclusion="continue", report=EVALUATION)
        yield f"implementation: post-evaluation of {PARKING_SLUG} filed"
