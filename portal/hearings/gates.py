"""The gate for leaving the hearing stage (Decree 713, art. 16-17; DESIGN.md).

For every hearing of the decision that was published: the selection method was public before
registration opened, the participant list was published and the materials delivered at least
the configured days (7) before the hearing, the record was confirmed by the participants, and
the hearing report is published.

A hearing is optional (art. 16: the department holds one when the matter is contested or touches
public interests widely), so a decision that passes over the hearing stage without ever
publishing a hearing meets the gate. A decision that is *in* the hearing stage has chosen to hold
one: it may not leave before a hearing was published and completed. Once a hearing has been
published, its conditions apply whether the stage is left or passed over.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.hearings.models import Hearing, HearingStatus, Registration, setting


def hearing_checks(hearing: Hearing) -> list[tuple[object, bool]]:
    """The legal conditions of one hearing, each with whether it is met (shown to the department)."""
    days = setting("HEARING_DRAW_MIN_DAYS")
    registrations = list(db.session.scalars(select(Registration).where(Registration.hearing_id == hearing.id)))
    method_in_advance = bool(hearing.selection_method) and (
        hearing.published_at is not None and hearing.published_at <= hearing.registration_opens_at
    )
    return [
        (_l("遴选办法在报名开始前公布"), method_in_advance),
        (_l("参加人名单在听证会 %(d)s 日前公布", d=days), hearing.list_on_time),
        (_l("听证材料在听证会 %(d)s 日前送达参加人", d=days), hearing.materials_on_time),
        (_l("听证笔录经出席的参加人确认"), hearing.record_confirmation_complete(registrations)),
        (_l("听证报告已发布"), hearing.report_published_at is not None),
    ]


def hearing_gate(decision: Decision) -> list:
    """Unmet conditions for leaving ``hearing`` (translated messages; empty when met)."""
    hearings = db.session.scalars(
        select(Hearing)
        .where(Hearing.decision_id == decision.id, Hearing.status != HearingStatus.DRAFT.value)
        .order_by(Hearing.id)
    ).all()
    if not hearings:
        if decision.stage == Stage.HEARING.value:
            return [_l("尚未发布听证会公告:听证阶段须举行听证会(或经批准跳过本阶段)。")]
        return []
    problems = []
    for hearing in hearings:
        for label, met in hearing_checks(hearing):
            if not met:
                problems.append(_l("听证会“%(t)s”:未满足“%(c)s”。", t=hearing.title, c=label))
    return problems
