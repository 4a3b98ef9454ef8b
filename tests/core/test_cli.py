"""Commands: create-user, seed-demo, init-db."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.auth.models import User, user_by_email
from portal.trace.models import TraceEntry


def test_create_user(runner, make_department):
    make_department(code="fgw")
    result = runner.invoke(
        args=[
            "create-user",
            "wang@example.cn",
            "--password",
            "Shuiwu-2026x",
            "--name",
            "王五",
            "--role",
            "official",
            "--role",
            "expert",
            "--department",
            "fgw",
        ]
    )
    assert result.exit_code == 0, result.output
    user = user_by_email("wang@example.cn")
    assert user.roles == {"official", "expert"}
    assert user.departments[0].code == "fgw"


def test_create_user_errors_exit_2_and_change_nothing(runner, db, make_user):
    make_user(email="dup@example.cn")
    users = db.session.scalar(select(func.count(User.id)))
    cases = [
        (
            ["create-user", "x@example.cn", "--password", "Good-pass-2026", "--name", "x", "--role", "emperor"],
            "未知角色",
        ),
        (["create-user", "dup@example.cn", "--password", "Good-pass-2026", "--name", "x"], "已注册"),
        (
            ["create-user", "x@example.cn", "--password", "Good-pass-2026", "--name", "x", "--department", "nope"],
            "unknown department",
        ),
        (["create-user", "x@example.cn", "--password", "weak", "--name", "x"], "至少"),
        (["create-user", "bad-email", "--password", "Good-pass-2026", "--name", "x"], "邮箱"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    assert db.session.scalar(select(func.count(User.id))) == users


def test_seed_demo_is_idempotent(runner, db):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.gov.cn" in first.output
    users = db.session.scalar(select(func.count(User.id)))
    entries = db.session.scalar(select(func.count(TraceEntry.seq)))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count(User.id))) == users
    assert db.session.scalar(select(func.count(TraceEntry.seq))) == entries
    first_run = runner.invoke(args=["seed-demo", "--first-run"])
    assert "not loaded" in first_run.output
    roles = set()
    for user in db.session.scalars(select(User)):
        roles |= user.roles
    assert roles == {"citizen", "expert", "official", "legal_reviewer", "leader", "spokesperson", "auditor", "admin"}
