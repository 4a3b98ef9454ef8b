"""Rules of hearings: the notice, registration, the draw, confirmation, observers, the day,
the record, the report, the gate and the ledger. Each refusal leaves nothing changed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.auth.models import Role
from portal.core.errors import DomainError, NotAllowed
from portal.core.models import utcnow
from portal.decisions.gates import unmet_conditions
from portal.decisions.models import Stage
from portal.hearings import draw as draw_rules
from portal.hearings import operations, queries
from portal.hearings.forms import parse_local_datetime, parse_share
from portal.hearings.gates import hearing_gate
from portal.hearings.models import (
    Hearing,
    HearingCategory,
    HearingDraw,
    HearingMessage,
    HearingSecret,
    Observer,
    Registration,
    RegistrationStatus,
    clock_set_to,
)
from portal.hearings.operations import CategorySpec
from portal.hearings.permissions import can_manage_hearing, can_read_transcript, can_see_hearing
from portal.trace.models import TraceEntry

from .conftest import CATEGORIES, add_pdf, after_close, hearing_fields, register


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def actions(db, subject_kind: str | None = None) -> list[str]:
    stmt = select(TraceEntry.action).order_by(TraceEntry.seq)
    if subject_kind:
        stmt = stmt.where(TraceEntry.subject_kind == subject_kind)
    return list(db.session.scalars(stmt))


def entry(db, action: str) -> TraceEntry:
    return db.session.scalar(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq.desc()))


# The notice ---------------------------------------------------------------------------------


def test_minimum_share_broken_by_the_split_is_refused_with_a_clear_message(db, official, decision):
    before = count(db, TraceEntry)
    categories = [
        CategorySpec("consumers", "消费者", 4, Fraction(2, 5)),
        CategorySpec("operators", "经营者", 5),
        CategorySpec("experts", "专家学者", 2),
        CategorySpec("others", "其他", 1),
    ]
    with pytest.raises(DomainError) as refused:
        operations.create_hearing(official, decision, **hearing_fields(categories=categories))
    message = str(refused.value.message)
    assert refused.value.code == "min_share"
    assert "消费者" in message
    assert "2/5" in message
    assert "至少 5 席" in message
    assert "现为 4 席" in message
    db.session.rollback()
    assert count(db, Hearing) == 0
    assert count(db, TraceEntry) == before


def test_minimum_share_exactly_met_is_accepted_and_stored_as_integers(db, official, decision):
    # 5 of 12 seats: 5 * 5 = 25 >= 2 * 12 = 24.
    categories = [CategorySpec("consumers", "消费者", 5, Fraction(4, 10)), *CATEGORIES[1:]]
    categories[1] = CategorySpec("operators", "经营者", 4)
    hearing = operations.create_hearing(official, decision, **hearing_fields(categories=categories))
    consumers = hearing.category("consumers")
    assert (consumers.min_share_num, consumers.min_share_den) == (2, 5)
    assert isinstance(consumers.min_share_num, int)
    assert consumers.min_share == Fraction(2, 5)
    assert hearing.total_seats == 12


@pytest.mark.parametrize(
    ("categories", "code"),
    [
        ([], "bad_categories"),
        ([CategorySpec("a", "甲", 1), CategorySpec("a", "乙", 1)], "bad_categories"),
        ([CategorySpec("Bad Code", "甲", 1)], "bad_categories"),
        ([CategorySpec("a:b", "甲", 1)], "bad_categories"),
        ([CategorySpec("a", "甲", 0)], "bad_categories"),
        ([CategorySpec("a", "甲", 2, Fraction(3, 5)), CategorySpec("b", "乙", 2, Fraction(3, 5))], "bad_categories"),
    ],
)
def test_inconsistent_categories_are_refused(db, official, decision, categories, code):
    with pytest.raises(DomainError) as refused:
        operations.create_hearing(official, decision, **hearing_fields(categories=categories))
    assert refused.value.code == code
    db.session.rollback()
    assert count(db, Hearing) == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ends_at": utcnow() + timedelta(days=19)}, "bad_times"),
        ({"registration_closes_at": utcnow() - timedelta(hours=2)}, "bad_window"),
        ({"registration_closes_at": utcnow() + timedelta(days=14)}, "window_too_late"),
        ({"starts_at": datetime(2030, 1, 1, 9, 0)}, "naive_time"),  # noqa: DTZ001 (the point of the test)
        ({"observer_seats": -1}, "bad_seats"),
        ({"stream_url": "javascript:alert(1)"}, "bad_url"),
    ],
)
def test_bad_schedule_and_fields_are_refused(db, official, decision, change, code):
    with pytest.raises(DomainError) as refused:
        operations.create_hearing(official, decision, **hearing_fields(**change))
    assert refused.value.code == code
    db.session.rollback()
    assert count(db, Hearing) == 0


def test_only_officials_of_the_department_or_admins_manage(db, official, foreign_official, decision, make_user):
    with pytest.raises(NotAllowed):
        operations.create_hearing(foreign_official, decision, **hearing_fields())
    citizen = make_user(Role.CITIZEN)
    with pytest.raises(NotAllowed):
        operations.create_hearing(citizen, decision, **hearing_fields())
    admin = make_user(Role.ADMIN)
    hearing = operations.create_hearing(admin, decision, **hearing_fields())
    assert can_manage_hearing(official, hearing)
    assert can_manage_hearing(admin, hearing)
    assert not can_manage_hearing(foreign_official, hearing)
    assert not can_manage_hearing(citizen, hearing)
    # A member of the department without the official role does not manage either.
    member = make_user(Role.CITIZEN, department=official.departments[0])
    assert not can_manage_hearing(member, hearing)


def test_decision_past_the_hearing_stage_gets_no_new_hearing(db, official, make_decision):
    late = make_decision(stage=Stage.LEGALITY_REVIEW.value)
    with pytest.raises(DomainError) as refused:
        operations.create_hearing(official, late, **hearing_fields())
    assert refused.value.code == "bad_stage"


def test_publication_commits_to_a_secret_seed_that_nothing_public_shows(db, hearing, make_user):
    secret = db.session.get(HearingSecret, hearing.id)
    assert len(secret.seed) == 64
    assert int(secret.seed, 16) >= 0
    assert hearing.commitment == hashlib.sha256(secret.seed.encode("utf-8")).hexdigest()
    assert hearing.seed is None
    published = entry(db, "hearing.published")
    assert published.visibility == "public"
    assert published.payload_data["commitment"] == hearing.commitment
    assert published.payload_data["selection_method"] == hearing.selection_method
    for row in db.session.scalars(select(TraceEntry)):
        assert secret.seed not in row.payload
    assert can_see_hearing(make_user(Role.CITIZEN), hearing)


def test_a_draft_is_internal_and_a_decision_without_public_draft_cannot_get_a_notice(
    db, official, make_decision, make_hearing, make_user
):
    draft = make_hearing(publish=False)
    assert entry(db, "hearing.created").visibility == "internal"
    assert not can_see_hearing(make_user(Role.CITIZEN), draft)
    hidden = make_decision(published=False)
    other = make_hearing(publish=False, on=hidden)
    with pytest.raises(DomainError) as refused:
        operations.publish_hearing(official, other)
    assert refused.value.code == "decision_not_public"
    db.session.rollback()
    assert db.session.get(HearingSecret, other.id) is None


def test_publishing_twice_is_refused(db, official, hearing):
    with pytest.raises(DomainError) as refused:
        operations.publish_hearing(official, hearing)
    assert refused.value.code == "already_published"


def test_published_hearing_keeps_its_method_and_categories(db, official, hearing):
    with pytest.raises(DomainError) as refused:
        operations.update_draft(official, hearing, **hearing_fields())
    assert refused.value.code == "published"


# Registration -------------------------------------------------------------------------------


def test_registration_is_recorded_internally_and_the_second_one_is_refused(db, hearing, citizens):
    (citizen,) = citizens(1)
    registration = register(citizen, hearing, accessibility_needs="需要手语翻译")
    db.session.commit()
    assert registration.status == RegistrationStatus.REGISTERED.value
    recorded = entry(db, "hearing.registered")
    assert recorded.visibility == "internal"
    assert recorded.department_id == hearing.decision.department_id
    assert "实名" not in recorded.payload
    assert "1390000" not in recorded.payload
    before = count(db, TraceEntry)
    with pytest.raises(DomainError) as refused:
        register(citizen, hearing, "operators")
    assert refused.value.code == "duplicate_registration"
    assert refused.value.status == 409
    assert "只能报名一次" in str(refused.value.message)
    db.session.rollback()
    assert count(db, Registration) == 1
    assert count(db, TraceEntry) == before


def test_the_database_refuses_a_second_registration_whatever_the_code_does(db, hearing, citizens):
    (citizen,) = citizens(1)
    first = register(citizen, hearing)
    db.session.commit()
    twin = Registration(
        hearing_id=hearing.id,
        user_id=citizen.id,
        category_id=first.category_id,
        real_name="x",
        contact="x",
        public_name="x",
        position="support",
        statement="x",
    )
    with pytest.raises(IntegrityError), db.session.begin_nested():  # noqa: PT012 (add, then the flush that writes it)
        db.session.add(twin)
        db.session.flush()


def test_registration_outside_the_window_is_refused(db, official, make_hearing, citizens):
    (a, b) = citizens(2)
    hearing = make_hearing(registration_opens_at=utcnow() + timedelta(days=1))
    with pytest.raises(DomainError) as early:
        register(a, hearing)
    assert early.value.code == "registration_not_open"
    with after_close(hearing), pytest.raises(DomainError) as late:
        register(b, hearing)
    assert late.value.code == "registration_closed"
    db.session.rollback()
    assert count(db, Registration) == 0


def test_unknown_category_and_bad_position_are_refused(db, hearing, citizens):
    (citizen,) = citizens(1)
    with pytest.raises(DomainError) as unknown:
        register(citizen, hearing, "aliens")
    assert unknown.value.code == "unknown_category"
    assert "不存在" in str(unknown.value.message)
    with pytest.raises(DomainError) as position:
        register(citizen, hearing, position="maybe")
    assert position.value.code == "bad_position"
    with pytest.raises(DomainError) as interest:
        register(citizen, hearing, has_interest=True, interest_declaration=" ")
    assert interest.value.code == "missing_field"
    db.session.rollback()
    assert count(db, Registration) == 0


def test_the_department_staff_cannot_register_for_their_own_hearing(db, hearing, official):
    with pytest.raises(NotAllowed):
        register(official, hearing)


def test_withdrawal_before_close_only_and_final(db, hearing, citizens):
    (a, b) = citizens(2)
    first = register(a, hearing)
    second = register(b, hearing)
    db.session.commit()
    operations.withdraw(a, first)
    db.session.commit()
    assert first.status == RegistrationStatus.WITHDRAWN.value
    assert entry(db, "registration.withdrawn").visibility == "internal"
    with pytest.raises(DomainError) as again:
        register(a, hearing)
    assert again.value.code == "duplicate_registration"
    db.session.rollback()
    with after_close(hearing), pytest.raises(DomainError) as late:
        operations.withdraw(b, second)
    assert late.value.code == "registration_closed"
    with pytest.raises(NotAllowed):
        operations.withdraw(a, second)
    db.session.rollback()
    assert db.session.get(Registration, second.id).status == RegistrationStatus.REGISTERED.value


# The draw -----------------------------------------------------------------------------------


def test_draw_selects_by_the_documented_function_and_waitlists_the_rest(db, drawn_hearing):
    hearing = drawn_hearing
    stored = queries.draw_of(hearing)
    result = stored.result_data
    assert hearing.seed == stored.seed
    assert hashlib.sha256(hearing.seed.encode()).hexdigest() == hearing.commitment
    by_code = {c["code"]: c for c in result["categories"]}
    consumers = [r for r in queries.registrations(hearing) if r.category.code == "consumers"]
    # Independent recomputation: key = SHA-256("seed:code:id"), ascending.
    expected = sorted(consumers, key=lambda r: hashlib.sha256(f"{hearing.seed}:consumers:{r.id}".encode()).hexdigest())
    assert by_code["consumers"]["selected"] == [r.id for r in expected[:6]]
    assert by_code["consumers"]["waitlist"] == [r.id for r in expected[6:]]
    for rank, registration in enumerate(expected, start=1):
        assert registration.draw_rank == rank
        wanted = RegistrationStatus.SELECTED if rank <= 6 else RegistrationStatus.WAITLISTED
        assert registration.status == wanted.value
    # Fewer registrations than seats: everyone is selected.
    assert len(by_code["operators"]["selected"]) == 2
    assert by_code["operators"]["waitlist"] == []
    assert len(by_code["experts"]["selected"]) == 1
    assert len(by_code["others"]["selected"]) == 1
    assert len(by_code["others"]["waitlist"]) == 1
    assert draw_rules.check(hearing.seed, hearing.commitment, result) == []
    # The secret is gone; the list and the materials went out with the draw.
    assert db.session.get(HearingSecret, hearing.id) is None
    assert hearing.list_published_at == hearing.drawn_at == hearing.materials_delivered_at
    selected = [r for r in queries.registrations(hearing) if r.status == RegistrationStatus.SELECTED.value]
    assert all(r.materials_sent_at == hearing.drawn_at and r.respond_by is not None for r in selected)


def test_draw_is_in_the_public_ledger_with_seed_commitment_and_result(db, drawn_hearing):
    recorded = entry(db, "hearing.draw_run")
    assert recorded.visibility == "public"
    payload = recorded.payload_data
    assert payload["seed"] == drawn_hearing.seed
    assert payload["commitment"] == drawn_hearing.commitment
    assert payload["result"] == queries.draw_of(drawn_hearing).result_data
    assert "实名" not in recorded.payload
    assert "1390000" not in recorded.payload


def test_selected_and_waitlisted_people_are_told_in_site_and_by_mail(db, drawn_hearing):
    from portal.core.mail import pending_count

    messages = db.session.scalars(select(HearingMessage).where(HearingMessage.hearing_id == drawn_hearing.id)).all()
    subjects = [m.subject for m in messages]
    assert sum("已入选" in s for s in subjects) == 10
    assert sum("候补" in s for s in subjects) == 3
    selected_mail = next(m for m in messages if "已入选" in m.subject)
    assert "成本监审报告" in selected_mail.body
    assert "/attachments/" in selected_mail.body
    assert pending_count() == 0  # committed: the mail left the session for the outbox


def test_draw_twice_is_refused_and_the_stored_draw_cannot_change(db, drawn_hearing, official):
    before = count(db, TraceEntry)
    with after_close(drawn_hearing), pytest.raises(DomainError) as refused:
        operations.run_draw(official, drawn_hearing)
    assert refused.value.code == "already_drawn"
    assert refused.value.status == 409
    db.session.rollback()
    assert count(db, TraceEntry) == before
    assert count(db, HearingDraw) == 1
    connection = db.session.connection()
    with pytest.raises(DBAPIError), connection.begin_nested():
        connection.execute(text("UPDATE hearing_draw SET seed = 'x'"))
    with pytest.raises(DBAPIError), connection.begin_nested():
        connection.execute(text("DELETE FROM hearing_draw"))
    second = HearingDraw(
        hearing_id=drawn_hearing.id,
        seed="0" * 64,
        commitment="0" * 64,
        algorithm="x",
        result="{}",
        drawn_at=utcnow(),
    )
    with pytest.raises(IntegrityError), db.session.begin_nested():  # noqa: PT012 (add, then the flush that writes it)
        db.session.add(second)
        db.session.flush()


def test_draw_before_close_or_too_late_or_without_materials_is_refused(db, official, make_hearing, citizens):
    hearing = make_hearing()
    register(citizens(1)[0], hearing)
    db.session.commit()
    with pytest.raises(DomainError) as early:
        operations.run_draw(official, hearing)
    assert early.value.code == "registration_open"
    with clock_set_to(hearing.starts_at - timedelta(days=7, seconds=-1)), pytest.raises(DomainError) as late:
        operations.run_draw(official, hearing)
    assert late.value.code == "too_late"
    assert "7 日" in str(late.value.message)
    bare = make_hearing(materials=False)
    with after_close(bare), pytest.raises(DomainError) as no_materials:
        operations.run_draw(official, bare)
    assert no_materials.value.code == "no_materials"
    db.session.rollback()
    assert count(db, HearingDraw) == 0
    assert db.session.get(Hearing, hearing.id).seed is None


def test_the_minimum_days_are_configurable(app, db, official, make_hearing):
    app.config["HEARING_DRAW_MIN_DAYS"] = 10
    hearing = make_hearing()  # closes in 5 days, starts in 20: 15 days apart
    with clock_set_to(hearing.starts_at - timedelta(days=9)), pytest.raises(DomainError) as late:
        operations.run_draw(official, hearing)
    assert "10 日" in str(late.value.message)
    with pytest.raises(DomainError) as window:
        make_hearing(registration_closes_at=utcnow() + timedelta(days=11))
    assert window.value.code == "window_too_late"


def test_a_foreign_official_cannot_draw(db, hearing, foreign_official):
    with after_close(hearing), pytest.raises(NotAllowed):
        operations.run_draw(foreign_official, hearing)


def test_draw_with_no_registrations_at_all(db, official, hearing):
    with after_close(hearing):
        stored = operations.run_draw(official, hearing)
    assert all(c["selected"] == [] for c in stored.result_data["categories"])
    assert draw_rules.check(hearing.seed, hearing.commitment, stored.result_data) == []


# The pure draw functions --------------------------------------------------------------------


def test_draw_key_matches_a_fixed_vector():
    seed = "00" * 32
    assert draw_rules.commitment_of(seed) == hashlib.sha256(seed.encode("ascii")).hexdigest()
    assert draw_rules.draw_key(seed, "consumers", 17) == hashlib.sha256(f"{seed}:consumers:17".encode()).hexdigest()
    result = draw_rules.compute(seed, [draw_rules.CategoryInput("consumers", 2, [3, 1, 2])])
    order = [i["registration"] for i in result["categories"][0]["order"]]
    assert order == sorted([1, 2, 3], key=lambda i: hashlib.sha256(f"{seed}:consumers:{i}".encode()).hexdigest())
    assert result["categories"][0]["selected"] == order[:2]
    # Input order does not matter.
    again = draw_rules.compute(seed, [draw_rules.CategoryInput("consumers", 2, [2, 3, 1])])
    assert again == result


def test_check_notices_a_changed_result_or_seed():
    seed = draw_rules.new_seed()
    commitment = draw_rules.commitment_of(seed)
    result = draw_rules.compute(seed, [draw_rules.CategoryInput("a", 1, [5, 6, 7])])
    assert draw_rules.check(seed, commitment, result) == []
    swapped = json.loads(json.dumps(result))
    cat = swapped["categories"][0]
    cat["selected"], cat["waitlist"] = cat["waitlist"][:1], cat["selected"] + cat["waitlist"][1:]
    assert draw_rules.check(seed, commitment, swapped)
    assert draw_rules.check(draw_rules.new_seed(), commitment, result)
    with pytest.raises(ValueError, match="hex"):
        draw_rules.compute("not hex", [])


# Confirmation and the waitlist --------------------------------------------------------------


def _first(hearing, status, code="consumers"):
    return next(r for r in queries.registrations(hearing) if r.status == status.value and r.category.code == code)


def test_decline_promotes_the_next_on_the_waitlist_who_is_notified(db, drawn_hearing):
    selected = _first(drawn_hearing, RegistrationStatus.SELECTED)
    nxt = min(
        (
            r
            for r in queries.registrations(drawn_hearing)
            if r.status == RegistrationStatus.WAITLISTED.value and r.category.code == "consumers"
        ),
        key=lambda r: r.draw_rank,
    )
    operations.respond_to_selection(selected.user, selected, accept=False)
    db.session.commit()
    assert selected.status == RegistrationStatus.DECLINED.value
    assert nxt.status == RegistrationStatus.SELECTED.value
    assert nxt.materials_sent_at is not None
    promoted = entry(db, "registration.promoted")
    assert promoted.payload_data["registration"] == nxt.id
    assert promoted.payload_data["reason"] == "declined"
    assert db.session.scalar(
        select(HearingMessage).where(HearingMessage.user_id == nxt.user_id, HearingMessage.subject.contains("递补"))
    )
    assert "registration.declined" in actions(db)


def test_confirm_in_time_and_not_after_the_deadline(db, drawn_hearing):
    first, second = [r for r in queries.registrations(drawn_hearing) if r.status == "selected"][:2]
    operations.respond_to_selection(first.user, first, accept=True)
    db.session.commit()
    assert first.status == RegistrationStatus.CONFIRMED.value
    assert entry(db, "registration.confirmed")
    with pytest.raises(DomainError) as again:
        operations.respond_to_selection(first.user, first, accept=True)
    assert again.value.code == "not_selected"
    with clock_set_to(second.respond_by + timedelta(seconds=1)), pytest.raises(DomainError) as late:
        operations.respond_to_selection(second.user, second, accept=True)
    assert late.value.code == "deadline_passed"
    with pytest.raises(NotAllowed):
        operations.respond_to_selection(first.user, second, accept=True)


def test_no_answer_in_time_lapses_and_promotes(db, drawn_hearing, runner):
    selected = [r for r in queries.registrations(drawn_hearing) if r.status == "selected"]
    waiting = [r for r in queries.registrations(drawn_hearing) if r.status == "waitlisted"]
    with clock_set_to(selected[0].respond_by + timedelta(minutes=1)):
        result = runner.invoke(args=["hearings", "process-deadlines"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert all(db.session.get(Registration, r.id).status == "lapsed" for r in selected)
    # Waitlisted consumers (2) and others (1) were promoted in draw order.
    assert all(db.session.get(Registration, r.id).status == "selected" for r in waiting)
    assert actions(db).count("registration.lapsed") == 10


# Observers ----------------------------------------------------------------------------------


def test_observers_first_come_first_served_up_to_capacity(db, hearing, citizens):
    people = citizens(5)
    seats = [operations.book_observer(p, hearing, real_name="旁听人", contact="1").seat_no for p in people[:3]]
    db.session.commit()
    assert seats == [1, 2, 3]
    with pytest.raises(DomainError) as full:
        operations.book_observer(people[3], hearing, real_name="旁听人", contact="1")
    assert full.value.code == "observers_full"
    assert "已满" in str(full.value.message)
    db.session.rollback()
    with pytest.raises(DomainError) as twice:
        operations.book_observer(people[0], hearing, real_name="旁听人", contact="1")
    assert twice.value.code == "duplicate_observer"
    db.session.rollback()
    observer = queries.observer_of(hearing, people[1])
    operations.cancel_observer(people[1], observer)
    seat = operations.book_observer(people[4], hearing, real_name="旁听人", contact="1").seat_no
    db.session.commit()
    assert seat == 2
    assert queries.observers_booked_count(hearing) == 3
    assert entry(db, "observer.booked").visibility == "internal"


def test_observer_booking_refused_for_drafts_and_after_the_start(db, make_hearing, hearing, citizens):
    (a,) = citizens(1)
    draft = make_hearing(publish=False)
    with pytest.raises(DomainError):
        operations.book_observer(a, draft, real_name="x", contact="1")
    with clock_set_to(hearing.starts_at), pytest.raises(DomainError) as late:
        operations.book_observer(a, hearing, real_name="x", contact="1")
    assert late.value.code == "observers_closed"
    db.session.rollback()
    assert count(db, Observer) == 0


# Rescheduling and the calendar --------------------------------------------------------------


def _notice(hearing, **change):
    fields = {
        "title": hearing.title,
        "purpose": hearing.purpose,
        "agenda": hearing.agenda,
        "starts_at": hearing.starts_at,
        "ends_at": hearing.ends_at,
        "place": hearing.place,
        "stream_url": hearing.stream_url,
    }
    fields.update(change)
    return fields


def test_reschedule_raises_the_sequence_and_tells_registrants(db, official, drawn_hearing, citizens):
    hearing = drawn_hearing
    (watcher,) = citizens(1)
    operations.book_observer(watcher, hearing, real_name="旁听", contact="1")
    db.session.commit()
    people = {r.user_id for r in queries.registrations(hearing)} | {watcher.id}
    before = db.session.scalar(select(func.count(HearingMessage.id)).where(HearingMessage.subject.contains("时间变更")))
    later = hearing.starts_at + timedelta(days=2)
    operations.update_notice(official, hearing, **_notice(hearing, starts_at=later, ends_at=later + timedelta(hours=2)))
    db.session.commit()
    assert hearing.sequence == 1
    told = db.session.scalars(select(HearingMessage.user_id).where(HearingMessage.subject.contains("时间变更"))).all()
    assert set(told) == people
    assert len(told) - before == len(people)
    moved = entry(db, "hearing.rescheduled").payload_data
    assert moved["sequence"] == 1
    assert moved["old_starts_at"] != moved["starts_at"]
    # A text-only change keeps the sequence.
    operations.update_notice(official, hearing, **_notice(hearing, place="新地点"))
    assert hearing.sequence == 1


def test_reschedule_too_close_to_the_list_publication_is_refused(db, official, drawn_hearing):
    hearing = drawn_hearing
    sooner = hearing.list_published_at + timedelta(days=6)
    with pytest.raises(DomainError) as refused:
        operations.update_notice(
            official, hearing, **_notice(hearing, starts_at=sooner, ends_at=sooner + timedelta(hours=1))
        )
    assert refused.value.code in ("too_soon_after_list", "window_too_late")
    db.session.rollback()
    assert db.session.get(Hearing, hearing.id).sequence == 0


# The day, the record and the report ---------------------------------------------------------


def _seated(hearing):
    return operations.seated(hearing)


def test_attendance_only_on_the_day_and_only_for_participants(db, official, drawn_hearing):
    hearing = drawn_hearing
    seated = _seated(hearing)
    with pytest.raises(DomainError) as early:
        operations.mark_attendance(official, hearing, present=[seated[0].id])
    assert early.value.code == "too_early"
    with clock_set_to(hearing.starts_at), pytest.raises(DomainError) as stranger:
        operations.mark_attendance(official, hearing, present=[999_999])
    assert stranger.value.code == "unknown_participant"
    # An hour before the start, but never before midnight of the hearing's day in Shanghai: a
    # hearing starting just after midnight there has no earlier hour on its own day.
    before_start = max(operations.hearing_day_start(hearing), hearing.starts_at - timedelta(hours=1))
    with clock_set_to(before_start):
        summary = operations.mark_attendance(official, hearing, present=[r.id for r in seated[:-1]])
    assert summary["absent"] == [seated[-1].id]
    assert seated[0].attended is True
    assert seated[-1].attended is False


def _held(db, official, hearing):
    seated = _seated(hearing)
    with clock_set_to(hearing.starts_at + timedelta(minutes=5)):
        operations.mark_attendance(official, hearing, present=[r.id for r in seated[:3]])
    with clock_set_to(hearing.ends_at):
        operations.record_transcript(official, hearing, transcript="## 笔录\n\n发言记录。")
    db.session.commit()
    return seated


def test_transcript_needs_the_hearing_to_have_begun_and_attendance(db, official, drawn_hearing):
    hearing = drawn_hearing
    with pytest.raises(DomainError) as early:
        operations.record_transcript(official, hearing, transcript="x")
    assert early.value.code == "too_early"
    with clock_set_to(hearing.ends_at), pytest.raises(DomainError) as no_attendance:
        operations.record_transcript(official, hearing, transcript="x")
    assert no_attendance.value.code == "attendance_missing"


def test_transcript_erases_accessibility_needs_and_asks_attendees(db, official, hearing, citizens):
    (a, b) = citizens(2)
    register(a, hearing, accessibility_needs="轮椅")
    operations.book_observer(b, hearing, real_name="旁听", contact="1", accessibility_needs="手语")
    db.session.commit()
    with after_close(hearing):
        operations.run_draw(official, hearing)
    _held(db, official, hearing)
    assert all(r.accessibility_needs is None for r in db.session.scalars(select(Registration)))
    assert all(o.accessibility_needs is None for o in db.session.scalars(select(Observer)))
    assert hearing.needs_erased_at is not None
    assert entry(db, "hearing.needs_erased").visibility == "internal"
    assert db.session.scalar(select(HearingMessage).where(HearingMessage.subject.contains("请确认听证笔录")))
    assert entry(db, "hearing.transcript_recorded").payload_data["sha256"] == hearing.transcript_sha256


def test_only_attendees_confirm_the_record_once_and_in_time(db, official, drawn_hearing, make_user):
    hearing = drawn_hearing
    seated = _held(db, official, hearing)
    attendee, absentee = seated[0], seated[-1]
    with pytest.raises(NotAllowed) as stranger:
        operations.respond_to_record(make_user(Role.CITIZEN), hearing, confirm=True)
    assert "出席" in str(stranger.value.message)
    with pytest.raises(NotAllowed):
        operations.respond_to_record(absentee.user, hearing, confirm=True)
    with pytest.raises(DomainError) as empty:
        operations.respond_to_record(seated[1].user, hearing, confirm=False, objection="  ")
    assert empty.value.code == "missing_field"
    db.session.rollback()
    operations.respond_to_record(attendee.user, hearing, confirm=True)
    operations.respond_to_record(seated[1].user, hearing, confirm=False, objection="遗漏了我的发言。")
    db.session.commit()
    assert attendee.record_response == "confirmed"
    assert attendee.record_responded_at is not None
    assert seated[1].record_objection == "遗漏了我的发言。"
    with pytest.raises(DomainError) as twice:
        operations.respond_to_record(attendee.user, hearing, confirm=False, objection="改主意")
    assert twice.value.code == "already_answered"
    with clock_set_to(hearing.record_confirm_by), pytest.raises(DomainError) as late:
        operations.respond_to_record(seated[2].user, hearing, confirm=True)
    assert late.value.code == "deadline_passed"
    assert "hearing_record.confirmed" in actions(db)
    assert "hearing_record.objected" in actions(db)
    assert can_read_transcript(attendee.user, hearing, attendee)
    assert not can_read_transcript(absentee.user, hearing, absentee)


def test_report_waits_for_the_record_and_explains_each_side(db, official, drawn_hearing):
    hearing = drawn_hearing
    seated = _held(db, official, hearing)
    report = {"body": "报告正文", "support": "支持方处理", "oppose": "反对方处理", "neutral": "中立方处理"}
    with pytest.raises(DomainError) as unconfirmed:
        operations.publish_report(official, hearing, **report)
    assert unconfirmed.value.code == "record_unconfirmed"
    for registration in seated[:3]:
        operations.respond_to_record(registration.user, hearing, confirm=True)
    db.session.commit()
    sides = {r.position for r in seated[:3]}
    missing = dict(report, **{next(iter(sides)): ""})
    with pytest.raises(DomainError) as no_handling:
        operations.publish_report(official, hearing, **missing)
    assert no_handling.value.code == "handling_missing"
    operations.publish_report(official, hearing, **report)
    db.session.commit()
    assert hearing.status == "reported"
    assert hearing.report_published_at is not None
    assert entry(db, "hearing.report_published").visibility == "public"


def test_report_possible_once_the_confirmation_time_is_over(db, official, drawn_hearing):
    hearing = drawn_hearing
    _held(db, official, hearing)
    with clock_set_to(hearing.record_confirm_by + timedelta(seconds=1)):
        operations.publish_report(official, hearing, body="报告", support="s", oppose="o", neutral="n")
    assert entry(db, "hearing.report_published").payload_data["unanswered"]


# The gate -----------------------------------------------------------------------------------


def test_gate_for_leaving_the_hearing_stage(app, db, official, make_decision, make_hearing, citizens):
    decision = make_decision(stage=Stage.HEARING.value)
    assert any("尚未发布听证会公告" in m for m in unmet_conditions(decision))
    hearing = make_hearing(on=decision)
    register(citizens(1)[0], hearing)
    db.session.commit()
    assert len(hearing_gate(decision)) == 4  # method in advance is met; the rest are not
    with after_close(hearing):
        operations.run_draw(official, hearing)
    _held(db, official, hearing)
    open_items = hearing_gate(decision)
    assert len(open_items) == 2
    assert any("笔录" in str(m) for m in open_items)
    for registration in _seated(hearing):
        if registration.attended:
            operations.respond_to_record(registration.user, hearing, confirm=True)
    operations.publish_report(official, hearing, body="报告", support="s", oppose="o", neutral="n")
    db.session.commit()
    assert hearing_gate(decision) == []
    assert unmet_conditions(decision) == []


def test_a_hearing_may_be_passed_over_unless_one_was_published(db, make_decision, make_hearing):
    decision = make_decision(stage=Stage.CONSULTATION.value)
    assert hearing_gate(decision) == []  # passing over the optional stage: nothing required
    make_hearing(on=decision, publish=False)
    assert hearing_gate(decision) == []  # a draft is not a hearing yet
    make_hearing(on=decision)
    assert hearing_gate(decision)  # a published hearing must be completed before moving on


def test_gate_flags_a_list_published_less_than_seven_days_ahead(db, official, make_decision, make_hearing):
    decision = make_decision(stage=Stage.HEARING.value)
    hearing = make_hearing(on=decision)
    hearing.list_published_at = hearing.materials_delivered_at = hearing.starts_at - timedelta(days=6)
    messages = [str(m) for m in hearing_gate(decision)]
    assert any("名单" in m for m in messages)
    assert any("材料" in m for m in messages)


# Materials, ledger, forms --------------------------------------------------------------------


def test_materials_added_after_the_draw_reach_the_seated(db, official, drawn_hearing):
    before = db.session.scalar(select(func.count(HearingMessage.id)))
    add_pdf(official, drawn_hearing, "补充材料")
    assert db.session.scalar(select(func.count(HearingMessage.id))) - before == 10


def test_every_step_is_in_the_ledger(db, official, drawn_hearing):
    seated = _held(db, official, drawn_hearing)
    for registration in seated[:3]:
        operations.respond_to_record(registration.user, drawn_hearing, confirm=True)
    operations.publish_report(official, drawn_hearing, body="r", support="s", oppose="o", neutral="n")
    recorded = set(actions(db))
    assert {
        "hearing.created",
        "hearing.published",
        "hearing.registered",
        "hearing.draw_run",
        "hearing.attendance_marked",
        "hearing.transcript_recorded",
        "hearing_record.confirmed",
        "hearing.report_published",
        "attachment.added",
    } <= recorded


def test_share_and_time_parsing(app):
    assert parse_share("2/5") == (2, 5)
    assert parse_share("4/10") == (2, 5)
    assert parse_share("") is None
    for bad in ("0/5", "6/5", "a/b", "1/0", "2/500", "0.4"):
        with pytest.raises(ValueError):  # noqa: PT011 (the message is the bad text itself)
            parse_share(bad)
    # A time without a zone is Beijing time; an explicit offset is honoured; both end in UTC.
    assert parse_local_datetime("2026-05-20T09:30") == datetime(2026, 5, 20, 1, 30, tzinfo=UTC)
    assert parse_local_datetime("2026-05-20 09:30") == datetime(2026, 5, 20, 1, 30, tzinfo=UTC)
    assert parse_local_datetime("2026-05-20T09:30+00:00") == datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
    assert parse_local_datetime("2026-05-20T09:30Z") == datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
    for bad in ("tomorrow", "2026-13-01T00:00", "", "2026-05-20"):
        with pytest.raises(ValueError):  # noqa: PT011
            parse_local_datetime(bad)


def test_category_rows_keep_their_order(db, official, decision):
    hearing = operations.create_hearing(official, decision, **hearing_fields())
    rows = db.session.scalars(
        select(HearingCategory).where(HearingCategory.hearing_id == hearing.id).order_by(HearingCategory.position)
    ).all()
    assert [c.code for c in rows] == ["consumers", "operators", "experts", "others"]
