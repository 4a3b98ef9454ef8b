"""The decision archive (决策档案): a zip of every record of a decision, with a manifest of SHA-256
hashes, and the check of a downloaded archive against its manifest and the ledger.

Each file's hash is in ``manifest.json``; files whose hash the ledger also recorded (version texts,
attachments, signed reviews, the legality opinion, the published text, release texts, evaluation
reports) are "anchored": the manifest names the ledger entry and payload field holding that hash,
so a file changed together with its manifest line still disagrees with the ledger. The manifest
carries an HMAC made with the portal's secret key (``manifest.sig``), so an edited manifest is
named as such. The archive holds what its downloader may read: the public downloads the public
record, an auditor the internal one too.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from portal.accountability.record import decision_entries, optional
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions import permissions as decision_permissions
from portal.decisions.models import Decision
from portal.trace.canonical import actor_document, canonical, entry_hash, format_time, sha256_hex
from portal.trace.models import TraceEntry
from portal.trace.operations import can_read, head

FORMAT = "portal-decision-archive/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: Limits applied when reading an archive someone hands in (a zip bomb must not exhaust memory).
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 20_000


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=_default).encode("utf-8")


def _default(value):
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "-", name, flags=re.UNICODE).strip("-.")
    return cleaned[:120] or "file"


def _signing_key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(secret, b"portal-decision-archive-manifest", hashlib.sha256).digest()


def sign(manifest_bytes: bytes) -> str:
    return hmac.new(_signing_key(), manifest_bytes, hashlib.sha256).hexdigest()


@dataclass
class _Files:
    files: dict[str, bytes] = field(default_factory=dict)
    anchors: dict[str, dict] = field(default_factory=dict)

    def add(self, path: str, data: bytes, *, anchor: TraceEntry | None = None, anchor_field: str | None = None):
        self.files[path] = data
        if anchor is not None and anchor_field:
            self.anchors[path] = {"seq": anchor.seq, "field": anchor_field}


def entry_document(entry: TraceEntry, readable: bool) -> dict:
    """One ledger entry as archived: every hashed field, and the actor and payload when readable."""
    document = {
        "seq": entry.seq,
        "at": format_time(entry.at),
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "visibility": entry.visibility,
        "department_id": entry.department_id,
        "actor_hash": entry.actor_hash,
        "payload_hash": entry.payload_hash,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
    if readable:
        document["actor"] = {"id": entry.actor_id, "name": entry.actor_name, "roles": entry.roles_list}
        document["payload"] = entry.payload_data
    return document


def _first(entries: list[TraceEntry], kind: str, ident, action: str) -> TraceEntry | None:
    return next(
        (e for e in entries if e.subject_kind == kind and e.subject_id == str(ident) and e.action == action), None
    )


def build_archive(decision: Decision, viewer) -> tuple[bytes, str]:
    """The archive of ``decision`` as ``viewer`` may read it: (zip bytes, file name)."""
    entries = decision_entries(decision, limit=100_000)
    readable = {e.seq: can_read(e, viewer) for e in entries}
    insider = decision_permissions.is_insider(viewer, decision)
    out = _Files()

    out.add(
        "decision.json",
        _json(
            {
                "slug": decision.slug,
                "title": decision.title,
                "summary": decision.summary,
                "department": {"code": decision.department.code, "name": decision.department.name},
                "category": decision.category,
                "legal_basis": decision.legal_basis,
                "document_number": decision.document_number,
                "affects_stability": decision.affects_stability,
                "stage": decision.stage,
                "stage_changed_at": decision.stage_changed_at,
                "responsible": [u.display_name for u in decision.responsible],
                "withdrawn_reason": decision.withdrawn_reason,
            }
        ),
    )
    for version in decision.versions:
        if not version.is_published and not insider:
            continue
        published = _first(entries, "draft_version", version.id, "version.published")
        out.add(
            f"versions/v{version.number}.md", version.body.encode("utf-8"), anchor=published, anchor_field="body_sha256"
        )
        if version.explanation:
            out.add(f"versions/v{version.number}-explanation.md", version.explanation.encode("utf-8"))
    _attachments(decision, viewer, entries, out)
    _consultation(decision, out)
    _hearings(decision, out)
    _reviews(decision, viewer, entries, readable, out)
    _publication(decision, viewer, entries, out)
    _implementation(decision, entries, out)

    out.add("ledger/entries.json", _json([entry_document(e, readable[e.seq]) for e in entries]))
    head_seq, head_hash = head()
    manifest = {
        "format": FORMAT,
        "decision": decision.slug,
        "generated_at": format_time(utcnow()),
        "scope": "internal" if insider else "public",
        "ledger_head": {"seq": head_seq, "hash": head_hash},
        "files": {
            path: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for path, data in sorted(out.files.items())
        },
        "anchors": dict(sorted(out.anchors.items())),
    }
    manifest_bytes = _json(manifest)
    buffer = io.BytesIO()
    moment = utcnow().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in [("README.txt", README.encode("utf-8")), *sorted(out.files.items())]:
            info = zipfile.ZipInfo(path, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        archive.writestr(zipfile.ZipInfo(MANIFEST, date_time=moment), manifest_bytes)
        archive.writestr(zipfile.ZipInfo(SIGNATURE, date_time=moment), (sign(manifest_bytes) + "\n").encode("ascii"))
    return buffer.getvalue(), f"{decision.slug}-archive.zip"


README = """决策档案 / Decision archive

manifest.json  每个文件的 SHA-256 / the SHA-256 of every file
manifest.sig   平台对清单的签名 / the portal's signature of the manifest
ledger/        本决策的责任记录条目(含哈希)/ the decision's ledger entries with their hashes

校验 / Verify:  flask --app app archive verify FILE.zip
"""


def _attachments(decision: Decision, viewer, entries, out: _Files) -> None:
    attachments = optional("portal.decisions.attachments")
    if attachments is None:
        return
    for attachment in attachments.attachments_for("decision", decision.id):
        if not attachments.can_download(attachment, viewer):
            continue
        try:
            data = attachments.storage_path(attachment.sha256).read_bytes()
        except (OSError, ValueError):
            continue
        added = _first(entries, "attachment", attachment.id, "attachment.added")
        out.add(
            f"attachments/{attachment.id}-{_safe_name(attachment.filename)}", data, anchor=added, anchor_field="sha256"
        )


def _consultation(decision: Decision, out: _Files) -> None:
    queries = optional("portal.consultation.queries")
    if queries is None:
        return
    consultation = queries.consultation_for(decision)
    if consultation is None:
        return
    report = queries.build_report(consultation)
    data = report.as_dict()
    data["period"] = {"starts_at": consultation.starts_at, "ends_at": consultation.ends_at}
    out.add("consultation/report.json", _json(data))


def _hearings(decision: Decision, out: _Files) -> None:
    models = optional("portal.hearings.models")
    if models is None:
        return
    for hearing in db.session.scalars(select(models.Hearing).where(models.Hearing.decision_id == decision.id)):
        if not hearing.report_published_at:
            continue
        parts = [hearing.report_body or ""]
        for title, text in (
            ("支持意见", hearing.report_support),
            ("反对意见", hearing.report_oppose),
            ("其他意见", hearing.report_neutral),
        ):
            if text:
                parts.append(f"## {title}\n\n{text}")
        out.add(f"hearings/hearing-{hearing.id}-report.md", "\n\n".join(parts).encode("utf-8"))


def _reviews(decision: Decision, viewer, entries, readable, out: _Files) -> None:
    models = optional("portal.reviews.models")
    permissions = optional("portal.reviews.permissions")
    if models is None or permissions is None:
        return
    public = permissions.can_see_reviews(viewer, decision)
    internal = permissions.can_see_internal_records(viewer, decision)
    for review in db.session.scalars(select(models.Review).where(models.Review.decision_id == decision.id)):
        if not permissions.can_see_review(viewer, review):
            continue
        signed = _first(entries, "review", review.id, "review.amended" if review.supersedes_id else "review.signed")
        out.add(
            f"reviews/review-{review.id}.json",
            canonical(review.content_document()),
            anchor=signed,
            anchor_field="content_sha256",
        )
    if public or internal:
        for assessment in db.session.scalars(
            select(models.RiskAssessment).where(models.RiskAssessment.decision_id == decision.id)
        ):
            out.add(
                f"reviews/risk-{assessment.id}.json",
                _json(
                    {
                        "level": assessment.level,
                        "controllable": assessment.controllable,
                        "findings": assessment.findings,
                        "mitigation": assessment.mitigation,
                        "recorded_at": assessment.created_at,
                    }
                ),
            )
        for legality in db.session.scalars(
            select(models.LegalityReview).where(models.LegalityReview.decision_id == decision.id)
        ):
            if not legality.is_filed:
                continue
            filed = _first(entries, "legality_review", legality.id, "legality.opinion_filed")
            out.add(
                f"reviews/legality-{legality.id}.json",
                canonical(legality.opinion_document()),
                anchor=filed,
                anchor_field="opinion_sha256",
            )
    for meeting in db.session.scalars(select(models.Meeting).where(models.Meeting.decision_id == decision.id)):
        record = {
            "kind": meeting.kind,
            "date": meeting.meeting_date,
            "head": meeting.head.display_name,
            "attendees": [u.display_name for u in meeting.attendees],
            "status": meeting.status,
        }
        if meeting.is_closed:
            record.update(
                {
                    "outcome": meeting.outcome,
                    "decided_at": meeting.decided_at,
                    "tally": meeting.tally(),
                    "dissenters": [o.member.display_name for o in meeting.opinions if o.position == "dissent"],
                    "departure_reason": meeting.departure_reason,
                    "public_summary": meeting.public_summary,
                }
            )
        if internal:
            record["opinions"] = [
                {
                    "member": o.member.display_name,
                    "position": o.position,
                    "statement": o.statement,
                    "recorded_at": o.recorded_at,
                }
                for o in meeting.opinions
            ]
            record["head_statement"] = meeting.head_statement
            record["minutes"] = meeting.minutes
        out.add(f"meetings/meeting-{meeting.id}.json", _json(record))


def _publication(decision: Decision, viewer, entries, out: _Files) -> None:
    from portal.releases.models import DecisionPublication, Release
    from portal.releases.queries import visible_release

    publication = db.session.get(DecisionPublication, decision.id)
    if publication is not None:
        published = next((e for e in entries if e.action == "decision.published"), None)
        out.add(
            "publication/decision.md",
            publication.final_text.encode("utf-8"),
            anchor=published,
            anchor_field="text_sha256",
        )
        out.add(
            "publication/publication.json",
            _json(
                {
                    "title": publication.title,
                    "document_number": publication.document_number,
                    "effective_date": publication.effective_date,
                    "published_at": publication.published_at,
                    "public_adoption": publication.public_adoption,
                    "expert_adoption": publication.expert_adoption,
                    "text_sha256": publication.text_sha256,
                }
            ),
        )
    for release in db.session.scalars(select(Release).where(Release.decision_id == decision.id).order_by(Release.id)):
        if not visible_release(release, viewer):
            continue
        published = _first(entries, "release", release.id, "release.published")
        out.add(
            f"releases/release-{release.id}-text-0.md",
            release.body.encode("utf-8"),
            anchor=published,
            anchor_field="body_sha256",
        )
        corrections = [
            e
            for e in entries
            if e.subject_kind == "release" and e.subject_id == str(release.id) and e.action == "release.corrected"
        ]
        for correction in release.corrections:
            entry = next((e for e in corrections if e.payload_data.get("number") == correction.number), None)
            out.add(
                f"releases/release-{release.id}-text-{correction.number}.md",
                correction.body.encode("utf-8"),
                anchor=entry,
                anchor_field="body_sha256",
            )
        out.add(
            f"releases/release-{release.id}.json",
            _json(
                {
                    "kind": release.kind,
                    "title": release.title,
                    "status": release.effective_status().value,
                    "published_at": release.public_time(),
                    "public_adoption": release.public_adoption,
                    "expert_adoption": release.expert_adoption,
                    "corrections": [
                        {"number": c.number, "note": c.note, "at": c.created_at} for c in release.corrections
                    ],
                }
            ),
        )


def _implementation(decision: Decision, entries, out: _Files) -> None:
    from portal.implementation import queries

    updates = queries.updates_for(decision)
    if updates:
        out.add(
            "implementation/updates.json",
            _json([{"title": u.title, "body": u.body, "at": u.created_at} for u in updates]),
        )
    feedback = queries.public_feedback(decision, limit=None)
    if feedback:
        out.add(
            "implementation/feedback.json",
            _json(
                [
                    {
                        "tracking_number": f.tracking_number,
                        "at": f.created_at,
                        "body": f.body,
                        "response": (
                            {"disposition": f.response.disposition, "body": f.response.body} if f.response else None
                        ),
                    }
                    for f in feedback
                ]
            ),
        )
    for evaluation in queries.evaluations_for(decision):
        filed = _first(entries, "post_evaluation", evaluation.id, "evaluation.filed")
        out.add(
            f"implementation/evaluation-{evaluation.id}.md",
            evaluation.report.encode("utf-8"),
            anchor=filed,
            anchor_field="report_sha256",
        )
    adjustments = queries.adjustments_for(decision)
    if adjustments:
        out.add(
            "implementation/adjustments.json",
            _json([{"kind": a.kind, "reason": a.reason, "at": a.created_at} for a in adjustments]),
        )


# Verification -----------------------------------------------------------------------------------


@dataclass
class Finding:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
    with archive.open(info) as fh:
        data = fh.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ValueError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
    return data


def _check_entry(document: dict, stored: TraceEntry | None) -> list[str]:
    """What is wrong with one archived ledger entry, compared with itself and with the ledger."""
    problems = []
    if stored is None:
        return ["not in the ledger (the chain was truncated, or the entry was invented)"]
    try:
        header = {
            key: document[key]
            for key in (
                "seq",
                "at",
                "action",
                "subject_kind",
                "subject_id",
                "visibility",
                "department_id",
                "actor_hash",
                "payload_hash",
                "prev_hash",
            )
        }
    except KeyError as exc:
        return [f"field {exc.args[0]} missing"]
    if entry_hash(header) != document.get("hash"):
        problems.append("its fields do not match its hash (the archived entry was edited)")
    if document.get("hash") != stored.hash:
        problems.append(f"hash differs from the ledger's entry {stored.seq}")
    if "payload" in document and sha256_hex(canonical(document["payload"])) != document.get("payload_hash"):
        problems.append("payload does not match payload_hash (the archived payload was edited)")
    actor = document.get("actor")
    if actor is not None:
        expected = sha256_hex(canonical(actor_document(actor.get("id"), actor.get("name", ""), actor.get("roles", []))))
        if expected != document.get("actor_hash"):
            problems.append("actor does not match actor_hash (the archived actor was edited)")
    return problems


def verify_archive(source) -> list[Finding]:
    """Check an archive (a path or a file object); an empty list means it is intact."""
    findings: list[Finding] = []
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return [Finding("(archive)", f"not a readable zip file ({exc})")]
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        if len(names) > MAX_MEMBERS:
            return [Finding("(archive)", f"more than {MAX_MEMBERS} files")]
        if MANIFEST not in names:
            return [Finding(MANIFEST, "missing")]
        try:
            manifest_bytes = _read(archive, MANIFEST)
            manifest = json.loads(manifest_bytes)
        except (ValueError, zipfile.BadZipFile) as exc:
            return [Finding(MANIFEST, f"unreadable ({exc})")]
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") != FORMAT
            or not isinstance(manifest.get("files"), dict)
        ):
            return [Finding(MANIFEST, "not a decision-archive manifest")]
        if SIGNATURE not in names:
            findings.append(Finding(SIGNATURE, "missing"))
        else:
            signature = _read(archive, SIGNATURE).decode("ascii", "replace").strip()
            if not hmac.compare_digest(signature, sign(manifest_bytes)):
                findings.append(
                    Finding(MANIFEST, "signature does not match: the manifest was changed (or made by another portal)")
                )
        contents: dict[str, bytes] = {}
        for path, expected in sorted(manifest["files"].items()):
            if path not in names:
                findings.append(Finding(path, "missing from the archive"))
                continue
            try:
                data = _read(archive, path)
            except (ValueError, zipfile.BadZipFile) as exc:
                findings.append(Finding(path, f"unreadable ({exc})"))
                continue
            contents[path] = data
            digest = hashlib.sha256(data).hexdigest()
            if not isinstance(expected, dict) or digest != expected.get("sha256"):
                want = expected.get("sha256", "?") if isinstance(expected, dict) else "?"
                findings.append(Finding(path, f"content changed: sha256 {digest} but the manifest says {want}"))
        for name in names:
            if name not in manifest["files"] and name not in (MANIFEST, SIGNATURE, "README.txt"):
                findings.append(Finding(name, "not listed in the manifest (added after download)"))

        stored_cache: dict[int, TraceEntry | None] = {}

        def stored(seq) -> TraceEntry | None:
            if not isinstance(seq, int):
                return None
            if seq not in stored_cache:
                stored_cache[seq] = db.session.get(TraceEntry, seq)
            return stored_cache[seq]

        ledger = contents.get("ledger/entries.json")
        if ledger is not None:
            try:
                documents = json.loads(ledger)
            except ValueError:
                documents = None
                findings.append(Finding("ledger/entries.json", "not valid JSON"))
            for document in documents or []:
                seq = document.get("seq") if isinstance(document, dict) else None
                for problem in _check_entry(document, stored(seq)) if isinstance(document, dict) else ["not an entry"]:
                    findings.append(Finding("ledger/entries.json", f"entry {seq}: {problem}"))

        for path, anchor in sorted((manifest.get("anchors") or {}).items()):
            data = contents.get(path)
            if data is None or not isinstance(anchor, dict):
                continue
            entry = stored(anchor.get("seq"))
            if entry is None:
                findings.append(Finding(path, f"its ledger entry {anchor.get('seq')} is not in the ledger"))
                continue
            recorded = entry.payload_data.get(anchor.get("field"))
            digest = hashlib.sha256(data).hexdigest()
            if recorded != digest:
                findings.append(
                    Finding(
                        path,
                        f"differs from ledger entry {entry.seq} ({entry.action}, {anchor.get('field')}): "
                        "the file was changed",
                    )
                )

        head_info = manifest.get("ledger_head") or {}
        if isinstance(head_info, dict) and head_info.get("seq"):
            entry = stored(head_info.get("seq"))
            if entry is None or entry.hash != head_info.get("hash"):
                findings.append(
                    Finding(
                        MANIFEST,
                        f"ledger head {head_info.get('seq')} at download is no longer in the chain "
                        "(truncated or rewritten)",
                    )
                )
    return findings
