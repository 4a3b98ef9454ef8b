"""Atom feeds (releases, new consultations, per department, checkpoints) and the sitemap.

Feeds are written by feedgen (lxml underneath), which escapes every text; control characters,
which XML cannot carry, are removed first.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from xml.sax.saxutils import escape

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.accountability.checkpoints import ensure_daily_checkpoint, recent_checkpoints
from portal.auth.permissions import public, require
from portal.core.extensions import db, limiter
from portal.core.markdown import plain_text, render_markdown
from portal.core.models import utcnow
from portal.decisions.models import Decision
from portal.decisions.queries import publicly_visible
from portal.releases import operations, queries
from portal.releases.models import DecisionPublication, Release

bp = Blueprint("feeds", __name__)

FEED_ITEMS = 50
SITEMAP_PAGE = 10_000
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def xml_text(value) -> str:
    return _XML_UNSAFE.sub("", str(value or ""))


@bp.before_request
def _publish_due():
    operations.observe_due_releases()


def _feed(feed_id: str, title: str, self_url: str, alternate: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(xml_text(title))
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=alternate, rel="alternate", type="text/html")
    fg.language("zh-CN")
    fg.author({"name": xml_text(_("重大行政决策公众参与平台"))})
    return fg


def _respond(fg: FeedGenerator, newest: datetime | None) -> Response:
    fg.updated(newest or utcnow())
    response = Response(fg.atom_str(pretty=True), mimetype="application/atom+xml")
    response.headers["Content-Type"] = ATOM
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _add_release(fg: FeedGenerator, release: Release) -> datetime:
    link = url_for("releases.detail", release_id=release.id, _external=True)
    entry = fg.add_entry(order="append")
    entry.id(link)
    entry.title(xml_text(f"{release.kind_enum.label}:{release.title}"))
    entry.link(href=link, rel="alternate", type="text/html")
    published = release.public_time() or release.created_at
    updated = release.corrections[-1].created_at if release.corrections else published
    entry.published(published)
    entry.updated(updated)
    entry.summary(xml_text(release.summary or plain_text(release.current_text, 200)))
    entry.content(xml_text(render_markdown(release.current_text)), type="html")
    if release.created_by is not None:
        entry.author({"name": xml_text(release.created_by.display_name)})
    return updated


@bp.get("/releases.atom")
@require(public)
def releases_feed():
    fg = _feed(
        url_for("feeds.releases_feed", _external=True),
        _("新闻发布与政策解读"),
        url_for("feeds.releases_feed", _external=True),
        url_for("releases.index", _external=True),
    )
    newest = None
    for release in db.session.scalars(queries.public_releases().limit(FEED_ITEMS)):
        updated = _add_release(fg, release)
        newest = max(newest, updated) if newest else updated
    return _respond(fg, newest)


def _consultations(department_id: int | None = None):
    try:
        from portal.consultation.models import Consultation
    except ImportError:
        return []
    stmt = (
        select(Consultation)
        .join(Decision, Decision.id == Consultation.decision_id)
        .where(Consultation.starts_at <= utcnow(), publicly_visible())
    )
    if department_id is not None:
        stmt = stmt.where(Decision.department_id == department_id)
    return list(db.session.scalars(stmt.order_by(Consultation.starts_at.desc()).limit(FEED_ITEMS)))


def _decision_url(decision: Decision, endpoint: str = "decisions.detail") -> str:
    if endpoint not in current_app.view_functions:
        endpoint = "decisions.detail"
    return url_for(endpoint, slug=decision.slug, _external=True)


def _add_consultation(fg: FeedGenerator, consultation) -> datetime:
    decision = consultation.decision
    link = _decision_url(decision, "consultation.page")
    entry = fg.add_entry(order="append")
    entry.id(f"{link}#consultation-{consultation.id}")
    entry.title(xml_text(_("公开征求意见:%(title)s", title=decision.title)))
    entry.link(href=link, rel="alternate", type="text/html")
    entry.published(consultation.starts_at)
    entry.updated(consultation.starts_at)
    entry.summary(
        xml_text(
            _(
                "征求意见期:%(start)s 至 %(end)s。%(summary)s",
                start=consultation.starts_at.date().isoformat(),
                end=consultation.ends_at.date().isoformat(),
                summary=decision.summary or "",
            )
        )
    )
    return consultation.starts_at


@bp.get("/consultations.atom")
@require(public)
def consultations_feed():
    fg = _feed(
        url_for("feeds.consultations_feed", _external=True),
        _("公开征求意见"),
        url_for("feeds.consultations_feed", _external=True),
        url_for("decisions.index", _external=True),
    )
    newest = None
    for consultation in _consultations():
        updated = _add_consultation(fg, consultation)
        newest = max(newest, updated) if newest else updated
    return _respond(fg, newest)


def _add_publication(fg: FeedGenerator, publication: DecisionPublication) -> datetime:
    link = url_for("releases.publication", slug=publication.decision.slug, _external=True)
    entry = fg.add_entry(order="append")
    entry.id(link)
    entry.title(xml_text(_("决定公布:%(title)s(%(no)s)", title=publication.title, no=publication.document_number)))
    entry.link(href=link, rel="alternate", type="text/html")
    entry.published(publication.published_at)
    entry.updated(publication.published_at)
    entry.summary(xml_text(_("自 %(d)s 起施行。", d=publication.effective_date.isoformat())))
    return publication.published_at


@bp.get("/departments/<code>/feed.atom")
@require(public)
def department_feed(code: str):
    department = queries.department_by_code(code)
    if department is None:
        abort(404)
    self_url = url_for("feeds.department_feed", code=department.code, _external=True)
    fg = _feed(
        self_url, department.name, self_url, url_for("decisions.index", department=department.code, _external=True)
    )
    items: list[tuple[datetime, object]] = []
    for release in db.session.scalars(queries.public_releases(department_id=department.id).limit(FEED_ITEMS)):
        items.append((release.public_time() or release.created_at, release))
    for consultation in _consultations(department.id):
        items.append((consultation.starts_at, consultation))
    for publication in db.session.scalars(
        select(DecisionPublication)
        .join(Decision, Decision.id == DecisionPublication.decision_id)
        .where(Decision.department_id == department.id)
        .order_by(DecisionPublication.published_at.desc())
        .limit(FEED_ITEMS)
    ):
        items.append((publication.published_at, publication))
    items.sort(key=lambda pair: pair[0], reverse=True)
    newest = None
    for _when, item in items[:FEED_ITEMS]:
        if isinstance(item, Release):
            updated = _add_release(fg, item)
        elif isinstance(item, DecisionPublication):
            updated = _add_publication(fg, item)
        else:
            updated = _add_consultation(fg, item)
        newest = max(newest, updated) if newest else updated
    return _respond(fg, newest)


@bp.get("/checkpoints.atom")
@require(public)
def checkpoints_feed():
    ensure_daily_checkpoint()
    self_url = url_for("feeds.checkpoints_feed", _external=True)
    fg = _feed(self_url, _("责任记录检查点"), self_url, url_for("accountability.checkpoints", _external=True))
    fg.subtitle(
        xml_text(_("每日及每次决策公布时的责任记录链头(序号与哈希)。请保存副本,日后可用它证明记录未被截断或改写。"))
    )
    newest = None
    for checkpoint in recent_checkpoints(FEED_ITEMS * 2):
        entry = fg.add_entry(order="append")
        entry.id(f"urn:portal:checkpoint:{checkpoint.seq}:{checkpoint.hash}")
        entry.title(xml_text(_("检查点 #%(seq)s(%(reason)s)", seq=checkpoint.seq, reason=checkpoint.reason_label)))
        entry.link(href=url_for("trace.entry", seq=checkpoint.seq, _external=True), rel="alternate", type="text/html")
        entry.published(checkpoint.created_at)
        entry.updated(checkpoint.created_at)
        entry.content(
            xml_text(
                _(
                    "%(token)s\n\n校验:flask --app app trace verify --checkpoint %(token)s",
                    token=checkpoint.token,
                )
            ),
            type="text",
        )
        newest = max(newest, checkpoint.created_at) if newest else checkpoint.created_at
    return _respond(fg, newest)


# Sitemap ----------------------------------------------------------------------------------------


def _xml(body: str) -> Response:
    response = Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml")
    response.headers["Content-Type"] = XML
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _decision_pages() -> int:
    count = db.session.scalar(select(func.count(Decision.id)).where(publicly_visible())) or 0
    return max(1, math.ceil(count / SITEMAP_PAGE))


@bp.get("/sitemap.xml")
@require(public)
def sitemap():
    """A sitemap index: fixed pages, then decisions and releases in pages of 10,000 URLs."""
    parts = [url_for("feeds.sitemap_pages", _external=True)]
    parts += [url_for("feeds.sitemap_decisions", page=n, _external=True) for n in range(1, _decision_pages() + 1)]
    releases = db.session.scalar(select(func.count(Release.id)).where(queries.is_published_sql())) or 0
    parts += [
        url_for("feeds.sitemap_releases", page=n, _external=True)
        for n in range(1, max(1, math.ceil(releases / SITEMAP_PAGE)) + 1)
    ]
    body = "".join(f"<sitemap><loc>{escape(p)}</loc></sitemap>" for p in parts)
    return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>')


def _urlset(urls: list[tuple[str, datetime | None]]) -> Response:
    rows = []
    for loc, lastmod in urls:
        stamp = f"<lastmod>{lastmod.date().isoformat()}</lastmod>" if lastmod else ""
        rows.append(f"<url><loc>{escape(loc)}</loc>{stamp}</url>")
    return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(rows)}</urlset>')


@bp.get("/sitemaps/pages.xml")
@require(public)
def sitemap_pages():
    endpoints = [
        "core.home",
        "decisions.index",
        "releases.index",
        "trace.index",
        "accountability.people",
        "accountability.checkpoints",
        "hearings.index",
        "reviews.experts",
    ]
    urls = [(url_for(e, _external=True), None) for e in endpoints if e in current_app.view_functions]
    return _urlset(urls)


def _page_number(page: int, pages: int) -> int:
    if page < 1 or page > pages:
        abort(404)
    return page


@bp.get("/sitemaps/decisions-<int:page>.xml")
@require(public)
@limiter.limit("30 per minute")
def sitemap_decisions(page: int):
    page = _page_number(page, _decision_pages())
    rows = db.session.execute(
        select(Decision.slug, Decision.updated_at, Decision.stage_changed_at)
        .where(publicly_visible())
        .order_by(Decision.id)
        .offset((page - 1) * SITEMAP_PAGE)
        .limit(SITEMAP_PAGE)
    ).all()
    urls = []
    for slug, updated, changed in rows:
        lastmod = max(d for d in (updated, changed) if d) if (updated or changed) else None
        urls.append((url_for("decisions.detail", slug=slug, _external=True), lastmod))
    return _urlset(urls)


@bp.get("/sitemaps/releases-<int:page>.xml")
@require(public)
def sitemap_releases(page: int):
    count = db.session.scalar(select(func.count(Release.id)).where(queries.is_published_sql())) or 0
    page = _page_number(page, max(1, math.ceil(count / SITEMAP_PAGE)))
    rows = db.session.execute(
        select(Release.id, queries.public_time_sql())
        .where(queries.is_published_sql())
        .order_by(Release.id)
        .offset((page - 1) * SITEMAP_PAGE)
        .limit(SITEMAP_PAGE)
    ).all()
    return _urlset([(url_for("releases.detail", release_id=i, _external=True), when) for i, when in rows])
