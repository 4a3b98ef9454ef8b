"""Reads: published releases (a scheduled release counts once its time has come), the prefilled
adoption statement of an interpretation, and the links of a published decision."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from portal.auth.models import Department
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Decision
from portal.releases.models import DecisionPublication, Release, ReleaseKind, ReleaseStatus
from portal.releases.operations import can_see_drafts

PER_PAGE = 20


def is_published_sql(now: datetime | None = None):
    """SQL twin of ``Release.is_published``: published, or scheduled and due by the server's clock."""
    now = now or utcnow()
    return or_(
        Release.status == ReleaseStatus.PUBLISHED.value,
        and_(Release.status == ReleaseStatus.SCHEDULED.value, Release.scheduled_at <= now),
    )


def public_time_sql():
    return func.coalesce(Release.published_at, Release.scheduled_at)


def public_releases(*, kind: str | None = None, decision_id: int | None = None, department_id: int | None = None):
    """Published releases, newest first."""
    stmt = select(Release).where(is_published_sql()).options(selectinload(Release.corrections))
    if kind:
        stmt = stmt.where(Release.kind == kind)
    if decision_id is not None:
        stmt = stmt.where(Release.decision_id == decision_id)
    if department_id is not None:
        stmt = stmt.where(Release.department_id == department_id)
    return stmt.order_by(public_time_sql().desc(), Release.id.desc())


def unpublished_releases():
    """Drafts and scheduled releases not yet due, for spokespersons."""
    return select(Release).where(~is_published_sql()).order_by(Release.updated_at.desc(), Release.id.desc())


def visible_release(release: Release, viewer) -> bool:
    return release.is_published() or can_see_drafts(viewer)


def release_or_none(release_id: int, viewer) -> Release | None:
    if release_id <= 0 or release_id > 2**31:
        return None
    release = db.session.get(Release, release_id)
    if release is None or not visible_release(release, viewer):
        return None
    return release


def releases_for_decision(decision: Decision) -> list[Release]:
    return list(db.session.scalars(public_releases(decision_id=decision.id).limit(50)))


def publication_for(decision: Decision) -> DecisionPublication | None:
    return db.session.get(DecisionPublication, decision.id)


def department_by_code(code: str) -> Department | None:
    if not code or len(code) > 32:
        return None
    return db.session.scalar(select(Department).where(Department.code == code))


def _url(endpoint: str, **values) -> str | None:
    if not has_request_context() or endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def publication_links(decision: Decision) -> list[tuple[str, str]]:
    """The records a published decision rests on, each as (label, url), for the features installed."""
    links: list[tuple[str, str]] = []
    try:
        from portal.consultation.queries import consultation_for
    except ImportError:
        consultation_for = None
    if consultation_for is not None and consultation_for(decision) is not None:
        url = _url("consultation.report", slug=decision.slug)
        if url:
            links.append((_("公开征求意见情况报告"), url))
    try:
        from portal.hearings.models import Hearing
    except ImportError:
        Hearing = None  # noqa: N806
    if Hearing is not None:
        for hearing in db.session.scalars(
            select(Hearing).where(Hearing.decision_id == decision.id, Hearing.report_published_at.is_not(None))
        ):
            url = _url("hearings.detail", hearing_id=hearing.id)
            if url:
                links.append((_("听证报告:%(title)s", title=hearing.title), url + "#report"))
    try:
        from portal.reviews import queries as review_queries
    except ImportError:
        review_queries = None
    if review_queries is not None:
        if review_queries.reviews_of(decision):
            url = _url("reviews.committee", slug=decision.slug)
            if url:
                links.append((_("专家论证意见"), url))
        if review_queries.latest_legality(decision) is not None:
            url = _url("reviews.legality", slug=decision.slug)
            if url:
                links.append((_("合法性审查结论"), url))
        meeting = review_queries.deciding_meeting(decision)
        if meeting is not None:
            url = _url("reviews.meeting", meeting_id=meeting.id)
            if url:
                links.append((_("集体讨论情况(公开部分)"), url))
    return links


def adoption_prefill(decision: Decision) -> tuple[str, str]:
    """Starting texts for "how public and expert opinions were adopted", from the consultation's
    adoption statistics and the reviews' recommendations (empty parts when a feature is absent)."""
    return _public_adoption(decision), _expert_adoption(decision)


def _public_adoption(decision: Decision) -> str:
    try:
        from portal.consultation import queries as consultation_queries
        from portal.consultation.models import DISPOSITIONS
    except ImportError:
        return ""
    consultation = consultation_queries.consultation_for(decision)
    if consultation is None:
        return _("本决策未开展公开征求意见。")
    counts = consultation_queries.status_counts(consultation)
    stats = consultation_queries.adoption_stats(consultation)
    received = sum(counts.values())
    parts = [
        _(
            "公开征求意见期间(%(start)s至%(end)s),共收到意见 %(received)s 条,公开 %(published)s 条,已逐条答复 %(answered)s 条。",  # noqa: E501
            start=consultation.starts_at.date().isoformat(),
            end=consultation.ends_at.date().isoformat(),
            received=received,
            published=stats.published,
            answered=stats.answered,
        )
    ]
    dispositions = ",".join(
        _("%(label)s %(n)s 条", label=str(label), n=stats.by_disposition.get(code, 0))
        for code, label in DISPOSITIONS.items()
    )
    parts.append(_("其中:%(list)s。", list=dispositions))
    parts.append(_("未予采纳的理由已在意见征集情况说明中逐条公布。"))
    return "\n\n".join(parts)


def _expert_adoption(decision: Decision) -> str:
    try:
        from portal.reviews import queries as review_queries
        from portal.reviews.models import Recommendation
    except ImportError:
        return ""
    reviews = review_queries.current_reviews(decision)
    if not reviews:
        return _("本决策未组织专家论证。")
    counts = {r: 0 for r in Recommendation}
    for review in reviews:
        counts[review.recommendation_enum] += 1
    parts = [
        _(
            "共 %(n)s 位专家出具论证意见:%(list)s。",
            n=len(reviews),
            list=",".join(_("%(label)s %(n)s 位", label=r.label, n=counts[r]) for r in Recommendation),
        )
    ]
    conditions = [f"- {r.signed_name}:{' '.join(r.conditions.split())}" for r in reviews if r.conditions]
    if conditions:
        parts.append(_("专家提出的条件和建议:") + "\n\n" + "\n".join(conditions))
    materials = review_queries.materials_record(decision)
    if materials is not None and materials.expert_adoption.strip():
        parts.append(_("采纳情况:") + "\n\n" + materials.expert_adoption.strip())
    return "\n\n".join(parts)


def kinds() -> list[tuple[str, str]]:
    return [(k.value, k.label) for k in ReleaseKind]
