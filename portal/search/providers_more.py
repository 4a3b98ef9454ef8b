"""Providers of hearings, releases, reviews and reports (issue 7, point 3).

Each provider imports its feature inside a ``try`` so a site without that feature package still
starts; each answers None for anything the public may not read, using the rule the feature's own
pages use (``can_see_hearing``, ``Release.is_published``, ``can_see_reviews``, the decision's
``can_view``) with an anonymous visitor, and nothing of a withdrawn decision is found.

Several record kinds share one document type (a hearing's notice and its report; expert reviews,
risk assessments and legality opinions; implementation updates and post-evaluations), so their
document ids carry the kind in the last decimal digit: ``id = pk * 10 + kind`` (``review:571`` is
risk assessment 57). Releases have one kind and use the release id itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from flask import current_app, request, request_started
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import selectinload

from portal.auth.models import AnonymousUser, Department
from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.search.providers import changed, link
from portal.search.registry import Document, Provider, register_provider

log = logging.getLogger("portal.search")

#: Document ids are ``pk * KINDS + kind`` where a type holds several kinds of record.
KINDS = 10

#: Changes of a decision that change the documents of its records (title in labels, slug in
#: links and the decision filter, department facet, stage for what is public).
DECISION_FIELDS = ("title", "slug", "department_id", "stage")


def encode(pk: int, kind: int) -> int:
    return pk * KINDS + kind


def decode(ident: int) -> tuple[int, int]:
    """``(pk, kind)`` of a document id."""
    return divmod(ident, KINDS)


@contextmanager
def indexing() -> Iterator[None]:
    """Build documents in the site's default language (the index's), even inside a request in English."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
        yield


def _anonymous() -> AnonymousUser:
    return AnonymousUser()


def _withdrawn(decision: Decision | None) -> bool:
    return decision is None or decision.stage == Stage.WITHDRAWN.value


def _dept_code(decision: Decision | None) -> str | None:
    return decision.department.code if decision is not None and decision.department is not None else None


def _join(*texts: str | None) -> str:
    return "\n".join(t for t in texts if t and t.strip())


def _decisions(ids: Iterable[int]) -> dict[int, Decision]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(select(Decision).where(Decision.id.in_(ids)))}


def parent_decision_ids(instance) -> list[int]:
    """Decisions whose records' documents change with ``instance`` (a Decision or a Department)."""
    state = inspect(instance)
    if state.pending or state.session is None:
        return []  # a new decision or department has no records yet
    if isinstance(instance, Decision) and instance.id is not None and changed(instance, *DECISION_FIELDS):
        return [instance.id]
    if isinstance(instance, Department) and instance.id is not None and changed(instance, "code"):
        return list(state.session.scalars(select(Decision.id).where(Decision.department_id == instance.id)))
    return []


def _children(instance, model, decision_ids: list[int]) -> list[int]:
    """Ids of ``model`` rows belonging to ``decision_ids``, in the flushing session."""
    if not decision_ids:
        return []
    session = inspect(instance).session
    return list(session.scalars(select(model.id).where(model.decision_id.in_(decision_ids))))


# Hearings: the notice once published, the report once published -------------------------------

NOTICE, REPORT = 1, 2
HEARING_FIELDS = (
    "title", "purpose", "agenda", "place", "selection_method", "status", "published_at", "decision_id",
    "report_body", "report_support", "report_oppose", "report_neutral", "report_published_at",
)  # fmt: skip


def hearing_provider() -> Provider | None:
    """Published hearing notices and published hearing reports; never registrations or the transcript."""
    try:
        from portal.hearings.models import Hearing, HearingCategory, HearingStatus
        from portal.hearings.permissions import can_see_hearing
    except ImportError:
        return None

    def both(hearing_id: int | None) -> list[int]:
        return [] if hearing_id is None else [encode(hearing_id, NOTICE), encode(hearing_id, REPORT)]

    def affected(instance) -> Iterable[int]:
        if isinstance(instance, Hearing):
            return both(instance.id) if changed(instance, *HEARING_FIELDS) else []
        if isinstance(instance, HearingCategory):
            return [encode(instance.hearing_id, NOTICE)] if instance.hearing_id is not None else []
        ids: list[int] = []
        for hearing_id in _children(instance, Hearing, parent_decision_ids(instance)):
            ids += both(hearing_id)
        return ids

    def load(ids: list[int]) -> dict[int, Document | None]:
        rows = {
            h.id: h
            for h in db.session.scalars(
                select(Hearing)
                .where(Hearing.id.in_({decode(i)[0] for i in ids}))
                .options(selectinload(Hearing.categories))
            )
        }
        visitor = _anonymous()
        found: dict[int, Document | None] = {}
        for ident in ids:
            pk, kind = decode(ident)
            hearing = rows.get(pk)
            found[ident] = None
            if hearing is None or _withdrawn(hearing.decision) or not can_see_hearing(visitor, hearing):
                continue  # a draft notice (or a withdrawn decision's hearing) is never found
            decision = hearing.decision
            common = {"department": _dept_code(decision), "decision": decision.slug}
            if kind == NOTICE:
                found[ident] = Document(
                    id=ident,
                    title=hearing.title,
                    body=_join(hearing.purpose, hearing.agenda, hearing.selection_method, hearing.place),
                    extra=_join(decision.title, *(c.name for c in hearing.categories)),
                    date=hearing.published_at or hearing.created_at,
                    ref=str(hearing.id),
                    **common,
                )
            elif kind == REPORT and hearing.report_published_at is not None:
                found[ident] = Document(
                    id=ident,
                    title=_("听证报告:%(title)s", title=hearing.title),
                    body=_join(
                        hearing.report_body, hearing.report_support, hearing.report_oppose, hearing.report_neutral
                    ),
                    extra=decision.title,
                    date=hearing.report_published_at,
                    ref=f"{hearing.id}#report",
                    **common,
                )
        return found

    def all_ids() -> Iterable[int]:
        rows = db.session.execute(
            select(Hearing.id, Hearing.report_published_at)
            .where(Hearing.status != HearingStatus.DRAFT.value)
            .order_by(Hearing.id)
        )
        ids: list[int] = []
        for hearing_id, reported in rows:
            ids.append(encode(hearing_id, NOTICE))
            if reported is not None:
                ids.append(encode(hearing_id, REPORT))
        return ids

    def url(hit: dict) -> str:
        ident, _, anchor = (hit.get("ref") or "").partition("#")
        if not ident.isdigit():
            return link("hearings.index", "/hearings")
        return link("hearings.detail", f"/hearings/{ident}", anchor, hearing_id=int(ident))

    return Provider(type="hearing", models=(Hearing, HearingCategory, Decision, Department), affected=affected,
                    load=load, all_ids=all_ids, url=url)  # fmt: skip


# Releases: published (or scheduled and due) releases and interpretations, their current text ----


def release_provider() -> Provider | None:
    """Releases and interpretations (one table) once published by the server's clock."""
    try:
        from portal.releases.models import KIND_LABELS, Release, ReleaseCorrection
        from portal.releases.queries import is_published_sql
    except ImportError:
        return None
    from portal.trace.models import TraceEntry

    def affected(instance) -> Iterable[int]:
        if isinstance(instance, Release):
            return [instance.id]
        if isinstance(instance, ReleaseCorrection):
            return [instance.release_id]
        if isinstance(instance, TraceEntry):
            # ``publish_due`` flips a due scheduled release with a bulk UPDATE the flush never sees;
            # the ledger entry it records in the same transaction is seen, so it queues the release.
            if instance.action == "release.published" and instance.subject_kind == "release":
                return [int(instance.subject_id)] if str(instance.subject_id).isdigit() else []
            return []
        state = inspect(instance)
        if (
            isinstance(instance, Department)
            and not state.pending
            and state.session is not None
            and changed(instance, "code")
        ):
            return list(state.session.scalars(select(Release.id).where(Release.department_id == instance.id)))
        return _children(instance, Release, parent_decision_ids(instance))

    def load(ids: list[int]) -> dict[int, Document | None]:
        rows = db.session.scalars(
            select(Release)
            .where(Release.id.in_(ids))
            .options(selectinload(Release.corrections), selectinload(Release.department))
        ).all()
        decisions = _decisions(r.decision_id for r in rows)
        found: dict[int, Document | None] = {}
        for release in rows:
            decision = decisions.get(release.decision_id) if release.decision_id is not None else None
            if not release.is_published() or (release.decision_id is not None and _withdrawn(decision)):
                found[release.id] = None  # draft, scheduled and not yet due, or about a withdrawn decision
                continue
            department = release.department
            kind = KIND_LABELS.get(release.kind, "")  # StrEnum keys equal their codes
            found[release.id] = Document(
                id=release.id,
                title=release.title,
                # Corrections carry the whole corrected text: only the current one is searchable.
                body=_join(release.current_text, release.public_adoption, release.expert_adoption),
                extra=_join(release.summary, str(kind), decision.title if decision is not None else ""),
                date=release.public_time(),
                department=department.code if department is not None else _dept_code(decision),
                decision=decision.slug if decision is not None else None,
                ref=str(release.id),
            )
        return found

    def all_ids() -> Iterable[int]:
        return db.session.scalars(select(Release.id).where(is_published_sql()).order_by(Release.id)).all()

    def url(hit: dict) -> str:
        ident = hit.get("ref") or ""
        if not ident.isdigit():
            return link("releases.index", "/releases")
        return link("releases.detail", f"/releases/{ident}", release_id=int(ident))

    return Provider(type="release", models=(Release, ReleaseCorrection, TraceEntry, Decision, Department),
                    affected=affected, load=load, all_ids=all_ids, url=url)  # fmt: skip


# Reviews: expert reviews, risk assessments, legality opinions, from when they are public -------

EXPERT, RISK, LEGALITY = 1, 2, 3


def review_provider() -> Provider | None:
    """Signed expert reviews (newest version), risk assessments and filed legality opinions, public
    by the review pages' own rule (``can_see_reviews`` for an anonymous visitor). Meetings and their
    minutes are internal and have no document at all."""
    try:
        from portal.reviews.models import (
            ASPECTS,
            LABELS,
            LegalityResult,
            LegalityReview,
            Recommendation,
            Review,
            RiskAssessment,
            RiskLevel,
        )
        from portal.reviews.permissions import PUBLIC_STAGES, can_see_reviews
    except ImportError:
        return None
    models = {EXPERT: Review, RISK: RiskAssessment, LEGALITY: LegalityReview}

    def affected(instance) -> Iterable[int]:
        if isinstance(instance, Review):
            ids = [encode(instance.id, EXPERT)] if instance.id is not None else []
            if instance.supersedes_id is not None:
                ids.append(encode(instance.supersedes_id, EXPERT))  # an amendment replaces it in results
            return ids
        if isinstance(instance, RiskAssessment):
            return [encode(instance.id, RISK)] if instance.id is not None else []
        if isinstance(instance, LegalityReview):
            return [encode(instance.id, LEGALITY)] if instance.id is not None else []
        decision_ids = parent_decision_ids(instance)
        return [encode(pk, kind) for kind, model in models.items() for pk in _children(instance, model, decision_ids)]

    def load(ids: list[int]) -> dict[int, Document | None]:
        wanted: dict[int, set[int]] = {kind: set() for kind in models}
        for ident in ids:
            pk, kind = decode(ident)
            if kind in wanted:
                wanted[kind].add(pk)
        rows = {
            kind: {r.id: r for r in db.session.scalars(select(models[kind]).where(models[kind].id.in_(pks)))}
            for kind, pks in wanted.items()
            if pks
        }
        newest: dict[int, int] = {}
        if rows.get(EXPERT):
            members = {r.member_id for r in rows[EXPERT].values()}
            newest = dict(
                db.session.execute(
                    select(Review.member_id, func.max(Review.version))
                    .where(Review.member_id.in_(members))
                    .group_by(Review.member_id)
                ).all()
            )
        decisions = _decisions(r.decision_id for by_id in rows.values() for r in by_id.values())
        visitor = _anonymous()
        found: dict[int, Document | None] = {}
        for ident in ids:
            pk, kind = decode(ident)
            record = rows.get(kind, {}).get(pk)
            decision = decisions.get(record.decision_id) if record is not None else None
            found[ident] = None
            if record is None or _withdrawn(decision) or not can_see_reviews(visitor, decision):
                continue  # not public until the decision is published
            common = {"id": ident, "department": _dept_code(decision), "decision": decision.slug}
            if kind == EXPERT:
                if newest.get(record.member_id) != record.version:
                    continue  # superseded by an amendment (still readable from the newest version's page)
                parts = []
                for code, aspect in ASPECTS:
                    parts.append(f"{aspect}:{getattr(record, f'{code}_text')}")
                found[ident] = Document(
                    title=_("专家论证意见(%(name)s):%(title)s", name=record.signed_name, title=decision.title),
                    body=_join(*parts, record.conditions, record.amendment_reason),
                    extra=_join(record.signed_name, str(LABELS[Recommendation].get(record.recommendation, ""))),
                    date=record.signed_at,
                    ref=f"review/{record.id}",
                    **common,
                )
            elif kind == RISK:
                found[ident] = Document(
                    title=_("风险评估:%(title)s", title=decision.title),
                    body=_join(record.findings, record.mitigation),
                    extra=str(LABELS[RiskLevel].get(record.level, "")),
                    date=record.created_at,
                    ref=f"risk/{decision.slug}#risk-{record.id}",
                    **common,
                )
            elif kind == LEGALITY and record.is_filed:
                found[ident] = Document(
                    title=_("合法性审查意见:%(title)s", title=decision.title),
                    body=_join(record.opinion, record.required_changes),
                    extra=_join(
                        str(LABELS[LegalityResult].get(record.result, "")),
                        record.materials,
                    ),
                    date=record.filed_at,
                    ref=f"legality/{decision.slug}#legality-{record.id}",
                    **common,
                )
        return found

    def all_ids() -> Iterable[int]:
        public = Decision.stage.in_([s.value for s in PUBLIC_STAGES])
        ids: list[int] = []
        for kind, model in models.items():
            stmt = select(model.id).join(Decision, model.decision_id == Decision.id).where(public)
            if model is LegalityReview:
                stmt = stmt.where(LegalityReview.result.is_not(None))
            ids += [encode(pk, kind) for pk in db.session.scalars(stmt.order_by(model.id))]
        return sorted(ids)

    def url(hit: dict) -> str:
        ref = hit.get("ref") or ""
        page, _, rest = ref.partition("/")
        if page == "review" and rest.isdigit():
            return link("reviews.review_detail", f"/reviews/{rest}", review_id=int(rest))
        slug, _, anchor = rest.partition("#")
        endpoint = {"risk": "reviews.risk", "legality": "reviews.legality"}.get(page)
        if endpoint is None or not slug:
            return link("decisions.index", "/decisions")
        return link(endpoint, f"/decisions/{slug}/{page}", anchor, slug=slug)

    return Provider(type="review", models=(Review, RiskAssessment, LegalityReview, Decision, Department),
                    affected=affected, load=load, all_ids=all_ids, url=url)  # fmt: skip


# Reports: implementation updates and post-evaluation reports ------------------------------------

UPDATE, EVALUATION = 1, 2


def report_provider() -> Provider | None:
    """Implementation updates and post-evaluation reports, public with their decision's page.

    The consultation report (意见征集情况说明) is assembled from the comments on each view, not
    stored, so it has no document (the published comments it is built from are documents).
    """
    try:
        from portal.implementation.models import CONCLUSIONS, ImplementationUpdate, PostEvaluation
    except ImportError:
        return None
    from portal.decisions.permissions import can_view

    models = {UPDATE: ImplementationUpdate, EVALUATION: PostEvaluation}
    anchors = {UPDATE: "updates", EVALUATION: "evaluations"}

    def affected(instance) -> Iterable[int]:
        for kind, model in models.items():
            if isinstance(instance, model):
                return [encode(instance.id, kind)] if instance.id is not None else []
        decision_ids = parent_decision_ids(instance)
        return [encode(pk, kind) for kind, model in models.items() for pk in _children(instance, model, decision_ids)]

    def load(ids: list[int]) -> dict[int, Document | None]:
        wanted: dict[int, set[int]] = {kind: set() for kind in models}
        for ident in ids:
            pk, kind = decode(ident)
            if kind in wanted:
                wanted[kind].add(pk)
        rows = {
            kind: {r.id: r for r in db.session.scalars(select(models[kind]).where(models[kind].id.in_(pks)))}
            for kind, pks in wanted.items()
            if pks
        }
        decisions = _decisions(r.decision_id for by_id in rows.values() for r in by_id.values())
        visitor = _anonymous()
        found: dict[int, Document | None] = {}
        for ident in ids:
            pk, kind = decode(ident)
            record = rows.get(kind, {}).get(pk)
            decision = decisions.get(record.decision_id) if record is not None else None
            found[ident] = None
            if record is None or _withdrawn(decision) or not can_view(visitor, decision):
                continue
            if kind == UPDATE:
                title, body, extra = record.title, record.body, decision.title
            else:
                title = _("决策后评估报告:%(title)s", title=decision.title)
                body, extra = record.report, str(CONCLUSIONS.get(record.conclusion, ""))
            found[ident] = Document(
                id=ident,
                title=title,
                body=body,
                extra=extra,
                date=record.created_at,
                department=_dept_code(decision),
                decision=decision.slug,
                ref=f"{decision.slug}#{anchors[kind]}",
            )
        return found

    def all_ids() -> Iterable[int]:
        ids: list[int] = []
        for kind, model in models.items():
            stmt = select(model.id).join(Decision, model.decision_id == Decision.id)
            stmt = stmt.where(Decision.stage != Stage.WITHDRAWN.value).order_by(model.id)
            ids += [encode(pk, kind) for pk in db.session.scalars(stmt)]
        return sorted(ids)

    def url(hit: dict) -> str:
        slug, _, anchor = (hit.get("ref") or "").partition("#")
        if not slug:
            return link("decisions.index", "/decisions")
        return link("implementation.page", f"/decisions/{slug}/implementation", anchor, slug=slug)

    return Provider(type="report", models=(ImplementationUpdate, PostEvaluation, Decision, Department),
                    affected=affected, load=load, all_ids=all_ids, url=url)  # fmt: skip


# Scheduled releases that fall due while nobody reads a release page -----------------------------

#: Blueprints whose requests first bring due scheduled releases up to date (the page and the API).
SEARCH_BLUEPRINTS = frozenset({"search", "search_api"})


def _publish_due_before_search(sender, **_extra) -> None:
    """Before a search, mark due scheduled releases published (as the release pages do) and index them now.

    A scheduled release is public from its time by the clock, but its row (and so the queue) only
    follows when someone reads a release page; a search must not wait for that.
    """
    if request.blueprint not in SEARCH_BLUEPRINTS:
        return
    try:
        from portal.releases.operations import observe_due_releases
    except ImportError:
        return
    if not observe_due_releases():  # one indexed query when nothing is due
        return
    if not sender.config.get("SEARCH_DRAIN_AFTER_RESPONSE", True):
        return  # a worker applies the queue on this site
    from portal.search.queue import apply_pending

    try:
        with indexing():
            apply_pending(wait=False)
    except Exception:  # the search itself must still answer; the rows stay queued
        log.exception("search: indexing releases that fell due failed; rows stay queued")


FACTORIES: tuple[Callable[[], Provider | None], ...] = (
    hearing_provider,
    release_provider,
    review_provider,
    report_provider,
)


def register_more() -> list[str]:
    """Register the providers whose feature is installed; returns their types."""
    registered = []
    for factory in FACTORIES:
        prov = factory()
        if prov is not None:
            register_provider(prov)
            registered.append(prov.type)
    if "release" in registered:
        request_started.connect(_publish_due_before_search)  # once: blinker keeps one connection per receiver
    return registered
