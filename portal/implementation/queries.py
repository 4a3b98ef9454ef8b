"""Reads of the after-publication records."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.core.extensions import db
from portal.decisions.models import Decision
from portal.implementation.models import (
    Adjustment,
    EvaluationProposal,
    Feedback,
    FeedbackStatus,
    ImplementationUpdate,
    PostEvaluation,
)

PER_PAGE = 20
TRACKING_MAX = 20


def updates_for(decision: Decision) -> list[ImplementationUpdate]:
    return list(
        db.session.scalars(
            select(ImplementationUpdate)
            .where(ImplementationUpdate.decision_id == decision.id)
            .order_by(ImplementationUpdate.created_at.desc(), ImplementationUpdate.id.desc())
        )
    )


def public_feedback_stmt(decision: Decision):
    return (
        select(Feedback)
        .where(Feedback.decision_id == decision.id, Feedback.status == FeedbackStatus.PUBLISHED.value)
        .options(selectinload(Feedback.response), selectinload(Feedback.author))
        .order_by(Feedback.id.desc())
    )


def public_feedback(decision: Decision, *, limit: int | None = 50) -> list[Feedback]:
    stmt = public_feedback_stmt(decision)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def pending_feedback(decision: Decision, *, limit: int = 200) -> list[Feedback]:
    return list(
        db.session.scalars(
            select(Feedback)
            .where(Feedback.decision_id == decision.id, Feedback.status == FeedbackStatus.PENDING.value)
            .options(selectinload(Feedback.author))
            .order_by(Feedback.id)
            .limit(limit)
        )
    )


def unanswered_feedback(decision: Decision, *, limit: int = 200) -> list[Feedback]:
    from portal.implementation.models import FeedbackResponse

    return list(
        db.session.scalars(
            select(Feedback)
            .outerjoin(FeedbackResponse, FeedbackResponse.feedback_id == Feedback.id)
            .where(
                Feedback.decision_id == decision.id,
                Feedback.status == FeedbackStatus.PUBLISHED.value,
                FeedbackResponse.id.is_(None),
            )
            .order_by(Feedback.id)
            .limit(limit)
        )
    )


def feedback_counts(decision: Decision) -> dict[str, int]:
    rows = db.session.execute(
        select(Feedback.status, func.count(Feedback.id))
        .where(Feedback.decision_id == decision.id)
        .group_by(Feedback.status)
    ).all()
    counts = {s.value: 0 for s in FeedbackStatus}
    counts.update(dict(rows))
    return counts


def feedback_by_tracking(tracking: str) -> Feedback | None:
    tracking = (tracking or "").strip().upper()
    if not tracking or len(tracking) > TRACKING_MAX:
        return None
    return db.session.scalar(select(Feedback).where(Feedback.tracking_number == tracking))


def evaluations_for(decision: Decision) -> list[PostEvaluation]:
    return list(
        db.session.scalars(
            select(PostEvaluation).where(PostEvaluation.decision_id == decision.id).order_by(PostEvaluation.id)
        )
    )


def adjustments_for(decision: Decision) -> list[Adjustment]:
    return list(
        db.session.scalars(select(Adjustment).where(Adjustment.decision_id == decision.id).order_by(Adjustment.id))
    )


def proposal_for(decision: Decision) -> EvaluationProposal | None:
    return db.session.get(EvaluationProposal, decision.id)


def can_see_feedback(user, feedback: Feedback) -> bool:
    """Its author, and the executing department (and admins)."""
    from portal.implementation.operations import can_report

    if not getattr(user, "is_authenticated", False):
        return False
    return feedback.author_id == user.id or can_report(user, feedback.decision)
