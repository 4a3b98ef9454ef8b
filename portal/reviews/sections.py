"""What the review steps add to the public decision page (``core.hooks.add_decision_section``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g
from flask_login import current_user

from portal.reviews import permissions, queries
from portal.reviews.models import CommitteeMember, LegalityReview, Meeting, Review, RiskAssessment
from portal.reviews.rules import diversity_notes


@dataclass
class ReviewSummary:
    members: list[CommitteeMember] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reviews_visible: bool = False
    reviews: list[Review] = field(default_factory=list)
    risk_required: bool = False
    risk: RiskAssessment | None = None
    legality: LegalityReview | None = None
    details_visible: bool = False
    meetings: list[Meeting] = field(default_factory=list)
    internal: bool = False

    @property
    def empty(self) -> bool:
        return not (self.members or self.risk or self.legality or self.meetings)


def review_summary(decision) -> ReviewSummary:
    """The committee, reviews (once public), risk, legality and discussion of ``decision``, for the
    sections of its page; computed once per request however many sections use it."""
    cache = g.setdefault("_review_summaries", {})
    if decision.id in cache:
        return cache[decision.id]
    members = queries.committee(decision)
    visible = permissions.can_see_reviews(current_user, decision)
    summary = ReviewSummary(
        members=members,
        notes=diversity_notes([m.profile for m in members if not m.recused]),
        reviews_visible=visible,
        reviews=[m.current_review for m in members if m.current_review] if visible else [],
        risk_required=bool(decision.affects_stability),
        risk=queries.latest_risk(decision),
        legality=queries.latest_legality(decision),
        details_visible=visible,
        meetings=queries.meetings_of(decision),
        internal=permissions.can_see_internal_records(current_user, decision),
    )
    cache[decision.id] = summary
    return summary
