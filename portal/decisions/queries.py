"""Reads: the catalogue with its filters and sorting, one decision for its page, its timeline."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Select, String, and_, cast, exists, or_, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Department, User
from portal.core.extensions import db
from portal.decisions import permissions
from portal.decisions.articles import demote_headings, render_body
from portal.decisions.attachments import Attachment
from portal.decisions.models import CATEGORIES, Decision, DraftVersion, Stage, VersionStatus
from portal.trace.models import PUBLIC, TraceEntry
from portal.trace.operations import can_read

#: Sort orders offered; the value is never used as a column name.
SORTS = OrderedDict(
    [
        ("newest", _l("最新创建")),
        ("oldest", _l("最早创建")),
        ("title", _l("标题")),
        ("stage_changed", _l("最近阶段变化")),
    ]
)
YEAR_MIN, YEAR_MAX = 2000, 2100
PER_PAGE = 20


def _order(sort: str):
    if sort == "oldest":
        return (Decision.created_at.asc(), Decision.id.asc())
    if sort == "title":
        return (Decision.title.asc(), Decision.id.asc())
    if sort == "stage_changed":
        return (Decision.stage_changed_at.desc(), Decision.id.desc())
    return (Decision.created_at.desc(), Decision.id.desc())


def has_published_version():
    """SQL: the decision has a published version."""
    return exists().where(DraftVersion.decision_id == Decision.id, DraftVersion.status == VersionStatus.PUBLISHED.value)


def current_version_id():
    """SQL twin of ``Decision.current_version``: the id of the newest published version, or NULL."""
    return (
        select(DraftVersion.id)
        .where(DraftVersion.decision_id == Decision.id, DraftVersion.status == VersionStatus.PUBLISHED.value)
        .order_by(DraftVersion.number.desc())
        .limit(1)
        .correlate(Decision)
        .scalar_subquery()
    )


_PUBLICLY_VISIBLE = None


def publicly_visible():
    """SQL twin of ``permissions.is_public`` (built once: SQL expressions are immutable)."""
    global _PUBLICLY_VISIBLE
    if _PUBLICLY_VISIBLE is None:
        _PUBLICLY_VISIBLE = or_(
            has_published_version(), Decision.stage.notin_([Stage.DRAFTING.value, Stage.WITHDRAWN.value])
        )
    return _PUBLICLY_VISIBLE


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The start of ``year`` and of the next, in the portal's timezone, as aware datetimes."""
    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


@dataclass
class CatalogueFilters:
    """Validated list parameters; ``problems`` names each ignored parameter (never its value)."""

    stage: str | None = None
    department: str | None = None
    category: str | None = None
    year: int | None = None
    sort: str = "newest"
    problems: list[str] = field(default_factory=list)

    def as_args(self) -> dict:
        args = {"stage": self.stage, "department": self.department, "category": self.category, "year": self.year}
        if self.sort != "newest":
            args["sort"] = self.sort
        return {k: v for k, v in args.items() if v}


def read_filters(args) -> CatalogueFilters:
    """Filters from a query string: unknown values are dropped and reported, never echoed."""
    found = CatalogueFilters()
    stage = (args.get("stage") or "").strip()
    if stage:
        if stage in Stage._value2member_map_:
            found.stage = stage
        else:
            found.problems.append(str(_l("阶段")))
    code = (args.get("department") or "").strip()
    if code:
        if len(code) <= 32 and db.session.scalar(select(Department.id).where(Department.code == code)):
            found.department = code
        else:
            found.problems.append(str(_l("承办单位")))
    category = (args.get("category") or "").strip()
    if category:
        if category in CATEGORIES:
            found.category = category
        else:
            found.problems.append(str(_l("类别")))
    year = (args.get("year") or "").strip()
    if year:
        if year.isdigit() and len(year) == 4 and YEAR_MIN <= int(year) <= YEAR_MAX:
            found.year = int(year)
        else:
            found.problems.append(str(_l("年份")))
    sort = (args.get("sort") or "").strip()
    if sort:
        if sort in SORTS:
            found.sort = sort
        else:
            found.problems.append(str(_l("排序")))
    return found


def catalogue(
    *,
    stage: str | None = None,
    department: str | None = None,
    category: str | None = None,
    year: int | None = None,
    sort: str = "newest",
    public_only: bool = True,
    department_ids: list[int] | None = None,
) -> Select:
    """Decisions matching the (already validated) filters, sorted by an allowlisted order."""
    stmt = select(Decision)
    if public_only:
        stmt = stmt.where(publicly_visible())
    if department_ids is not None:
        stmt = stmt.where(Decision.department_id.in_(department_ids))
    if stage:
        stmt = stmt.where(Decision.stage == stage)
    if department:
        stmt = stmt.join(Department, Department.id == Decision.department_id).where(Department.code == department)
    if category:
        stmt = stmt.where(Decision.category == category)
    if year:
        start, end = year_bounds(year)
        stmt = stmt.where(and_(Decision.created_at >= start, Decision.created_at < end))
    return stmt.order_by(*_order(sort if sort in SORTS else "newest"))


def utc_now_year() -> int:
    from portal.core.models import utcnow

    return utcnow().year


def public_ids(decision_ids: list[int]) -> set[int]:
    """Which of these decisions the public can see (one query for a page of the list)."""
    if not decision_ids:
        return set()
    return set(db.session.scalars(select(Decision.id).where(Decision.id.in_(decision_ids), publicly_visible())))


def decision_by_slug(slug: str, *, full: bool = False) -> Decision | None:
    """One decision; ``full`` loads versions and responsible persons in the same round trips."""
    if not slug or len(slug) > 120:
        return None
    stmt = select(Decision).where(Decision.slug == slug)
    if full:
        # What the page shows, in three queries; the users' roles are not needed for names.
        stmt = stmt.options(
            selectinload(Decision.versions),
            selectinload(Decision.responsible).lazyload(User.role_rows),
        )
    return db.session.scalar(stmt)


def visible_decision_or_none(slug: str, user, *, full: bool = False) -> Decision | None:
    decision = decision_by_slug(slug, full=full)
    if decision is None or not permissions.can_view(user, decision):
        return None
    return decision


def version_by_number(decision: Decision, number: int) -> DraftVersion | None:
    for version in decision.versions:
        if version.number == number:
            return version
    return None


def decision_attachments(decision: Decision) -> list[Attachment]:
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.owner_kind == "decision", Attachment.owner_id == decision.id)
            .order_by(Attachment.id)
        )
    )


# The text of published versions never changes: render each once per process.
_RENDERED: OrderedDict[tuple, Markup] = OrderedDict()
_RENDERED_LOCK = Lock()
_RENDERED_MAX = 128


def _cached(kind: str, version: DraftVersion, text: str, render) -> Markup:
    if not version.is_published:
        return render(text)
    # The text is part of the key: ids are reused when a database is rebuilt (tests, demo resets).
    key = (kind, version.id, hash(text))
    with _RENDERED_LOCK:
        cached = _RENDERED.get(key)
        if cached is not None:
            _RENDERED.move_to_end(key)
            return cached
    html = render(text)
    with _RENDERED_LOCK:
        _RENDERED[key] = html
        while len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    return html


def rendered_text(version: DraftVersion) -> Markup:
    """The version's HTML with an element per article; cached for published versions."""
    return _cached("body", version, version.body, render_body)


def rendered_explanation(version: DraftVersion) -> Markup:
    """The drafting explanation; its headings start below the page's h2. Cached when published."""
    from portal.core.markdown import render_markdown

    return _cached(
        "explanation", version, version.explanation or "", lambda text: render_markdown(demote_headings(text, 1))
    )


# Timeline.

#: Labels of ledger actions shown on the timeline; others show their code.
ACTION_LABELS = {
    "decision.created": _l("事项立项"),
    "decision.updated": _l("事项信息修改"),
    "decision.stage_changed": _l("进入新阶段"),
    "decision.gate_overridden": _l("越过未满足的条件"),
    "decision.withdrawn": _l("事项撤回"),
    "decision.published": _l("决策公布"),
    "evaluation.proposed": _l("建议开展决策后评估"),
    "version.created": _l("新建草案版本"),
    "version.updated": _l("修改草案版本"),
    "version.published": _l("公布草案版本"),
    "attachment.added": _l("添加附件"),
}


@dataclass
class TimelineItem:
    entry: TraceEntry
    readable: bool

    @property
    def label(self) -> str:
        label = ACTION_LABELS.get(self.entry.action)
        return str(label) if label else self.entry.action

    @property
    def data(self) -> dict:
        return self.entry.payload_data if self.readable else {}


def timeline(decision: Decision, user, *, limit: int = 200) -> list[TimelineItem]:
    """Ledger entries about the decision, its versions and its attachments, oldest first.

    Everyone sees public entries; insiders also see the internal ones they may read.
    """
    version_ids = [str(v.id) for v in decision.versions]
    attachment_ids = select(cast(Attachment.id, String)).where(
        Attachment.owner_kind == "decision", Attachment.owner_id == decision.id
    )
    subjects = [
        and_(TraceEntry.subject_kind == "decision", TraceEntry.subject_id == str(decision.id)),
        and_(TraceEntry.subject_kind == "attachment", TraceEntry.subject_id.in_(attachment_ids)),
    ]
    if version_ids:
        subjects.append(and_(TraceEntry.subject_kind == "draft_version", TraceEntry.subject_id.in_(version_ids)))
    stmt = select(TraceEntry).where(or_(*subjects))
    insider = permissions.is_insider(user, decision)
    if not insider:
        stmt = stmt.where(TraceEntry.visibility == PUBLIC)
    entries = db.session.scalars(stmt.order_by(TraceEntry.seq.desc()).limit(limit)).all()
    return [TimelineItem(e, can_read(e, user)) for e in reversed(entries)]
