"""The search page. Anything typed or put in the address answers with results or a clear notice."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import Department
from portal.auth.permissions import public, require
from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.search import service
from portal.search.providers import link
from portal.search.query import MAX_QUERY, parse
from portal.search.registry import TYPES
from portal.search.service import SORTS, Filters

bp = Blueprint("search", __name__)


def type_labels() -> dict[str, str]:
    return {
        "decision": _("决策事项"),
        "comment": _("公众意见"),
        "hearing": _("听证会"),
        "release": _("新闻发布"),
        "review": _("论证与审查"),  # expert reviews, risk assessments, legality opinions
        "report": _("执行与评估"),  # implementation updates, post-evaluation reports
    }


def read_filters(args) -> tuple[Filters, list[str], Decision | None]:
    """Filters from the query string; unknown values are dropped with a notice each."""
    notices: list[str] = []
    filters = Filters()
    doc_type = (args.get("type") or "").strip()
    if doc_type:
        if doc_type in TYPES:
            filters.type = doc_type
        else:
            notices.append(_("没有“%(value)s”这种类型,已忽略该筛选条件。", value=doc_type[:40]))
    stage = (args.get("stage") or "").strip()
    if stage:
        if stage in Stage._value2member_map_:
            filters.stage = stage
        else:
            notices.append(_("没有“%(value)s”这个阶段,已忽略该筛选条件。", value=stage[:40]))
    year = (args.get("year") or "").strip()
    if year:
        if year.isascii() and year.isdigit() and 1900 <= int(year) <= 2100:
            filters.year = year
        else:
            notices.append(_("年份“%(value)s”无效,已忽略该筛选条件。", value=year[:40]))
    code = (args.get("department") or "").strip()
    if code:
        if len(code) <= 32 and db.session.scalar(select(Department.id).where(Department.code == code)):
            filters.department = code
        else:
            notices.append(_("没有代码为“%(value)s”的单位,已忽略该筛选条件。", value=code[:40]))
    decision = None
    slug = (args.get("decision") or "").strip()
    if slug:
        decision = db.session.scalar(select(Decision).where(Decision.slug == slug[:120]))
        if decision is not None:
            filters.decision = decision.slug
        else:
            notices.append(_("找不到该决策事项,已在全部内容中检索。"))
    return filters, notices, decision


def read_page(raw: str | None, notices: list[str]) -> int:
    if not raw:
        return 1
    raw = raw.strip()
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= 100_000:
        return int(raw)
    notices.append(_("页码“%(value)s”无效,已显示第 1 页。", value=raw[:20]))
    return 1


def facet_labels(outcome) -> dict[str, dict[str, str]]:
    """Display names of the facet values on this page."""
    codes = [code for code, _n in outcome.facets.get("department", [])]
    if outcome.filters.department:
        codes.append(outcome.filters.department)
    departments = {}
    if codes:
        for dept in db.session.scalars(select(Department).where(Department.code.in_(codes))):
            departments[dept.code] = dept.display_name(str(get_locale()))
    stages = {s.value: s.label for s in Stage}
    return {"type": type_labels(), "department": departments, "stage": stages, "year": {}}


@bp.get("/search")
@require(public)
def index():
    notices: list[str] = []
    raw = request.args.get("q", "")
    parsed = parse(raw)
    if parsed.truncated:
        notices.append(_("检索词过长,只使用了前 %(n)s 个字符。", n=MAX_QUERY))
    if parsed.dropped_terms:
        notices.append(_("检索词过多,只使用了前面的一部分。"))
    if parsed.raw and parsed.is_empty:
        if parsed.excluded:
            notices.append(_("只有排除词时无法检索,请再输入至少一个要查找的词。"))
        else:
            notices.append(_("检索词中没有可检索的文字(标点和符号会被忽略),请换一个词。"))
    filters, filter_notices, decision = read_filters(request.args)
    notices.extend(filter_notices)
    sort = request.args.get("sort", "relevance")
    if sort not in SORTS:
        notices.append(_("不支持这种排序方式,已按相关度排序。"))
        sort = "relevance"
    page = read_page(request.args.get("page"), notices)
    outcome = service.search(parsed, filters, sort=sort, page=page)
    if outcome.page_clamped:
        notices.append(_("没有第 %(page)s 页,已显示最后一页。", page=page))
    status = 503 if outcome.unavailable else 200
    return (
        render_template(
            "search/search.html",
            q=parsed.raw[:MAX_QUERY],
            outcome=outcome,
            notices=notices,
            decision=decision,
            labels=facet_labels(outcome),
            browse_url=link("decisions.index", url_for("core.home")),
            facet_names={"type": _("类型"), "department": _("单位"), "stage": _("阶段"), "year": _("年份")},
        ),
        status,
    )
