"""Cross-department access (IDOR): staff of department B cannot read or change department A's records
by guessing ids or slugs, on any route, HTML or API.

Every endpoint of ``app.url_map`` is either exercised here (``PROBES``) or named in ``NOT_SCOPED`` with
the reason it is not department-scoped; a new endpoint in neither list fails
``test_every_endpoint_is_classified``, so nobody forgets one.

A probe sends one request with department A's ids to each intruder (an official of B, an expert of
B, anonymous for reads) and asserts a refusal (403/404, or the login page) and that nothing changed:
every row of every table and every file of the instance folder is the same before and after. A page
that is public in part (``leak_only``) may answer 200 but must not carry any text marked ``SECRET``.
The owner (an official of A unless stated) then sends the same request and must not be refused, so
a probe whose URL points at nothing cannot pass by accident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.consultation import exports
from portal.consultation.models import Consultation
from portal.core.extensions import db as _db

from ..conftest import PASSWORD
from .conftest import SECRET

ANONYMOUS = "anonymous"
INTRUDERS = ("official_b", "expert_b")

Data = Callable[[object], dict] | dict | None


@dataclass(frozen=True)
class Probe:
    """One request against department A's records."""

    method: str
    path: Callable[[object], str]
    data: Data = None
    #: Who may do it (must not get 403/404): a name in ``world.people``, or None for nobody to check.
    owner: str | None = "official_a"
    intruders: tuple[str, ...] = INTRUDERS
    #: A public page: intruders may get 200, but no ``SECRET`` text.
    leak_only: bool = False
    #: Answers that count as a refusal (a choice field limited to one's own department answers 400).
    refusals: frozenset[int] = frozenset({403, 404})
    #: What a read may legitimately change (a search drains the indexing queue first).
    may_change: frozenset[str] = frozenset()


def get(path, **kw) -> Probe:
    return Probe("GET", path, **kw)


def post(path, data: Data = None, **kw) -> Probe:
    return Probe("POST", path, data if data is not None else {}, **kw)


def public_page(path, **kw) -> Probe:
    kw.setdefault("owner", None)
    return Probe("GET", path, leak_only=True, **kw)


def _token(w, fmt: str) -> str:
    consultation = _db.session.get(Consultation, w.consultation_id)
    return exports.make_token(_db.session.get(User, w.people.official_a.id), consultation, fmt)


VERSION = {"body": "第一条 改写。", "explanation": "说明", "change_note": "改"}
HEARING_FORM = {
    "title": "改写的听证会",
    "purpose": "目的",
    "agenda": "议程",
    "place": "地点",
    "observer_seats": "3",
    "selection_method": "公开抽选。",
}
REVIEW_FORM = {
    **{f"{c}_rating": "none" for c in ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")},
    **{f"{c}_text": "意见" for c in ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")},
    "recommendation": "support",
    "conditions": "",
    "confirm": "y",
}

#: A search first indexes what is waiting in the queue (rows and index files).
SEARCH_QUEUE = frozenset({"search_queue", "<instance files>"})

#: The accountability pages refresh the shared "ledger last verified" row.
VERIFIED = frozenset({"ledger_verification"})

#: endpoint -> the probes that exercise it.
PROBES: dict[str, list[Probe]] = {
    # --- decisions: drafts, versions, attachments ---------------------------------------------------------
    "decisions.detail": [get(lambda w: "/decisions/idor-draft")],
    "decisions.version": [
        get(lambda w: "/decisions/idor-draft/versions/1"),
        get(lambda w: "/decisions/idor-open/versions/2"),
    ],
    "decisions.diff": [
        get(lambda w: "/decisions/idor-draft/diff"),
        Probe("GET", lambda w: "/decisions/idor-open/diff?from=1&to=2", refusals=frozenset({400, 403, 404})),
    ],
    "decisions.edit": [
        get(lambda w: "/decisions/idor-draft/edit"),
        post(lambda w: "/decisions/idor-open/edit", {"title": "改名", "category": "other", "department": "idor-a"}),
    ],
    "decisions.new_version": [get(lambda w: "/decisions/idor-draft/versions/new")],
    "decisions.edit_version": [
        get(lambda w: "/decisions/idor-open/versions/2/edit"),
        post(lambda w: "/decisions/idor-open/versions/2/edit", VERSION),
    ],
    "decisions.publish_version": [post(lambda w: "/decisions/idor-open/versions/2/publish")],
    "decisions.advance": [
        post(lambda w: "/decisions/idor-draft/advance", {"target": "consultation"}),
        post(lambda w: "/decisions/idor-open/advance", {"target": "hearing"}),
    ],
    "decisions.withdraw": [post(lambda w: "/decisions/idor-open/withdraw", {"reason": "撤回的理由。"})],
    "decisions.add_attachment": [get(lambda w: "/decisions/idor-draft/attachments/new")],
    "decisions.download_attachment": [
        get(lambda w: f"/attachments/{w.draft_attachment.id}"),
        get(lambda w: f"/attachments/{w.draft_attachment.id}/{w.draft_attachment.filename}"),
    ],
    "decisions.index": [public_page(lambda w: "/decisions?department=idor-a")],
    "decisions.mine": [public_page(lambda w: "/decisions/mine", intruders=("official_b",))],
    "decisions.create": [
        post(
            lambda w: "/decisions/new",
            {"title": "冒名的决定", "department": "idor-a", "category": "other"},
            owner=None,
            intruders=("official_b",),
            refusals=frozenset({400, 403, 404}),
        )
    ],
    "decisions_api.decision": [get(lambda w: "/api/v1/decisions/idor-draft")],
    "decisions_api.versions": [
        get(lambda w: "/api/v1/decisions/idor-draft/versions"),
        public_page(lambda w: "/api/v1/decisions/idor-open/versions"),
    ],
    "decisions_api.decisions": [public_page(lambda w: "/api/v1/decisions?department=idor-a")],
    # --- consultation: moderation queue, moderation actions, exports ----------------------------------------
    "consultation.page": [
        get(lambda w: "/decisions/idor-draft/consultation"),
        public_page(lambda w: "/decisions/idor-open/consultation"),
    ],
    "consultation.open_consultation": [
        get(lambda w: "/decisions/idor-draft/consultation/open"),
        post(
            lambda w: "/decisions/idor-draft/consultation/open",
            {"starts_at": "2030-01-01T09:00", "ends_at": "2030-02-15T09:00"},
        ),
    ],
    "consultation.extend": [
        get(lambda w: "/decisions/idor-open/consultation/extend"),
        post(lambda w: "/decisions/idor-open/consultation/extend", {"ends_at": "2040-01-01T09:00", "reason": "延长"}),
    ],
    "consultation.manage": [get(lambda w: "/decisions/idor-open/consultation/manage")],
    "consultation.offline": [
        get(lambda w: "/decisions/idor-open/consultation/offline"),
        post(
            lambda w: "/decisions/idor-open/consultation/offline",
            {"channel": "letter", "sender_name": "来信人", "article": "", "body": "来信意见。"},
        ),
    ],
    "consultation.export": [
        get(lambda w: f"/decisions/idor-open/consultation/export.csv?token={_token(w, 'csv')}"),
        get(lambda w: f"/decisions/idor-open/consultation/export.xlsx?token={_token(w, 'xlsx')}"),
    ],
    "consultation.report": [public_page(lambda w: "/decisions/idor-open/consultation/report")],
    "consultation.moderate": [get(lambda w: f"/comments/{w.pending.tracking_number}/moderate")],
    "consultation.publish": [post(lambda w: f"/comments/{w.pending.tracking_number}/publish")],
    "consultation.reject": [
        post(lambda w: f"/comments/{w.pending.tracking_number}/reject", {"reason": "off_topic", "note": "无关"})
    ],
    "consultation.respond": [
        post(lambda w: f"/comments/{w.pending.tracking_number}/respond", {"disposition": "adopted", "reason": "采纳"})
    ],
    "consultation.group": [get(lambda w: f"/comment-groups/{w.pending.group_id}")],
    "consultation.publish_group": [post(lambda w: f"/comment-groups/{w.pending.group_id}/publish")],
    "consultation.respond_group": [
        post(lambda w: f"/comment-groups/{w.pending.group_id}/respond", {"disposition": "adopted", "reason": "采纳"})
    ],
    "consultation.receipt": [get(lambda w: f"/comments/{w.pending.tracking_number}/receipt")],
    "consultation.withdraw": [post(lambda w: f"/comments/{w.pending.tracking_number}/withdraw", owner="citizen")],
    "consultation_api.consultation": [get(lambda w: "/api/v1/decisions/idor-draft/consultation", owner=None)],
    "consultation_api.decision_comments": [
        get(lambda w: "/api/v1/decisions/idor-draft/comments", owner=None),
        public_page(lambda w: "/api/v1/decisions/idor-open/comments"),
    ],
    "consultation_api.comment": [get(lambda w: f"/api/v1/comments/{w.pending.tracking_number}", owner=None)],
    # --- hearings: drafts, registrations, draw, participants, needs, records ---------------------------------
    "hearings.detail": [get(lambda w: f"/hearings/{w.hearing_draft.id}")],
    "hearings.calendar_file": [get(lambda w: f"/hearings/{w.hearing_draft.id}/hearing.ics", owner=None)],
    "hearings.index": [public_page(lambda w: "/hearings")],
    "hearings.feed": [public_page(lambda w: "/hearings/feed.ics")],
    "hearings.new": [
        post(
            lambda w: "/hearings/new",
            {**HEARING_FORM, "decision": "idor-open"},
            owner=None,
            intruders=("official_b",),
            refusals=frozenset({400, 403, 404}),
        )
    ],
    "hearings.edit": [
        get(lambda w: f"/hearings/{w.hearing_draft.id}/edit"),
        post(lambda w: f"/hearings/{w.hearing_draft.id}/edit", HEARING_FORM),
        post(lambda w: f"/hearings/{w.hearing.id}/edit", HEARING_FORM),
    ],
    "hearings.publish": [post(lambda w: f"/hearings/{w.hearing_draft.id}/publish")],
    "hearings.manage": [get(lambda w: f"/hearings/{w.hearing.id}/manage")],
    "hearings.add_material": [post(lambda w: f"/hearings/{w.hearing.id}/materials", {"title": "材料"})],
    "hearings.run_draw": [post(lambda w: f"/hearings/{w.hearing.id}/draw")],
    "hearings.process_deadlines": [post(lambda w: f"/hearings/{w.hearing.id}/deadlines")],
    "hearings.checkin": [get(lambda w: f"/hearings/{w.hearing.id}/checkin")],
    "hearings.attendance": [
        post(lambda w: f"/hearings/{w.hearing.id}/attendance", lambda w: {"attended": [str(w.registrations[0].id)]})
    ],
    "hearings.erase_needs": [post(lambda w: f"/hearings/{w.hearing.id}/erase-needs")],
    "hearings.transcript": [
        get(lambda w: f"/hearings/{w.hearing.id}/transcript"),
        post(lambda w: f"/hearings/{w.hearing.id}/transcript", {"transcript": "笔录。"}),
    ],
    "hearings.report": [
        get(lambda w: f"/hearings/{w.hearing.id}/report"),
        post(
            lambda w: f"/hearings/{w.hearing.id}/report",
            {"body": "报告", "support": "支持", "oppose": "反对", "neutral": "中立"},
        ),
    ],
    "hearings.register": [
        get(lambda w: f"/hearings/{w.hearing_draft.id}/register", owner=None),
        post(
            lambda w: f"/hearings/{w.hearing_draft.id}/register",
            {"category": "consumers", "real_name": "张三", "contact": "13900000000", "position": "oppose"},
            owner=None,
        ),
    ],
    "hearings.observe": [
        get(lambda w: f"/hearings/{w.hearing_draft.id}/observe", owner=None),
        post(
            lambda w: f"/hearings/{w.hearing_draft.id}/observe", {"real_name": "张三", "contact": "1390000"}, owner=None
        ),
    ],
    "hearings.record": [get(lambda w: f"/hearings/{w.hearing_draft.id}/record", owner=None)],
    "hearings_api.hearing": [get(lambda w: f"/api/v1/hearings/{w.hearing_draft.id}", owner=None)],
    "hearings_api.hearings": [public_page(lambda w: "/api/v1/hearings")],
    # --- reviews: committees, reviews, risk, legality, meetings not yet public ----------------------------
    "reviews.committee": [public_page(lambda w: "/decisions/idor-review/committee")],
    "reviews.committee_assign": [
        post(lambda w: "/decisions/idor-review/committee", lambda w: {"profile_id": str(w.members[1].profile_id)})
    ],
    "reviews.committee_remove": [
        post(lambda w: f"/decisions/idor-review/committee/{w.members[1].id}/remove", {"reason": "回避"})
    ],
    "reviews.review_detail": [get(lambda w: f"/reviews/{w.review.id}")],
    "reviews.materials": [public_page(lambda w: "/decisions/idor-review/materials", owner="official_a")],
    "reviews.materials_save": [
        post(lambda w: "/decisions/idor-review/materials", {"comment_report_url": "/x", "expert_adoption": "采纳"})
    ],
    "reviews.risk": [public_page(lambda w: "/decisions/idor-review/risk", owner="official_a")],
    "reviews.risk_record": [
        post(
            lambda w: "/decisions/idor-review/risk",
            {"level": "low", "controllable": "yes", "findings": "结论", "mitigation": "措施"},
        )
    ],
    "reviews.legality": [public_page(lambda w: "/decisions/idor-review/legality", owner="official_a")],
    "reviews.legality_submit": [post(lambda w: "/decisions/idor-review/legality", {"materials": "材料"})],
    "reviews.deliberation": [public_page(lambda w: "/decisions/idor-review/deliberation")],
    "reviews.meeting_schedule": [
        post(
            lambda w: "/decisions/idor-review/deliberation",
            lambda w: {
                "kind": "executive",
                "meeting_date": "2030-01-01",
                "head_id": str(w.people.leaders[0].id),
                "attendee_ids": [str(p.id) for p in w.people.leaders],
            },
        )
    ],
    "reviews.meeting": [public_page(lambda w: f"/meetings/{w.meeting.id}", owner="official_a")],
    "reviews.declare": [
        get(lambda w: "/decisions/idor-review/declaration", owner="expert_a"),
        post(lambda w: "/decisions/idor-review/declaration", {"declaration": "no_interest"}, owner="expert_a2"),
    ],
    "reviews.review_form": [
        get(lambda w: "/decisions/idor-review/review", owner="expert_a2"),
        post(lambda w: "/decisions/idor-review/review", REVIEW_FORM, owner="expert_a2"),
    ],
    "reviews.review_amend": [
        get(lambda w: "/decisions/idor-review/review/amend", owner="expert_a"),
        post(
            lambda w: "/decisions/idor-review/review/amend",
            lambda w: {**REVIEW_FORM, "supersedes_id": str(w.review.id), "reason": "修正"},
            owner="expert_a",
        ),
    ],
    "reviews_api.committee": [public_page(lambda w: "/api/v1/decisions/idor-review/committee")],
    "reviews_api.reviews": [public_page(lambda w: "/api/v1/decisions/idor-review/reviews")],
    "reviews_api.review": [get(lambda w: f"/api/v1/reviews/{w.review.id}", owner=None)],
    "reviews_api.risk_assessments": [public_page(lambda w: "/api/v1/decisions/idor-review/risk-assessments")],
    "reviews_api.legality_reviews": [public_page(lambda w: "/api/v1/decisions/idor-review/legality-reviews")],
    "reviews_api.meetings": [public_page(lambda w: "/api/v1/decisions/idor-review/meetings")],
    # --- releases in draft, publication -------------------------------------------------------------------
    "releases.detail": [get(lambda w: f"/releases/{w.release.id}", owner="spokesperson")],
    "releases.text": [get(lambda w: f"/releases/{w.release.id}/texts/1", owner=None)],
    "releases.index": [public_page(lambda w: "/releases")],
    "releases.manage": [public_page(lambda w: "/releases/manage", refusals=frozenset({403}))],
    "releases_api.release": [get(lambda w: f"/api/v1/releases/{w.release.id}", owner=None)],
    "releases_api.releases": [public_page(lambda w: "/api/v1/releases")],
    "releases.publication": [public_page(lambda w: "/decisions/idor-draft/publication")],
    "releases.publish_decision": [
        get(lambda w: "/decisions/idor-decided/publication/new"),
        post(
            lambda w: "/decisions/idor-decided/publication/new",
            {
                "title": "决定",
                "document_number": "某政发〔2030〕1号",
                "effective_date": "2031-01-01",
                "final_text": "第一条 正文。",
                "public_adoption": "采纳",
                "expert_adoption": "采纳",
            },
        ),
    ],
    "releases_api.publication": [get(lambda w: "/api/v1/decisions/idor-draft/publication", owner=None)],
    # --- implementation: updates, feedback moderation, evaluation -----------------------------------------
    "implementation.page": [public_page(lambda w: "/decisions/idor-force/implementation")],
    "implementation.post_update": [
        post(lambda w: "/decisions/idor-force/implementation/updates", {"title": "进展", "body": "执行情况。"})
    ],
    "implementation.manage": [get(lambda w: "/decisions/idor-force/feedback/manage")],
    "implementation.receipt": [get(lambda w: f"/feedback/{w.feedback.tracking_number}")],
    "implementation.publish": [post(lambda w: f"/feedback/{w.feedback.tracking_number}/publish")],
    "implementation.reject": [
        post(lambda w: f"/feedback/{w.feedback.tracking_number}/reject", {"reason": "off_topic"})
    ],
    "implementation.respond": [
        post(lambda w: f"/feedback/{w.feedback.tracking_number}/respond", {"disposition": "adopted", "body": "答复"})
    ],
    "implementation.evaluate": [
        get(lambda w: "/decisions/idor-force/evaluation/new"),
        post(lambda w: "/decisions/idor-force/evaluation/new", {"conclusion": "effective", "report": "评估报告。"}),
    ],
    "implementation_api.implementation": [public_page(lambda w: "/api/v1/decisions/idor-force/implementation")],
    "implementation_api.feedback": [public_page(lambda w: "/api/v1/decisions/idor-force/feedback")],
    # --- accountability record, archive, ledger of a draft -------------------------------------------------
    "accountability.decision_record": [get(lambda w: "/decisions/idor-draft/accountability", may_change=VERIFIED)],
    "accountability.decision_archive": [get(lambda w: "/decisions/idor-draft/archive.zip", may_change=VERIFIED)],
    "accountability_api.accountability": [
        get(lambda w: "/api/v1/decisions/idor-draft/accountability", may_change=VERIFIED)
    ],
    "accountability_api.decision_ledger": [get(lambda w: "/api/v1/decisions/idor-draft/ledger", may_change=VERIFIED)],
    "accountability.person": [public_page(lambda w: f"/people/{w.people.official_a.id}")],
    "accountability_api.person": [public_page(lambda w: f"/api/v1/people/{w.people.official_a.id}")],
    # --- following a draft would confirm it exists and store a row ----------------------------------------
    "notifications.follow": [post(lambda w: "/decisions/idor-draft/follow", owner=None)],
    "notifications.unfollow": [post(lambda w: "/decisions/idor-draft/unfollow", owner=None)],
    # --- lists and feeds that must not show A's drafts -----------------------------------------------------
    "feeds.department_feed": [public_page(lambda w: "/departments/idor-a/feed.atom")],
    "feeds.consultations_feed": [public_page(lambda w: "/consultations.atom")],
    "feeds.releases_feed": [public_page(lambda w: "/releases.atom")],
    "feeds.sitemap_decisions": [public_page(lambda w: "/sitemaps/decisions-1.xml")],
    "search.index": [public_page(lambda w: "/search?q=草拟", may_change=SEARCH_QUEUE)],
    "search_api.search": [public_page(lambda w: "/api/v1/search?q=草拟", may_change=SEARCH_QUEUE)],
    "trace.index": [public_page(lambda w: "/trace/")],
    "api.trace_entries": [public_page(lambda w: "/api/v1/trace/entries?per_page=100")],
}

#: endpoint -> why it is not department-scoped (its own tests cover it).
NOT_SCOPED: dict[str, str] = {
    "static": "static files",
    "core.home": "public front page, lists only public decisions (checked by the decisions list probes)",
    "core.healthz": "health probe",
    "core.set_language": "a cookie of one's own",
    "auth.login": "own account",
    "auth.logout": "own account",
    "auth.register": "own account",
    "auth.profile": "own account",
    "auth.change_password": "own account",
    "auth.confirm_email": "own account (a signed token)",
    "auth.confirm_email_submit": "own account (a signed token)",
    "auth.resend_confirmation": "own account",
    "availability.index": "the portal's own availability record, public",
    "availability.probe": "health probe of comment intake",
    "availability.admin_probes": "admin only",
    "availability_api.availability": "the portal's own availability record, public",
    "admin.index": "admin only",
    "admin.departments": "admin only",
    "admin.create_department": "admin only",
    "admin.department_detail": "admin only",
    "admin.add_member": "admin only",
    "admin.remove_member": "admin only",
    "admin.users": "admin only",
    "admin.user_detail": "admin only",
    "admin.create_user": "admin only",
    "api.users": "admin only",
    "api.me": "own account",
    "api.departments": "the public list of departments",
    "api-docs.openapi_json": "the API document",
    "notifications.index": "own notifications (user-scoped, tests/notifications)",
    "notifications.open_notification": "own notifications (user-scoped, tests/notifications)",
    "notifications.mark_all_read": "own notifications",
    "consultation.submit_comment": "open to every account while a consultation is open",
    "implementation.submit_feedback": "open to every account while a decision is in force",
    "implementation.adjust": "the deciding body (leaders) and admins, any department",
    "hearings.mine": "own registrations",
    "hearings.withdraw": "own registration (user-scoped, tests/hearings)",
    "hearings.respond": "own registration (user-scoped, tests/hearings)",
    "hearings.cancel_observe": "own booking (user-scoped, tests/hearings)",
    "reviews.experts": "the expert pool is shared by every department",
    "reviews.expert_detail": "the expert pool is shared by every department",
    "reviews.expert_new": "the pool is kept by officials of any department (can_manage_experts)",
    "reviews.expert_edit": "the pool is kept by officials of any department (can_manage_experts)",
    "reviews.interest_add": "the pool is kept by officials of any department, and the expert",
    "reviews.interest_remove": "the pool is kept by officials of any department (can_manage_experts)",
    "reviews_api.experts": "the expert pool is shared by every department",
    "reviews_api.expert": "the expert pool is shared by every department",
    "reviews.my_assignments": "own assignments",
    "reviews.legality_queue": "the legality office reviews every department's drafts",
    "reviews.legality_opinion": "the legality office reviews every department's drafts",
    "reviews.meetings": "the deciding body (leaders)",
    "reviews.meeting_opinion": "the deciding body (leaders)",
    "reviews.meeting_decide": "the deciding body (leaders)",
    "releases.create": "spokespersons write releases for every department",
    "releases.edit": "spokespersons write releases for every department",
    "releases.schedule": "spokespersons write releases for every department",
    "releases.unschedule": "spokespersons write releases for every department",
    "releases.publish": "spokespersons write releases for every department",
    "releases.correct": "spokespersons write releases for every department",
    "accountability.checkpoints": "public ledger checkpoints",
    "accountability.people": "public list of office holders",
    "accountability_api.checkpoints": "public ledger checkpoints",
    "accountability_api.ledger_status": "public ledger status",
    "feeds.checkpoints_feed": "public ledger checkpoints",
    "feeds.sitemap": "index of the sitemaps below",
    "feeds.sitemap_pages": "static pages",
    "feeds.sitemap_releases": "published releases only (releases probes)",
    "trace.entry": "one public ledger entry (the list is probed)",
    "trace.verify_chain": "public ledger verification",
    "api.trace_entry": "one public ledger entry (the list is probed)",
    "api.trace_head": "public ledger head",
}


def _endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_endpoint_is_classified(app):
    """A new endpoint must be probed here or named, with a reason, as not department-scoped."""
    endpoints = _endpoints(app)
    unknown = sorted(endpoints - PROBES.keys() - NOT_SCOPED.keys())
    assert unknown == [], f"add these endpoints to PROBES or NOT_SCOPED in {__file__}: {unknown}"
    assert sorted(PROBES.keys() & NOT_SCOPED.keys()) == []
    gone = sorted((PROBES.keys() | NOT_SCOPED.keys()) - endpoints)
    assert gone == [], f"endpoints no longer in the URL map: {gone}"


# --- the probe runner -----------------------------------------------------------------------------------


def _snapshot(app) -> dict[str, str]:
    """A digest of every table's rows and of every file under the instance folder."""
    _db.session.expire_all()
    digest = {}
    for table in _db.metadata.sorted_tables:
        rows = sorted(repr(tuple(row)) for row in _db.session.execute(select(table)))
        digest[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    root = Path(app.instance_path)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    digest["<instance files>"] = hashlib.sha256("\n".join(files).encode()).hexdigest()
    return digest


def _client(app, world, who: str):
    client = app.test_client()
    if who != ANONYMOUS:
        user = getattr(world.people, who)
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, (who, response.status_code)
    return client


def _send(client, probe: Probe, world):
    """Send the probe; returns the URL, the response (closed) and its body as text."""
    url = probe.path(world)
    data = probe.data(world) if callable(probe.data) else probe.data
    response = client.open(url, method=probe.method, data=data)
    body = response.get_data().decode("utf-8", "replace")
    response.close()  # a file download holds the file open until closed
    return url, response, body


def _is_login_refusal(response) -> bool:
    if response.status_code == 401:
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def _cases():
    for endpoint, probes in sorted(PROBES.items()):
        for n, probe in enumerate(probes):
            yield pytest.param(endpoint, probe, id=f"{endpoint}[{n}]")


@pytest.mark.parametrize(("endpoint", "probe"), list(_cases()))
def test_department_b_cannot_reach_department_a(app, world, endpoint, probe):
    intruders = list(probe.intruders)
    if probe.method == "GET":
        intruders.append(ANONYMOUS)
    for who in intruders:
        client = _client(app, world, who)
        before = _snapshot(app)
        url, response, body = _send(client, probe, world)
        status = response.status_code
        if who == ANONYMOUS and _is_login_refusal(response):
            pass
        elif probe.leak_only:
            assert status in probe.refusals | {200}, (who, probe.method, url, status)
        else:
            assert status in probe.refusals, (who, probe.method, url, status, body[:300])
        assert SECRET not in body, (who, probe.method, url, status, "leaks department A's text")
        after = _snapshot(app)
        changed = sorted(name for name in before if before[name] != after[name] and name not in probe.may_change)
        assert changed == [], (who, probe.method, url, status, "changed", changed)
        assert endpoint == _endpoint_of(app, probe.method, url), url
    if probe.owner is not None:
        url, response, body = _send(_client(app, world, probe.owner), probe, world)
        assert response.status_code not in (401, 403, 404), (probe.owner, probe.method, url, response.status_code)
        assert "/login" not in response.headers.get("Location", ""), (probe.owner, url)
        if probe.leak_only and probe.method == "GET" and response.status_code == 200:
            # The owner does see the internal text the intruders were denied (so the check can fail).
            assert SECRET in body, (probe.owner, url, "shows no internal text")


def _endpoint_of(app, method: str, url: str) -> str:
    adapter = app.url_map.bind("localhost")
    endpoint, _args = adapter.match(url.split("?", 1)[0], method=method)
    return endpoint


@pytest.mark.parametrize(
    "url", ["/hearings/99999999999999999999", "/attachments/2147483648", "/api/v1/reviews/27727874572639310809399296"]
)
def test_ids_beyond_a_database_integer_are_404(app, url):
    """Guessing an absurd id is a plain 404 (it once reached the database driver: a 500)."""
    response = app.test_client().get(url)
    assert response.status_code == 404, response.status_code
