"""The main pages of the portal on the demo data, per role: one list for the accessibility test
(tests/browser/test_main_pages.py) and for ``make screenshots`` (tests/browser/screenshots.py).

Paths are built from the demo data (``flask seed-demo``), so ids are looked up, not guessed.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from portal.core.extensions import db


class MainPage(NamedTuple):
    name: str
    path: str
    #: Demo account to log in as, or None for an anonymous visitor.
    account: str | None


CITIZEN = "citizen@demo.gov.cn"
WATER_OFFICIAL = "official.water@demo.gov.cn"
EXPERT = "expert@demo.gov.cn"
LEGAL = "legal@demo.gov.cn"
LEADER = "leader@demo.gov.cn"
SPOKESPERSON = "spokesperson@demo.gov.cn"
AUDITOR = "auditor@demo.gov.cn"
ADMIN = "admin@demo.gov.cn"


def demo_passwords() -> dict[str, str]:
    from portal.core.seed import USERS
    from portal.decisions.seed import WATER_OFFICIAL as WATER

    passwords = {email: password for email, _name, password, _roles, _codes in USERS}
    passwords[WATER[0]] = WATER[2]
    return passwords


def main_pages() -> list[MainPage]:
    """Every main page, grouped by account (so a browser logs in once per group). Needs an app context."""
    from portal.decisions.models import Decision
    from portal.hearings.models import Hearing
    from portal.releases.models import Release
    from portal.reviews.models import ExpertProfile, Meeting, Review

    def first(stmt):
        return db.session.scalar(stmt.limit(1))

    water, parking, bus = "2026-water-price", "2026-parking-charges", "2026-bus-fare"
    hearing = first(select(Hearing.id).order_by(Hearing.id))
    hearings = db.session.scalars(select(Hearing.id).order_by(Hearing.id)).all()
    release = first(select(Release.id).where(Release.status == "published").order_by(Release.id))
    # Reviews are public once the decision is published: the parking decision's.
    review = first(select(Review.id).join(Decision).where(Decision.slug == parking).order_by(Review.id))
    expert = first(select(ExpertProfile.id).order_by(ExpertProfile.id))
    meeting = first(select(Meeting.id).order_by(Meeting.id))
    pages = [
        MainPage("home", "/", None),
        MainPage("login", "/login", None),
        MainPage("register", "/register", None),
        MainPage("decisions", "/decisions", None),
        MainPage("decision", f"/decisions/{water}", None),
        MainPage("version", f"/decisions/{water}/versions/1", None),
        MainPage("consultation", f"/decisions/{water}/consultation", None),
        MainPage("report", f"/decisions/{water}/consultation/report", None),
        MainPage("search", "/search?q=水价", None),
        MainPage("search-empty", "/search?q=没有这样的词语", None),
        MainPage("hearing-list", "/hearings", None),
        *[MainPage(f"hearing-{n}", f"/hearings/{hid}", None) for n, hid in enumerate(hearings, 1)],
        MainPage("experts", "/experts", None),
        MainPage("expert", f"/experts/{expert}", None),
        MainPage("review", f"/reviews/{review}", None),
        MainPage("legality-public", f"/decisions/{bus}/legality", None),
        MainPage("releases", "/releases", None),
        MainPage("release", f"/releases/{release}", None),
        MainPage("publication", f"/decisions/{parking}/publication", None),
        MainPage("implementation", f"/decisions/{parking}/implementation", None),
        MainPage("accountability", f"/decisions/{parking}/accountability", None),
        MainPage("people", "/people", None),
        MainPage("checkpoints", "/checkpoints", None),
        MainPage("ledger", "/trace/", None),
        MainPage("verify", "/trace/verify", None),
        MainPage("availability", "/availability", None),
        MainPage("not-found", "/no-such-page", None),
        MainPage("profile", "/profile", CITIZEN),
        MainPage("decision-citizen", f"/decisions/{water}", CITIZEN),
        MainPage("notifications", "/notifications", CITIZEN),
        MainPage("my-hearings", "/hearings/mine", CITIZEN),
        MainPage("my-decisions", "/decisions/mine", WATER_OFFICIAL),
        MainPage("new-decision", "/decisions/new", WATER_OFFICIAL),
        MainPage("moderation", f"/decisions/{water}/consultation/manage", WATER_OFFICIAL),
        MainPage("hearing-manage", f"/hearings/{hearing}/manage", WATER_OFFICIAL),
        MainPage("assignments", "/my/assignments", EXPERT),
        MainPage("legality-queue", "/legality", LEGAL),
        MainPage("meetings", "/meetings", LEADER),
        MainPage("meeting", f"/meetings/{meeting}", LEADER),
        MainPage("releases-manage", "/releases/manage", SPOKESPERSON),
        MainPage("release-new", "/releases/new", SPOKESPERSON),
        MainPage("accountability-auditor", f"/decisions/{parking}/accountability", AUDITOR),
        MainPage("admin-users", "/admin/users", ADMIN),
        MainPage("admin-new-user", "/admin/users/new", ADMIN),
        MainPage("admin-departments", "/admin/departments", ADMIN),
        MainPage("admin-availability", "/admin/availability", ADMIN),
    ]
    return pages
