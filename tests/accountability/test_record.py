"""The accountability record, the chain status cache, checkpoints and the person lookup."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.accountability import chain, checkpoints, record
from portal.accountability import people as lookup
from portal.accountability.models import Checkpoint
from portal.auth.models import AnonymousUser
from portal.core.models import utcnow
from portal.trace.models import TraceEntry
from portal.trace.operations import head
from tests.accountability.conftest import DISSENT, MINUTES


def _items(found, role):
    return [i for i in found.items if i.role == role]


def tamper(db, seq: int, **values) -> None:
    """Rewrite a ledger entry behind the triggers' back (inside the test's transaction)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        db.session.execute(sa.text("DROP TRIGGER trace_entry_no_update"))
    else:
        db.session.execute(sa.text("ALTER TABLE trace_entry DISABLE TRIGGER trace_entry_no_change"))
    db.session.execute(sa.update(TraceEntry).where(TraceEntry.seq == seq).values(**values))
    db.session.flush()


def test_public_record_names_every_role_of_a_published_decision(db, walk, people, official):
    decision = walk()
    found = record.build_record(decision, AnonymousUser())
    head_user, first, dissenter, third = people["leaders"]

    assert _items(found, "department")[0].detail == decision.department.name
    assert [i.person_name for i in _items(found, "responsible")] == [official.display_name]
    drafter = _items(found, "drafter")[0]
    assert drafter.person_name == official.display_name
    assert drafter.entry.action == "version.published"

    experts = {i.person_name: i for i in _items(found, "expert")}
    assert set(experts) == {"陈立群", "何远航"}
    assert experts["陈立群"].detail.startswith("赞成")
    assert not experts["陈立群"].dissent
    assert experts["何远航"].dissent
    assert "不赞成" in experts["何远航"].detail

    legal = _items(found, "legal_reviewer")[0]
    assert legal.person_name == "赵法明"
    assert "通过" in legal.detail
    assert legal.entry.visibility == "internal"
    assert not legal.readable

    leaders = {i.person_name: i for i in _items(found, "leader")}
    assert leaders[dissenter.display_name].dissent
    assert not leaders[first.display_name].dissent
    assert leaders[first.display_name].detail == "同意"
    assert _items(found, "head")[0].person_name == head_user.display_name

    override = _items(found, "override")[0]
    assert override.person_name == head_user.display_name
    assert "先行送审" in override.detail
    assert _items(found, "publisher")[0].person_name == official.display_name
    for item in found.items:
        if item.role not in ("department", "responsible"):
            assert item.entry is not None, item.role
    assert not any(
        item.entry is not None and item.entry.action == "decision.created" and item.readable for item in found.items
    )


def test_before_publication_the_public_sees_no_review_content(db, walk):
    decision = walk(publish=False)
    found = record.build_record(decision, AnonymousUser())
    legal = _items(found, "legal_reviewer")[0]
    assert legal.person_name is None
    assert "公布后公开" in legal.detail
    assert all("公布后公开" in i.detail for i in _items(found, "expert"))


def test_insiders_see_each_opinion_from_its_entry(db, walk, auditor, people):
    decision = walk()
    found = record.build_record(decision, auditor)
    leaders = _items(found, "leader")
    assert all(i.readable and i.entry.action == "meeting.opinion_recorded" for i in leaders)
    assert {i.person_name: i.detail for i in leaders}[people["leaders"][2].display_name] == "不同意"
    assert _items(found, "initiator")  # decision.created is readable for an auditor


def test_record_page_links_entries_and_shows_chain_status(db, client, walk):
    decision = walk()
    chain.forget()
    page = client.get(f"/decisions/{decision.slug}/accountability").get_data(as_text=True)
    assert "责任记录链校验通过" in page
    entry = db.session.scalar(sa.select(TraceEntry).where(TraceEntry.action == "meeting.decided"))
    assert f'href="/trace/{entry.seq}"' in page
    assert entry.hash in page
    assert DISSENT not in page
    assert MINUTES not in page
    assert "内部意见原文" not in page
    assert "持不同意见" in page
    assert client.get("/decisions/no-such-thing/accountability").status_code == 404


def test_chain_status_is_cached_then_verified_incrementally(app, db, walk, spokesperson):
    walk()
    chain.forget()
    first = chain.chain_status()
    assert first.intact
    assert first.full
    assert first.recomputed == first.head_seq
    again = chain.chain_status()
    assert again is first  # served from the cache
    from portal.releases import operations as release_ops

    release_ops.create_release(spokesperson, kind="news", title="新稿", body="正文。")
    db.session.flush()
    app.config["ACCOUNTABILITY_VERIFY_TTL"] = 0
    later = chain.chain_status()
    assert later.intact
    assert not later.full
    assert later.recomputed == 1
    assert later.head_seq == first.head_seq + 1


def test_other_processes_start_from_the_stored_head(db, walk):
    walk()
    chain.forget()
    first = chain.chain_status()
    assert first.full
    chain.forget()  # another worker: no process cache, but the shared row
    other = chain.chain_status()
    assert not other.full
    assert other.recomputed == 0
    assert other.intact
    assert other.head_seq == first.head_seq


def test_checkpoint_command_verifies_and_publishes(db, runner, walk):
    walk()
    result = runner.invoke(args=["checkpoint"])
    assert result.exit_code == 0, result.output
    assert "ledger intact" in result.output
    seq, head_hash = head()
    assert f"checkpoint {seq}:{head_hash} (daily" in result.output


def test_tampering_is_reported(app, db, walk):
    walk()
    chain.forget()
    assert chain.chain_status().intact
    tamper(db, 3, payload='{"forged":true}')
    app.config["ACCOUNTABILITY_FULL_VERIFY_SECONDS"] = 0
    app.config["ACCOUNTABILITY_VERIFY_TTL"] = 0
    status = chain.chain_status()
    assert not status.intact
    assert status.broken_seq == 3


def test_rewritten_head_is_noticed_without_a_full_pass(app, db, walk):
    walk()
    chain.forget()
    status = chain.chain_status()
    tamper(db, status.head_seq, hash="f" * 64)
    app.config["ACCOUNTABILITY_VERIFY_TTL"] = 0
    again = chain.chain_status()
    assert again.full
    assert not again.intact


def test_checkpoints_detect_truncation_and_daily_is_unique(db, walk):
    walk()
    daily = checkpoints.create_checkpoint("daily")
    assert checkpoints.create_checkpoint("daily").id == daily.id
    assert (daily.seq, daily.hash) == head()
    assert checkpoints.broken_checkpoints() == []
    db.session.add(Checkpoint(seq=daily.seq + 50, hash="a" * 64, reason="manual", created_at=utcnow()))
    db.session.flush()
    assert [c.seq for c in checkpoints.broken_checkpoints()] == [daily.seq + 50]
    with pytest.raises(sa.exc.DBAPIError), db.session.begin_nested():
        db.session.execute(sa.text("UPDATE ledger_checkpoint SET hash = 'b' WHERE id = :id"), {"id": daily.id})


def test_person_lookup_shows_roles_outcome_and_dissent(db, walk, people):
    decision = walk()
    dissenter = people["leaders"][2]
    found = lookup.person_decisions(dissenter, AnonymousUser())
    assert [d.decision.id for d in found] == [decision.id]
    assert found[0].dissent
    assert "已公布" in found[0].outcome
    assert found[0].items[0].role == "leader"
    expert = people["experts"][1].user
    assert lookup.person_decisions(expert, AnonymousUser())[0].items[0].detail.startswith("不赞成")


def test_person_lookup_hides_unpublished_decisions_from_the_public(db, walk, people, auditor):
    walk(publish=False)
    dissenter = people["leaders"][2]
    assert lookup.person_decisions(dissenter, AnonymousUser()) == []
    assert len(lookup.person_decisions(dissenter, auditor)) == 1


def test_person_search_only_lists_people_on_the_public_record(db, walk, people, make_user):
    from portal.auth.models import Role

    walk()
    make_user(Role.OFFICIAL, name="郑新人")
    names = [u.display_name for u in lookup.search_people("郑", AnonymousUser())]
    assert names == ["郑副市长"]
    assert lookup.person_or_none(999_999, AnonymousUser()) is None
