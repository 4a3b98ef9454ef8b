"""User actions on hearings. Each takes the acting user first, checks the rules, changes data,
flushes, records the ledger entry in the same transaction and returns. None commits.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import trace
from portal.auth.models import Role, User
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.decisions.models import Decision, Stage
from portal.hearings import draw as draw_rules
from portal.hearings import models as m
from portal.hearings.models import (
    Hearing,
    HearingCategory,
    HearingDraw,
    HearingSecret,
    HearingStatus,
    Observer,
    ObserverStatus,
    Position,
    RecordResponse,
    Registration,
    RegistrationStatus,
    current_time,
    setting,
)
from portal.hearings.notify import notify
from portal.hearings.permissions import can_manage_hearing, can_manage_hearings_of
from portal.trace import INTERNAL
from portal.trace.canonical import canonical

#: Stages in which a decision may get a new hearing.
HEARING_STAGES = frozenset({Stage.DRAFTING.value, Stage.CONSULTATION.value, Stage.HEARING.value})


@dataclass(frozen=True)
class CategorySpec:
    """A participant category as typed: code, name, seats and an optional minimum share."""

    code: str
    name: str
    seats: int
    min_share: Fraction | None = None


# Checks shared by several actions -----------------------------------------------------------


def _ensure_manager(actor, hearing: Hearing) -> None:
    if not can_manage_hearing(actor, hearing):
        raise NotAllowed(_l("只有承办单位的工作人员可以管理本听证会。"))


def _aware(value: datetime | None, label) -> datetime:
    if not isinstance(value, datetime):
        raise DomainError(_l("请填写%(what)s。", what=label), code="missing_time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DomainError(
            _l("%(what)s没有时区:请给出带时区的时间(页面上按北京时间填写即可)。", what=label), code="naive_time"
        )
    return value


def _text(value: str | None, label, maximum: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_l("请填写%(what)s。", what=label), code="missing_field")
    if len(value) > maximum:
        raise DomainError(_l("%(what)s不能超过 %(n)s 个字符。", what=label, n=maximum), code="too_long")
    return value


def _one_line(value: str | None, label, maximum: int, *, required: bool = True) -> str:
    return _text(" ".join((value or "").split()), label, maximum, required=required)


def check_schedule(starts_at, ends_at, opens_at, closes_at) -> tuple[datetime, datetime, datetime, datetime]:
    """Aware times in a workable order, leaving the configured days between close and hearing."""
    starts_at = _aware(starts_at, _l("开始时间"))
    ends_at = _aware(ends_at, _l("结束时间"))
    opens_at = _aware(opens_at, _l("报名开始时间"))
    closes_at = _aware(closes_at, _l("报名截止时间"))
    if ends_at <= starts_at:
        raise DomainError(_l("结束时间必须晚于开始时间。"), code="bad_times")
    if closes_at <= opens_at:
        raise DomainError(_l("报名截止时间必须晚于报名开始时间。"), code="bad_window")
    days = setting("HEARING_DRAW_MIN_DAYS")
    if closes_at > starts_at - timedelta(days=days):
        raise DomainError(
            _l(
                "报名截止时间至少要比听证会开始早 %(days)s 日:抽选须在报名截止后、听证会 %(days)s 日前完成,"
                "参加人名单和材料须在听证会 %(days)s 日前送达。",
                days=days,
            ),
            code="window_too_late",
        )
    return starts_at, ends_at, opens_at, closes_at


def check_categories(specs: Iterable[CategorySpec]) -> list[CategorySpec]:
    """Codes unique and well-formed, seats positive, every minimum share met by the split."""
    specs = list(specs)
    if not specs:
        raise DomainError(_l("请至少设置一个参加人类别。"), code="bad_categories")
    if len(specs) > m.CATEGORIES_MAX:
        raise DomainError(_l("参加人类别不能超过 %(n)s 个。", n=m.CATEGORIES_MAX), code="bad_categories")
    seen: set[str] = set()
    for spec in specs:
        if not draw_rules.CODE_PATTERN.match(spec.code or ""):
            raise DomainError(
                _l("类别代码“%(code)s”不合规:只能用小写字母、数字、下划线或连字符。", code=spec.code),
                code="bad_categories",
            )
        if spec.code in seen:
            raise DomainError(_l("类别代码“%(code)s”重复。", code=spec.code), code="bad_categories")
        seen.add(spec.code)
        if not spec.name or len(spec.name) > m.CATEGORY_NAME_MAX:
            raise DomainError(_l("请填写类别“%(code)s”的名称。", code=spec.code), code="bad_categories")
        if not isinstance(spec.seats, int) or not 1 <= spec.seats <= m.SEATS_MAX:
            raise DomainError(
                _l("类别“%(name)s”的席位数必须是 1 到 %(n)s 之间的整数。", name=spec.name, n=m.SEATS_MAX),
                code="bad_categories",
            )
        share = spec.min_share
        if share is not None and not (0 < share <= 1 and share.denominator <= m.SHARE_DEN_MAX):
            raise DomainError(_l("类别“%(name)s”的最低占比必须在 0 到 1 之间。", name=spec.name), code="bad_categories")
    total = sum(s.seats for s in specs)
    if sum((s.min_share or Fraction(0)) for s in specs) > 1:
        raise DomainError(_l("各类别的最低占比之和超过了全部席位。"), code="bad_categories")
    for spec in specs:
        if spec.min_share is None:
            continue
        # Exact integer arithmetic: seats / total >= num / den  <=>  seats * den >= num * total.
        if spec.seats * spec.min_share.denominator < spec.min_share.numerator * total:
            needed = math.ceil(spec.min_share * total)
            raise DomainError(
                _l(
                    "席位分配不符合最低占比:“%(name)s”至少应占全部 %(total)s 个参加人席位的 %(share)s,"
                    "即至少 %(needed)s 席,现为 %(seats)s 席。",
                    name=spec.name,
                    total=total,
                    share=f"{spec.min_share.numerator}/{spec.min_share.denominator}",
                    needed=needed,
                    seats=spec.seats,
                ),
                code="min_share",
            )
    return specs


def _set_categories(hearing: Hearing, specs: list[CategorySpec]) -> None:
    hearing.categories.clear()
    db.session.flush()
    for position, spec in enumerate(specs):
        hearing.categories.append(
            HearingCategory(
                code=spec.code,
                name=spec.name,
                seats=spec.seats,
                min_share_num=spec.min_share.numerator if spec.min_share is not None else None,
                min_share_den=spec.min_share.denominator if spec.min_share is not None else None,
                position=position,
            )
        )


def _check_stream_url(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url:
        return None
    if len(url) > m.URL_MAX or not re.match(r"^https?://[^\s<>\"']+$", url):
        raise DomainError(_l("直播地址必须以 http:// 或 https:// 开头,且不含空格。"), code="bad_url")
    return url


def _unique_slug(decision: Decision) -> str:
    base = f"{decision.slug}-hearing"[: m.SLUG_MAX - 4]
    slug, n = base, 1
    while db.session.scalar(select(Hearing.id).where(Hearing.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _categories_payload(hearing: Hearing) -> list[dict]:
    return [
        {"code": c.code, "name": c.name, "seats": c.seats, "min_share": c.min_share_text or None}
        for c in hearing.categories
    ]


def _lock(hearing: Hearing, *, shared: bool = False) -> None:
    """Serialise actions on one hearing (seats, promotions, the draw) and reload it.

    PostgreSQL: a row lock held to the end of the transaction (``shared``: FOR SHARE, so
    registrations run side by side but never across the draw). SQLite: write transactions
    already begin IMMEDIATE, holding the database's one write lock.
    """
    db.session.execute(select(Hearing.id).where(Hearing.id == hearing.id).with_for_update(read=shared))
    db.session.refresh(hearing)


def _fresh(stmt):
    return db.session.scalars(stmt.execution_options(populate_existing=True))


# The notice ---------------------------------------------------------------------------------


def create_hearing(
    actor: User,
    decision: Decision,
    *,
    title: str,
    purpose: str,
    agenda: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    stream_url: str | None,
    observer_seats: int,
    registration_opens_at: datetime,
    registration_closes_at: datetime,
    selection_method: str,
    categories: list[CategorySpec],
) -> Hearing:
    """A draft hearing on ``decision``, visible to its department until published."""
    if not can_manage_hearings_of(actor, decision):
        raise NotAllowed(_l("只有该决策承办单位的工作人员可以组织听证会。"))
    if decision.stage not in HEARING_STAGES:
        raise DomainError(
            _l("决策事项处于“%(stage)s”阶段,已不能再组织听证会。", stage=decision.stage_label), code="bad_stage"
        )
    starts_at, ends_at, opens_at, closes_at = check_schedule(
        starts_at, ends_at, registration_opens_at, registration_closes_at
    )
    if starts_at <= current_time():
        raise DomainError(_l("听证会开始时间必须在将来。"), code="bad_times")
    specs = check_categories(categories)
    if not isinstance(observer_seats, int) or not 0 <= observer_seats <= m.OBSERVER_SEATS_MAX:
        raise DomainError(_l("旁听席位必须是 0 到 %(n)s 之间的整数。", n=m.OBSERVER_SEATS_MAX), code="bad_seats")
    hearing = Hearing(
        decision=decision,
        slug=_unique_slug(decision),
        title=_one_line(title, _l("听证会名称"), m.TITLE_MAX),
        purpose=_text(purpose, _l("听证事项与目的"), m.TEXT_MAX),
        agenda=_text(agenda, _l("议程"), m.TEXT_MAX, required=False),
        starts_at=starts_at,
        ends_at=ends_at,
        place=_one_line(place, _l("地点"), m.PLACE_MAX),
        stream_url=_check_stream_url(stream_url),
        observer_seats=observer_seats,
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        selection_method=_text(selection_method, _l("遴选办法"), m.SELECTION_MAX),
        status=HearingStatus.DRAFT.value,
        created_by_id=actor.id,
    )
    db.session.add(hearing)
    db.session.flush()
    _set_categories(hearing, specs)
    db.session.flush()
    trace.record(
        actor,
        "hearing.created",
        hearing,
        visibility=INTERNAL,
        department=decision.department_id,
        decision=decision.slug,
        title=hearing.title,
        starts_at=hearing.starts_at,
        categories=_categories_payload(hearing),
    )
    return hearing


def update_draft(actor: User, hearing: Hearing, **fields) -> Hearing:
    """Change any part of a hearing not yet published."""
    _ensure_manager(actor, hearing)
    if hearing.status != HearingStatus.DRAFT.value:
        raise DomainError(_l("公告已发布,遴选办法、类别、席位和报名时间不能再修改。"), code="published", status=409)
    starts_at, ends_at, opens_at, closes_at = check_schedule(
        fields["starts_at"], fields["ends_at"], fields["registration_opens_at"], fields["registration_closes_at"]
    )
    specs = check_categories(fields["categories"])
    seats = fields["observer_seats"]
    if not isinstance(seats, int) or not 0 <= seats <= m.OBSERVER_SEATS_MAX:
        raise DomainError(_l("旁听席位必须是 0 到 %(n)s 之间的整数。", n=m.OBSERVER_SEATS_MAX), code="bad_seats")
    hearing.title = _one_line(fields["title"], _l("听证会名称"), m.TITLE_MAX)
    hearing.purpose = _text(fields["purpose"], _l("听证事项与目的"), m.TEXT_MAX)
    hearing.agenda = _text(fields["agenda"], _l("议程"), m.TEXT_MAX, required=False)
    hearing.starts_at, hearing.ends_at = starts_at, ends_at
    hearing.registration_opens_at, hearing.registration_closes_at = opens_at, closes_at
    hearing.place = _one_line(fields["place"], _l("地点"), m.PLACE_MAX)
    hearing.stream_url = _check_stream_url(fields["stream_url"])
    hearing.observer_seats = seats
    hearing.selection_method = _text(fields["selection_method"], _l("遴选办法"), m.SELECTION_MAX)
    _set_categories(hearing, specs)
    db.session.flush()
    trace.record(
        actor,
        "hearing.updated",
        hearing,
        visibility=INTERNAL,
        department=hearing.decision.department_id,
        title=hearing.title,
        starts_at=hearing.starts_at,
        categories=_categories_payload(hearing),
    )
    return hearing


def publish_hearing(actor: User, hearing: Hearing) -> Hearing:
    """Publish the notice with the selection method and the commitment to a fresh secret seed.

    The seed is generated here, before anyone can register, and stored where only the draw
    reads it; the commitment (its SHA-256) goes into the notice and the public ledger.
    """
    _ensure_manager(actor, hearing)
    _lock(hearing)
    now = current_time()
    if hearing.status != HearingStatus.DRAFT.value:
        raise DomainError(_l("公告已经发布。"), code="already_published", status=409)
    if hearing.registration_closes_at <= now:
        raise DomainError(_l("报名截止时间已过,请先修改报名时间。"), code="window_passed")
    if hearing.decision.current_version is None:
        raise DomainError(
            _l("决策草案尚未公布:请先公布草案,再发布听证公告(听证围绕公开的草案进行)。"), code="decision_not_public"
        )
    check_schedule(hearing.starts_at, hearing.ends_at, hearing.registration_opens_at, hearing.registration_closes_at)
    check_categories(CategorySpec(c.code, c.name, c.seats, c.min_share) for c in hearing.categories)
    # The selection method must be public before registration opens: when the planned opening
    # has passed, registration opens now, with the notice.
    if hearing.registration_opens_at < now:
        hearing.registration_opens_at = now
    seed = draw_rules.new_seed()
    db.session.add(HearingSecret(hearing_id=hearing.id, seed=seed))
    hearing.commitment = draw_rules.commitment_of(seed)
    hearing.published_at = now
    hearing.published_by_id = actor.id
    hearing.advance(HearingStatus.PUBLISHED)
    db.session.flush()
    trace.record(
        actor,
        "hearing.published",
        hearing,
        department=hearing.decision.department_id,
        decision=hearing.decision.slug,
        title=hearing.title,
        starts_at=hearing.starts_at,
        ends_at=hearing.ends_at,
        place=hearing.place,
        categories=_categories_payload(hearing),
        observer_seats=hearing.observer_seats,
        registration_opens_at=hearing.registration_opens_at,
        registration_closes_at=hearing.registration_closes_at,
        selection_method=hearing.selection_method,
        algorithm=draw_rules.ALGORITHM,
        commitment=hearing.commitment,
    )
    return hearing


def update_notice(
    actor: User,
    hearing: Hearing,
    *,
    title: str,
    purpose: str,
    agenda: str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    stream_url: str | None,
) -> Hearing:
    """Correct a published notice; a new time is a reschedule: SEQUENCE rises, registrants are told."""
    _ensure_manager(actor, hearing)
    _lock(hearing)
    if hearing.status == HearingStatus.DRAFT.value:
        raise DomainError(_l("草稿请在编辑页面修改。"), code="draft")
    if hearing.status in (HearingStatus.RECORDED.value, HearingStatus.REPORTED.value):
        raise DomainError(_l("听证会已经举行,公告不能再修改。"), code="held", status=409)
    starts_at = _aware(starts_at, _l("开始时间"))
    ends_at = _aware(ends_at, _l("结束时间"))
    moved = starts_at != hearing.starts_at or ends_at != hearing.ends_at
    if moved:
        now = current_time()
        if hearing.starts_at <= now:
            raise DomainError(_l("听证会已经开始,不能改期。"), code="held", status=409)
        if starts_at <= now:
            raise DomainError(_l("新的开始时间必须在将来。"), code="bad_times")
        check_schedule(starts_at, ends_at, hearing.registration_opens_at, hearing.registration_closes_at)
        days = setting("HEARING_DRAW_MIN_DAYS")
        if hearing.list_published_at and hearing.list_published_at > starts_at - timedelta(days=days):
            raise DomainError(
                _l("改期后距参加人名单公布不足 %(days)s 日,不符合提前送达的要求;请选择更晚的时间。", days=days),
                code="too_soon_after_list",
            )
    if ends_at <= starts_at:
        raise DomainError(_l("结束时间必须晚于开始时间。"), code="bad_times")
    old_start, old_end = hearing.starts_at, hearing.ends_at
    hearing.title = _one_line(title, _l("听证会名称"), m.TITLE_MAX)
    hearing.purpose = _text(purpose, _l("听证事项与目的"), m.TEXT_MAX)
    hearing.agenda = _text(agenda, _l("议程"), m.TEXT_MAX, required=False)
    hearing.place = _one_line(place, _l("地点"), m.PLACE_MAX)
    hearing.stream_url = _check_stream_url(stream_url)
    if moved:
        hearing.starts_at, hearing.ends_at = starts_at, ends_at
        hearing.sequence += 1
    db.session.flush()
    if moved:
        trace.record(
            actor,
            "hearing.rescheduled",
            hearing,
            department=hearing.decision.department_id,
            old_starts_at=old_start,
            old_ends_at=old_end,
            starts_at=starts_at,
            ends_at=ends_at,
            place=hearing.place,
            sequence=hearing.sequence,
        )
        for user in _people_to_tell(hearing):
            notify(user, hearing, "rescheduled", old_starts_at=old_start)
    else:
        trace.record(
            actor,
            "hearing.updated",
            hearing,
            department=hearing.decision.department_id,
            title=hearing.title,
            place=hearing.place,
            stream_url=hearing.stream_url,
        )
    return hearing


def _people_to_tell(hearing: Hearing) -> list[User]:
    """Everyone still registered: participants not withdrawn or out, and booked observers."""
    gone = (RegistrationStatus.WITHDRAWN.value, RegistrationStatus.DECLINED.value, RegistrationStatus.LAPSED.value)
    users = {
        r.user_id: r.user
        for r in db.session.scalars(
            select(Registration).where(Registration.hearing_id == hearing.id, Registration.status.not_in(gone))
        )
    }
    for o in db.session.scalars(
        select(Observer).where(Observer.hearing_id == hearing.id, Observer.status == ObserverStatus.BOOKED.value)
    ):
        users.setdefault(o.user_id, o.user)
    return list(users.values())


def add_material(actor: User, hearing: Hearing, upload, *, title: str = ""):
    """Attach a hearing material (听证材料); checked and stored by the attachments module."""
    from portal.decisions.attachments import save_attachment

    _ensure_manager(actor, hearing)
    if hearing.status in (HearingStatus.RECORDED.value, HearingStatus.REPORTED.value):
        raise DomainError(_l("听证会已经举行,不能再添加听证材料。"), code="held", status=409)
    attachment = save_attachment(
        actor,
        upload,
        owner_kind="hearing",
        owner_id=hearing.id,
        department=hearing.decision.department_id,
        title=title,
        visibility=trace.PUBLIC if hearing.is_public else INTERNAL,
    )
    if hearing.is_drawn:
        # Materials added after the draw reach the people already seated at once.
        for registration in seated(hearing):
            notify(registration.user, hearing, "material_added", attachment=attachment)
    return attachment


def materials_of(hearing: Hearing) -> list:
    from portal.decisions.attachments import attachments_for

    return attachments_for("hearing", hearing.id)


# Registration -------------------------------------------------------------------------------


def register(
    actor: User,
    hearing: Hearing,
    *,
    category_code: str,
    real_name: str,
    contact: str,
    public_name: str,
    position: str,
    statement: str,
    has_interest: bool,
    interest_declaration: str,
    accessibility_needs: str = "",
) -> Registration:
    """Register ``actor`` as a participant in one category. One registration per person per
    hearing: the database's unique constraint decides, so double clicks and parallel requests
    end with exactly one row and a clear message for the others."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed(_l("请先登录再报名。"))
    _lock(hearing, shared=True)
    hearing.ensure_open_for_registration()
    if actor.is_member_of(hearing.decision.department_id):
        raise NotAllowed(_l("承办单位的工作人员不能报名参加本单位组织的听证会。"))
    category = hearing.category((category_code or "").strip())
    if category is None:
        raise DomainError(_l("所选的参加人类别不存在,请从列表中选择。"), code="unknown_category")
    if position not in {p.value for p in Position}:
        raise DomainError(_l("请选择支持、反对或中立。"), code="bad_position")
    real_name = _one_line(real_name, _l("真实姓名"), m.REAL_NAME_MAX)
    held = actor.email_confirmed_at is None
    registration = Registration(
        hearing_id=hearing.id,
        user_id=actor.id,
        category_id=category.id,
        real_name=real_name,
        contact=_one_line(contact, _l("联系方式"), m.CONTACT_MAX),
        public_name=_one_line(public_name, _l("公布姓名"), m.PUBLIC_NAME_MAX, required=False) or real_name,
        position=position,
        statement=_text(statement, _l("观点陈述"), m.STATEMENT_MAX),
        has_interest=bool(has_interest),
        interest_declaration=_text(
            interest_declaration, _l("利害关系说明"), m.INTEREST_MAX, required=bool(has_interest)
        ),
        accessibility_needs=_one_line(accessibility_needs, _l("无障碍需求"), m.NEEDS_MAX, required=False) or None,
        # Held (not drawn, not counted) until the registrant confirms their e-mail address.
        status=(RegistrationStatus.UNCONFIRMED if held else RegistrationStatus.REGISTERED).value,
    )
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(
            _l("您已经报名过本次听证会,每人只能报名一次(撤回后也不能再次报名)。"),
            code="duplicate_registration",
            status=409,
        ) from exc
    trace.record(
        actor,
        "hearing.registered",
        registration,
        visibility=INTERNAL,
        department=hearing.decision.department_id,
        hearing=hearing.id,
        registration=registration.id,
        category=category.code,
        position=position,
        has_interest=registration.has_interest,
        **({"awaiting_confirmation": True} if held else {}),
    )
    notify(actor, hearing, "registered", registration=registration)
    return registration


def release_held_registrations(user: User, now: datetime | None = None) -> list:
    """The registrant confirmed their address (listener of ``user.email_confirmed``, same
    transaction): a held registration enters the draw if registration is still open, and is
    marked too late otherwise. Returns notices for the user."""
    notices = []
    held = db.session.scalars(
        select(Registration)
        .where(Registration.user_id == user.id, Registration.status == RegistrationStatus.UNCONFIRMED.value)
        .order_by(Registration.id)
    ).all()
    for registration in held:
        hearing = registration.hearing
        _lock(hearing, shared=True)  # never across the draw
        db.session.refresh(registration)
        if registration.status != RegistrationStatus.UNCONFIRMED.value:
            continue
        in_time = hearing.registration_state() == "open"
        registration.status = (RegistrationStatus.REGISTERED if in_time else RegistrationStatus.TOO_LATE).value
        db.session.flush()
        trace.record(
            user,
            "registration.released" if in_time else "registration.too_late",
            registration,
            visibility=INTERNAL,
            department=hearing.decision.department_id,
            hearing=hearing.id,
            registration=registration.id,
        )
        if in_time:
            notices.append(
                _l("听证会“%(t)s”的报名(编号 %(no)s)已生效,将参加抽选。", t=hearing.title, no=registration.id)
            )
        else:
            notices.append(
                _l(
                    "听证会“%(t)s”的报名(编号 %(no)s)未能生效:邮箱确认时报名已经截止,这份报名不参加抽选。",
                    t=hearing.title,
                    no=registration.id,
                )
            )
    return notices


def withdraw(actor: User, registration: Registration) -> Registration:
    """Withdraw a registration while registration is still open; final (no second registration)."""
    if registration.user_id != getattr(actor, "id", None):
        raise NotAllowed(_l("只能撤回自己的报名。"))
    hearing = registration.hearing
    _lock(hearing)
    db.session.refresh(registration)
    if registration.status == RegistrationStatus.WITHDRAWN.value:
        raise DomainError(_l("这份报名已经撤回。"), code="already_withdrawn", status=409)
    if hearing.registration_state() != "open" or registration.status not in (
        RegistrationStatus.REGISTERED.value,
        RegistrationStatus.UNCONFIRMED.value,
    ):
        raise DomainError(
            _l("报名已截止,不能再撤回;如入选后不能参加,请在确认期限内选择“放弃”。"),
            code="registration_closed",
            status=409,
        )
    registration.status = RegistrationStatus.WITHDRAWN.value
    registration.withdrawn_at = current_time()
    db.session.flush()
    trace.record(
        actor,
        "registration.withdrawn",
        registration,
        visibility=INTERNAL,
        department=hearing.decision.department_id,
        hearing=hearing.id,
        registration=registration.id,
    )
    return registration


# Observers ----------------------------------------------------------------------------------


def book_observer(
    actor: User, hearing: Hearing, *, real_name: str, contact: str, accessibility_needs: str = ""
) -> Observer:
    """An observer seat, first come first served. The hearing row is locked and the seat number
    is unique per hearing and never above the capacity, so no race can overbook."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed(_l("请先登录再预约旁听。"))
    real_name = _one_line(real_name, _l("真实姓名"), m.REAL_NAME_MAX)
    contact = _one_line(contact, _l("联系方式"), m.CONTACT_MAX)
    needs = _one_line(accessibility_needs, _l("无障碍需求"), m.NEEDS_MAX, required=False) or None
    _lock(hearing)
    now = current_time()
    if hearing.status not in (HearingStatus.PUBLISHED.value, HearingStatus.DRAWN.value) or now >= hearing.starts_at:
        raise DomainError(_l("本听证会现在不接受旁听预约。"), code="observers_closed", status=409)
    if now < hearing.registration_opens_at:
        raise DomainError(_l("旁听预约与报名同时开始,尚未开始。"), code="registration_not_open", status=409)
    if hearing.observer_seats == 0:
        raise DomainError(_l("本听证会不设旁听席。"), code="observers_full", status=409)
    for _attempt in range(5):
        existing = _fresh(
            select(Observer).where(Observer.hearing_id == hearing.id, Observer.user_id == actor.id)
        ).first()
        if existing is not None and existing.is_booked:
            raise DomainError(_l("您已经预约了本听证会的旁听席。"), code="duplicate_observer", status=409)
        taken = set(
            db.session.scalars(
                select(Observer.seat_no).where(Observer.hearing_id == hearing.id, Observer.seat_no.is_not(None))
            )
        )
        free = next((n for n in range(1, hearing.observer_seats + 1) if n not in taken), None)
        if free is None:
            raise DomainError(
                _l("旁听席已满(共 %(n)s 席)。如有人取消,席位会重新开放。", n=hearing.observer_seats),
                code="observers_full",
                status=409,
            )
        observer = existing or Observer(hearing_id=hearing.id, user_id=actor.id)
        try:
            with db.session.begin_nested():
                observer.real_name, observer.contact, observer.accessibility_needs = real_name, contact, needs
                observer.seat_no = free
                observer.status = ObserverStatus.BOOKED.value
                observer.cancelled_at = None
                db.session.add(observer)
                db.session.flush()
        except IntegrityError:
            continue  # someone took that seat (or booked for this user) meanwhile: look again
        trace.record(
            actor,
            "observer.booked",
            observer,
            visibility=INTERNAL,
            department=hearing.decision.department_id,
            hearing=hearing.id,
            seat=free,
        )
        return observer
    raise DomainError(_l("预约的人太多,请稍后再试。"), code="busy", status=409)


def cancel_observer(actor: User, observer: Observer) -> Observer:
    """Give an observer seat back before the hearing."""
    if observer.user_id != getattr(actor, "id", None):
        raise NotAllowed(_l("只能取消自己的旁听预约。"))
    hearing = observer.hearing
    _lock(hearing)
    db.session.refresh(observer)
    if not observer.is_booked:
        raise DomainError(_l("这个旁听预约已经取消。"), code="already_cancelled", status=409)
    if current_time() >= hearing.starts_at:
        raise DomainError(_l("听证会已经开始,不能再取消。"), code="held", status=409)
    seat = observer.seat_no
    observer.status = ObserverStatus.CANCELLED.value
    observer.seat_no = None
    observer.cancelled_at = current_time()
    db.session.flush()
    trace.record(
        actor,
        "observer.cancelled",
        observer,
        visibility=INTERNAL,
        department=hearing.decision.department_id,
        hearing=hearing.id,
        seat=seat,
    )
    return observer


# The draw -----------------------------------------------------------------------------------


def run_draw(actor: User, hearing: Hearing) -> HearingDraw:
    """Reveal the seed and select participants per category (docs/DRAW.md); once only.

    Refused before registration closes, or later than the configured days before the hearing,
    or without materials (they go to the selected with the notice). The participant list is
    published and the materials delivered at the same moment.
    """
    _ensure_manager(actor, hearing)
    _lock(hearing)
    now = current_time()
    if hearing.is_drawn or db.session.scalar(select(HearingDraw.id).where(HearingDraw.hearing_id == hearing.id)):
        raise DomainError(
            _l("本听证会已经抽选过。抽选只能进行一次,结果不能重抽或更改。"), code="already_drawn", status=409
        )
    if hearing.status != HearingStatus.PUBLISHED.value:
        raise DomainError(_l("公告尚未发布,不能抽选。"), code="not_published", status=409)
    if now < hearing.registration_closes_at:
        raise DomainError(
            _l("报名尚未截止(截止时间 %(at)s),截止后才能抽选。", at=m._local(hearing.registration_closes_at)),
            code="registration_open",
            status=409,
        )
    days = setting("HEARING_DRAW_MIN_DAYS")
    if now > hearing.draw_deadline:
        raise DomainError(
            _l(
                "距听证会开始已不足 %(days)s 日,不能抽选:参加人名单和材料须至少提前 %(days)s 日送达。请先改期。",
                days=days,
            ),
            code="too_late",
            status=409,
        )
    materials = materials_of(hearing)
    if not materials:
        raise DomainError(
            _l("请先上传听证材料:抽选结果公布时,材料随通知一并送达入选的参加人。"), code="no_materials", status=409
        )
    secret = db.session.get(HearingSecret, hearing.id)
    if secret is None or draw_rules.commitment_of(secret.seed) != hearing.commitment:
        raise DomainError(
            _l("抽选种子缺失或与公布的承诺值不符,抽选中止。请联系系统管理员。"), code="seed_mismatch", status=409
        )
    seed = secret.seed
    entrants = list(
        _fresh(
            select(Registration).where(
                Registration.hearing_id == hearing.id, Registration.status == RegistrationStatus.REGISTERED.value
            )
        )
    )
    inputs = [
        draw_rules.CategoryInput(c.code, c.seats, [r.id for r in entrants if r.category_id == c.id])
        for c in hearing.categories
    ]
    result = draw_rules.compute(seed, inputs)
    record = HearingDraw(
        hearing_id=hearing.id,
        seed=seed,
        commitment=hearing.commitment,
        algorithm=draw_rules.ALGORITHM,
        result=canonical(result).decode("utf-8"),
        drawn_at=now,
        drawn_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("本听证会已经抽选过。抽选只能进行一次。"), code="already_drawn", status=409) from exc
    by_id = {r.id: r for r in entrants}
    respond_by = _respond_by(hearing, now)
    for category in result["categories"]:
        for rank, item in enumerate(category["order"], start=1):
            registration = by_id[item["registration"]]
            registration.draw_rank = rank
            registration.draw_key = item["key"]
            if rank <= category["seats"]:
                registration.status = RegistrationStatus.SELECTED.value
                registration.respond_by = respond_by
                registration.materials_sent_at = now
            else:
                registration.status = RegistrationStatus.WAITLISTED.value
    hearing.seed = seed
    hearing.drawn_at = now
    hearing.list_published_at = now
    hearing.materials_delivered_at = now
    hearing.advance(HearingStatus.DRAWN)
    db.session.delete(secret)
    db.session.flush()
    trace.record(
        actor,
        "hearing.draw_run",
        hearing,
        department=hearing.decision.department_id,
        seed=seed,
        commitment=hearing.commitment,
        algorithm=draw_rules.ALGORITHM,
        result=result,
        participant_list_published_at=now,
        materials=[{"id": a.id, "sha256": a.sha256, "title": a.display_title} for a in materials],
    )
    for registration in entrants:
        if registration.status == RegistrationStatus.SELECTED.value:
            notify(registration.user, hearing, "selected", registration=registration, materials=materials)
        else:
            notify(registration.user, hearing, "waitlisted", registration=registration)
    return record


def _respond_by(hearing: Hearing, now: datetime) -> datetime:
    return min(now + timedelta(days=setting("HEARING_CONFIRM_DAYS")), hearing.starts_at)


def seated(hearing: Hearing) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.hearing_id == hearing.id, Registration.status.in_(m.SEATED))
            .order_by(Registration.id)
        )
    )


def _promote_next(actor, hearing: Hearing, category_id: int, now: datetime, reason: str) -> Registration | None:
    """Seat the first on the category's waitlist (in draw order) and send them the materials."""
    if now >= hearing.starts_at:
        return None
    nxt = _fresh(
        select(Registration)
        .where(
            Registration.hearing_id == hearing.id,
            Registration.category_id == category_id,
            Registration.status == RegistrationStatus.WAITLISTED.value,
        )
        .order_by(Registration.draw_rank)
        .limit(1)
    ).first()
    if nxt is None:
        return None
    nxt.status = RegistrationStatus.SELECTED.value
    nxt.respond_by = _respond_by(hearing, now)
    nxt.materials_sent_at = now
    db.session.flush()
    trace.record(
        actor,
        "registration.promoted",
        nxt,
        department=hearing.decision.department_id,
        hearing=hearing.id,
        registration=nxt.id,
        category=nxt.category.code,
        draw_rank=nxt.draw_rank,
        reason=reason,
        respond_by=nxt.respond_by,
    )
    notify(nxt.user, hearing, "promoted", registration=nxt, materials=materials_of(hearing))
    return nxt


def respond_to_selection(actor: User, registration: Registration, *, accept: bool) -> Registration:
    """A selected participant confirms or declines before the deadline; a decline seats the next."""
    if registration.user_id != getattr(actor, "id", None):
        raise NotAllowed(_l("只能答复自己的入选通知。"))
    hearing = registration.hearing
    _lock(hearing)
    db.session.refresh(registration)
    now = current_time()
    if registration.status != RegistrationStatus.SELECTED.value:
        raise DomainError(
            _l("当前状态为“%(s)s”,无需确认。", s=registration.status_enum.label), code="not_selected", status=409
        )
    if registration.respond_by is not None and now >= registration.respond_by:
        raise DomainError(_l("确认期限已过,席位将由候补人员递补。"), code="deadline_passed", status=409)
    registration.status = (RegistrationStatus.CONFIRMED if accept else RegistrationStatus.DECLINED).value
    registration.responded_at = now
    db.session.flush()
    trace.record(
        actor,
        "registration.confirmed" if accept else "registration.declined",
        registration,
        department=hearing.decision.department_id,
        hearing=hearing.id,
        registration=registration.id,
        category=registration.category.code,
    )
    if not accept:
        _promote_next(actor, hearing, registration.category_id, now, reason="declined")
    return registration


def lapse_overdue(actor, hearing: Hearing) -> list[Registration]:
    """Selected participants who did not answer in time lose the seat; the waitlist moves up."""
    if actor is not None:
        _ensure_manager(actor, hearing)
    _lock(hearing)
    now = current_time()
    overdue = list(
        _fresh(
            select(Registration)
            .where(
                Registration.hearing_id == hearing.id,
                Registration.status == RegistrationStatus.SELECTED.value,
                Registration.respond_by <= now,
            )
            .order_by(Registration.id)
        )
    )
    for registration in overdue:
        registration.status = RegistrationStatus.LAPSED.value
        db.session.flush()
        trace.record(
            actor,
            "registration.lapsed",
            registration,
            department=hearing.decision.department_id,
            hearing=hearing.id,
            registration=registration.id,
            category=registration.category.code,
            respond_by=registration.respond_by,
        )
        _promote_next(actor, hearing, registration.category_id, now, reason="lapsed")
    return overdue


# On the day ---------------------------------------------------------------------------------


def hearing_day_start(hearing: Hearing) -> datetime:
    """Midnight of the hearing's day in the portal's timezone, as UTC."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    local = hearing.starts_at.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(hearing.starts_at.tzinfo)


def mark_attendance(
    actor: User, hearing: Hearing, *, present: Iterable[int], observers_present: Iterable[int] = ()
) -> dict:
    """Record who came: seated participants in ``present``, booked observers in ``observers_present``."""
    _ensure_manager(actor, hearing)
    _lock(hearing)
    now = current_time()
    if hearing.status != HearingStatus.DRAWN.value:
        raise DomainError(_l("只有在抽选完成后、录入笔录前才能登记出席。"), code="bad_status", status=409)
    if now < hearing_day_start(hearing):
        raise DomainError(_l("听证会当天才能登记出席情况。"), code="too_early", status=409)
    present_ids = {int(i) for i in present}
    observer_ids = {int(i) for i in observers_present}
    participants = seated(hearing)
    known = {r.id for r in participants}
    if present_ids - known:
        raise DomainError(_l("出席名单中有不是本听证会参加人的编号。"), code="unknown_participant")
    observers = list(
        db.session.scalars(
            select(Observer).where(Observer.hearing_id == hearing.id, Observer.status == ObserverStatus.BOOKED.value)
        )
    )
    if observer_ids - {o.id for o in observers}:
        raise DomainError(_l("旁听名单中有未预约的编号。"), code="unknown_observer")
    for registration in participants:
        registration.attended = registration.id in present_ids
        registration.attendance_marked_at = now
    for observer in observers:
        observer.attended = observer.id in observer_ids
    db.session.flush()
    summary = {
        "present": sorted(present_ids),
        "absent": sorted(known - present_ids),
        "observers_present": len(observer_ids),
        "observers_booked": len(observers),
    }
    trace.record(actor, "hearing.attendance_marked", hearing, department=hearing.decision.department_id, **summary)
    return summary


# The record and the report ------------------------------------------------------------------


def record_transcript(actor: User, hearing: Hearing, *, transcript: str) -> Hearing:
    """Enter the transcript (听证笔录) after the hearing; attendees are asked to confirm it."""
    _ensure_manager(actor, hearing)
    _lock(hearing)
    now = current_time()
    if hearing.status != HearingStatus.DRAWN.value:
        raise DomainError(_l("只有抽选完成、尚未录入笔录的听证会才能录入笔录。"), code="bad_status", status=409)
    if now < hearing.starts_at:
        raise DomainError(_l("听证会开始后才能录入笔录。"), code="too_early", status=409)
    participants = seated(hearing)
    if any(r.attendance_marked_at is None for r in participants):
        raise DomainError(_l("请先登记参加人的出席情况。"), code="attendance_missing", status=409)
    text = _text(transcript, _l("听证笔录"), m.TRANSCRIPT_MAX)
    hearing.transcript = text
    hearing.transcript_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    hearing.transcript_recorded_at = now
    hearing.record_confirm_by = now + timedelta(days=setting("HEARING_RECORD_CONFIRM_DAYS"))
    hearing.advance(HearingStatus.RECORDED)
    db.session.flush()
    trace.record(
        actor,
        "hearing.transcript_recorded",
        hearing,
        department=hearing.decision.department_id,
        sha256=hearing.transcript_sha256,
        length=len(text),
        confirm_by=hearing.record_confirm_by,
    )
    for registration in participants:
        if registration.attended:
            notify(registration.user, hearing, "confirm_record", registration=registration)
    erase_accessibility_needs(actor, hearing)
    return hearing


def respond_to_record(actor: User, hearing: Hearing, *, confirm: bool, objection: str = "") -> Registration:
    """A participant who attended confirms the transcript or files an objection, once, in time."""
    registration = db.session.scalar(
        select(Registration).where(
            Registration.hearing_id == hearing.id, Registration.user_id == getattr(actor, "id", None)
        )
    )
    if registration is None or not registration.attended:
        raise NotAllowed(_l("只有出席本次听证会的参加人才能确认笔录或提出异议。"))
    _lock(hearing)
    db.session.refresh(registration)
    now = current_time()
    if hearing.status != HearingStatus.RECORDED.value:
        raise DomainError(_l("现在不在笔录确认期内。"), code="bad_status", status=409)
    if registration.record_response:
        raise DomainError(_l("您已经答复过这份笔录,不能更改。"), code="already_answered", status=409)
    if hearing.record_confirm_by is not None and now >= hearing.record_confirm_by:
        raise DomainError(_l("笔录确认期限已过。"), code="deadline_passed", status=409)
    objection = _text(objection, _l("异议内容"), m.OBJECTION_MAX, required=not confirm)
    registration.record_response = (RecordResponse.CONFIRMED if confirm else RecordResponse.OBJECTED).value
    registration.record_objection = None if confirm else objection
    registration.record_responded_at = now
    db.session.flush()
    payload = {"hearing": hearing.id, "registration": registration.id, "transcript_sha256": hearing.transcript_sha256}
    if not confirm:
        payload["objection_sha256"] = hashlib.sha256(objection.encode("utf-8")).hexdigest()
    trace.record(
        actor,
        "hearing_record.confirmed" if confirm else "hearing_record.objected",
        registration,
        department=hearing.decision.department_id,
        **payload,
    )
    return registration


def publish_report(actor: User, hearing: Hearing, *, body: str, support: str, oppose: str, neutral: str) -> Hearing:
    """Publish the hearing report with how each side's opinions were handled."""
    _ensure_manager(actor, hearing)
    _lock(hearing)
    if hearing.status != HearingStatus.RECORDED.value:
        raise DomainError(_l("只有笔录已录入、尚未发布报告的听证会才能发布听证报告。"), code="bad_status", status=409)
    participants = seated(hearing)
    if not hearing.record_confirmation_complete(participants):
        raise DomainError(
            _l("出席的参加人尚未全部确认笔录,且确认期限(%(at)s)未到。", at=m._local(hearing.record_confirm_by)),
            code="record_unconfirmed",
            status=409,
        )
    handling = {
        Position.SUPPORT.value: _text(support, _l("支持方意见及处理情况"), m.REPORT_MAX, required=False),
        Position.OPPOSE.value: _text(oppose, _l("反对方意见及处理情况"), m.REPORT_MAX, required=False),
        Position.NEUTRAL.value: _text(neutral, _l("中立方意见及处理情况"), m.REPORT_MAX, required=False),
    }
    for position in sorted({r.position for r in participants if r.attended}):
        if not handling[position]:
            raise DomainError(
                _l("有%(side)s方参加人出席,请说明其意见的处理情况。", side=Position(position).label),
                code="handling_missing",
            )
    hearing.report_body = _text(body, _l("听证报告"), m.REPORT_MAX)
    hearing.report_support = handling[Position.SUPPORT.value] or None
    hearing.report_oppose = handling[Position.OPPOSE.value] or None
    hearing.report_neutral = handling[Position.NEUTRAL.value] or None
    hearing.report_published_at = current_time()
    hearing.advance(HearingStatus.REPORTED)
    db.session.flush()
    report_text = "\n\n".join(
        [hearing.report_body, hearing.report_support or "", hearing.report_oppose or "", hearing.report_neutral or ""]
    )
    trace.record(
        actor,
        "hearing.report_published",
        hearing,
        department=hearing.decision.department_id,
        decision=hearing.decision.slug,
        sha256=hashlib.sha256(report_text.encode("utf-8")).hexdigest(),
        confirmed=sorted(r.id for r in participants if r.record_response == RecordResponse.CONFIRMED.value),
        objected=sorted(r.id for r in participants if r.record_response == RecordResponse.OBJECTED.value),
        unanswered=sorted(r.id for r in participants if r.attended and not r.record_response),
    )
    return hearing


def erase_accessibility_needs(actor, hearing: Hearing) -> int:
    """Erase the accessibility needs of everyone registered, once the hearing has begun."""
    if actor is not None:
        _ensure_manager(actor, hearing)
    if current_time() < hearing.starts_at:
        raise DomainError(_l("无障碍需求在听证会举行后删除。"), code="too_early", status=409)
    count = 0
    for row in [
        *db.session.scalars(select(Registration).where(Registration.hearing_id == hearing.id)),
        *db.session.scalars(select(Observer).where(Observer.hearing_id == hearing.id)),
    ]:
        if row.accessibility_needs is not None:
            row.accessibility_needs = None
            count += 1
    if hearing.needs_erased_at is None or count:
        hearing.needs_erased_at = current_time()
        db.session.flush()
        trace.record(
            actor,
            "hearing.needs_erased",
            hearing,
            visibility=INTERNAL,
            department=hearing.decision.department_id,
            erased=count,
        )
    return count


def is_official(user) -> bool:
    return getattr(user, "is_authenticated", False) and user.has_role(Role.OFFICIAL, Role.ADMIN)
