"""Probe comment intake, keep the results (buffered while the database is down), find outages, extend consultations.

How an outage is measured (in the citizen's favour): a run of failed probes starts at the last good
probe before it and ends at the first good probe after it, so the time between probes counts as
down; a minute in which comment submission answered at least ``AVAILABILITY_ERROR_MINUTE_THRESHOLD``
server errors counts as down for the whole minute. Overlapping or touching intervals are one outage.
An outage longer than ``OUTAGE_EXTENSION_THRESHOLD_MINUTES`` extends every consultation that was open
during it by the outage's length rounded up to ``OUTAGE_EXTENSION_ROUND_MINUTES`` (an hour by default).
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from portal import trace
from portal.availability.models import (
    AvailabilityHeartbeat,
    AvailabilityProbe,
    ExtensionOutcome,
    IntakeErrorBucket,
    Outage,
    OutageExtension,
)
from portal.consultation.models import Consultation
from portal.consultation.operations import record_extension
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import Stage

log = logging.getLogger("portal.availability")

#: Key of the PostgreSQL advisory lock that lets one ``apply`` run at a time (SQLite: BEGIN IMMEDIATE does it).
APPLY_LOCK_KEY = 713_0011
ERROR_MAX = 500


def settings() -> dict:
    """The availability settings, with defaults (see init_app for the PORTAL_* variables)."""
    c = current_app.config
    return {
        "threshold": int(c.get("OUTAGE_EXTENSION_THRESHOLD_MINUTES", 30)),
        "round": max(1, int(c.get("OUTAGE_EXTENSION_ROUND_MINUTES", 60))),
        "url": c.get("AVAILABILITY_PROBE_URL") or str(c.get("BASE_URL", "")).rstrip("/") + "/availability/probe",
        "timeout": float(c.get("AVAILABILITY_PROBE_TIMEOUT", 10)),
        "error_minute": max(1, int(c.get("AVAILABILITY_ERROR_MINUTE_THRESHOLD", 10))),
        "buffer": Path(
            c.get("AVAILABILITY_BUFFER_PATH") or Path(current_app.instance_path) / "availability-buffer.jsonl"
        ),
        "window_days": int(c.get("AVAILABILITY_RECOMPUTE_DAYS", 7)),
    }


# --- probing -------------------------------------------------------------------------------------


@dataclass
class ProbeResult:
    """One probe, as sent; serialisable so it can wait in the buffer file."""

    at: datetime
    ok: bool
    latency_ms: int | None
    status_code: int | None
    error: str
    target: str
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> ProbeResult:
        data = json.loads(line)
        data["at"] = datetime.fromisoformat(data["at"]).astimezone(UTC)
        return cls(**data)


def probe_intake(url: str, timeout: float) -> ProbeResult:
    """GET ``url`` (the probe endpoint: the app answers and the database takes a write) within ``timeout``."""
    at = utcnow()
    started = time.monotonic()
    status: int | None = None
    error = ""
    body = b""
    if not url.startswith(("http://", "https://")):
        return ProbeResult(at, False, None, None, f"not an http(s) URL: {url[:100]}", url[:500])
    request = urllib.request.Request(  # noqa: S310 - scheme checked above; the URL comes from the config
        url, headers={"User-Agent": "portal-availability-probe", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        status = exc.code
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
    latency = int((time.monotonic() - started) * 1000)
    ok = False
    if status == 200:
        try:
            ok = json.loads(body.decode("utf-8")).get("status") == "ok"
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            error = "unexpected answer"
    return ProbeResult(at, ok, latency if status is not None else None, status, error[:ERROR_MAX], url[:500])


def write_heartbeat(now: datetime | None = None) -> None:
    """The probe endpoint's write: proves the database accepts writes (the caller commits)."""
    now = now or utcnow()
    result = db.session.execute(update(AvailabilityHeartbeat).where(AvailabilityHeartbeat.id == 1).values(beat_at=now))
    if result.rowcount == 0:
        db.session.add(AvailabilityHeartbeat(id=1, beat_at=now))
    db.session.flush()


@contextmanager
def _buffer_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_buffer(path: Path) -> list[ProbeResult]:
    """Results waiting in the local file (skips lines a crash left half-written)."""
    if not path.exists():
        return []
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            results.append(ProbeResult.from_json(line))
        except (ValueError, TypeError, KeyError):
            log.warning("availability buffer: skipped unreadable line %r", line[:80])
    return results


def _store_probes(results: list[ProbeResult], *, replayed: set[str]) -> int:
    """Insert results not stored yet (by uid); returns how many were new."""
    if not results:
        return 0
    uids = [r.uid for r in results]
    known = set(db.session.scalars(select(AvailabilityProbe.uid).where(AvailabilityProbe.uid.in_(uids))))
    now = utcnow()
    new = 0
    for r in results:
        if r.uid in known:
            continue
        known.add(r.uid)
        db.session.add(
            AvailabilityProbe(
                uid=r.uid,
                at=r.at,
                ok=r.ok,
                latency_ms=r.latency_ms,
                status_code=r.status_code,
                error=r.error[:ERROR_MAX],
                target=r.target[:500],
                recorded_at=now,
                replayed=r.uid in replayed,
            )
        )
        new += 1
    db.session.flush()
    return new


@dataclass
class Recorded:
    """What ``record_or_buffer`` did."""

    stored: bool
    replayed: int = 0
    buffered: int = 0
    earliest: datetime | None = None


def record_or_buffer(result: ProbeResult, buffer_path: Path) -> Recorded:
    """Store ``result`` with any buffered ones and commit; if the database refuses, append it to the buffer.

    Replayed rows carry their uid, so a crash between the commit and emptying the file stores nothing twice.
    """
    with _buffer_lock(buffer_path):
        waiting = read_buffer(buffer_path)
        try:
            _store_probes([*waiting, result], replayed={r.uid for r in waiting})
            db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("availability: database unavailable (%s); result buffered", type(exc).__name__)
            with buffer_path.open("a", encoding="utf-8") as fh:
                fh.write(result.to_json() + "\n")
                fh.flush()
            return Recorded(stored=False, buffered=len(waiting) + 1)
        if waiting:
            buffer_path.write_text("", encoding="utf-8")
        earliest = min((r.at for r in [*waiting, result]), default=None)
        return Recorded(stored=True, replayed=len(waiting), earliest=earliest)


def is_intake_endpoint(endpoint: str | None, method: str) -> bool:
    """Whether a request submits a comment (the configured endpoints, or a consultation POST about comments)."""
    if not endpoint or method != "POST":
        return False
    configured = current_app.config.get("AVAILABILITY_INTAKE_ENDPOINTS") or ()
    if endpoint in configured:
        return True
    blueprint, _, name = endpoint.rpartition(".")
    return blueprint.startswith("consultation") and name.endswith("comment")


def count_intake_error(endpoint: str, at: datetime | None = None) -> None:
    """Add one server error of ``endpoint`` to its minute's bucket (the caller commits)."""
    minute = (at or utcnow()).replace(second=0, microsecond=0)
    result = db.session.execute(
        update(IntakeErrorBucket)
        .where(IntakeErrorBucket.minute == minute, IntakeErrorBucket.endpoint == endpoint[:120])
        .values(count=IntakeErrorBucket.count + 1)
    )
    if result.rowcount == 0:
        db.session.add(IntakeErrorBucket(minute=minute, endpoint=endpoint[:120], count=1))
    db.session.flush()


# --- outages -------------------------------------------------------------------------------------


@dataclass
class Span:
    start: datetime
    end: datetime | None  # None: still going on
    failed_probes: int = 0
    first_error: str = ""


def _after(a: datetime | None, b: datetime | None) -> bool:
    """a >= b where None means "not yet ended" (later than anything)."""
    if a is None:
        return True
    if b is None:
        return False
    return a >= b


def probe_spans(since: datetime) -> list[Span]:
    """Runs of failed probes since ``since``: from the last good probe before to the first good one after."""
    before = db.session.execute(
        select(AvailabilityProbe.at, AvailabilityProbe.ok)
        .where(AvailabilityProbe.at < since)
        .order_by(AvailabilityProbe.at.desc())
        .limit(1)
    ).first()
    last_ok = before.at if before is not None and before.ok else None
    spans: list[Span] = []
    current: Span | None = None
    rows = db.session.execute(
        select(AvailabilityProbe.at, AvailabilityProbe.ok, AvailabilityProbe.error)
        .where(AvailabilityProbe.at >= since)
        .order_by(AvailabilityProbe.at, AvailabilityProbe.id)
    )
    for at, ok, error in rows:
        if ok:
            if current is not None:
                current.end = at
                spans.append(current)
                current = None
            last_ok = at
        else:
            if current is None:
                current = Span(start=last_ok or at, end=None, first_error=error or "")
            current.failed_probes += 1
    if current is not None:
        spans.append(current)
    return spans


def error_spans(since: datetime, threshold: int) -> list[Span]:
    """Minutes in which comment submission answered at least ``threshold`` server errors."""
    rows = db.session.execute(
        select(IntakeErrorBucket.minute, func.sum(IntakeErrorBucket.count))
        .where(IntakeErrorBucket.minute >= since)
        .group_by(IntakeErrorBucket.minute)
        .having(func.sum(IntakeErrorBucket.count) >= threshold)
        .order_by(IntakeErrorBucket.minute)
    )
    return [Span(start=m, end=m + timedelta(minutes=1), first_error=f"{n} × HTTP 5xx") for m, n in rows]


def merge_spans(spans: list[Span]) -> list[Span]:
    """Union of intervals: overlapping or touching ones become one."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        last = merged[-1] if merged else None
        if last is not None and _after(last.end, span.start):
            if not _after(last.end, span.end):
                last.end = span.end
            last.failed_probes += span.failed_probes
            last.first_error = last.first_error or span.first_error
        else:
            merged.append(Span(span.start, span.end, span.failed_probes, span.first_error))
    return merged


def _server_errors(start: datetime, end: datetime | None) -> int:
    stmt = select(func.coalesce(func.sum(IntakeErrorBucket.count), 0)).where(IntakeErrorBucket.minute >= start)
    if end is not None:
        stmt = stmt.where(IntakeErrorBucket.minute < end)
    return int(db.session.scalar(stmt) or 0)


def detect_outages(*, since: datetime | None = None, now: datetime | None = None) -> list[Outage]:
    """Recompute outage intervals from the recent evidence and store them; returns the outages touched.

    An interval that overlaps a stored outage widens it (never narrows it), so results buffered while
    the database was down and replayed late lengthen the outage they belong to.
    """
    s = settings()
    now = now or utcnow()
    window = now - timedelta(days=s["window_days"])
    since = min(since, window) if since else window
    spans = merge_spans(probe_spans(since) + error_spans(since, s["error_minute"]))
    stored = list(
        db.session.scalars(
            select(Outage)
            .where((Outage.ended_at.is_(None)) | (Outage.ended_at >= since - timedelta(days=1)))
            .order_by(Outage.started_at)
        )
    )
    touched = []
    for span in spans:
        outage = next(
            (o for o in stored if _after(span.end, o.started_at) and _after(o.ended_at, span.start)),
            None,
        )
        errors = _server_errors(span.start, span.end)
        if outage is None:
            outage = Outage(
                started_at=span.start,
                ended_at=span.end,
                failed_probes=span.failed_probes,
                server_errors=errors,
                first_error=span.first_error[:ERROR_MAX],
                updated_at=now,
            )
            db.session.add(outage)
            stored.append(outage)
        else:
            changed = False
            if span.start < outage.started_at:
                outage.started_at, changed = span.start, True
            if span.end is None:
                if outage.ended_at is not None:  # failing again right after it ended: one outage, flapping
                    outage.ended_at, changed = None, True
            elif outage.ended_at is None or outage.ended_at < span.end:
                outage.ended_at, changed = span.end, True
            if span.failed_probes > outage.failed_probes:
                outage.failed_probes, changed = span.failed_probes, True
            if errors > outage.server_errors:
                outage.server_errors, changed = errors, True
            if changed:
                outage.updated_at = now
        touched.append(outage)
    db.session.flush()
    return touched


# --- extensions ----------------------------------------------------------------------------------


def _round_up(minutes: int, step: int) -> int:
    return -(-minutes // step) * step


def _local(moment: datetime) -> str:
    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _span_zh(minutes: int) -> str:
    return f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"


def _span_en(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minutes"


def extension_reasons(
    outage: Outage, *, threshold: int, grant: int, outcome: str, now: datetime, earlier: int
) -> tuple[str, str]:
    """The published reason, in Chinese and in English (stored data, so both are built here, not translated)."""
    start, end, length = _local(outage.started_at), _local(outage.ended_at), outage.duration_minutes
    zh = f"因系统故障,{start} 至 {end}(北京时间)期间无法正常提交意见,历时约 {length} 分钟,超过 {threshold} 分钟。"
    en = (
        f"Because of a system failure, comments could not be submitted from {start} to {end} (Beijing time), "
        f"about {length} minutes, more than {threshold} minutes."
    )
    if earlier:
        zh += f"此前已因同一故障延长 {_span_zh(earlier)},现补足。"
        en += f" The period had already been extended by {_span_en(earlier)} for this failure; this adds the rest."
    if outcome == ExtensionOutcome.EXTENDED:
        zh += f"征求意见期自动延长 {_span_zh(grant)}。"
        en += f" The consultation period is extended automatically by {_span_en(grant)}."
    elif outcome == ExtensionOutcome.REOPENED:
        zh += f"故障在征求意见期结束后才确认,征求意见自 {_local(now)} 起重新开放 {_span_zh(grant)}。"
        en += (
            f" The failure was confirmed only after the period had ended, so the consultation reopens"
            f" from {_local(now)} for {_span_en(grant)}."
        )
    else:
        zh += "故障确认时本决策事项已进入后续程序,征求意见未自动重新开放,请承办单位说明处理方式。"
        en += (
            " When the failure was confirmed the decision had already moved past the consultation stage,"
            " so the consultation was not reopened automatically; the department is asked to explain how it"
            " will make up for it."
        )
    return zh, en


def _lock_for_apply() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK_KEY})


def apply_extensions(now: datetime | None = None) -> list[OutageExtension]:
    """Extend each consultation open during an ended outage over the threshold; idempotent (the caller commits).

    Already extended for the outage's current length: nothing. The outage grew since (late evidence):
    only the missing part is added. Closed meanwhile: reopened from now while the decision is still at the
    consultation stage, otherwise only recorded and published.
    """
    _lock_for_apply()
    s = settings()
    now = now or utcnow()
    threshold = timedelta(minutes=s["threshold"])
    outages = [
        o
        for o in db.session.scalars(select(Outage).where(Outage.ended_at.is_not(None)).order_by(Outage.started_at))
        if o.ended_at - o.started_at > threshold
    ]
    made: list[OutageExtension] = []
    for outage in outages:
        consultations = db.session.scalars(
            select(Consultation)
            .where(Consultation.starts_at < outage.ended_at, Consultation.ends_at > outage.started_at)
            .order_by(Consultation.id)
        )
        for consultation in consultations:
            row = _extend_for(outage, consultation, threshold=s["threshold"], step=s["round"], now=now)
            if row is not None:
                made.append(row)
    return made


def _extend_for(outage: Outage, consultation: Consultation, *, threshold: int, step: int, now: datetime):
    rows = db.session.scalars(
        select(OutageExtension).where(
            OutageExtension.outage_id == outage.id, OutageExtension.consultation_id == consultation.id
        )
    ).all()
    length = outage.duration_minutes
    if rows and max(r.outage_minutes for r in rows) >= length:
        return None  # already done for this outage at its present length
    earlier = sum(r.minutes for r in rows)
    if any(r.outcome == ExtensionOutcome.NOT_REOPENED for r in rows):
        return None  # recorded once; reopening stays the department's decision
    grant = _round_up(length, step) - earlier
    if grant <= 0:
        return None
    decision = consultation.decision
    if consultation.is_closed(now):
        outcome = ExtensionOutcome.REOPENED if decision.stage == Stage.CONSULTATION.value else None
        outcome = outcome or ExtensionOutcome.NOT_REOPENED
    else:
        outcome = ExtensionOutcome.EXTENDED
    zh, en = extension_reasons(outage, threshold=threshold, grant=grant, outcome=outcome, now=now, earlier=earlier)
    evidence = {
        "cause": "intake_outage",
        "outage": outage.id,
        "outage_started_at": outage.started_at.isoformat(timespec="seconds"),
        "outage_ended_at": outage.ended_at.isoformat(timespec="seconds"),
        "outage_minutes": length,
        "failed_probes": outage.failed_probes,
        "server_errors": outage.server_errors,
        "threshold_minutes": threshold,
    }
    row = OutageExtension(
        outage=outage,
        consultation=consultation,
        outcome=outcome,
        minutes=0,
        outage_minutes=length,
        reason_zh=zh,
        reason_en=en,
    )
    db.session.add(row)
    if outcome == ExtensionOutcome.NOT_REOPENED:
        db.session.flush()
        trace.record(
            None,
            "consultation.outage_recorded",
            consultation,
            department=decision.department_id,
            decision=decision.slug,
            reason=zh,
            stage=decision.stage,
            **evidence,
        )
        return row
    base = consultation.ends_at if outcome == ExtensionOutcome.EXTENDED else now
    if outcome == ExtensionOutcome.REOPENED:
        consultation.closed_recorded_at = None  # the close is recorded again after the new end
    extension = record_extension(
        None,
        consultation,
        ends_at=base + timedelta(minutes=grant),
        reason=f"{zh}\n{en}",
        now=now,
        extension_minutes=grant,
        reopened=outcome == ExtensionOutcome.REOPENED,
        **evidence,
    )
    row.minutes = grant
    row.consultation_extension = extension
    db.session.flush()
    return row


def last_probe() -> AvailabilityProbe | None:
    return db.session.scalars(select(AvailabilityProbe).order_by(AvailabilityProbe.at.desc()).limit(1)).first()
