"""Pure rules: working days, interest conflicts, committee diversity. No database writes."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from portal.core.models import utcnow

DEFAULT_LEGALITY_DAYS = 7
DEFAULT_TIMEZONE = "Asia/Shanghai"


# --- Working days -------------------------------------------------------------------------------


def _config(key: str, default):
    return current_app.config.get(key, default) if has_app_context() else default


def required_working_days() -> int:
    """``LEGALITY_REVIEW_WORKING_DAYS`` (default 7, art. 27): time the legality reviewer is given."""
    return int(_config("LEGALITY_REVIEW_WORKING_DAYS", DEFAULT_LEGALITY_DAYS))


def holidays() -> frozenset[date]:
    """Extra non-working days (``WORKING_DAY_HOLIDAYS``: ISO dates), e.g. the public holidays of a year."""
    return frozenset(date.fromisoformat(str(d)) for d in _config("WORKING_DAY_HOLIDAYS", ()) or ())


def local_date(moment: datetime | None = None) -> date:
    """The calendar date of ``moment`` (default now) in the portal's timezone (Asia/Shanghai)."""
    zone = ZoneInfo(_config("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE))
    return (moment or utcnow()).astimezone(zone).date()


def is_working_day(day: date, extra_holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in extra_holidays


def working_days_between(start: date, end: date) -> int:
    """Working days strictly after ``start`` and strictly before ``end``: the whole days given."""
    off = holidays()
    count, day = 0, start + timedelta(days=1)
    while day < end:
        if is_working_day(day, off):
            count += 1
        day += timedelta(days=1)
    return count


def earliest_after(start: date, working_days: int) -> date:
    """The first date on which ``working_days`` whole working days after ``start`` have passed."""
    off = holidays()
    day, counted = start, 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day, off):
            counted += 1
    return day + timedelta(days=1)


# --- Interest conflicts --------------------------------------------------------------------------


def fold(text: str | None) -> str:
    """Compare-form of a name or keyword: NFKC (full-width to half-width), case-folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _meaningful(value: str) -> bool:
    # One Chinese character or two Latin letters would match nearly anything.
    return len(value) >= (2 if any(ord(c) > 0x2E80 for c in value) else 3)


@dataclass(frozen=True)
class Conflict:
    """Why an expert may not review a decision."""

    interest: str
    target: str
    message: str


def find_conflicts(profile, decision) -> list[Conflict]:
    """Declared interests (and the expert's own employer) that touch the decision's department or subject."""
    from portal.decisions.models import CATEGORIES

    department = decision.department
    dept_names = {fold(department.code), fold(department.name), fold(department.name_en)} - {""}
    title = fold(decision.title)
    category_words = {fold(decision.category), fold(str(CATEGORIES.get(decision.category, "")))} - {""}
    found: list[Conflict] = []

    def organisation_matches(value: str) -> bool:
        if value in dept_names:
            return True
        return _meaningful(value) and any(
            _meaningful(name) and (value in name or name in value) for name in dept_names if len(name) > 3
        )

    for interest in profile.interests:
        value = fold(interest.value)
        if not value:
            continue
        if interest.kind == "organisation" and organisation_matches(value):
            found.append(
                Conflict(
                    interest.value,
                    department.name,
                    str(
                        _l(
                            "专家%(name)s申报的利害关系单位“%(interest)s”与本决策的承办单位“%(dept)s”相关,不能指派。",
                            name=profile.name,
                            interest=interest.value,
                            dept=department.name,
                        )
                    ),
                )
            )
        elif interest.kind == "subject" and _meaningful(value) and (value in title or value in category_words):
            found.append(
                Conflict(
                    interest.value,
                    decision.title,
                    str(
                        _l(
                            "专家%(name)s申报的利害关系事项“%(interest)s”与本决策“%(title)s”相关,不能指派。",
                            name=profile.name,
                            interest=interest.value,
                            title=decision.title,
                        )
                    ),
                )
            )
    employer = fold(profile.organisation)
    if employer and employer in {fold(department.name), fold(department.name_en)}:
        found.append(
            Conflict(
                profile.organisation,
                department.name,
                str(
                    _l(
                        "专家%(name)s的工作单位即本决策的承办单位“%(dept)s”,不能指派。",
                        name=profile.name,
                        dept=department.name,
                    )
                ),
            )
        )
    return found


# --- Diversity of views --------------------------------------------------------------------------


def diversity_notes(profiles: Iterable) -> list[str]:
    """Plain notes when a committee is unlikely to hear differing views."""
    profiles = list(profiles)
    if not profiles:
        return []
    if len(profiles) == 1:
        return [str(_l("委员会只有一位专家,论证缺少不同观点,建议增加来自其他单位或领域的专家。"))]
    notes = []
    organisations = {fold(p.organisation) for p in profiles}
    if len(organisations) == 1:
        notes.append(
            str(
                _l(
                    "委员会的 %(n)s 位专家都来自同一单位(%(org)s),可能缺少不同观点。",
                    n=len(profiles),
                    org=profiles[0].organisation or _l("未填写"),
                )
            )
        )
    fields = {fold(p.field) for p in profiles}
    if len(fields) == 1:
        notes.append(
            str(
                _l(
                    "委员会的 %(n)s 位专家都属于同一领域(%(field)s),可能缺少不同观点。",
                    n=len(profiles),
                    field=profiles[0].field,
                )
            )
        )
    return notes
