"""After publication: implementation updates, feedback, post-evaluation, adjustment and suspension.

Each function takes the acting user first, checks the rule, changes data, flushes, records the
ledger entry in the same transaction and returns; none commits or reads the request.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import trace
from portal.auth.models import Role, User
from portal.core.counters import next_in_year
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import permissions as decision_permissions
from portal.decisions.models import Decision, Stage
from portal.implementation.models import (
    CONCLUSIONS,
    DISPOSITIONS,
    FEEDBACK_MAX,
    IN_FORCE_STAGES,
    REASON_MAX,
    REJECTION_REASONS,
    REPORT_MAX,
    RESPONSE_MAX,
    TITLE_MAX,
    TOKEN_MAX,
    UPDATE_MAX,
    Adjustment,
    AdjustmentKind,
    EvaluationProposal,
    Feedback,
    FeedbackCounter,
    FeedbackResponse,
    FeedbackStatus,
    ImplementationUpdate,
    PostEvaluation,
)

log = logging.getLogger("portal.implementation")

DEFAULT_THRESHOLD = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str | None) -> str:
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def _text(value: str | None, limit: int, label, *, required: bool = True) -> str:
    text = _clean(value)
    if required and not text:
        raise DomainError(_l("请填写“%(field)s”。", field=label), code="required")
    if len(text) > limit:
        raise DomainError(
            _l("“%(field)s”不能超过 %(max)s 个字符(现有 %(n)s 个)。", field=label, max=limit, n=len(text)),
            code="too_long",
        )
    return text


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def threshold() -> int:
    """Feedback reports on a decision in force that make the portal propose a post-evaluation."""
    return int(current_app.config.get("FEEDBACK_EVALUATION_THRESHOLD", DEFAULT_THRESHOLD))


# Rules ------------------------------------------------------------------------------------------


def is_in_force(decision: Decision) -> bool:
    return decision.stage in IN_FORCE_STAGES


def can_report(user, decision: Decision) -> bool:
    """The executing department's officials, and admins."""
    return decision_permissions.can_manage(user, decision)


def can_adjust(user, decision: Decision) -> bool:
    """The deciding body (leaders) and admins adjust, suspend or resume a decision in force."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.LEADER, Role.ADMIN)


def pre_decision_assessors(decision: Decision) -> set[int]:
    """Who did the pre-decision assessment: the recorders of the decision's risk assessments."""
    try:
        from portal.reviews.models import RiskAssessment
    except ImportError:
        return set()
    return {
        i
        for i in db.session.scalars(
            select(RiskAssessment.recorded_by_id).where(RiskAssessment.decision_id == decision.id)
        )
        if i is not None
    }


def can_evaluate(user, decision: Decision) -> bool:
    """The department's officials and admins, except whoever did the pre-decision assessment (art. 37)."""
    if not decision_permissions.can_manage(user, decision):
        return False
    return user.id not in pre_decision_assessors(decision)


def _ensure_in_force(decision: Decision) -> None:
    if not is_in_force(decision):
        raise DomainError(
            _l("“%(title)s”不在施行中(当前阶段:%(stage)s)。", title=decision.title, stage=decision.stage_label),
            code="not_in_force",
            status=409,
        )


def latest_adjustment(decision: Decision) -> Adjustment | None:
    return db.session.scalar(
        select(Adjustment).where(Adjustment.decision_id == decision.id).order_by(Adjustment.id.desc()).limit(1)
    )


def is_suspended(decision: Decision) -> bool:
    latest = db.session.scalar(
        select(Adjustment)
        .where(Adjustment.decision_id == decision.id, Adjustment.kind != AdjustmentKind.ADJUST.value)
        .order_by(Adjustment.id.desc())
        .limit(1)
    )
    return latest is not None and latest.kind == AdjustmentKind.SUSPEND.value


# Implementation updates -------------------------------------------------------------------------


def post_update(
    actor, decision: Decision, *, title: str, body: str, now: datetime | None = None
) -> ImplementationUpdate:
    """A progress report by the executing department on a decision in force."""
    if not can_report(actor, decision):
        raise NotAllowed(_l("只有执行单位的工作人员可以发布执行情况。"))
    _ensure_in_force(decision)
    update_row = ImplementationUpdate(
        decision_id=decision.id,
        title=_text(" ".join(_clean(title).split()), TITLE_MAX, _l("标题")),
        body=_text(body, UPDATE_MAX, _l("执行情况")),
        created_by_id=actor.id,
        created_at=now or utcnow(),
    )
    db.session.add(update_row)
    db.session.flush()
    trace.record(
        actor,
        "implementation.updated",
        update_row,
        department=decision.department_id,
        decision=decision.slug,
        title=update_row.title,
        body_sha256=_sha(update_row.body),
    )
    return update_row


# Feedback ---------------------------------------------------------------------------------------


def _local_year(moment: datetime) -> int:
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year


def _next_number(year: int) -> int:
    """The next number of ``year`` from this feature's counter row."""
    return next_in_year(FeedbackCounter.__table__, year)


def feedback_count(decision: Decision) -> int:
    """Reports that count towards the proposal: every report not rejected."""
    return db.session.scalar(
        select(func.count(Feedback.id)).where(
            Feedback.decision_id == decision.id, Feedback.status != FeedbackStatus.REJECTED.value
        )
    )


def submit_feedback(
    author: User,
    decision: Decision,
    *,
    body: str,
    anonymous: bool = False,
    submission_token: str | None = None,
    now: datetime | None = None,
) -> Feedback:
    """A citizen's report of a problem with a decision in force; the same form sent twice gives one report."""
    if not getattr(author, "is_authenticated", False):
        raise NotAllowed(_l("请先登录再反馈。"))
    now = now or utcnow()
    token = (submission_token or "").strip()[:TOKEN_MAX] or None
    if token is not None:
        earlier = db.session.scalar(
            select(Feedback).where(Feedback.author_id == author.id, Feedback.submission_token == token)
        )
        if earlier is not None:
            return earlier
    _ensure_in_force(decision)
    text = _text(body, FEEDBACK_MAX, _l("反馈内容"))
    year = _local_year(now)
    try:
        with db.session.begin_nested():
            number = _next_number(year)
            feedback = Feedback(
                decision_id=decision.id,
                year=year,
                number=number,
                tracking_number=f"FK-{year}-{number:06d}",
                author_id=author.id,
                anonymous=bool(anonymous),
                body=text,
                status=FeedbackStatus.PENDING.value,
                submission_token=token,
                created_at=now,
            )
            db.session.add(feedback)
            db.session.flush()
    except IntegrityError:
        earlier = db.session.scalar(
            select(Feedback).where(Feedback.author_id == author.id, Feedback.submission_token == token)
        )
        if earlier is None:
            raise
        return earlier
    # Internal: the entry names the citizen, which the public must not see.
    trace.record(
        author,
        "feedback.submitted",
        feedback,
        visibility=trace.INTERNAL,
        department=decision.department_id,
        decision=decision.slug,
        tracking_number=feedback.tracking_number,
    )
    _propose_evaluation_if_due(decision, now)
    _send_receipt(author, feedback)
    return feedback


def _send_receipt(author: User, feedback: Feedback) -> None:
    try:
        from portal.core.mail import send_mail
    except ImportError:
        return
    body = str(
        _l(
            "您对《%(title)s》执行情况的反馈已收到,编号 %(no)s。承办单位审核后将公开并答复;您可凭编号查看处理情况。",
            title=feedback.decision.title,
            no=feedback.tracking_number,
        )
    )
    send_mail(author.email, str(_l("反馈已收到:%(no)s", no=feedback.tracking_number)), body)


def _propose_evaluation_if_due(decision: Decision, now: datetime) -> EvaluationProposal | None:
    """When reports pass the threshold, propose a post-evaluation to the department (once per decision)."""
    limit = threshold()
    if limit <= 0 or db.session.get(EvaluationProposal, decision.id) is not None:
        return None
    count = feedback_count(decision)
    if count < limit:
        return None
    proposal = EvaluationProposal(decision_id=decision.id, feedback_count=count, threshold=limit, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(proposal)
            db.session.flush()
    except IntegrityError:
        return None  # proposed by a concurrent report
    trace.record(
        None,
        "evaluation.proposed",
        ("decision", decision.id),
        department=decision.department_id,
        decision=decision.slug,
        feedback_count=count,
        threshold=limit,
    )
    _tell_department(decision, count)
    return proposal


def _tell_department(decision: Decision, count: int) -> None:
    try:
        from portal.core.mail import send_mail
    except ImportError:
        return
    subject = str(_l("建议开展决策后评估:%(title)s", title=decision.title))
    body = str(
        _l(
            "《%(title)s》施行以来已收到 %(n)s 条公众反馈,达到开展决策后评估的提示线。请组织决策后评估(评估不得由决策前评估的人员承担)。",  # noqa: E501
            title=decision.title,
            n=count,
        )
    )
    for member in decision.department.members:
        if member.is_enabled and member.has_role(Role.OFFICIAL):
            send_mail(member.email, subject, body)


def _ensure_moderator(actor, feedback: Feedback) -> None:
    if not can_report(actor, feedback.decision):
        raise NotAllowed(_l("只有执行单位的工作人员可以处理反馈。"))


def publish_feedback(actor, feedback: Feedback, *, now: datetime | None = None) -> Feedback:
    """Make a pending report public."""
    _ensure_moderator(actor, feedback)
    if feedback.status != FeedbackStatus.PENDING.value:
        raise DomainError(_l("这条反馈已经处理过了。"), code="bad_status", status=409)
    feedback.status = FeedbackStatus.PUBLISHED.value
    feedback.moderated_by_id = actor.id
    feedback.moderated_at = now or utcnow()
    db.session.flush()
    trace.record(
        actor,
        "feedback.published",
        feedback,
        department=feedback.decision.department_id,
        decision=feedback.decision.slug,
        tracking_number=feedback.tracking_number,
        body_sha256=_sha(feedback.body),
    )
    return feedback


def reject_feedback(actor, feedback: Feedback, *, reason: str, now: datetime | None = None) -> Feedback:
    """Keep a report from the public for one of the fixed reasons."""
    _ensure_moderator(actor, feedback)
    if feedback.status != FeedbackStatus.PENDING.value:
        raise DomainError(_l("这条反馈已经处理过了。"), code="bad_status", status=409)
    if reason not in REJECTION_REASONS:
        raise DomainError(_l("请选择不予公开的理由。"), code="bad_reason")
    feedback.status = FeedbackStatus.REJECTED.value
    feedback.rejection_reason = reason
    feedback.moderated_by_id = actor.id
    feedback.moderated_at = now or utcnow()
    db.session.flush()
    trace.record(
        actor,
        "feedback.rejected",
        feedback,
        visibility=trace.INTERNAL,
        department=feedback.decision.department_id,
        decision=feedback.decision.slug,
        tracking_number=feedback.tracking_number,
        reason=reason,
    )
    return feedback


def respond_feedback(actor, feedback: Feedback, *, disposition: str, body: str) -> FeedbackResponse:
    """Record (or change) the department's answer to a published report; tells its author."""
    _ensure_moderator(actor, feedback)
    if not feedback.is_published:
        raise DomainError(_l("只能答复已公开的反馈。"), code="bad_status", status=409)
    if disposition not in DISPOSITIONS:
        raise DomainError(_l("请选择处理情况。"), code="bad_disposition")
    text = _text(body, RESPONSE_MAX, _l("答复"))
    response = feedback.response
    changed = response is not None
    if response is None:
        response = FeedbackResponse(feedback=feedback, disposition=disposition, body=text, responded_by_id=actor.id)
        db.session.add(response)
    else:
        response.disposition = disposition
        response.body = text
        response.responded_by_id = actor.id
    db.session.flush()
    trace.record(
        actor,
        "feedback.responded",
        response,
        department=feedback.decision.department_id,
        decision=feedback.decision.slug,
        tracking_number=feedback.tracking_number,
        disposition=disposition,
        body=text,
        changed=changed,
    )
    if feedback.author is not None and feedback.author_id != actor.id:
        try:
            from portal.core.mail import send_mail
        except ImportError:
            return response
        send_mail(
            feedback.author.email,
            str(_l("您的反馈已有答复:%(no)s", no=feedback.tracking_number)),
            str(
                _l(
                    "您对《%(title)s》的反馈(%(no)s)已有答复:%(d)s。\n\n%(body)s",
                    title=feedback.decision.title,
                    no=feedback.tracking_number,
                    d=DISPOSITIONS[disposition],
                    body=text,
                )
            ),
        )
    return response


# Post-evaluation --------------------------------------------------------------------------------


def file_evaluation(
    actor, decision: Decision, *, conclusion: str, report: str, now: datetime | None = None
) -> PostEvaluation:
    """File a post-evaluation report; refused to whoever did the pre-decision assessment."""
    if not decision_permissions.can_manage(actor, decision):
        raise NotAllowed(_l("只有承办单位的工作人员可以提交决策后评估报告。"))
    if actor.id in pre_decision_assessors(decision):
        raise NotAllowed(_l("决策后评估不得由承担决策前评估的人员进行(《重大行政决策程序暂行条例》第三十七条)。"))
    if decision.stage not in (Stage.IMPLEMENTATION.value, Stage.EVALUATION.value):
        raise DomainError(
            _l("只有执行中或评估阶段的决策可以提交决策后评估报告(当前阶段:%(stage)s)。", stage=decision.stage_label),
            code="not_in_force",
            status=409,
        )
    if conclusion not in CONCLUSIONS:
        raise DomainError(_l("请选择评估结论。"), code="bad_conclusion")
    text = _text(report, REPORT_MAX, _l("评估报告"))
    received = feedback_count(decision)
    published = db.session.scalar(
        select(func.count(Feedback.id)).where(
            Feedback.decision_id == decision.id, Feedback.status == FeedbackStatus.PUBLISHED.value
        )
    )
    evaluation = PostEvaluation(
        decision_id=decision.id,
        evaluator_id=actor.id,
        conclusion=conclusion,
        report=text,
        feedback_received=received,
        feedback_published=published,
        report_sha256=_sha(text),
        created_at=now or utcnow(),
    )
    db.session.add(evaluation)
    db.session.flush()
    trace.record(
        actor,
        "evaluation.filed",
        evaluation,
        department=decision.department_id,
        decision=decision.slug,
        conclusion=conclusion,
        feedback_received=received,
        feedback_published=published,
        report_sha256=evaluation.report_sha256,
    )
    return evaluation


def evaluation_gate(decision: Decision) -> list:
    """Leaving ``evaluation`` needs a post-evaluation report (art. 36)."""
    found = db.session.scalar(select(PostEvaluation.id).where(PostEvaluation.decision_id == decision.id).limit(1))
    return [] if found is not None else [_l("尚未提交决策后评估报告。")]


# Adjustment and suspension ----------------------------------------------------------------------

ACTIONS = {
    AdjustmentKind.ADJUST: "decision.adjusted",
    AdjustmentKind.SUSPEND: "decision.suspended",
    AdjustmentKind.RESUME: "decision.resumed",
}


def adjust(actor, decision: Decision, *, kind: str, reason: str, now: datetime | None = None) -> Adjustment:
    """Adjust, suspend or resume a decision in force; the reason is required and public."""
    if not can_adjust(actor, decision):
        raise NotAllowed(_l("只有决策机关负责人或管理员可以调整或暂停执行决策。"))
    _ensure_in_force(decision)
    try:
        kind_enum = AdjustmentKind(kind)
    except ValueError as exc:
        raise DomainError(_l("请选择调整方式。"), code="bad_kind") from exc
    text = _text(reason, REASON_MAX, _l("理由"))
    suspended = is_suspended(decision)
    if kind_enum is AdjustmentKind.SUSPEND and suspended:
        raise DomainError(_l("此决策已暂停执行。"), code="already_suspended", status=409)
    if kind_enum is AdjustmentKind.RESUME and not suspended:
        raise DomainError(_l("此决策没有暂停执行,无须恢复。"), code="not_suspended", status=409)
    adjustment = Adjustment(
        decision_id=decision.id, kind=kind_enum.value, reason=text, created_by_id=actor.id, created_at=now or utcnow()
    )
    db.session.add(adjustment)
    db.session.flush()
    trace.record(
        actor,
        ACTIONS[kind_enum],
        adjustment,
        department=decision.department_id,
        decision=decision.slug,
        kind=kind_enum.value,
        reason=text,
    )
    return adjustment
