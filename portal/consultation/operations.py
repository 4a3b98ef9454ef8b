"""User actions of the consultation: open, extend, comment, withdraw, moderate, respond.

Each takes the acting user first, changes data, flushes, records the ledger entry in the same
transaction and returns; none commits. ``now`` is a parameter so that the demo data and the
tests can act at another moment; it defaults to the server's clock.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from portal import trace
from portal.auth.models import User, UserRole
from portal.consultation import dedupe
from portal.consultation.models import (
    COMMENT_MAX,
    DISPOSITIONS,
    MIN_PERIOD,
    NOTE_MAX,
    NOTICE_MAX,
    OFFLINE_CHANNELS,
    REASON_MAX,
    REJECTION_REASONS,
    SENDER_MAX,
    START_TOLERANCE,
    TOKEN_MAX,
    Comment,
    CommentGroup,
    CommentStatus,
    Consultation,
    ConsultationExtension,
    ReceiptQueueItem,
    Response,
    TrackingCounter,
)
from portal.consultation.permissions import ensure_can_manage, is_author
from portal.consultation.queries import consultation_for
from portal.core.bulk import insert_rows
from portal.core.counters import next_in_year
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.mail import build_delivery, deliver, send_mail
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftArticle, Stage
from portal.decisions.permissions import can_view as can_view_decision
from portal.decisions.permissions import is_public
from portal.decisions.queries import current_version_id
from portal.trace import INTERNAL

log = logging.getLogger("portal.consultation")

#: A consultation longer than this is surely a typing mistake.
MAX_PERIOD = timedelta(days=366)


#: Control characters other than tab and newline: never stored (they also break spreadsheets).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str | None) -> str:
    """Text as stored: newlines normalised, control characters and outer white space removed."""
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def local_year(moment: datetime) -> int:
    """The calendar year of ``moment`` in the portal's timezone (tracking numbers follow it)."""
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year


# Opening, extending, closing ------------------------------------------------------------------


def open_consultation(
    actor: User,
    decision: Decision,
    *,
    starts_at: datetime,
    ends_at: datetime,
    emergency_reason: str | None = None,
    notice: str | None = None,
    now: datetime | None = None,
) -> Consultation:
    """Open the public notice of ``decision``'s current version; moves drafting -> consultation."""
    ensure_can_manage(actor, decision)
    now = now or utcnow()
    if consultation_for(decision) is not None:
        raise DomainError(_l("该决策事项已经开展过公开征求意见。"), code="exists", status=409)
    version = decision.current_version
    if version is None:
        raise DomainError(_l("尚无已公布的草案版本,不能开始征求意见。"), code="no_version")
    if decision.stage not in (Stage.DRAFTING.value, Stage.CONSULTATION.value):
        raise DomainError(
            _l("决策事项处于“%(stage)s”阶段,不能开始征求意见。", stage=decision.stage_label), code="bad_stage"
        )
    if starts_at < now - START_TOLERANCE:
        raise DomainError(_l("开始时间不能早于当前时间。"), code="start_in_past")
    if ends_at <= starts_at:
        raise DomainError(_l("结束时间必须晚于开始时间。"), code="bad_period")
    if ends_at - starts_at > MAX_PERIOD:
        raise DomainError(_l("征求意见期限不能超过一年。"), code="bad_period")
    reason = _text(emergency_reason)
    shortened = ends_at - starts_at < MIN_PERIOD
    if shortened and not reason:
        raise DomainError(
            _l("征求意见期限一般不少于 30 日;期限较短的,须说明理由,理由将随公告向社会公布。"),
            code="period_too_short",
        )
    notice_text = _text(notice)
    if len(reason) > REASON_MAX or len(notice_text) > NOTICE_MAX:
        raise DomainError(_l("说明文字过长。"), code="too_long")

    if decision.stage == Stage.DRAFTING.value:
        _enter_consultation_stage(actor, decision)

    consultation = Consultation(
        decision=decision,
        version=version,
        starts_at=starts_at,
        ends_at=ends_at,
        original_ends_at=ends_at,
        emergency_reason=reason if shortened else None,
        notice=notice_text,
        opened_by_id=actor.id,
    )
    db.session.add(consultation)
    db.session.flush()
    trace.record(
        actor,
        "consultation.opened",
        consultation,
        department=decision.department_id,
        decision=decision.slug,
        version=version.number,
        starts_at=_iso(starts_at),
        ends_at=_iso(ends_at),
        days=(ends_at - starts_at).days,
        emergency_reason=consultation.emergency_reason,
    )
    from portal.notifications.operations import format_local, notify_followers

    notify_followers(decision, "consultation_opened", exclude=[actor.id], ends=format_local(ends_at))
    return consultation


def _enter_consultation_stage(actor: User, decision: Decision) -> None:
    """drafting -> consultation through the decisions feature's own operation (gates, ledger)."""
    try:
        from portal.decisions.operations import advance
    except ImportError:  # the decisions operations are optional for this feature
        advance = None
    if advance is not None:
        advance(actor, decision, Stage.CONSULTATION)
        return
    from portal.decisions.gates import unmet_conditions

    problems = unmet_conditions(decision, Stage.DRAFTING)
    if problems:
        raise DomainError("；".join(problems), code="gate")
    previous = decision.move_to(Stage.CONSULTATION)
    db.session.flush()
    trace.record(
        actor,
        "decision.stage_changed",
        decision,
        department=decision.department_id,
        **{"from": previous.value, "to": Stage.CONSULTATION.value},
    )


def extend_consultation(
    actor: User, consultation: Consultation, *, ends_at: datetime, reason: str, now: datetime | None = None
) -> ConsultationExtension:
    """Move the end later, with a reason that is shown publicly."""
    decision = consultation.decision
    ensure_can_manage(actor, decision)
    now = now or utcnow()
    if consultation.is_closed(now):
        raise DomainError(_l("征求意见期已结束,不能再延长。"), code="closed")
    reason = _text(reason)
    if not reason:
        raise DomainError(_l("延长征求意见期须说明理由。"), code="reason_required")
    if len(reason) > REASON_MAX:
        raise DomainError(_l("理由不能超过 %(n)s 个字符。", n=REASON_MAX), code="too_long")
    if ends_at <= consultation.ends_at:
        raise DomainError(_l("新的结束时间必须晚于原结束时间。"), code="bad_period")
    if ends_at - consultation.starts_at > MAX_PERIOD:
        raise DomainError(_l("征求意见期限不能超过一年。"), code="bad_period")
    return record_extension(actor, consultation, ends_at=ends_at, reason=reason, now=now)


def record_extension(
    actor: User | None, consultation: Consultation, *, ends_at: datetime, reason: str, now: datetime, **evidence
) -> ConsultationExtension:
    """Move the end to ``ends_at`` and record ``consultation.extended``, without the manager's checks.

    ``actor`` None is the system (availability/operations.py extends after an outage of intake);
    ``evidence`` goes into the ledger payload.
    """
    decision = consultation.decision
    extension = ConsultationExtension(
        consultation=consultation,
        previous_ends_at=consultation.ends_at,
        new_ends_at=ends_at,
        reason=reason,
        created_by_id=actor.id if actor is not None else None,
    )
    consultation.ends_at = ends_at
    if ends_at - now > timedelta(days=3):
        consultation.reminder_sent_at = None  # remind again before the new end
    db.session.add(extension)
    db.session.flush()
    trace.record(
        actor,
        "consultation.extended",
        consultation,
        department=decision.department_id,
        decision=decision.slug,
        previous_ends_at=_iso(extension.previous_ends_at),
        ends_at=_iso(ends_at),
        reason=reason,
        **evidence,
    )
    return extension


def note_closed(actor: User | None, consultation: Consultation, now: datetime | None = None) -> bool:
    """Record ``consultation.closed`` once, the first time someone acts after the end.

    The period closes by the clock without any job; this only puts the fact in the ledger.
    """
    now = now or utcnow()
    if consultation.closed_recorded_at is not None or not consultation.is_closed(now):
        return False
    from portal.consultation.queries import status_counts

    counts = status_counts(consultation)
    consultation.closed_recorded_at = now
    db.session.flush()
    trace.record(
        actor,
        "consultation.closed",
        consultation,
        department=consultation.decision.department_id,
        decision=consultation.decision.slug,
        ends_at=_iso(consultation.ends_at),
        received=sum(counts.values()),
    )
    return True


# Comments -------------------------------------------------------------------------------------


def _next_number(year: int) -> int:
    """The next number of ``year`` from this feature's counter row."""
    return next_in_year(TrackingCounter.__table__, year)


def _article(version_id: int | None, anchor: str | None) -> DraftArticle | None:
    """The article ``anchor`` of the current version (``version_id``); refuses one that is not there."""
    anchor = (anchor or "").strip()
    if not anchor:
        return None
    found = None
    if version_id is not None and len(anchor) <= 40:
        found = db.session.scalar(
            select(DraftArticle).where(DraftArticle.version_id == version_id, DraftArticle.anchor == anchor)
        )
    if found is None:
        raise DomainError(_l("所选条款不在当前版本的草案中,请重新选择。"), code="unknown_article")
    return found


def _body(body: str | None) -> str:
    text = _text(body)
    if not text:
        raise DomainError(_l("意见内容不能为空。"), code="empty")
    if len(text) > COMMENT_MAX:
        raise DomainError(
            _l("意见不能超过 %(max)s 个字符(现有 %(n)s 个)。", max=COMMENT_MAX, n=len(text)), code="too_long"
        )
    return text


@dataclass(frozen=True)
class CommentSubmission:
    """One citizen's comment as the form sent it (plain values: the intake may take it in another thread)."""

    author_id: int
    consultation_id: int
    body: str
    article_anchor: str | None = None
    anonymous: bool = False
    submission_token: str | None = None
    now: datetime | None = None
    #: The language picked on the page it was sent from; else the author's preferred language.
    #: The receipt mail is written in it.
    locale: str | None = None
    #: Set when the view did not read the account (rule ``signed_in``, auth/identity.py): the
    #: session token the signed session carries. The comment is refused unless the account is
    #: still enabled and that token is still its own (not logged out everywhere since).
    session_token: str | None = None

    @property
    def token(self) -> str | None:
        return (self.submission_token or "").strip()[:TOKEN_MAX] or None


def submit_comment(
    author: User,
    consultation: Consultation,
    *,
    body: str,
    article_anchor: str | None = None,
    anonymous: bool = False,
    submission_token: str | None = None,
    now: datetime | None = None,
) -> Comment:
    """A citizen's comment on the whole draft or one article; the same form sent twice gives one comment."""
    submission = CommentSubmission(
        author_id=author.id,
        consultation_id=consultation.id,
        body=body,
        article_anchor=article_anchor,
        anonymous=anonymous,
        submission_token=submission_token,
        now=now,
    )
    return submit_one(submission)


def submit_one(submission: CommentSubmission) -> Comment:
    """``submit_comments`` for one comment: the stored comment, or the ``DomainError`` raised."""
    (result,) = submit_comments([submission])
    if isinstance(result, DomainError):
        raise result
    return result


@dataclass(frozen=True, slots=True)
class Author:
    """What storing a comment reads of its author's account, read for a whole batch at once.

    Loading ``User`` objects with their roles was a fifth of the intake writer's time (issue 8);
    this is one plain query. It answers what the checks, the ledger entry (``id``,
    ``display_name``, ``roles``) and the receipt mail ask. For a draft that is not public yet, the
    stored account is read (whether its holder is an insider depends on its departments).
    """

    id: int
    email: str
    display_name: str
    is_enabled: bool
    session_token: str
    email_confirmed_at: datetime | None
    locale: str | None
    roles: frozenset[str]

    is_authenticated = True
    is_anonymous = False


@dataclass(frozen=True, slots=True)
class TargetDecision:
    """The decision comments are on, as storing them reads it (``CommentTarget``)."""

    id: int
    slug: str
    title: str
    department_id: int
    stage: str
    #: The newest published version, which the comments are on (None before one is published).
    current_version_id: int | None


@dataclass(frozen=True, slots=True)
class CommentTarget:
    """A consultation and its decision, as storing comments reads them: one plain query per batch.

    Loading the ORM consultation, its decision and every version of the draft (bodies included)
    for each batch was a tenth of the intake writer's time (issue 8). The period is checked by
    the model's own methods."""

    id: int
    starts_at: datetime
    ends_at: datetime
    decision: TargetDecision

    status = Consultation.status
    ensure_accepting = Consultation.ensure_accepting


@dataclass(frozen=True)
class BatchReads:
    """What a batch of comments needs read before it is stored (``load_for_batch``)."""

    authors: dict[int, Author]
    targets: dict[int, CommentTarget]

    def merged(self, other: BatchReads) -> BatchReads:
        return BatchReads(self.authors | other.authors, self.targets | other.targets)


def load_for_batch(submissions: list[CommentSubmission]) -> BatchReads:
    """Read the accounts, consultations and decisions a batch needs, for ``submit_comments``.

    The intake calls this before its turn to write, in a transaction of its own that only reads:
    these reads need not hold the writers' lock."""
    return BatchReads(_authors({s.author_id for s in submissions}), _targets({s.consultation_id for s in submissions}))


def submit_comments(
    submissions: list[CommentSubmission],
    *,
    queue_receipts: bool = False,
    reads: BatchReads | None = None,
) -> list[Comment | DomainError]:
    """Several citizens' comments in the current transaction, each with its ledger entry and receipt.

    The intake (``portal/consultation/intake.py``) hands a batch of forms received at the same
    moment to this in one transaction; ``submit_comment`` hands one. Each result is the stored
    comment (the earlier one for a form sent twice) or the ``DomainError`` that refused that
    comment alone: a refused comment changes nothing and does not affect the others.

    Each receipt mail is built now and sent when the transaction commits; with
    ``queue_receipts`` (the intake, intake.py) it is queued instead, as a row of this
    transaction, for ``send_queued_receipts``. ``reads`` is what ``load_for_batch`` read for
    these submissions, when the caller read it beforehand.
    """
    if reads is None:
        reads = load_for_batch(submissions)
    authors, consultations = reads.authors, reads.targets
    earlier = _earlier_comments([(s.author_id, s.token) for s in submissions if s.token])
    results: list[Comment | DomainError | None] = [None] * len(submissions)
    accepted: list[tuple[int, CommentSubmission, dict]] = []
    articles: dict[tuple[int, str], DraftArticle | None] = {}
    for index, submission in enumerate(submissions):
        key = (submission.author_id, submission.token)
        if submission.token and key in earlier:
            results[index] = earlier[key]
            continue
        try:
            author = authors.get(submission.author_id)
            consultation = consultations.get(submission.consultation_id)
            if submission.session_token is not None and (
                author is None or not author.is_enabled or author.session_token != submission.session_token
            ):
                raise DomainError(_l("您的登录已失效,请重新登录后再提交意见。"), code="login_required", status=401)
            # A draft not yet public does not exist for anyone outside its department.
            if author is None or consultation is None or not _may_view(author, consultation.decision):
                raise DomainError(_l("找不到该征求意见。"), code="not_found", status=404)
            now = submission.now or utcnow()
            consultation.ensure_accepting(now)
            decision = consultation.decision
            text = _body(submission.body)
            anchor = (submission.article_anchor or "").strip()
            if (decision.id, anchor) not in articles:
                articles[(decision.id, anchor)] = _article(decision.current_version_id, anchor)
            article = articles[(decision.id, anchor)]
        except DomainError as exc:
            results[index] = exc
            continue
        if submission.token:
            earlier[key] = index  # the same form twice in one batch: the second finds the first
        accepted.append(
            (
                index,
                submission,
                {
                    "author": author,
                    "consultation": consultation,
                    "now": now,
                    "year": local_year(now),
                    "text": text,
                    "article": article,
                },
            )
        )
    if accepted:
        _store_comments(accepted, results, queue_receipts)
    return [results[r] if isinstance(r, int) else r for r in results]  # type: ignore[misc]


def _store_comments(accepted: list[tuple[int, CommentSubmission, dict]], results: list, queue_receipts: bool) -> None:
    """Group, number and insert the accepted comments, then their ledger entries and receipts.

    The inserts run in a savepoint: when a form sent twice raced past the check in another
    transaction (the unique constraint on author and token), that savepoint is undone and the
    comments are stored one at a time, the raced one finding the comment stored first.
    """
    try:
        with db.session.begin_nested():
            comments: list[Comment | None] = list(_insert_comments([(s, d) for _, s, d in accepted]))
    except IntegrityError:
        comments = []
        for index, submission, details in accepted:
            try:
                with db.session.begin_nested():
                    comments.append(_insert_comments([(submission, details)])[0])
            except IntegrityError:
                key = (submission.author_id, submission.token)
                found = _earlier_comments([key]).get(key) if submission.token else None
                if found is None:
                    raise
                results[index] = found
                comments.append(None)
    queued: list[dict] = []
    appends: list[trace.Append] = []
    for (index, submission, details), comment in zip(accepted, comments, strict=True):
        if comment is None:
            continue
        results[index] = comment
        held = comment.status == CommentStatus.UNCONFIRMED.value
        decision = details["consultation"].decision
        payload = {
            "decision": decision.slug,
            "tracking_number": comment.tracking_number,
            "article": comment.article_anchor,
            "channel": comment.channel,
        }
        if held:
            payload["awaiting_confirmation"] = True
        # Internal: the entry names the citizen as actor, which the public must not see.
        appends.append(
            trace.Append(details["author"], "comment.accepted", comment, INTERNAL, decision.department_id, payload)
        )
        locale = submission.locale or details["author"].locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        if queue_receipts:
            queued.append({"comment_id": comment.id, "locale": locale, "queued_at": details["now"]})
        else:
            send_receipts([ReceiptMail(details["author"], comment, decision, locale)], after_commit=True)
    # One statement for the batch's entries, one for its receipts (Core: neither is read back).
    trace.record_many(appends)
    insert_rows(db.session.connection(), ReceiptQueueItem.__table__, queued)


def _insert_comments(items: list[tuple[CommentSubmission, dict]]) -> list[Comment]:
    """Insert comments (in the order given, numbered in that order) with one statement.

    The rows go in with one Core insert returning their ids (``core/bulk.insert_rows``: on
    PostgreSQL one statement text whatever the batch size) and the ORM objects are made from
    them as persistent (``make_transient_to_detached``, every column set, so nothing is loaded
    again): the unit of work's flush of a batch was a tenth of the intake writer's time, inside
    the counter's lock (issue 8). New comments are pending, so no search work is queued for
    them (search/providers.py), which a flush would have looked for.
    """
    # Duplicate groups first: numbering locks the year's counter row until the commit (on
    # PostgreSQL another process's batch waits for it), and grouping need not hold it.
    groups = dedupe.assign_groups([(details["consultation"].id, details["text"]) for _, details in items])
    numbers: dict[int, Iterator[int]] = {}
    for year, count in Counter(details["year"] for _, details in items).items():
        last = next_in_year(TrackingCounter.__table__, year, count)
        numbers[year] = iter(range(last - count + 1, last + 1))
    rows = []
    for (submission, details), group_id in zip(items, groups, strict=True):
        author, consultation, article, year = (details[k] for k in ("author", "consultation", "article", "year"))
        # An unconfirmed address: the comment gets its number and submission time now (the receipt
        # is a promise), but is held out of moderation and every count until the address is confirmed.
        held = author.email_confirmed_at is None
        rows.append(
            _comment_values(
                consultation.id,
                consultation.decision.current_version_id,
                year=year,
                number=next(numbers[year]),
                now=details["now"],
                group_id=group_id,
                author_id=author.id,
                anonymous=bool(submission.anonymous),
                channel="portal",
                article=article,
                body=details["text"],
                status=(CommentStatus.UNCONFIRMED if held else CommentStatus.PENDING).value,
                submission_token=submission.token,
            )
        )
    ids = insert_rows(db.session.connection(), Comment.__table__, rows, returning="id", key="tracking_number")
    comments = []
    for comment_id, row in zip(ids, rows, strict=True):
        comment = Comment(id=comment_id, **(_COMMENT_BLANK | row))
        make_transient_to_detached(comment)
        db.session.add(comment)
        comments.append(comment)
    return comments


#: Every other column of a new comment: empty. Not inserted (NULL, none has a default: fewer
#: parameters), but set on the object so none is unloaded.
_COMMENT_BLANK = {
    "sender_name": None,
    "entered_by_id": None,
    "rejection_reason": None,
    "rejection_note": None,
    "moderated_by_id": None,
    "moderated_at": None,
    "published_at": None,
    "withdrawn_at": None,
}


def _comment_values(
    consultation_id: int,
    version_id: int | None,
    *,
    year: int,
    number: int,
    now: datetime,
    article,
    group_id: int | None = None,
    **fields,
) -> dict:
    """The columns of a numbered comment in its duplicate group, on the current version ``version_id``."""
    return {
        "consultation_id": consultation_id,
        "year": year,
        "number": number,
        "tracking_number": f"GY-{year}-{number:06d}",
        "group_id": group_id if group_id is not None else dedupe.assign_groups([(consultation_id, fields["body"])])[0],
        "created_at": now,
        "version_id": version_id,
        "article_anchor": article.anchor if article else None,
        "article_label": article.label if article else None,
        **fields,
    }


def _create_comment(consultation_id: int, version_id: int | None, *, now: datetime, **fields) -> Comment:
    """Group, number and insert one comment (inside a savepoint, so a lost race leaves nothing behind)."""
    year = local_year(now)
    with db.session.begin_nested():
        values = _comment_values(consultation_id, version_id, year=year, number=_next_number(year), now=now, **fields)
        comment = Comment(**values)
        db.session.add(comment)
        db.session.flush()
    return comment


_AUTHOR_COLUMNS = (
    User.id,
    User.email,
    User.display_name,
    User.is_enabled,
    User.session_token,
    User.email_confirmed_at,
    User.locale,
)


# The queries of ``load_for_batch`` are built once (SQL expressions are immutable) and run on the
# session's connection: building them and the session's ORM execution path for every batch was a
# third of their cost (issue 8).


@functools.cache
def _authors_query() -> Select:
    return (
        select(*_AUTHOR_COLUMNS, UserRole.role)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(User.id.in_(bindparam("ids", expanding=True)))
    )


@functools.cache
def _targets_query() -> Select:
    return (
        select(
            Consultation.id,
            Consultation.starts_at,
            Consultation.ends_at,
            Decision.id,
            Decision.slug,
            Decision.title,
            Decision.department_id,
            Decision.stage,
            current_version_id(),
        )
        .join(Decision, Decision.id == Consultation.decision_id)
        .where(Consultation.id.in_(bindparam("ids", expanding=True)))
    )


def _authors(ids: set[int]) -> dict[int, Author]:
    """The accounts with these ids and their roles, in one query (a row per role)."""
    if not ids:
        return {}
    rows: dict[int, tuple] = {}
    roles: dict[int, set[str]] = {}
    for *account, role in db.session.connection().execute(_authors_query(), {"ids": sorted(ids)}):
        rows[account[0]] = account
        if role is not None:
            roles.setdefault(account[0], set()).add(role)
    return {uid: Author(*account, roles=frozenset(roles.get(uid, ()))) for uid, account in rows.items()}


def _may_view(author: Author, decision: TargetDecision) -> bool:
    """Whether the author may see the decision; a draft not yet public needs the stored account."""
    if is_public(decision, has_published_version=decision.current_version_id is not None):  # type: ignore[arg-type]
        return True
    return can_view_decision(db.session.get(User, author.id), db.session.get(Decision, decision.id))


def _targets(ids: set[int]) -> dict[int, CommentTarget]:
    """The consultations with these ids, with their decisions and current versions, in one query."""
    if not ids:
        return {}
    rows = db.session.connection().execute(_targets_query(), {"ids": sorted(ids)})
    return {row[0]: CommentTarget(row[0], row[1], row[2], TargetDecision(*row[3:])) for row in rows}


def _earlier_comments(keys: list[tuple[int, str | None]]) -> dict[tuple[int, str], Comment]:
    """Comments already stored for these (author, form token) pairs.

    Usually there are none: the ids are looked up on the connection, and only the comments
    found are loaded as objects (the ORM's query was a fourteenth of the intake writer's CPU)."""
    keys = [k for k in keys if k[1]]
    if not keys:
        return {}
    found = db.session.connection().execute(
        _earlier_query(), {"authors": list({a for a, _ in keys}), "tokens": list({t for _, t in keys})}
    )
    wanted = set(keys)
    ids = {
        row.id: (row.author_id, row.submission_token)
        for row in found
        if (row.author_id, row.submission_token) in wanted
    }
    if not ids:
        return {}
    return {ids[c.id]: c for c in db.session.scalars(select(Comment).where(Comment.id.in_(ids)))}


@functools.cache
def _earlier_query() -> Select:
    return select(Comment.id, Comment.author_id, Comment.submission_token).where(
        Comment.author_id.in_(bindparam("authors", expanding=True)),
        Comment.submission_token.in_(bindparam("tokens", expanding=True)),
    )


def release_held_comments(user: User, now: datetime | None = None) -> list:
    """The author confirmed their address: held comments enter moderation (listener of
    ``user.email_confirmed``, same transaction). A comment submitted in time counts even when
    the period has closed since. Returns notices for the author."""
    now = now or utcnow()
    held = db.session.scalars(
        select(Comment)
        .where(Comment.author_id == user.id, Comment.status == CommentStatus.UNCONFIRMED.value)
        .order_by(Comment.id)
    ).all()
    notices = []
    for comment in held:
        comment.status = CommentStatus.PENDING.value
        db.session.flush()
        trace.record(
            user,
            "comment.released",
            comment,
            visibility=INTERNAL,
            department=comment.consultation.decision.department_id,
            tracking_number=comment.tracking_number,
            submitted_at=_iso(comment.created_at),
        )
        notices.append(_l("意见 %(no)s 已生效,进入审核。", no=comment.tracking_number))
    return notices


@dataclass(frozen=True)
class ReceiptMail:
    """The receipt mail of a stored comment, in the language it is written in."""

    author: Author
    comment: Comment
    decision: TargetDecision
    locale: str


def send_receipts(mails: list[ReceiptMail], *, after_commit: bool = False) -> None:
    """Write the receipt mails: queued for the current transaction's commit (``after_commit``),
    or delivered now, for comments already committed."""
    from portal.notifications.operations import absolute, path_for, render_mail

    deliveries = []
    for mail in mails:
        with force_locale(mail.locale):
            comment = mail.comment
            body = render_mail(
                "consultation/emails/receipt.txt",
                user=mail.author,
                comment=comment,
                decision=mail.decision,
                link=absolute(path_for("consultation.receipt", tracking=comment.tracking_number)),
            )
            subject = str(_l("意见已收到:%(no)s", no=comment.tracking_number))
        if after_commit:
            send_mail(mail.author.email, subject, body)
        else:
            delivery = build_delivery(mail.author.email, subject, body)
            if delivery is not None:
                deliveries.append(delivery)
    if deliveries:
        deliver(deliveries)


def queued_receipts() -> int:
    """Receipt mails queued and not yet sent."""
    return db.session.scalar(select(func.count()).select_from(ReceiptQueueItem)) or 0


def send_queued_receipts(limit: int = 200) -> int:
    """Take up to ``limit`` queued receipt mails, oldest first, out of the queue and send them
    when the current transaction commits; returns how many were taken.

    The rows are taken in this transaction (on PostgreSQL rows another sender holds are skipped),
    so a mail goes out once the removal commits, and a rollback leaves it queued. A mail that
    cannot be built is logged and dropped, as a receipt written directly would be: it must not
    hold the others up. The comment's current state is written (a held comment released
    meanwhile is no longer said to be held).
    """
    rows = db.session.execute(
        select(ReceiptQueueItem.comment_id, ReceiptQueueItem.locale)
        .order_by(ReceiptQueueItem.queued_at, ReceiptQueueItem.comment_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    ids = [comment_id for comment_id, _locale in rows]
    db.session.execute(delete(ReceiptQueueItem).where(ReceiptQueueItem.comment_id.in_(ids)))
    comments = {c.id: c for c in db.session.scalars(select(Comment).where(Comment.id.in_(ids)))}
    authors = _authors({c.author_id for c in comments.values() if c.author_id is not None})
    targets = _targets({c.consultation_id for c in comments.values()})
    for comment_id, locale in rows:
        comment = comments.get(comment_id)
        author = authors.get(comment.author_id) if comment is not None and comment.author_id else None
        if comment is None or author is None:
            continue
        try:
            mail = ReceiptMail(author, comment, targets[comment.consultation_id].decision, locale)
            send_receipts([mail], after_commit=True)
        except Exception:  # noqa: BLE001 (one bad mail must not keep the others queued for ever)
            log.exception("receipt mail of comment %s could not be built; dropped", comment_id)
    db.session.flush()
    return len(rows)


def enter_offline_comment(
    actor: User,
    consultation: Consultation,
    *,
    channel: str,
    sender_name: str,
    body: str,
    article_anchor: str | None = None,
    anonymous: bool = True,
    publish: bool = False,
    now: datetime | None = None,
) -> Comment:
    """An official enters a comment received by letter, phone, the 12345 hotline or e-mail."""
    decision = consultation.decision
    ensure_can_manage(actor, decision)
    now = now or utcnow()
    if consultation.status(now).value == "upcoming":
        raise DomainError(_l("征求意见尚未开始,暂不能录入意见。"), code="not_open_yet")
    note_closed(actor, consultation, now)
    if channel not in OFFLINE_CHANNELS:
        raise DomainError(_l("请选择意见的收到渠道。"), code="bad_channel")
    name = _text(sender_name)
    if not name:
        raise DomainError(_l("请填写来信(来电)人姓名或称呼。"), code="sender_required")
    if len(name) > SENDER_MAX:
        raise DomainError(_l("姓名不能超过 %(n)s 个字符。", n=SENDER_MAX), code="too_long")
    text = _body(body)
    version = decision.current_version
    version_id = version.id if version else None
    article = _article(version_id, article_anchor)
    comment = _create_comment(
        consultation.id,
        version_id,
        now=now,
        author_id=None,
        anonymous=bool(anonymous),
        sender_name=name,
        channel=channel,
        entered_by_id=actor.id,
        article=article,
        body=text,
        status=CommentStatus.PENDING.value,
    )
    trace.record(
        actor,
        "comment.accepted",
        comment,
        visibility=INTERNAL,
        department=decision.department_id,
        decision=decision.slug,
        tracking_number=comment.tracking_number,
        article=comment.article_anchor,
        channel=channel,
    )
    if publish:
        publish_comment(actor, comment, now=now)
    return comment


def withdraw_comment(author: User, comment: Comment, *, now: datetime | None = None) -> Comment:
    """The author withdraws a comment while the period is open."""
    if not is_author(author, comment):
        raise NotAllowed(_l("只有意见的提交人可以撤回。"))
    now = now or utcnow()
    if comment.status not in (
        CommentStatus.UNCONFIRMED.value,
        CommentStatus.PENDING.value,
        CommentStatus.PUBLISHED.value,
    ):
        raise DomainError(_l("此意见已不能撤回。"), code="bad_status", status=409)
    if not comment.consultation.is_open(now):
        raise DomainError(_l("征求意见期已结束,意见不能再撤回。"), code="closed", status=409)
    previous = comment.status
    comment.status = CommentStatus.WITHDRAWN.value
    comment.withdrawn_at = now
    db.session.flush()
    trace.record(
        author,
        "comment.withdrawn",
        comment,
        visibility=INTERNAL,
        department=comment.consultation.decision.department_id,
        tracking_number=comment.tracking_number,
        previous_status=previous,
    )
    return comment


# Moderation -----------------------------------------------------------------------------------


def _ensure_moderatable(actor: User, comment: Comment, now: datetime) -> None:
    ensure_can_manage(actor, comment.consultation.decision)
    note_closed(actor, comment.consultation, now)


def publish_comment(actor: User, comment: Comment, *, now: datetime | None = None) -> Comment:
    """Publish a comment waiting in the queue."""
    now = now or utcnow()
    _ensure_moderatable(actor, comment, now)
    if comment.status != CommentStatus.PENDING.value:
        raise DomainError(
            _l("此意见当前状态为“%(s)s”,不能公开。", s=comment.status_enum.label), code="bad_status", status=409
        )
    comment.status = CommentStatus.PUBLISHED.value
    comment.published_at = now
    comment.moderated_at = now
    comment.moderated_by_id = actor.id
    db.session.flush()
    trace.record(
        actor,
        "comment.published",
        comment,
        department=comment.consultation.decision.department_id,
        decision=comment.consultation.decision.slug,
        tracking_number=comment.tracking_number,
        article=comment.article_anchor,
        channel=comment.channel,
    )
    return comment


def reject_comment(
    actor: User, comment: Comment, *, reason: str, note: str = "", now: datetime | None = None
) -> Comment:
    """Keep a comment from the public for one of the fixed reasons (counted publicly, never shown)."""
    now = now or utcnow()
    _ensure_moderatable(actor, comment, now)
    if reason not in REJECTION_REASONS:
        raise DomainError(_l("请从列表中选择不予公开的理由。"), code="bad_reason")
    note = _text(note)
    if len(note) > NOTE_MAX:
        raise DomainError(_l("说明不能超过 %(n)s 个字符。", n=NOTE_MAX), code="too_long")
    if comment.status not in (CommentStatus.PENDING.value, CommentStatus.PUBLISHED.value):
        raise DomainError(
            _l("此意见当前状态为“%(s)s”,不能处理。", s=comment.status_enum.label), code="bad_status", status=409
        )
    previous = comment.status
    comment.status = CommentStatus.REJECTED.value
    comment.rejection_reason = reason
    comment.rejection_note = note or None
    comment.moderated_at = now
    comment.moderated_by_id = actor.id
    db.session.flush()
    trace.record(
        actor,
        "comment.rejected",
        comment,
        visibility=INTERNAL,
        department=comment.consultation.decision.department_id,
        tracking_number=comment.tracking_number,
        reason=reason,
        note=note,
        previous_status=previous,
    )
    return comment


def publish_group(actor: User, group: CommentGroup, *, now: datetime | None = None) -> int:
    """Publish every waiting comment of a duplicate group at once; returns how many."""
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.group_id == group.id, Comment.status == CommentStatus.PENDING.value)
        .order_by(Comment.id)
    ).all()
    consultation = db.session.get(Consultation, group.consultation_id)
    ensure_can_manage(actor, consultation.decision)
    for comment in comments:
        publish_comment(actor, comment, now=now)
    return len(comments)


# Responses ------------------------------------------------------------------------------------


def respond(actor: User, comment: Comment, *, disposition: str, reason: str, now: datetime | None = None) -> Response:
    """Record (or change) the department's response to a published comment; tells its author."""
    now = now or utcnow()
    _ensure_moderatable(actor, comment, now)
    if not comment.is_published:
        raise DomainError(_l("只能答复已公开的意见。"), code="bad_status", status=409)
    if disposition not in DISPOSITIONS:
        raise DomainError(_l("请选择采纳情况。"), code="bad_disposition")
    reason = _text(reason)
    if not reason:
        raise DomainError(_l("请说明理由。"), code="reason_required")
    if len(reason) > REASON_MAX:
        raise DomainError(_l("理由不能超过 %(n)s 个字符。", n=REASON_MAX), code="too_long")
    response = comment.response
    changed = response is not None
    if response is None:
        response = Response(comment=comment, disposition=disposition, reason=reason, responded_by_id=actor.id)
        db.session.add(response)
    else:
        response.disposition = disposition
        response.reason = reason
        response.responded_by_id = actor.id
    db.session.flush()
    decision = comment.consultation.decision
    trace.record(
        actor,
        "response.recorded",
        response,
        department=decision.department_id,
        decision=decision.slug,
        tracking_number=comment.tracking_number,
        disposition=disposition,
        reason=reason,
        changed=changed,
    )
    if comment.author is not None and comment.author_id != actor.id:
        from portal.notifications.operations import notify, path_for

        notify(
            comment.author,
            "comment_responded",
            decision=decision,
            url=path_for("consultation.receipt", tracking=comment.tracking_number),
            title=decision.title,
            tracking=comment.tracking_number,
            disposition=disposition,
        )
    return response


def respond_group(
    actor: User,
    group: CommentGroup,
    *,
    disposition: str,
    reason: str,
    only_unanswered: bool = True,
    now: datetime | None = None,
) -> int:
    """One response for every published comment of a duplicate group; each comment gets its own."""
    consultation = db.session.get(Consultation, group.consultation_id)
    ensure_can_manage(actor, consultation.decision)
    stmt = select(Comment).where(Comment.group_id == group.id, Comment.status == CommentStatus.PUBLISHED.value)
    if only_unanswered:
        stmt = stmt.outerjoin(Response, Response.comment_id == Comment.id).where(Response.id.is_(None))
    comments = db.session.scalars(stmt.order_by(Comment.id)).all()
    if not comments:
        raise DomainError(_l("这一组没有需要答复的已公开意见。"), code="nothing_to_answer", status=409)
    for comment in comments:
        respond(actor, comment, disposition=disposition, reason=reason, now=now)
    return len(comments)
