"""A world owned by department A (drafts, a consultation with pending comments, hearings with
registrations, reviews not yet public, a meeting, implementation feedback, a draft release), and
people of department B who must not reach it.

Every text that only department A (and the oversight roles) may read carries ``SECRET``, so a
page that answers 200 can still be checked for a leak.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage

from portal import create_app
from portal.auth import operations as auth_ops
from portal.auth.models import Role
from portal.consultation import operations as consultation_ops
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import operations as decision_ops
from portal.decisions.models import ORDER, Stage
from portal.hearings import operations as hearing_ops
from portal.implementation import operations as implementation_ops
from portal.releases import operations as release_ops
from portal.reviews import operations as review_ops
from portal.reviews.rules import local_date

from ..conftest import PASSWORD, IsolatedClient
from ..hearings.conftest import CATEGORIES, PDF, hearing_fields

#: Marker carried by every text that must not reach department B.
SECRET = "SECRET"

REVIEW = {
    "aspects": {
        code: {"rating": "none", "text": f"{SECRET} {code} 的论证意见。"}
        for code in ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")
    },
    "recommendation": "support",
    "conditions": "",
}


def _move(decision, target: Stage) -> None:
    """Walk the procedure without the gates (what the other steps would have done)."""
    while decision.stage != target.value:
        decision.move_to(ORDER[ORDER.index(Stage(decision.stage)) + 1])


def _pdf(title: str) -> FileStorage:
    return FileStorage(io.BytesIO(PDF), filename=f"{title}.pdf", content_type="application/pdf")


def _registration(user, hearing, category: str = "consumers", **extra):
    fields = {
        "category_code": category,
        "real_name": f"{SECRET}实名{user.id}",
        "contact": f"1390000{user.id:04d}",
        "public_name": "",
        "position": "oppose",
        "statement": "我的观点。",
        "has_interest": False,
        "interest_declaration": "",
        "accessibility_needs": f"{SECRET} 需要轮椅通道",
    }
    fields.update(extra)
    return hearing_ops.register(user, hearing, **fields)


def _department(code: str, name: str):
    department = auth_ops.create_department(None, code=code, name=name)
    db.session.flush()
    return department


def _user(role: Role, name: str, department=None):
    user = auth_ops.create_user(
        None,
        email=f"{uuid.uuid4().hex[:10]}@example.cn",
        display_name=name,
        password=PASSWORD,
        roles=[role],
        departments=[department] if department else [],
        confirmed=True,
    )
    db.session.flush()
    return user


def _person(user) -> SimpleNamespace:
    return SimpleNamespace(id=user.id, email=user.email)


@pytest.fixture(scope="module")
def scene(database, tmp_path_factory) -> Iterator[tuple[Flask, SimpleNamespace]]:
    """The app and department A's world, built once per module inside a transaction rolled back at the end."""
    application = create_app(database.config(tmp_path_factory.mktemp("idor") / "instance"))
    application.test_client_class = IsolatedClient
    with application.app_context():
        engine = db.engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        db.engines[None] = connection
        try:
            world = build_world()
            db.session.remove()
            yield application, SimpleNamespace(world=world, connection=connection)
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()
            db.engines[None] = engine
            engine.dispose()


@pytest.fixture
def app(scene) -> Iterator[Flask]:
    """The module's app; whatever a test writes is rolled back to the built world afterwards."""
    application, state = scene
    savepoint = state.connection.begin_nested()
    try:
        yield application
    finally:
        db.session.remove()
        savepoint.rollback()


@pytest.fixture
def world(scene, app) -> SimpleNamespace:
    return scene[1].world


def build_world() -> SimpleNamespace:  # noqa: PLR0915 - one scene, built in order
    """Department A's records (as plain ids and names, valid across tests) and the people involved."""
    dept_a = _department("idor-a", "甲单位")
    dept_b = _department("idor-b", "乙单位")
    people = SimpleNamespace(
        official_a=_user(Role.OFFICIAL, "甲承办", dept_a),
        official_b=_user(Role.OFFICIAL, "乙承办", dept_b),
        # Staff of B in another role: not an insider of A's drafts either.
        expert_b=_user(Role.EXPERT, "乙专家", dept_b),
        citizen=_user(Role.CITIZEN, "市民"),
        expert_a=_user(Role.EXPERT, "甲委员会专家"),
        expert_a2=_user(Role.EXPERT, "甲委员会专家二"),
        legal=_user(Role.LEGAL_REVIEWER, "法审", _department("idor-legal", "法审单位")),
        leaders=[_user(Role.LEADER, n) for n in ("周市长", "钱副市长", "郑副市长")],
        spokesperson=_user(Role.SPOKESPERSON, "发言人"),
    )
    a = people.official_a
    w = SimpleNamespace()

    # 1. A draft not yet public: a draft version and an attachment.
    draft = decision_ops.create_decision(a, department=dept_a, title=f"{SECRET} 草拟中的决定", slug="idor-draft")
    decision_ops.create_version(a, draft, body=f"第一条 {SECRET} 草案正文。", explanation=f"{SECRET} 说明")
    w.draft_attachment = decision_ops.add_attachment(a, draft, _pdf("draft-annex"), title=f"{SECRET} 草案附件")
    w.draft = draft

    # 2. A decision under consultation: v1 public, v2 a draft; comments waiting for moderation.
    open_ = decision_ops.create_decision(a, department=dept_a, title="征求意见中的决定", slug="idor-open")
    v1 = decision_ops.create_version(a, open_, body="第一条 公开的正文。\n\n第二条 施行。", explanation="说明")
    decision_ops.publish_version(a, v1)
    start = utcnow() - timedelta(days=1)
    w.consultation = consultation_ops.open_consultation(
        a, open_, starts_at=start, ends_at=start + timedelta(days=30), now=start
    )
    decision_ops.create_version(a, open_, body=f"第一条 {SECRET} 修改中的正文。", change_note=f"{SECRET} 修改")
    w.pending = consultation_ops.submit_comment(people.citizen, w.consultation, body=f"{SECRET} 待审核的意见甲")
    w.pending2 = consultation_ops.submit_comment(people.citizen, w.consultation, body=f"{SECRET} 另一条待审核意见乙丙")
    w.open = open_

    # 3. Hearings on it: a draft hearing, and a published one with registrations.
    w.hearing_draft = hearing_ops.create_hearing(a, open_, **hearing_fields(title=f"{SECRET} 草拟的听证会"))
    hearing = hearing_ops.create_hearing(a, open_, **hearing_fields(categories=list(CATEGORIES)))
    hearing_ops.add_material(a, hearing, _pdf("成本监审报告"), title="成本监审报告")
    hearing_ops.publish_hearing(a, hearing)
    w.registrations = [_registration(_user(Role.CITIZEN, f"报名人{n}"), hearing) for n in range(2)]
    w.hearing = hearing

    # 4. A decision in deliberation: committee, signed reviews, legality opinion, a meeting.
    review = decision_ops.create_decision(a, department=dept_a, title="论证中的决定", slug="idor-review")
    rv = decision_ops.create_version(a, review, body="第一条 论证稿。", explanation="说明")
    decision_ops.publish_version(a, rv)
    _move(review, Stage.EXPERT_REVIEW)
    w.members = []
    for user in (people.expert_a, people.expert_a2):
        profile = review_ops.create_profile(None, user, field="价格管理", title="教授", organisation="大学")
        member = review_ops.assign_expert(a, review, profile)
        review_ops.declare_interest(user, member, declaration="no_interest")
        w.members.append(member)
    w.review = review_ops.submit_review(people.expert_a, w.members[0], **REVIEW)
    review.move_to(Stage.RISK_ASSESSMENT)
    review_ops.record_risk_assessment(
        a, review, level="low", controllable=True, findings=f"{SECRET} 风险结论", mitigation=f"{SECRET} 措施"
    )
    review.move_to(Stage.LEGALITY_REVIEW)
    review_ops.save_materials(a, review, comment_report_url="/decisions/x/report", expert_adoption=f"{SECRET} 采纳")
    w.legality = review_ops.submit_for_legality_review(a, review, materials=f"{SECRET} 送审材料")
    w.legality.submitted_at = utcnow() - timedelta(days=21)
    db.session.flush()
    review_ops.file_legality_opinion(people.legal, w.legality, result="pass", opinion=f"{SECRET} 合法性意见")
    review.move_to(Stage.DELIBERATION)
    w.meeting = review_ops.schedule_meeting(
        a, review, kind="executive", meeting_date=local_date(), head=people.leaders[0], attendees=people.leaders
    )
    review_ops.record_opinion(people.leaders[1], w.meeting, position="dissent", statement=f"{SECRET} 会上发言")
    w.reviewing = review

    # 5. A decision in force: implementation feedback waiting for moderation.
    force = decision_ops.create_decision(a, department=dept_a, title="执行中的决定", slug="idor-force")
    fv = decision_ops.create_version(a, force, body="第一条 施行稿。", explanation="说明")
    decision_ops.publish_version(a, fv)
    _move(force, Stage.IMPLEMENTATION)
    w.feedback = implementation_ops.submit_feedback(people.citizen, force, body=f"{SECRET} 执行问题反馈")
    w.force = force

    # 6. A decided decision of A (to be published by A) and a draft release about a public decision.
    decided = decision_ops.create_decision(a, department=dept_a, title="已作出的决定", slug="idor-decided")
    dv = decision_ops.create_version(a, decided, body="第一条 决定稿。", explanation="说明")
    decision_ops.publish_version(a, dv)
    _move(decided, Stage.DECIDED)
    w.decided = decided
    w.release = release_ops.create_release(
        people.spokesperson, kind="news", title=f"{SECRET} 新闻稿草稿", body=f"{SECRET} 正文", decision=open_
    )
    db.session.commit()
    return SimpleNamespace(
        people=SimpleNamespace(
            **{k: _person(v) for k, v in vars(people).items() if k != "leaders"},
            leaders=[_person(u) for u in people.leaders],
        ),
        consultation_id=w.consultation.id,
        draft_attachment=SimpleNamespace(id=w.draft_attachment.id, filename=w.draft_attachment.filename),
        pending=SimpleNamespace(tracking_number=w.pending.tracking_number, group_id=w.pending.group_id),
        hearing_draft=SimpleNamespace(id=w.hearing_draft.id),
        hearing=SimpleNamespace(id=w.hearing.id),
        registrations=[SimpleNamespace(id=r.id) for r in w.registrations],
        members=[SimpleNamespace(id=m.id, profile_id=m.profile_id) for m in w.members],
        review=SimpleNamespace(id=w.review.id),
        meeting=SimpleNamespace(id=w.meeting.id),
        feedback=SimpleNamespace(tracking_number=w.feedback.tracking_number),
        release=SimpleNamespace(id=w.release.id),
    )
