"""Spokesperson releases and the publication of decisions.

Each function takes the acting user first, checks the rule, changes data, flushes, records the
ledger entry in the same transaction and returns; none commits or reads the request. ``now`` is a
parameter so that tests and the demo data can act at another moment.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from portal import trace
from portal.auth.models import Role
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import permissions as decision_permissions
from portal.decisions.models import Decision, Stage
from portal.releases.models import (
    ADOPTION_MAX,
    BODY_MAX,
    DOC_NUMBER_MAX,
    FINAL_TEXT_MAX,
    NOTE_MAX,
    PUBLISHED_STAGES,
    SUMMARY_MAX,
    TITLE_MAX,
    DecisionPublication,
    Release,
    ReleaseCorrection,
    ReleaseKind,
    ReleaseStatus,
)

log = logging.getLogger("portal.releases")

#: A release scheduled further ahead than this is surely a typing mistake.
MAX_SCHEDULE_AHEAD = timedelta(days=366)
#: Control characters other than tab and newline are never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean(value: str | None) -> str:
    """Text as stored: newlines normalised, control characters and outer white space removed."""
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def _line(value: str | None) -> str:
    return " ".join(clean(value).split())


def _limit(text: str, limit: int, label) -> str:
    if len(text) > limit:
        raise DomainError(
            _l("“%(field)s”不能超过 %(max)s 个字符(现有 %(n)s 个)。", field=label, max=limit, n=len(text)),
            code="too_long",
        )
    return text


def _required(text: str, label) -> str:
    if not text:
        raise DomainError(_l("请填写“%(field)s”。", field=label), code="required")
    return text


def local_today(now: datetime | None = None) -> date:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return (now or utcnow()).astimezone(zone).date()


# Releases ---------------------------------------------------------------------------------------


def can_write_releases(user) -> bool:
    """Spokespersons write, schedule, publish and correct releases."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.SPOKESPERSON)


def can_see_drafts(user) -> bool:
    """Spokespersons, auditors and admins see releases not yet published."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.SPOKESPERSON, Role.AUDITOR, Role.ADMIN)


def _ensure_spokesperson(actor) -> None:
    if not can_write_releases(actor):
        raise NotAllowed(_l("只有新闻发言人可以撰写和发布新闻稿。"))


def _content(
    *,
    kind: str,
    title: str,
    body: str,
    summary: str,
    decision: Decision | None,
    public_adoption: str,
    expert_adoption: str,
) -> dict:
    """Validated fields of a release (the rules that hold for drafts too)."""
    try:
        kind_enum = ReleaseKind(kind)
    except ValueError as exc:
        raise DomainError(_l("请选择稿件类型。"), code="bad_kind") from exc
    fields = {
        "kind": kind_enum.value,
        "title": _limit(_required(_line(title), _l("标题")), TITLE_MAX, _l("标题")),
        "summary": _limit(_line(summary), SUMMARY_MAX, _l("摘要")),
        "body": _limit(_required(clean(body), _l("正文")), BODY_MAX, _l("正文")),
        "public_adoption": _limit(clean(public_adoption), ADOPTION_MAX, _l("公众意见采纳情况")),
        "expert_adoption": _limit(clean(expert_adoption), ADOPTION_MAX, _l("专家意见采纳情况")),
    }
    if decision is not None and not decision_permissions.is_public(decision):
        raise DomainError(_l("关联的决策事项尚未公开,不能发布有关稿件。"), code="decision_not_public")
    if kind_enum is ReleaseKind.INTERPRETATION:
        _ensure_interpretable(decision)
    return fields


def _ensure_interpretable(decision: Decision | None) -> None:
    if decision is None:
        raise DomainError(_l("政策解读须关联一项已公布的决策。"), code="decision_required")
    if decision.stage not in PUBLISHED_STAGES:
        raise DomainError(
            _l(
                "“%(title)s”尚未公布(当前阶段:%(stage)s),不能发布政策解读。",
                title=decision.title,
                stage=decision.stage_label,
            ),
            code="decision_not_published",
        )


def _ensure_ready(release: Release) -> None:
    """What must hold before a release goes out: an interpretation says how opinions were adopted."""
    if release.is_interpretation:
        _ensure_interpretable(release.decision)
        if not release.public_adoption.strip() or not release.expert_adoption.strip():
            raise DomainError(
                _l("政策解读须说明公众意见和专家意见的采纳情况(两项都要填写)。"), code="adoption_required"
            )
    if release.decision is not None and not decision_permissions.is_public(release.decision):
        raise DomainError(_l("关联的决策事项尚未公开,不能发布有关稿件。"), code="decision_not_public")


def _department_for(actor, decision: Decision | None):
    if decision is not None:
        return decision.department_id
    departments = getattr(actor, "departments", None) or []
    return departments[0].id if departments else None


def create_release(
    actor,
    *,
    kind: str,
    title: str,
    body: str,
    summary: str = "",
    decision: Decision | None = None,
    public_adoption: str = "",
    expert_adoption: str = "",
) -> Release:
    """A draft release; an interpretation must be about a published decision."""
    _ensure_spokesperson(actor)
    fields = _content(
        kind=kind,
        title=title,
        body=body,
        summary=summary,
        decision=decision,
        public_adoption=public_adoption,
        expert_adoption=expert_adoption,
    )
    release = Release(
        **fields,
        decision=decision,
        decision_id=decision.id if decision else None,
        department_id=_department_for(actor, decision),
        status=ReleaseStatus.DRAFT.value,
        created_by_id=actor.id,
    )
    db.session.add(release)
    db.session.flush()
    trace.record(
        actor,
        "release.created",
        release,
        visibility=trace.INTERNAL,
        department=release.department_id,
        kind=release.kind,
        title=release.title,
        decision=decision.slug if decision else None,
    )
    return release


def update_release(
    actor,
    release: Release,
    *,
    kind: str,
    title: str,
    body: str,
    summary: str = "",
    decision: Decision | None = None,
    public_adoption: str = "",
    expert_adoption: str = "",
    now: datetime | None = None,
) -> Release:
    """Edit a draft or a scheduled release not yet out; a published one is refused (append a correction)."""
    _ensure_spokesperson(actor)
    release.ensure_editable(now)
    fields = _content(
        kind=kind,
        title=title,
        body=body,
        summary=summary,
        decision=decision,
        public_adoption=public_adoption,
        expert_adoption=expert_adoption,
    )
    for name, value in fields.items():
        setattr(release, name, value)
    release.decision = decision
    release.decision_id = decision.id if decision else None
    release.department_id = _department_for(actor, decision) if decision else release.department_id
    release.updated_at = utcnow()
    db.session.flush()
    trace.record(
        actor,
        "release.updated",
        release,
        visibility=trace.INTERNAL,
        department=release.department_id,
        title=release.title,
        body_sha256=sha256_text(release.body),
    )
    return release


def schedule_release(actor, release: Release, *, scheduled_at: datetime, now: datetime | None = None) -> Release:
    """Set the time a release goes out by itself (server clock); the time must be in the future."""
    _ensure_spokesperson(actor)
    now = now or utcnow()
    release.ensure_editable(now)
    if scheduled_at is None or scheduled_at.tzinfo is None:
        raise DomainError(_l("请填写发布时间。"), code="bad_time")
    if scheduled_at <= now:
        raise DomainError(_l("定时发布的时间必须晚于现在;如需立即发布,请使用“立即发布”。"), code="time_in_past")
    if scheduled_at - now > MAX_SCHEDULE_AHEAD:
        raise DomainError(_l("定时发布的时间不能超过一年以后。"), code="time_too_far")
    _ensure_ready(release)
    release.status = ReleaseStatus.SCHEDULED.value
    release.scheduled_at = scheduled_at
    release.updated_at = now
    db.session.flush()
    trace.record(
        actor,
        "release.scheduled",
        release,
        visibility=trace.INTERNAL,
        department=release.department_id,
        scheduled_at=scheduled_at,
        body_sha256=sha256_text(release.body),
    )
    return release


def unschedule_release(actor, release: Release, *, now: datetime | None = None) -> Release:
    """Take a scheduled release back to draft before its time."""
    _ensure_spokesperson(actor)
    now = now or utcnow()
    release.ensure_editable(now)
    if release.status != ReleaseStatus.SCHEDULED.value:
        raise DomainError(_l("这篇稿件没有设置定时发布。"), code="not_scheduled", status=409)
    previous = release.scheduled_at
    release.status = ReleaseStatus.DRAFT.value
    release.scheduled_at = None
    db.session.flush()
    trace.record(
        actor,
        "release.unscheduled",
        release,
        visibility=trace.INTERNAL,
        department=release.department_id,
        scheduled_at=previous,
    )
    return release


def _record_published(actor, release: Release, *, scheduled: bool) -> None:
    trace.record(
        actor,
        "release.published",
        release,
        visibility=trace.PUBLIC,
        department=release.department_id,
        kind=release.kind,
        title=release.title,
        decision=release.decision.slug if release.decision else None,
        published_at=release.published_at,
        scheduled=scheduled,
        author=release.created_by.display_name if release.created_by else None,
        body_sha256=sha256_text(release.body),
    )


def publish_release(actor, release: Release, *, now: datetime | None = None) -> Release:
    """Publish a draft (or a scheduled release ahead of its time) now."""
    _ensure_spokesperson(actor)
    now = now or utcnow()
    release.ensure_editable(now)
    _ensure_ready(release)
    release.status = ReleaseStatus.PUBLISHED.value
    release.published_at = now
    release.scheduled_at = None
    db.session.flush()
    _record_published(actor, release, scheduled=False)
    return release


def due_release_ids(now: datetime | None = None) -> list[int]:
    """Scheduled releases whose time has come but whose row still says ``scheduled``."""
    return list(
        db.session.scalars(
            select(Release.id)
            .where(Release.status == ReleaseStatus.SCHEDULED.value, Release.scheduled_at <= (now or utcnow()))
            .order_by(Release.scheduled_at, Release.id)
        )
    )


def publish_due(now: datetime | None = None) -> list[Release]:
    """Mark due scheduled releases published and record ``release.published`` once for each.

    A release is public from its scheduled time whether or not this ran (reads compare with the
    clock); this only brings the row and the ledger up to date, the first time anyone looks.
    ``UPDATE … WHERE status = 'scheduled'`` is the guard: of two requests racing, only the one whose
    update changed the row records the entry (PostgreSQL makes the other wait on the row lock and
    then find nothing to change; SQLite serialises writers).
    """
    now = now or utcnow()
    published = []
    for release_id in due_release_ids(now):
        changed = db.session.execute(
            update(Release)
            .where(
                Release.id == release_id,
                Release.status == ReleaseStatus.SCHEDULED.value,
                Release.scheduled_at <= now,
            )
            .values(status=ReleaseStatus.PUBLISHED.value, published_at=Release.scheduled_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            continue
        release = db.session.get(Release, release_id)
        db.session.refresh(release)
        _record_published(None, release, scheduled=True)
        published.append(release)
    return published


def observe_due_releases() -> int:
    """Bring due scheduled releases up to date in their own short transaction (page views call it).

    Cheap when nothing is due (one indexed query). A write that loses a race with another writer is
    rolled back and left for the next reader: the release is shown as published either way.
    """
    if not due_release_ids():
        return 0
    try:
        count = len(publish_due())
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.warning("due releases not marked published (database busy); the next reader will")
        return 0
    return count


def correct_release(actor, release: Release, *, note: str, body: str, now: datetime | None = None) -> ReleaseCorrection:
    """Append a dated correction with the corrected text; the earlier texts stay readable."""
    _ensure_spokesperson(actor)
    now = now or utcnow()
    if not release.is_published(now):
        raise DomainError(_l("稿件尚未发布,可以直接修改,无须更正。"), code="not_published", status=409)
    if release.status != ReleaseStatus.PUBLISHED.value:
        publish_due(now)
        db.session.refresh(release)
    note = _limit(_required(clean(note), _l("更正说明")), NOTE_MAX, _l("更正说明"))
    body = _limit(_required(clean(body), _l("更正后的正文")), BODY_MAX, _l("更正后的正文"))
    if body == release.current_text:
        raise DomainError(_l("更正后的正文与现在的正文相同,请修改正文。"), code="unchanged")
    correction = ReleaseCorrection(
        release_id=release.id,
        number=len(release.corrections) + 1,
        note=note,
        body=body,
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(correction)
    db.session.flush()
    db.session.refresh(release, ["corrections"])
    trace.record(
        actor,
        "release.corrected",
        release,
        visibility=trace.PUBLIC,
        department=release.department_id,
        number=correction.number,
        note=note,
        body_sha256=sha256_text(body),
        previous_sha256=sha256_text(release.text_number(correction.number - 1) or ""),
    )
    return correction


# Publication of decisions -----------------------------------------------------------------------


def publication_of(decision: Decision) -> DecisionPublication | None:
    return db.session.get(DecisionPublication, decision.id)


def publication_gate(decision: Decision) -> list:
    """Leaving ``decided`` needs the decision published with its text, number and date (art. 32)."""
    if publication_of(decision) is None:
        return [_l("决定尚未公布:请在“公布决定”中填写正式文本、文号、施行日期和意见采纳情况。")]
    return []


def _deciding_outcome(decision: Decision) -> str | None:
    """The head's outcome at the collective discussion, when the reviews feature is installed."""
    try:
        from portal.reviews import queries as review_queries
    except ImportError:
        return None
    meeting = review_queries.deciding_meeting(decision)
    return meeting.outcome if meeting is not None else None


def can_publish_decision(user, decision: Decision) -> bool:
    """The responsible department's officials, and admins."""
    return decision_permissions.can_manage(user, decision)


def publish_decision(
    actor,
    decision: Decision,
    *,
    title: str,
    document_number: str,
    final_text: str,
    effective_date: date,
    public_adoption: str,
    expert_adoption: str,
    now: datetime | None = None,
) -> DecisionPublication:
    """Publish a decided decision: final text, 文号, effective date, how opinions were adopted.

    Moves the decision to ``published`` through the normal stage operation and publishes a
    checkpoint of the ledger head.
    """
    from portal.accountability.checkpoints import create_checkpoint
    from portal.decisions import operations as decision_ops

    if not can_publish_decision(actor, decision):
        raise NotAllowed(_l("只有承办单位的工作人员可以公布决定。"))
    now = now or utcnow()
    if publication_of(decision) is not None:
        raise DomainError(_l("此决定已经公布,不能再次公布。"), code="already_published", status=409)
    if decision.stage != Stage.DECIDED.value:
        raise DomainError(
            _l("只有已作出决定的事项才能公布(当前阶段:%(stage)s)。", stage=decision.stage_label),
            code="not_decided",
            status=409,
        )
    if _deciding_outcome(decision) == "reject":
        raise DomainError(_l("集体讨论决定不予通过,不能公布。"), code="rejected", status=409)
    title = _limit(_required(_line(title) or decision.title, _l("标题")), TITLE_MAX, _l("标题"))
    number = _limit(_required(_line(document_number), _l("文号")), DOC_NUMBER_MAX, _l("文号"))
    text = _limit(_required(clean(final_text), _l("正式文本")), FINAL_TEXT_MAX, _l("正式文本"))
    public_adoption = _limit(
        _required(clean(public_adoption), _l("公众意见采纳情况")), ADOPTION_MAX, _l("公众意见采纳情况")
    )
    expert_adoption = _limit(
        _required(clean(expert_adoption), _l("专家意见采纳情况")), ADOPTION_MAX, _l("专家意见采纳情况")
    )
    if not isinstance(effective_date, date):
        raise DomainError(_l("请填写施行日期。"), code="required")
    if effective_date < local_today(now):
        raise DomainError(_l("施行日期不能早于公布之日。"), code="effective_in_past")
    if effective_date > local_today(now) + timedelta(days=3 * 366):
        raise DomainError(_l("施行日期不能晚于三年以后。"), code="effective_too_far")

    publication = DecisionPublication(
        decision_id=decision.id,
        title=title,
        document_number=number,
        final_text=text,
        text_sha256=sha256_text(text),
        effective_date=effective_date,
        public_adoption=public_adoption,
        expert_adoption=expert_adoption,
        published_by_id=actor.id,
        published_at=now,
    )
    db.session.add(publication)
    db.session.flush()
    if decision.document_number != number:
        decision_ops.update_decision(actor, decision, document_number=number)
    decision_ops.advance(actor, decision, Stage.PUBLISHED)
    trace.record(
        actor,
        "decision.published",
        decision,
        visibility=trace.PUBLIC,
        department=decision.department_id,
        slug=decision.slug,
        title=title,
        document_number=number,
        effective_date=effective_date,
        text_sha256=publication.text_sha256,
        public_adoption_sha256=sha256_text(public_adoption),
        expert_adoption_sha256=sha256_text(expert_adoption),
    )
    create_checkpoint("publication", decision=decision, now=now)
    return publication
