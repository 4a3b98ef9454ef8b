"""Pure rules: working days in Asia/Shanghai, interest conflicts, committee diversity."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from portal.reviews.rules import diversity_notes, earliest_after, find_conflicts, local_date, working_days_between

MONDAY = date(2026, 11, 2)
FRIDAY = date(2026, 11, 6)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (MONDAY, MONDAY, 0),
        (MONDAY, date(2026, 11, 3), 0),  # Tuesday is not over yet
        (MONDAY, date(2026, 11, 4), 1),  # Tuesday counted
        (MONDAY, date(2026, 11, 11), 6),  # Tue–Fri, Mon–Tue: weekend skipped
        (MONDAY, date(2026, 11, 12), 7),
        (FRIDAY, date(2026, 11, 10), 1),  # Saturday, Sunday skipped; Monday counted
    ],
)
def test_working_days_between_counts_whole_weekdays(app, start, end, expected):
    assert working_days_between(start, end) == expected


def test_earliest_after_skips_weekends(app):
    # Submitted Monday: 7 working days are Tue..Wed of the next week; the day after is Thursday.
    assert earliest_after(MONDAY, 7) == date(2026, 11, 12)
    assert working_days_between(MONDAY, earliest_after(MONDAY, 7)) == 7
    # Submitted Friday: Mon..Tue of the week after next is the 7th; deliberation from Wednesday.
    assert earliest_after(FRIDAY, 7) == date(2026, 11, 18)


def test_configured_holidays_and_days_are_used(app):
    from portal.reviews.rules import required_working_days

    app.config.update(WORKING_DAY_HOLIDAYS=["2026-11-04"], LEGALITY_REVIEW_WORKING_DAYS=3)
    assert required_working_days() == 3
    # Tue counted, Wed is a holiday, Thu counted, Fri counted -> earliest Saturday.
    assert earliest_after(MONDAY, 3) == date(2026, 11, 7)
    assert working_days_between(MONDAY, date(2026, 11, 6)) == 2


def test_local_date_is_shanghai(app):
    # 17:00 UTC on Sunday is 01:00 on Monday in Shanghai.
    assert local_date(datetime(2026, 11, 1, 17, 0, tzinfo=UTC)) == MONDAY


def _profile(name="专家", organisation="市财经大学", field="价格管理", interests=()):
    return SimpleNamespace(
        name=name,
        organisation=organisation,
        field=field,
        interests=[SimpleNamespace(kind=k, value=v) for k, v in interests],
    )


def _decision(title="关于调整城市居民生活用水价格的决定", category="water"):
    department = SimpleNamespace(code="swj", name="市水务局", name_en="Municipal Water Affairs Bureau")
    return SimpleNamespace(department=department, title=title, category=category)


@pytest.mark.parametrize(
    "interests",
    [
        [("organisation", "市水务局")],
        [("organisation", "ＳＷＪ")],  # full-width code
        [("organisation", "市水务局下属供水集团")],  # the department's name inside
        [("organisation", "municipal water affairs bureau")],
        [("subject", "水价")],  # in the title (…用水价格…)
        [("subject", "水务")],  # the category's label
        [("subject", "WATER")],  # the category's code, any case
    ],
)
def test_conflicts_found(app, interests):
    conflicts = find_conflicts(_profile(name="孙启明", interests=interests), _decision())
    assert conflicts
    assert "孙启明" in conflicts[0].message


def test_employer_is_the_department(app):
    conflicts = find_conflicts(_profile(organisation="市水务局"), _decision())
    assert "工作单位" in conflicts[0].message


@pytest.mark.parametrize(
    "interests",
    [
        [],
        [("organisation", "市教育局")],
        [("subject", "学校收费")],
        [("subject", "水")],  # one character would match nearly anything
        [("organisation", "ab")],
    ],
)
def test_no_conflict(app, interests):
    assert find_conflicts(_profile(interests=interests), _decision()) == []


def test_diversity_notes(app):
    same_org = [_profile(organisation="市财经大学", field=f) for f in ("价格", "法学")]
    same_field = [_profile(organisation=o, field="价格管理") for o in ("甲大学", "乙研究院")]
    varied = [_profile(organisation="甲", field="价格"), _profile(organisation="乙", field="法学")]
    assert "同一单位" in diversity_notes(same_org)[0]
    assert "同一领域" in diversity_notes(same_field)[0]
    assert diversity_notes(varied) == []
    assert "只有一位" in diversity_notes(varied[:1])[0]
    assert diversity_notes([]) == []
