"""The chain of responsibility of one decision (责任倒查), built from the ledger.

Every item names a role, a person (when the viewer may know who), an outcome, and the ledger entry
that records it (its seq and hash link to /trace/<seq>). The entries are those whose subject is the
decision or a record belonging to it: versions, attachments, the consultation, hearings, committee
members, reviews, risk assessments, legality reviews, meetings and opinions, releases, the
publication, implementation updates, post-evaluations and adjustments.

What the public sees follows the ledger's own rule (``trace.operations.can_read``): an internal
entry shows its seq and hash but neither actor nor payload. Where another feature publishes a fact
itself (the reviews feature publishes reviews, the legality result and reviewer once the decision
is published, and the names of dissenting members once a meeting closes), the same fact is shown
here under the same rule, taken from that feature's records.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from werkzeug.routing import BuildError

from portal.core.extensions import db
from portal.decisions import permissions as decision_permissions
from portal.decisions.models import STAGE_LABELS, Decision, DraftVersion, Stage
from portal.trace.models import TraceEntry
from portal.trace.operations import can_read


def optional(module: str):
    """A feature module if it is installed, else None (features are built independently)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


#: Sections of the record, in the order of the procedure.
SECTIONS = [
    ("responsibility", _l("承办单位与直接责任人")),
    ("drafting", _l("起草")),
    ("consultation", _l("公开征求意见")),
    ("hearing", _l("听证")),
    ("expert_review", _l("专家论证")),
    ("risk", _l("风险评估")),
    ("legality", _l("合法性审查")),
    ("deliberation", _l("集体讨论与决定")),
    ("override", _l("越过程序条件")),
    ("publication", _l("公布与解读")),
    ("implementation", _l("执行、评估与调整")),
]

#: Role codes with their labels (stable codes: part of the API).
ROLES = {
    "department": _l("承办单位"),
    "responsible": _l("直接责任人"),
    "initiator": _l("立项"),
    "drafter": _l("起草人"),
    "consultation_organiser": _l("征求意见组织者"),
    "hearing_organiser": _l("听证组织者"),
    "hearing_reporter": _l("听证报告"),
    "expert": _l("论证专家"),
    "expert_recused": _l("回避的专家"),
    "risk_assessor": _l("风险评估"),
    "legality_submitter": _l("送审"),
    "legal_reviewer": _l("合法性审查人员"),
    "meeting_convenor": _l("会议召集"),
    "leader": _l("决策机关组成人员"),
    "head": _l("行政首长"),
    "override": _l("越过条件"),
    "withdrawal": _l("撤回"),
    "publisher": _l("公布决定"),
    "spokesperson": _l("新闻发言人"),
    "implementer": _l("执行单位"),
    "evaluator": _l("决策后评估"),
    "adjuster": _l("调整或暂停"),
}

#: Ledger actions that are steps of responsibility (the others are on the decision's timeline).
ROLE_ACTIONS = frozenset(
    {
        "decision.created",
        "version.created",
        "version.published",
        "consultation.opened",
        "hearing.published",
        "hearing.report_published",
        "committee.interest_declared",
        "review.signed",
        "review.amended",
        "risk.assessed",
        "legality.submitted",
        "legality.opinion_filed",
        "meeting.scheduled",
        "meeting.opinion_recorded",
        "meeting.decided",
        "decision.gate_overridden",
        "decision.withdrawn",
        "decision.published",
        "release.published",
        "release.corrected",
        "implementation.updated",
        "evaluation.filed",
        "decision.adjusted",
        "decision.suspended",
        "decision.resumed",
    }
)


@dataclass
class Item:
    section: str
    role: str
    #: The person, when the viewer may know who (None: not public).
    person_id: int | None
    person_name: str | None
    #: The outcome or what was done, in words.
    detail: str = ""
    at: datetime | None = None
    #: The ledger entry that records it, and whether its actor and payload are readable.
    entry: TraceEntry | None = None
    readable: bool = False
    dissent: bool = False
    #: A page with the record itself (a review, a meeting, a release).
    url: str | None = None

    @property
    def role_label(self) -> str:
        return str(ROLES.get(self.role, self.role))

    def as_dict(self) -> dict:
        return {
            "section": self.section,
            "role": self.role,
            "role_label": self.role_label,
            "person": {"id": self.person_id, "name": self.person_name} if self.person_name else None,
            "detail": self.detail,
            "at": self.at,
            "dissent": self.dissent,
            "url": self.url,
            "entry": (
                {
                    "seq": self.entry.seq,
                    "hash": self.entry.hash,
                    "action": self.entry.action,
                    "visibility": self.entry.visibility,
                }
                if self.entry is not None
                else None
            ),
        }


@dataclass
class Record:
    decision: Decision
    items: list[Item] = field(default_factory=list)

    def section(self, code: str) -> list[Item]:
        return [i for i in self.items if i.section == code]

    @property
    def sections(self) -> list[tuple[str, str, list[Item]]]:
        return [(code, str(label), self.section(code)) for code, label in SECTIONS if self.section(code)]

    def for_person(self, user_id: int) -> list[Item]:
        return [i for i in self.items if i.person_id == user_id]


def _url(endpoint: str, **values) -> str | None:
    """A page's path, or None (feature not installed, or no request: tests, CLI)."""
    if not has_request_context() or endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# Subjects belonging to a decision ------------------------------------------------------------------


def _ids(model, column, decision_id: int) -> list[str]:
    return [str(i) for i in db.session.scalars(select(model.id).where(column == decision_id))]


def subjects_of(decision: Decision) -> dict[str, list[str]]:
    """Ledger subjects (kind -> ids) that belong to ``decision``; features not installed are skipped."""
    found: dict[str, list[str]] = {
        "decision": [str(decision.id)],
        "draft_version": [str(v.id) for v in decision.versions],
    }
    attachments = optional("portal.decisions.attachments")
    if attachments is not None:
        found["attachment"] = [
            str(i)
            for i in db.session.scalars(
                select(attachments.Attachment.id).where(
                    attachments.Attachment.owner_kind == "decision", attachments.Attachment.owner_id == decision.id
                )
            )
        ]
    consultation = optional("portal.consultation.models")
    if consultation is not None:
        found["consultation"] = _ids(consultation.Consultation, consultation.Consultation.decision_id, decision.id)
    hearings = optional("portal.hearings.models")
    if hearings is not None:
        found["hearing"] = _ids(hearings.Hearing, hearings.Hearing.decision_id, decision.id)
    reviews = optional("portal.reviews.models")
    if reviews is not None:
        found["committee_member"] = _ids(reviews.CommitteeMember, reviews.CommitteeMember.decision_id, decision.id)
        found["review"] = _ids(reviews.Review, reviews.Review.decision_id, decision.id)
        found["risk_assessment"] = _ids(reviews.RiskAssessment, reviews.RiskAssessment.decision_id, decision.id)
        found["legality_review"] = _ids(reviews.LegalityReview, reviews.LegalityReview.decision_id, decision.id)
        meetings = _ids(reviews.Meeting, reviews.Meeting.decision_id, decision.id)
        found["meeting"] = meetings
        if meetings:
            found["meeting_opinion"] = [
                str(i)
                for i in db.session.scalars(
                    select(reviews.MeetingOpinion.id).where(
                        reviews.MeetingOpinion.meeting_id.in_([int(m) for m in meetings])
                    )
                )
            ]
    from portal.implementation.models import Adjustment, ImplementationUpdate, PostEvaluation
    from portal.releases.models import Release

    found["release"] = _ids(Release, Release.decision_id, decision.id)
    found["implementation_update"] = _ids(ImplementationUpdate, ImplementationUpdate.decision_id, decision.id)
    found["post_evaluation"] = _ids(PostEvaluation, PostEvaluation.decision_id, decision.id)
    found["decision_adjustment"] = _ids(Adjustment, Adjustment.decision_id, decision.id)
    return {kind: ids for kind, ids in found.items() if ids}


def subject_filter(subjects: dict[str, list[str]]):
    return or_(
        *(and_(TraceEntry.subject_kind == kind, TraceEntry.subject_id.in_(ids)) for kind, ids in subjects.items())
    )


def decision_entries(
    decision: Decision, *, actions: frozenset[str] | None = None, limit: int = 5000
) -> list[TraceEntry]:
    """The ledger entries of ``decision`` and its records, oldest first."""
    stmt = select(TraceEntry).where(subject_filter(subjects_of(decision)))
    if actions is not None:
        stmt = stmt.where(TraceEntry.action.in_(sorted(actions)))
    return list(db.session.scalars(stmt.order_by(TraceEntry.seq).limit(limit)))


# Building the record -------------------------------------------------------------------------------


class _Builder:
    def __init__(self, decision: Decision, viewer):
        self.decision = decision
        self.viewer = viewer
        self.record = Record(decision)
        self.entries = decision_entries(decision, actions=ROLE_ACTIONS)
        self.by_action: dict[str, list[TraceEntry]] = defaultdict(list)
        self.by_subject: dict[tuple[str, str], list[TraceEntry]] = defaultdict(list)
        for entry in self.entries:
            self.by_action[entry.action].append(entry)
            self.by_subject[(entry.subject_kind, entry.subject_id)].append(entry)
        self.reviews = optional("portal.reviews.models")
        self.review_permissions = optional("portal.reviews.permissions")

    # helpers

    def readable(self, entry: TraceEntry | None) -> bool:
        return entry is not None and can_read(entry, self.viewer)

    def add(self, section: str, role: str, entry: TraceEntry | None, *, person=None, detail="", **extra) -> Item:
        """An item; the person is the entry's actor when readable, or ``person`` (id, name) when given."""
        readable = self.readable(entry)
        person_id = person_name = None
        if person is not None:
            person_id, person_name = person
        elif entry is not None and readable and entry.actor_id is not None:
            person_id, person_name = entry.actor_id, entry.actor_name
        item = Item(
            section=section,
            role=role,
            person_id=person_id,
            person_name=person_name,
            detail=str(detail),
            at=entry.at if entry is not None else extra.pop("at", None),
            entry=entry,
            readable=readable,
            **extra,
        )
        self.record.items.append(item)
        return item

    def first(self, kind: str, ident, action: str) -> TraceEntry | None:
        return next((e for e in self.by_subject.get((kind, str(ident)), []) if e.action == action), None)

    def reviews_public(self) -> bool:
        if self.review_permissions is None:
            return False
        return self.review_permissions.can_see_reviews(self.viewer, self.decision)

    def internal_visible(self) -> bool:
        if self.review_permissions is None:
            return decision_permissions.is_insider(self.viewer, self.decision)
        return self.review_permissions.can_see_internal_records(self.viewer, self.decision)

    # sections

    def responsibility(self) -> None:
        d = self.decision
        created = next(iter(self.by_action.get("decision.created", [])), None)
        self.add("responsibility", "department", created, person=(None, None), detail=d.department.name)
        for user in d.responsible:
            self.add("responsibility", "responsible", created, person=(user.id, user.display_name))
        if created is not None and self.readable(created):
            self.add("responsibility", "initiator", created, detail=_("立项"))

    def drafting(self) -> None:
        for version in self.decision.versions:
            created = self.first("draft_version", version.id, "version.created")
            published = self.first("draft_version", version.id, "version.published")
            if self.readable(created):
                detail = _("第 %(n)s 版草案", n=version.number)
                if version.is_published:
                    detail += _("(已公布)")
                self.add("drafting", "drafter", created, detail=detail)
            elif published is not None:
                self.add("drafting", "drafter", published, detail=_("第 %(n)s 版草案(公布)", n=version.number))

    def consultation(self) -> None:
        for entry in self.by_action.get("consultation.opened", []):
            url = _url("consultation.report", slug=self.decision.slug)
            self.add("consultation", "consultation_organiser", entry, detail=_("发布征求意见公告"), url=url)

    def hearings(self) -> None:
        for entry in self.by_action.get("hearing.published", []):
            url = _url("hearings.detail", hearing_id=int(entry.subject_id))
            title = entry.payload_data.get("title", "") if self.readable(entry) else ""
            self.add("hearing", "hearing_organiser", entry, detail=_("发布听证公告 %(t)s", t=title), url=url)
        for entry in self.by_action.get("hearing.report_published", []):
            url = _url("hearings.detail", hearing_id=int(entry.subject_id))
            self.add("hearing", "hearing_reporter", entry, detail=_("发布听证报告"), url=url)

    def expert_review(self) -> None:
        reviews_by_id = {}
        if self.reviews is not None:
            for review in db.session.scalars(
                select(self.reviews.Review).where(self.reviews.Review.decision_id == self.decision.id)
            ):
                reviews_by_id[str(review.id)] = review
        for entry in self.by_action.get("review.signed", []) + self.by_action.get("review.amended", []):
            review = reviews_by_id.get(entry.subject_id)
            visible = review is not None and self.review_permissions.can_see_review(self.viewer, review)
            if visible:
                detail = review.recommendation_enum.label
                if review.conditions:
                    detail += _("(条件:%(c)s)", c=review.conditions)
            else:
                detail = _("论证意见已签署,决策公布后公开")
            if entry.action == "review.amended":
                detail = _("修订:") + detail
            url = _url("reviews.review_detail", review_id=review.id) if visible else None
            item = self.add("expert_review", "expert", entry, detail=detail, url=url)
            item.dissent = bool(visible and review.recommendation == "oppose")
        for entry in self.by_action.get("committee.interest_declared", []):
            if self.readable(entry) and entry.payload_data.get("declaration") == "interest":
                self.add("expert_review", "expert_recused", entry, detail=_("申报存在直接利害关系,回避"))

    def risk(self) -> None:
        assessments = {}
        if self.reviews is not None:
            for a in db.session.scalars(
                select(self.reviews.RiskAssessment).where(self.reviews.RiskAssessment.decision_id == self.decision.id)
            ):
                assessments[str(a.id)] = a
        for entry in self.by_action.get("risk.assessed", []):
            assessment = assessments.get(entry.subject_id)
            if assessment is not None and (self.readable(entry) or self.reviews_public()):
                detail = _(
                    "风险等级:%(level)s,%(c)s",
                    level=assessment.level_enum.label,
                    c=_("可控") if assessment.controllable else _("不可控"),
                )
            else:
                detail = _("已评估(内部记录)")
            self.add("risk", "risk_assessor", entry, detail=detail, url=_url("reviews.risk", slug=self.decision.slug))

    def legality(self) -> None:
        reviews = {}
        if self.reviews is not None:
            for r in db.session.scalars(
                select(self.reviews.LegalityReview).where(self.reviews.LegalityReview.decision_id == self.decision.id)
            ):
                reviews[str(r.id)] = r
        url = _url("reviews.legality", slug=self.decision.slug)
        for entry in self.by_action.get("legality.submitted", []):
            self.add("legality", "legality_submitter", entry, detail=_("送交合法性审查"), url=url)
        for entry in self.by_action.get("legality.opinion_filed", []):
            review = reviews.get(entry.subject_id)
            person = None
            if (
                review is not None
                and review.reviewer is not None
                and not self.readable(entry)
                and self.reviews_public()
            ):
                person = (review.reviewer.id, review.reviewer.display_name)
            if review is not None and review.result and (self.readable(entry) or self.reviews_public()):
                detail = review.result_enum.label
            else:
                detail = _("审查意见已出具,决策公布后公开")
            self.add("legality", "legal_reviewer", entry, person=person, detail=detail, url=url)

    def deliberation(self) -> None:
        if self.reviews is None:
            return
        meetings = {
            str(m.id): m
            for m in db.session.scalars(
                select(self.reviews.Meeting).where(self.reviews.Meeting.decision_id == self.decision.id)
            )
        }
        insider = self.internal_visible()
        for entry in self.by_action.get("meeting.scheduled", []):
            meeting = meetings.get(entry.subject_id)
            detail = ""
            if meeting is not None:
                detail = _("%(date)s %(kind)s", date=meeting.meeting_date.isoformat(), kind=meeting.kind_enum.label)
            self.add(
                "deliberation",
                "meeting_convenor",
                entry,
                detail=detail,
                url=_url("reviews.meeting", meeting_id=int(entry.subject_id)),
            )
        for meeting_id, meeting in meetings.items():
            url = _url("reviews.meeting", meeting_id=meeting.id)
            decided = self.first("meeting", meeting_id, "meeting.decided")
            if insider:
                for opinion in meeting.opinions:
                    entry = self.first("meeting_opinion", opinion.id, "meeting.opinion_recorded")
                    item = self.add(
                        "deliberation",
                        "leader",
                        entry,
                        person=(opinion.member_id, opinion.member.display_name),
                        detail=opinion.position_enum.label,
                        url=url,
                    )
                    item.dissent = opinion.position == "dissent"
            elif meeting.is_closed and decided is not None:
                # What the meeting's public record says: who attended, who dissented, the tally.
                tally = meeting.tally()
                others = _("同意") if tally.get("abstain", 0) == 0 else _("同意或弃权")
                for opinion in meeting.opinions:
                    dissent = opinion.position == "dissent"
                    item = self.add(
                        "deliberation",
                        "leader",
                        decided,
                        person=(opinion.member_id, opinion.member.display_name),
                        detail=self.reviews.Position.DISSENT.label if dissent else others,
                        url=url,
                    )
                    item.dissent = dissent
            else:
                for opinion in meeting.opinions:
                    entry = self.first("meeting_opinion", opinion.id, "meeting.opinion_recorded")
                    self.add(
                        "deliberation", "leader", entry, person=(None, None), detail=_("意见已记录(内部记录)"), url=url
                    )
            if decided is not None:
                payload = decided.payload_data
                detail = meeting.outcome_enum.label if meeting.outcome_enum else payload.get("outcome", "")
                if payload.get("departed_from_majority"):
                    detail += _(";与多数意见不一致,理由:%(r)s", r=payload.get("departure_reason", ""))
                self.add("deliberation", "head", decided, detail=detail, url=url)

    def overrides(self) -> None:
        for entry in self.by_action.get("decision.gate_overridden", []):
            payload = entry.payload_data if self.readable(entry) else {}
            stage = (
                STAGE_LABELS.get(Stage(payload["stage"])) if payload.get("stage") in Stage._value2member_map_ else ""
            )
            target = (
                STAGE_LABELS.get(Stage(payload["target"])) if payload.get("target") in Stage._value2member_map_ else ""
            )
            detail = _("从“%(a)s”推进到“%(b)s”,理由:%(r)s", a=stage, b=target, r=payload.get("reason", ""))
            if payload.get("unmet"):
                detail += _("(未满足:%(u)s)", u=";".join(payload["unmet"]))
            self.add("override", "override", entry, detail=detail)
        for entry in self.by_action.get("decision.withdrawn", []):
            payload = entry.payload_data if self.readable(entry) else {}
            self.add("override", "withdrawal", entry, detail=_("理由:%(r)s", r=payload.get("reason", "")))

    def publication(self) -> None:
        for entry in self.by_action.get("decision.published", []):
            payload = entry.payload_data if self.readable(entry) else {}
            self.add(
                "publication",
                "publisher",
                entry,
                detail=_(
                    "文号 %(n)s,自 %(d)s 起施行",
                    n=payload.get("document_number", ""),
                    d=payload.get("effective_date", ""),
                ),
                url=_url("releases.publication", slug=self.decision.slug),
            )
        from portal.releases.models import Release

        releases = {
            str(r.id): r for r in db.session.scalars(select(Release).where(Release.decision_id == self.decision.id))
        }
        for entry in self.by_action.get("release.published", []) + self.by_action.get("release.corrected", []):
            release = releases.get(entry.subject_id)
            if release is None:
                continue
            author = release.created_by
            person = (author.id, author.display_name) if author is not None else None
            detail = release.kind_enum.label + ":" + release.title
            if entry.action == "release.corrected":
                detail = _("更正:") + detail
            self.add(
                "publication",
                "spokesperson",
                entry,
                person=person,
                detail=detail,
                url=_url("releases.detail", release_id=release.id),
            )

    def implementation(self) -> None:
        for entry in self.by_action.get("implementation.updated", []):
            payload = entry.payload_data if self.readable(entry) else {}
            self.add("implementation", "implementer", entry, detail=payload.get("title", ""))
        for entry in self.by_action.get("evaluation.filed", []):
            payload = entry.payload_data if self.readable(entry) else {}
            from portal.implementation.models import CONCLUSIONS

            conclusion = CONCLUSIONS.get(payload.get("conclusion", ""), "")
            self.add("implementation", "evaluator", entry, detail=_("评估结论:%(c)s", c=conclusion))
        for action in ("decision.adjusted", "decision.suspended", "decision.resumed"):
            for entry in self.by_action.get(action, []):
                payload = entry.payload_data if self.readable(entry) else {}
                from portal.implementation.models import ADJUSTMENT_LABELS, AdjustmentKind

                kind = payload.get("kind")
                label = ADJUSTMENT_LABELS.get(AdjustmentKind(kind)) if kind in AdjustmentKind._value2member_map_ else ""
                self.add(
                    "implementation",
                    "adjuster",
                    entry,
                    detail=_("%(k)s,理由:%(r)s", k=label, r=payload.get("reason", "")),
                )

    def build(self) -> Record:
        self.responsibility()
        self.drafting()
        self.consultation()
        self.hearings()
        self.expert_review()
        self.risk()
        self.legality()
        self.deliberation()
        self.overrides()
        self.publication()
        self.implementation()
        order = {code: i for i, (code, _label) in enumerate(SECTIONS)}
        self.record.items.sort(key=lambda i: (order[i.section], i.entry.seq if i.entry else 0))
        return self.record


def build_record(decision: Decision, viewer) -> Record:
    """The accountability record of ``decision`` as ``viewer`` may see it."""
    return _Builder(decision, viewer).build()


def outcome_label(decision: Decision) -> str:
    """The decision's outcome in a few words, for the person lookup."""
    if decision.stage == Stage.WITHDRAWN.value:
        return _("已撤回")
    label = decision.stage_label
    if decision.document_number and decision.stage in {
        s.value for s in (Stage.PUBLISHED, Stage.IMPLEMENTATION, Stage.EVALUATION, Stage.ARCHIVED)
    }:
        return _("%(stage)s(%(n)s)", stage=label, n=decision.document_number)
    return label


def visible_versions(decision: Decision, viewer) -> list[DraftVersion]:
    insider = decision_permissions.is_insider(viewer, decision)
    return [v for v in decision.versions if v.is_published or insider]
