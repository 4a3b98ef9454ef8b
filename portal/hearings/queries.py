"""Reads for the hearing pages, the API, the decision page and the gate."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Select, func, select

from portal.core.extensions import db
from portal.decisions.models import Decision
from portal.hearings.models import (
    NOT_ENTERED,
    SEATED,
    Hearing,
    HearingCategory,
    HearingDraw,
    HearingMessage,
    HearingStatus,
    Observer,
    ObserverStatus,
    Registration,
    current_time,
)
from portal.hearings.permissions import can_manage_hearing

#: Values of the ``when`` filter of the list page and the API.
WHEN = ("upcoming", "past", "all")


def public_hearings(when: str = "upcoming", decision_slug: str | None = None) -> Select:
    """Published hearings: upcoming ones soonest first, past ones latest first."""
    stmt = select(Hearing).where(Hearing.status != HearingStatus.DRAFT.value)
    now = current_time()
    if when == "upcoming":
        stmt = stmt.where(Hearing.ends_at >= now).order_by(Hearing.starts_at, Hearing.id)
    elif when == "past":
        stmt = stmt.where(Hearing.ends_at < now).order_by(Hearing.starts_at.desc(), Hearing.id.desc())
    else:
        stmt = stmt.order_by(Hearing.starts_at.desc(), Hearing.id.desc())
    if decision_slug:
        stmt = stmt.join(Decision, Hearing.decision_id == Decision.id).where(Decision.slug == decision_slug)
    return stmt


def hearing_by_key(key: str) -> Hearing | None:
    """A hearing by id or by slug (for the CLI)."""
    key = (key or "").strip()
    if key.isdigit():
        return db.session.get(Hearing, int(key))
    return db.session.scalar(select(Hearing).where(Hearing.slug == key))


def hearings_for_decision(decision: Decision, user=None) -> list[Hearing]:
    """The hearings shown on a decision's page: published ones, plus drafts for their managers."""
    hearings = db.session.scalars(
        select(Hearing).where(Hearing.decision_id == decision.id).order_by(Hearing.starts_at, Hearing.id)
    ).all()
    return [h for h in hearings if h.is_public or (user is not None and can_manage_hearing(user, h))]


def registration_of(hearing: Hearing, user) -> Registration | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Registration).where(Registration.hearing_id == hearing.id, Registration.user_id == user.id)
    )


def observer_of(hearing: Hearing, user) -> Observer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Observer).where(Observer.hearing_id == hearing.id, Observer.user_id == user.id))


def registrations(hearing: Hearing) -> list[Registration]:
    """Every registration, by category then draw order then number (department view)."""
    return list(
        db.session.scalars(
            select(Registration)
            .join(HearingCategory, Registration.category_id == HearingCategory.id)
            .where(Registration.hearing_id == hearing.id)
            .order_by(
                HearingCategory.position, Registration.draw_rank.is_(None), Registration.draw_rank, Registration.id
            )
        )
    )


def participants(hearing: Hearing) -> list[Registration]:
    """The published participant list: who holds a seat now."""
    return list(
        db.session.scalars(
            select(Registration)
            .join(HearingCategory, Registration.category_id == HearingCategory.id)
            .where(Registration.hearing_id == hearing.id, Registration.status.in_(SEATED))
            .order_by(HearingCategory.position, Registration.draw_rank, Registration.id)
        )
    )


def booked_observers(hearing: Hearing) -> list[Observer]:
    return list(
        db.session.scalars(
            select(Observer)
            .where(Observer.hearing_id == hearing.id, Observer.status == ObserverStatus.BOOKED.value)
            .order_by(Observer.seat_no)
        )
    )


def observers_booked_count(hearing: Hearing) -> int:
    return db.session.scalar(
        select(func.count(Observer.id)).where(
            Observer.hearing_id == hearing.id, Observer.status == ObserverStatus.BOOKED.value
        )
    )


def registration_counts(hearing: Hearing) -> Counter:
    """Registrations still in the running per category id (withdrawn ones excluded)."""
    rows = db.session.execute(
        select(Registration.category_id, func.count(Registration.id))
        .where(Registration.hearing_id == hearing.id, Registration.status.not_in(NOT_ENTERED))
        .group_by(Registration.category_id)
    )
    return Counter({category_id: n for category_id, n in rows})


def draw_of(hearing: Hearing) -> HearingDraw | None:
    return db.session.scalar(select(HearingDraw).where(HearingDraw.hearing_id == hearing.id))


def messages_for(user, limit: int = 50) -> list[HearingMessage]:
    return list(
        db.session.scalars(
            select(HearingMessage)
            .where(HearingMessage.user_id == user.id)
            .order_by(HearingMessage.created_at.desc(), HearingMessage.id.desc())
            .limit(limit)
        )
    )


def registrations_of_user(user) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration).where(Registration.user_id == user.id).order_by(Registration.id.desc()).limit(100)
        )
    )


def observers_of_user(user) -> list[Observer]:
    return list(
        db.session.scalars(select(Observer).where(Observer.user_id == user.id).order_by(Observer.id.desc()).limit(100))
    )
