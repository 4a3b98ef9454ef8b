"""Person lookup (责任倒查): every decision an official, expert or leader had a role in.

Candidates come from the ledger (entries the person acted in, by the actor index) and from the
direct-responsible list; each candidate decision's record is then built for the viewer and only
the items that name the person are kept, so the lookup never shows more than the accountability
pages do. The public sees published decisions only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select

from portal.accountability.record import ROLE_ACTIONS, Item, build_record, optional, outcome_label
from portal.auth.models import Role, User, UserRole
from portal.core.extensions import db
from portal.decisions import permissions as decision_permissions
from portal.decisions.models import Decision, DecisionResponsible, DraftVersion
from portal.releases.models import PUBLISHED_STAGES
from portal.trace.models import PUBLIC, TraceEntry

#: Roles whose holders can be looked up.
PERSON_ROLES = (Role.OFFICIAL, Role.EXPERT, Role.LEADER, Role.LEGAL_REVIEWER, Role.SPOKESPERSON, Role.ADMIN)
#: Decisions examined for one person (the newest first).
MAX_DECISIONS = 200
QUERY_MAX = 40


@dataclass
class PersonDecision:
    decision: Decision
    items: list[Item]

    @property
    def outcome(self) -> str:
        return outcome_label(self.decision)

    @property
    def dissent(self) -> bool:
        return any(i.dissent for i in self.items)


def _resolvers() -> dict[str, object]:
    """Subject kind -> a select of (id, decision_id) for that kind; only installed features."""
    from portal.implementation.models import Adjustment, ImplementationUpdate, PostEvaluation
    from portal.releases.models import Release

    found = {
        "draft_version": select(DraftVersion.id, DraftVersion.decision_id),
        "release": select(Release.id, Release.decision_id),
        "implementation_update": select(ImplementationUpdate.id, ImplementationUpdate.decision_id),
        "post_evaluation": select(PostEvaluation.id, PostEvaluation.decision_id),
        "decision_adjustment": select(Adjustment.id, Adjustment.decision_id),
    }
    consultation = optional("portal.consultation.models")
    if consultation is not None:
        found["consultation"] = select(consultation.Consultation.id, consultation.Consultation.decision_id)
    hearings = optional("portal.hearings.models")
    if hearings is not None:
        found["hearing"] = select(hearings.Hearing.id, hearings.Hearing.decision_id)
    reviews = optional("portal.reviews.models")
    if reviews is not None:
        for kind, model in (
            ("committee_member", reviews.CommitteeMember),
            ("review", reviews.Review),
            ("risk_assessment", reviews.RiskAssessment),
            ("legality_review", reviews.LegalityReview),
            ("meeting", reviews.Meeting),
        ):
            found[kind] = select(model.id, model.decision_id)
        found["meeting_opinion"] = select(reviews.MeetingOpinion.id, reviews.Meeting.decision_id).join(
            reviews.Meeting, reviews.Meeting.id == reviews.MeetingOpinion.meeting_id
        )
    return found


def candidate_decision_ids(user: User) -> set[int]:
    """Decisions the person acted in (ledger) or answers for (direct responsible persons)."""
    rows = db.session.execute(
        select(TraceEntry.subject_kind, TraceEntry.subject_id)
        .where(TraceEntry.actor_id == user.id, TraceEntry.action.in_(sorted(ROLE_ACTIONS)))
        .distinct()
    ).all()
    by_kind: dict[str, set[int]] = {}
    for kind, ident in rows:
        if ident.isdigit():
            by_kind.setdefault(kind, set()).add(int(ident))
    ids = set(by_kind.pop("decision", set()))
    resolvers = _resolvers()
    for kind, idents in by_kind.items():
        stmt = resolvers.get(kind)
        if stmt is None:
            continue
        id_column = stmt.selected_columns[0]
        ids.update(d for _i, d in db.session.execute(stmt.where(id_column.in_(sorted(idents)))).all() if d)
    ids.update(
        db.session.scalars(select(DecisionResponsible.decision_id).where(DecisionResponsible.user_id == user.id))
    )
    reviews = optional("portal.reviews.models")
    if reviews is not None:
        # Members present at a closed meeting are on its public record even without a readable entry.
        ids.update(
            db.session.scalars(
                select(reviews.Meeting.decision_id)
                .join(reviews.MeetingOpinion, reviews.MeetingOpinion.meeting_id == reviews.Meeting.id)
                .where(reviews.MeetingOpinion.member_id == user.id)
            )
        )
        ids.update(
            db.session.scalars(
                select(reviews.LegalityReview.decision_id).where(reviews.LegalityReview.reviewer_id == user.id)
            )
        )
    return ids


def _may_see(decision: Decision, viewer) -> bool:
    if decision_permissions.is_insider(viewer, decision):
        return True
    return decision.stage in PUBLISHED_STAGES


def person_decisions(user: User, viewer) -> list[PersonDecision]:
    """Every decision ``user`` had a role in that ``viewer`` may see, newest first, with the roles."""
    ids = candidate_decision_ids(user)
    if not ids:
        return []
    decisions = db.session.scalars(
        select(Decision).where(Decision.id.in_(sorted(ids))).order_by(Decision.id.desc()).limit(MAX_DECISIONS)
    ).all()
    found = []
    for decision in decisions:
        if not _may_see(decision, viewer):
            continue
        items = build_record(decision, viewer).for_person(user.id)
        if items:
            found.append(PersonDecision(decision, items))
    return found


def _has_person_role():
    return exists().where(UserRole.user_id == User.id, UserRole.role.in_([r.value for r in PERSON_ROLES]))


def _has_public_trace():
    """Named somewhere public: a public ledger entry, a responsible-person list, the expert pool, a
    meeting's attendance list (published with the meeting), or a legality review."""
    conditions = [
        exists().where(TraceEntry.actor_id == User.id, TraceEntry.visibility == PUBLIC),
        exists().where(DecisionResponsible.user_id == User.id),
    ]
    reviews = optional("portal.reviews.models")
    if reviews is not None:
        conditions += [
            exists().where(reviews.ExpertProfile.user_id == User.id),
            exists().where(reviews.MeetingAttendee.user_id == User.id),
            exists().where(reviews.LegalityReview.reviewer_id == User.id),
        ]
    return or_(*conditions)


def person_or_none(user_id: int, viewer) -> User | None:
    """The account if it belongs to someone with a public role; None otherwise (the page says 404)."""
    if user_id <= 0 or user_id > 2**31:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.has_role(*[r.value for r in PERSON_ROLES]):
        return None
    return user


def search_people(query: str, viewer, *, limit: int = 50) -> list[User]:
    """People with a public role whose name contains ``query``; the public sees those on the public record."""
    query = " ".join((query or "").split())[:QUERY_MAX]
    stmt = select(User).where(_has_person_role())
    if query:
        stmt = stmt.where(func.lower(User.display_name).contains(query.lower(), autoescape=True))
    if not getattr(viewer, "is_authenticated", False) or not viewer.has_role(
        Role.ADMIN, Role.AUDITOR, Role.LEADER, Role.OFFICIAL
    ):
        stmt = stmt.where(_has_public_trace())
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id).limit(limit)))
