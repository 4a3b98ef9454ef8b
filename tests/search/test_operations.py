"""Freshness and durability: the queue, the single writer, reindex and swap, damaged indexes, providers."""

from __future__ import annotations

import fcntl
import shutil

import pytest
from sqlalchemy import func, select

from portal.auth import operations as auth_ops
from portal.core.models import utcnow
from portal.decisions.models import Decision, DraftVersion, Stage
from portal.search import index as ixmod
from portal.search import queue, service
from portal.search.index import LOCK_FILE
from portal.search.models import SearchQueueItem
from portal.search.query import parse
from portal.search.service import Filters
from tests.search.helpers import titles


def queued(db) -> list[str]:
    return list(db.session.scalars(select(SearchQueueItem.doc_key).order_by(SearchQueueItem.id)))


def test_a_change_queues_work_in_its_own_transaction(db, make_decision):
    decision = make_decision("关于调整城市供水价格的决定", "供水价格调整方案")
    assert f"decision:{decision.id}" in queued(db)

    before = queued(db)
    decision.title = "改过但撤销的标题"
    db.session.flush()
    assert len(queued(db)) == len(before) + 1
    db.session.rollback()
    # Rolled back with the change it belonged to.
    assert queued(db) == before


def test_unchanged_instances_queue_nothing(db, make_decision, index_now):
    decision = make_decision("关于调整城市供水价格的决定")
    index_now()
    decision.title = decision.title  # set, but not changed
    db.session.commit()
    assert queued(db) == []


def test_rows_are_deleted_only_after_the_index_commit(db, make_decision, index_now, find, monkeypatch):
    index_now()  # an index exists
    make_decision("关于规范幼儿园收费管理的通知", "幼儿园收费")

    def crash(*_args, **_kwargs):
        raise RuntimeError("power cut during the index write")

    monkeypatch.setattr(queue, "apply_changes", crash)
    with pytest.raises(RuntimeError):
        index_now()
    assert len(queued(db)) == 1  # nothing lost
    monkeypatch.undo()
    assert titles(find("幼儿园")) == ["关于规范幼儿园收费管理的通知"]
    assert queued(db) == []


def test_only_one_writer_at_a_time(db, store, make_decision, index_now, find):
    index_now()
    make_decision("关于公共停车收费标准的决定", "停车收费")
    with open(store.root / LOCK_FILE, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        # A web process finds the lock taken and leaves the rows to the holder.
        result = queue.apply_pending(wait=False, store=store)
        assert result.locked is False
        assert len(queued(db)) == 1
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert titles(find("停车")) == ["关于公共停车收费标准的决定"]


def test_unpublished_and_withdrawn_decisions_are_never_indexed(db, make_decision, find):
    make_decision("起草中的决定", "保密草案内容紫荆花", published=False, stage=Stage.DRAFTING.value)
    shown = make_decision("已经公开的决定", "公开内容紫荆花")
    assert titles(find("紫荆花")) == ["已经公开的决定"]

    shown.stage = Stage.WITHDRAWN.value
    shown.withdrawn_reason = "撤回"
    db.session.commit()
    assert find("紫荆花").total == 0


def test_publishing_a_version_indexes_the_decision(db, make_decision, find):
    decision = make_decision("尚无公开版本的决定", "第一稿内容银杏", published=False, stage=Stage.DRAFTING.value)
    assert find("银杏").total == 0
    version = decision.versions[0]
    version.status = "published"
    version.published_at = utcnow()
    db.session.commit()
    assert titles(find("银杏")) == ["尚无公开版本的决定"]
    # A later draft version is not searchable until it is published.
    decision.versions.append(DraftVersion(number=2, body="第二稿新增梧桐条款", status="draft"))
    db.session.commit()
    assert find("梧桐").total == 0


def test_every_published_version_is_searchable(db, make_decision, find):
    decision = make_decision("多版本的决定", "第一版提到樟树")
    decision.versions.append(DraftVersion(number=2, body="第二版提到榕树", status="published", published_at=utcnow()))
    db.session.commit()
    assert find("樟树").total == 1
    assert find("榕树").total == 1


def test_renaming_a_department_reindexes_its_decisions(db, make_decision, department, find):
    make_decision("关于调整城市供水价格的决定")
    assert find("水务局").total == 1
    auth_ops.update_department(None, department, name="市水利局", name_en=None, active=True)
    db.session.commit()
    assert find("水利局").total == 1
    assert find("水务局").total == 0


def test_deleting_a_decision_removes_it(db, make_decision, find):
    decision = make_decision("即将删除的决定", "删除测试枇杷")
    assert find("枇杷").total == 1
    db.session.delete(decision)
    db.session.commit()
    assert find("枇杷").total == 0


def test_reindex_builds_a_new_generation_and_swaps_it_in(db, store, make_decision, find, index_now):
    make_decision("关于调整城市供水价格的决定")
    index_now()
    first = store.current_name()
    with pytest.MonkeyPatch.context():
        old = ixmod.searcher(store)
        make_decision("关于规范幼儿园收费管理的通知")
        result = service.rebuild(store=store)
        assert result.documents == 2
        assert store.current_name() != first
        # A searcher opened before the swap still reads its own generation.
        assert sum(1 for _ in old.documents()) == 1
    assert find("幼儿园").total == 1
    assert queued(db) == []
    assert (store.root / first).is_dir()  # the previous generation is kept for readers still on it


def test_reindex_keeps_only_the_previous_generation(store, make_decision, index_now):
    make_decision("关于调整城市供水价格的决定")
    index_now()
    names = {store.current_name()}
    for _ in range(3):
        service.rebuild(store=store)
        names.add(store.current_name())
    generations = sorted(p.name for p in store.root.iterdir() if p.is_dir())
    assert len(generations) == 2
    assert store.current_name() in generations


def test_changes_queued_during_a_reindex_are_applied_after_the_swap(db, store, make_decision, find, monkeypatch):
    make_decision("关于调整城市供水价格的决定")
    original = service.iter_documents

    def documents_then_a_change(*args, **kwargs):
        yield from original(*args, **kwargs)
        # Committed while the new generation is being built.
        make_decision("重建期间新增的决定", "重建期间海棠")

    monkeypatch.setattr(service, "iter_documents", documents_then_a_change)
    service.rebuild(store=store)
    monkeypatch.undo()
    assert find("海棠").total == 1


def test_a_missing_index_is_built_by_the_writer(db, store, make_decision, find):
    make_decision("关于调整城市供水价格的决定")
    assert not store.exists()
    assert find("供水").total == 1
    assert store.exists()


def test_a_damaged_index_is_reported_and_reindex_repairs_it(app, db, store, make_decision, find, runner, client):
    make_decision("关于调整城市供水价格的决定")
    assert find("供水").total == 1
    ixmod.close_searcher()
    path = store.current_path()
    for f in path.iterdir():
        f.write_bytes(b"\x00garbage")
    outcome = find("供水")
    assert outcome.unavailable == "corrupt"
    make_decision("损坏期间新增的决定", "损坏期间茉莉")
    assert queue.apply_pending(wait=True, store=store).unavailable == "corrupt"
    assert len(queued(db)) == 1  # kept until the index is repaired

    page = client.get("/search?q=供水")
    assert page.status_code == 503
    assert "flask --app app search reindex" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # the rest of the site keeps serving
    api = client.get("/api/v1/search?q=供水")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "search_unavailable"

    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "indexed 2 documents" in result.output
    assert find("供水").total == 1
    assert find("茉莉").total == 1


def test_a_pointer_to_nothing_counts_as_missing(store, make_decision, find):
    make_decision("关于调整城市供水价格的决定")
    assert find("供水").total == 1
    ixmod.close_searcher()
    shutil.rmtree(store.current_path())
    assert not store.exists()
    assert find("供水").total == 1  # rebuilt by the writer


def test_status_and_worker_commands(db, runner, make_decision, index_now):
    make_decision("关于调整城市供水价格的决定")
    result = runner.invoke(args=["search", "status"])
    assert "index: missing" in result.output
    assert "backlog: 1 queued" in result.output
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["search", "status"])
    assert "decision   1" in result.output
    assert "backlog: 0 queued" in result.output


def test_a_request_that_commits_applies_the_queue_after_its_response(app, db, make_decision, find, client):
    from portal.auth.permissions import public, require

    def rename():
        decision = db.session.scalar(select(Decision))
        decision.title = "关于调整城市供水和污水处理价格的决定"
        db.session.commit()
        return "ok"

    app.add_url_rule("/_test/rename", "test_rename", require(public)(rename), methods=["POST"])
    make_decision("关于调整城市供水价格的决定")
    find("供水")  # builds the index
    response = client.post("/_test/rename")
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) == 1
    response.close()  # the server closes the response once sent: the writer runs then
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) == 0
    with app.test_request_context():
        assert service.search(parse("污水"), Filters()).total == 1


@pytest.fixture
def make_comment(db):
    """``make_comment(decision, body, status="published")`` written as rows (consultation feature)."""
    models = pytest.importorskip("portal.consultation.models")
    counter = iter(range(1, 1000))

    def make(decision, body: str, *, status: str = "published"):
        consultation = db.session.scalar(
            select(models.Consultation).where(models.Consultation.decision_id == decision.id)
        )
        now = utcnow()
        if consultation is None:
            consultation = models.Consultation(
                decision_id=decision.id, starts_at=now, ends_at=now, original_ends_at=now, notice=""
            )
            db.session.add(consultation)
            db.session.flush()
        group = models.CommentGroup(
            consultation_id=consultation.id, text_hash=f"{next(counter):064d}", normalised=body, text_length=len(body)
        )
        db.session.add(group)
        db.session.flush()
        n = next(counter)
        comment = models.Comment(
            consultation_id=consultation.id,
            year=2026,
            number=n,
            tracking_number=f"T2026-{n:05d}",
            body=body,
            status=status,
            group_id=group.id,
            published_at=now if status == "published" else None,
        )
        db.session.add(comment)
        db.session.commit()
        return comment

    return make


def test_only_published_comments_are_found_with_their_responses(db, make_decision, make_comment, find):
    models = pytest.importorskip("portal.consultation.models")
    decision = make_decision("关于调整城市供水价格的决定")
    shown = make_comment(decision, "建议阶梯水价照顾低保家庭")
    make_comment(decision, "待审核的意见低保家庭", status="pending")
    make_comment(decision, "未予公开的意见低保家庭", status="rejected")
    found = find("低保家庭")
    assert found.total == 1
    hit = found.items[0]
    assert hit.type == "comment"
    assert hit.url.endswith(f"#c-{shown.tracking_number}")
    assert "对《关于调整城市供水价格的决定》的意见" in str(hit.title)
    # The response is searchable with its comment; withdrawing removes the comment.
    db.session.add(models.Response(comment_id=shown.id, disposition="adopted", reason="已在第三条增加减免规定"))
    db.session.commit()
    assert find("减免规定").total == 1
    assert find("低保家庭", decision=decision.slug, type="comment").total == 1
    shown.status = "withdrawn"
    db.session.commit()
    assert find("低保家庭").total == 0


def test_renaming_a_decision_updates_its_comments(db, make_decision, make_comment, find):
    decision = make_decision("关于调整城市供水价格的决定")
    make_comment(decision, "建议公开成本监审报告")
    assert find("成本监审").total == 1
    decision.title = "关于调整城市供水和污水处理价格的决定"
    db.session.commit()
    found = find("成本监审")
    assert "污水处理" in str(found.items[0].title)


def test_reindex_with_several_processes(store, make_decision, find):
    for n in range(30):
        make_decision(f"第{n}号关于停车收费的决定", f"停车收费第{n}条")
    result = service.rebuild(store=store, procs=2)
    assert result.documents == 30
    assert find("停车").total == 30
    assert find('"停车收费第7条"').total == 1


def test_an_incomplete_new_index_is_not_swapped_in(db, store, make_decision, find, index_now, monkeypatch):
    make_decision("关于调整城市供水价格的决定")
    index_now()
    first = store.current_name()
    real = service.build_into

    def crashed_child(ix, documents, **kwargs):  # a writer child died: Whoosh committed fewer documents
        return real(ix, documents, **kwargs) + 1

    monkeypatch.setattr(service, "build_into", crashed_child)
    with pytest.raises(RuntimeError, match="holds 1 of 2 documents"):
        service.rebuild(store=store)
    assert store.current_name() == first
    assert find("供水").total == 1
