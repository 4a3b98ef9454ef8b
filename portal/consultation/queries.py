"""Reads of the consultation feature: comment pages, statistics, the consultation report."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.consultation.models import (
    CHANNELS,
    DISPOSITIONS,
    NOT_COUNTED,
    REJECTION_REASONS,
    Comment,
    CommentStatus,
    Consultation,
    Response,
)
from portal.core.extensions import db
from portal.decisions.models import Decision, DraftArticle, DraftVersion, VersionStatus

#: Sort orders of public comment lists: name -> ORDER BY (allowlist; never a raw column name).
SORTS = {
    "oldest": (Comment.published_at.asc(), Comment.id.asc()),
    "newest": (Comment.published_at.desc(), Comment.id.desc()),
}
PUBLIC_PER_PAGE = 20


@dataclass
class Page:
    """A page of results with the attributes the pager macro uses."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def decision_by_slug(slug: str) -> Decision | None:
    if not slug or len(slug) > 120:
        return None
    return db.session.scalar(select(Decision).where(Decision.slug == slug))


#: How long a public decision's consultation, once read, is used without reading it again, and
#: how many each process keeps. A decision's slug and its consultation never change once created.
KNOWN_TARGET_SECONDS = 60.0
KNOWN_TARGET_MAX = 1000
_known_targets_lock = threading.Lock()


def _known_targets() -> dict[str, tuple[int, float]]:
    """slug -> (consultation id, when read): this app's public decisions with a consultation."""
    return current_app.extensions.setdefault("portal_comment_targets", {})


def known_comment_target(slug: str) -> int | None:
    """The consultation of a decision this process recently found public, without a query.

    Only a hint for the comment POST (issue 8, surge): whether the decision may still be seen
    and whether the period is open is checked again by the intake's transaction.
    """
    found = _known_targets().get(slug)
    if found is None or time.monotonic() - found[1] > KNOWN_TARGET_SECONDS:
        return None
    return found[0]


def remember_comment_target(slug: str, consultation_id: int) -> None:
    with _known_targets_lock:
        known = _known_targets()
        if len(known) >= KNOWN_TARGET_MAX:
            known.clear()
        known[slug] = (consultation_id, time.monotonic())


def comment_target(slug: str) -> tuple[Decision, Consultation | None, bool] | None:
    """The decision, its consultation and whether it has a published version, in one query.

    For the comment form's POST (issue 8, surge): the usual lookups took three queries and
    loaded the text of every version just to learn whether one is published.
    """
    if not slug or len(slug) > 120:
        return None
    published = (
        select(DraftVersion.id)
        .where(DraftVersion.decision_id == Decision.id, DraftVersion.status == VersionStatus.PUBLISHED.value)
        .exists()
    )
    row = db.session.execute(
        select(Decision, Consultation, published)
        .outerjoin(Consultation, Consultation.decision_id == Decision.id)
        .where(Decision.slug == slug)
    ).first()
    return (row[0], row[1], bool(row[2])) if row else None


def consultation_for(decision: Decision) -> Consultation | None:
    return db.session.scalar(select(Consultation).where(Consultation.decision_id == decision.id))


def comment_by_tracking(tracking: str) -> Comment | None:
    if not tracking or len(tracking) > 20:
        return None
    return db.session.scalar(
        select(Comment)
        .options(joinedload(Comment.author), selectinload(Comment.response))
        .where(Comment.tracking_number == tracking.strip().upper())
    )


def current_articles(decision: Decision) -> list[DraftArticle]:
    version = decision.current_version
    if version is None:
        return []
    return list(
        db.session.scalars(
            select(DraftArticle).where(DraftArticle.version_id == version.id).order_by(DraftArticle.position)
        )
    )


def published_comments(consultation: Consultation, *, article: str | None = None, sort: str = "oldest"):
    """SELECT of the published comments, with author and response loaded in the same round trips."""
    stmt = (
        select(Comment)
        .options(joinedload(Comment.author), selectinload(Comment.response))
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.PUBLISHED.value)
    )
    if article == "whole":
        stmt = stmt.where(Comment.article_anchor.is_(None))
    elif article:
        stmt = stmt.where(Comment.article_anchor == article)
    return stmt.order_by(*SORTS.get(sort, SORTS["oldest"]))


def paged(stmt, page: int, per_page: int = PUBLIC_PER_PAGE) -> Page:
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)
    return Page(list(pagination.items), page, per_page, pagination.total or 0)


def group_sizes(group_ids) -> dict[int, int]:
    """Comments received (not withdrawn) per group, for the groups given."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Comment.group_id, func.count(Comment.id))
        .where(Comment.group_id.in_(ids), Comment.status.not_in(NOT_COUNTED))
        .group_by(Comment.group_id)
    ).all()
    return dict(rows)


@dataclass
class AdoptionStats:
    published: int = 0
    answered: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)

    @property
    def unanswered(self) -> int:
        return self.published - self.answered

    def share(self, code: str) -> int:
        """Percentage of answered comments with disposition ``code`` (rounded)."""
        return round(100 * self.by_disposition.get(code, 0) / self.answered) if self.answered else 0


def adoption_stats(consultation: Consultation) -> AdoptionStats:
    """Responses to published comments by disposition, in one query."""
    rows = db.session.execute(
        select(Response.disposition, func.count(Comment.id))
        .select_from(Comment)
        .outerjoin(Response, Response.comment_id == Comment.id)
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.PUBLISHED.value)
        .group_by(Response.disposition)
    ).all()
    stats = AdoptionStats(by_disposition={code: 0 for code in DISPOSITIONS})
    for disposition, count in rows:
        stats.published += count
        if disposition is not None:
            stats.answered += count
            stats.by_disposition[disposition] = stats.by_disposition.get(disposition, 0) + count
    return stats


def status_counts(consultation: Consultation) -> dict[str, int]:
    rows = db.session.execute(
        select(Comment.status, func.count(Comment.id))
        .where(Comment.consultation_id == consultation.id, Comment.status != CommentStatus.UNCONFIRMED.value)
        .group_by(Comment.status)
    ).all()
    # Comments held for e-mail confirmation have not taken effect: they are in no count.
    counts = {s.value: 0 for s in CommentStatus if s is not CommentStatus.UNCONFIRMED}
    counts.update(dict(rows))
    return counts


def unanswered_count(consultation: Consultation) -> int:
    return db.session.scalar(
        select(func.count(Comment.id))
        .outerjoin(Response, Response.comment_id == Comment.id)
        .where(
            Comment.consultation_id == consultation.id,
            Comment.status == CommentStatus.PUBLISHED.value,
            Response.id.is_(None),
        )
    )


@dataclass
class DuplicateGroup:
    group_id: int
    size: int
    published: int
    sample: str | None  # the text of a published comment of the group; None when none is public


@dataclass
class Report:
    """The consultation report (意见征集情况说明), assembled from the data."""

    consultation: Consultation
    received: int
    distinct_texts: int
    by_status: dict[str, int]
    rejected_by_reason: dict[str, int]
    by_channel: dict[str, int]
    by_article: list[dict]
    adoption: AdoptionStats
    not_adopted_reasons: list[dict]
    duplicate_groups: list[DuplicateGroup]
    generated_at: datetime | None = None

    @property
    def published(self) -> int:
        return self.by_status.get(CommentStatus.PUBLISHED.value, 0)

    @property
    def rejected(self) -> int:
        return self.by_status.get(CommentStatus.REJECTED.value, 0)

    @property
    def withdrawn(self) -> int:
        return self.by_status.get(CommentStatus.WITHDRAWN.value, 0)

    @property
    def pending(self) -> int:
        return self.by_status.get(CommentStatus.PENDING.value, 0)

    def as_dict(self) -> dict:
        return {
            "received": self.received,
            "distinct_texts": self.distinct_texts,
            "published": self.published,
            "pending": self.pending,
            "rejected": self.rejected,
            "withdrawn": self.withdrawn,
            "rejected_by_reason": self.rejected_by_reason,
            "by_channel": self.by_channel,
            "by_article": self.by_article,
            "by_disposition": dict(self.adoption.by_disposition),
            "answered": self.adoption.answered,
            "unanswered": self.adoption.unanswered,
            "not_adopted_reasons": self.not_adopted_reasons,
            "duplicate_groups": [
                {"size": g.size, "published": g.published, "sample": g.sample} for g in self.duplicate_groups
            ],
        }


#: Duplicate groups listed in the report (largest first).
REPORT_GROUPS = 50
REPORT_REASONS = 200


def build_report(consultation: Consultation) -> Report:
    """Every figure of the report in a handful of aggregate queries (cheap with thousands of comments)."""
    cid = consultation.id
    by_status = status_counts(consultation)
    received = sum(by_status.values())
    distinct = db.session.scalar(
        select(func.count(func.distinct(Comment.group_id))).where(
            Comment.consultation_id == cid, Comment.status != CommentStatus.UNCONFIRMED.value
        )
    )

    rejected_rows = db.session.execute(
        select(Comment.rejection_reason, func.count(Comment.id))
        .where(Comment.consultation_id == cid, Comment.status == CommentStatus.REJECTED.value)
        .group_by(Comment.rejection_reason)
    ).all()
    rejected_by_reason = {code: 0 for code in REJECTION_REASONS}
    rejected_by_reason.update({code: n for code, n in rejected_rows if code})

    channel_rows = db.session.execute(
        select(Comment.channel, func.count(Comment.id))
        .where(Comment.consultation_id == cid, Comment.status != CommentStatus.UNCONFIRMED.value)
        .group_by(Comment.channel)
    ).all()
    by_channel = {code: 0 for code in CHANNELS}
    by_channel.update(dict(channel_rows))

    published_value = CommentStatus.PUBLISHED.value
    article_rows = db.session.execute(
        select(
            Comment.article_anchor,
            func.max(Comment.article_label),
            func.count(Comment.id),
            func.sum(case((Comment.status == published_value, 1), else_=0)),
            func.sum(case((Response.disposition == "adopted", 1), else_=0)),
            func.sum(case((Response.disposition == "partly_adopted", 1), else_=0)),
            func.sum(case((Response.disposition == "not_adopted", 1), else_=0)),
            func.sum(case((Response.disposition == "for_reference", 1), else_=0)),
        )
        .select_from(Comment)
        .outerjoin(Response, (Response.comment_id == Comment.id) & (Comment.status == published_value))
        .where(Comment.consultation_id == cid, Comment.status.not_in(NOT_COUNTED))
        .group_by(Comment.article_anchor)
    ).all()
    positions = {
        a.anchor: a.position for a in current_articles(consultation.decision)
    }  # order articles as in the draft
    by_article = sorted(
        (
            {
                "anchor": anchor,
                "label": label,
                "received": int(received_n),
                "published": int(published_n or 0),
                "adopted": int(adopted or 0),
                "partly_adopted": int(partly or 0),
                "not_adopted": int(not_adopted or 0),
                "for_reference": int(reference or 0),
            }
            for anchor, label, received_n, published_n, adopted, partly, not_adopted, reference in article_rows
        ),
        key=lambda row: (row["anchor"] is not None, positions.get(row["anchor"], 10**6), row["anchor"] or ""),
    )

    reason_rows = db.session.execute(
        select(Comment.article_label, Response.reason, func.count(Comment.id), func.min(Comment.tracking_number))
        .join(Response, Response.comment_id == Comment.id)
        .where(
            Comment.consultation_id == cid,
            Comment.status == published_value,
            Response.disposition.in_(("not_adopted", "partly_adopted")),
        )
        .group_by(Comment.article_label, Response.reason)
        .order_by(func.count(Comment.id).desc(), func.min(Comment.tracking_number))
        .limit(REPORT_REASONS)
    ).all()
    not_adopted_reasons = [
        {"article": label, "reason": reason, "comments": n, "first": first} for label, reason, n, first in reason_rows
    ]

    group_rows = db.session.execute(
        select(
            Comment.group_id,
            func.count(Comment.id),
            func.sum(case((Comment.status == published_value, 1), else_=0)),
            func.min(case((Comment.status == published_value, Comment.id), else_=None)),
        )
        .where(Comment.consultation_id == cid, Comment.status.not_in(NOT_COUNTED))
        .group_by(Comment.group_id)
        .having(func.count(Comment.id) > 1)
        .order_by(func.count(Comment.id).desc(), Comment.group_id)
        .limit(REPORT_GROUPS)
    ).all()
    sample_ids = [row[3] for row in group_rows if row[3] is not None]
    samples = (
        dict(db.session.execute(select(Comment.id, Comment.body).where(Comment.id.in_(sample_ids))).all())
        if sample_ids
        else {}
    )
    groups = [
        DuplicateGroup(group_id, int(size), int(published_n or 0), samples.get(sample_id))
        for group_id, size, published_n, sample_id in group_rows
    ]
    return Report(
        consultation=consultation,
        received=received,
        distinct_texts=distinct or 0,
        by_status=by_status,
        rejected_by_reason=rejected_by_reason,
        by_channel=by_channel,
        by_article=by_article,
        adoption=adoption_stats(consultation),
        not_adopted_reasons=not_adopted_reasons,
        duplicate_groups=groups,
    )


def pending_groups(consultation: Consultation, page: int, per_page: int = 20) -> Page:
    """Groups with comments waiting for moderation, largest first; items are (group_id, pending count)."""
    base = (
        select(Comment.group_id, func.count(Comment.id).label("n"), func.min(Comment.id).label("first"))
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.PENDING.value)
        .group_by(Comment.group_id)
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(
        base.order_by(func.count(Comment.id).desc(), func.min(Comment.id)).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([(row.group_id, row.n) for row in rows], page, per_page, total or 0)


def group_comments(group_id: int, status: str | None = None, limit: int | None = None) -> list[Comment]:
    stmt = (
        select(Comment)
        .options(joinedload(Comment.author), selectinload(Comment.response))
        .where(Comment.group_id == group_id)
        .order_by(Comment.id)
    )
    if status:
        stmt = stmt.where(Comment.status == status)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def unanswered_groups(consultation: Consultation, page: int, per_page: int = 20) -> Page:
    """Groups with published comments that have no response yet; items are (group_id, count)."""
    base = (
        select(Comment.group_id, func.count(Comment.id).label("n"))
        .outerjoin(Response, Response.comment_id == Comment.id)
        .where(
            Comment.consultation_id == consultation.id,
            Comment.status == CommentStatus.PUBLISHED.value,
            Response.id.is_(None),
        )
        .group_by(Comment.group_id)
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(
        base.order_by(func.count(Comment.id).desc(), Comment.group_id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([(row.group_id, row.n) for row in rows], page, per_page, total or 0)


def first_comments(group_ids, status: str) -> dict[int, Comment]:
    """The first comment with ``status`` of each group (for showing the group's text)."""
    ids = list(group_ids)
    if not ids:
        return {}
    firsts = (
        select(func.min(Comment.id))
        .where(Comment.group_id.in_(ids), Comment.status == status)
        .group_by(Comment.group_id)
    )
    comments = db.session.scalars(
        select(Comment).options(joinedload(Comment.author)).where(Comment.id.in_(firsts))
    ).all()
    return {c.group_id: c for c in comments}


def all_comments_for_export(consultation: Consultation) -> list[Comment]:
    return list(
        db.session.scalars(
            select(Comment)
            .options(joinedload(Comment.author), selectinload(Comment.response))
            .where(Comment.consultation_id == consultation.id, Comment.status != CommentStatus.UNCONFIRMED.value)
            .order_by(Comment.id)
        )
    )
