"""Account rules: registration, password strength, roles, departments, each recorded in the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth import operations as ops
from portal.auth.models import Role, User
from portal.auth.passwords import password_problem
from portal.core.errors import DomainError
from portal.trace.models import TraceEntry


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def _actions(db):
    return db.session.scalars(select(TraceEntry.action).order_by(TraceEntry.seq)).all()


def test_create_user_normalises_and_records(db):
    user = ops.create_user(None, email="  Zhang.San@Example.CN ", display_name=" 张  三 ", password="Lüjing-2026-xy")
    assert user.email == "zhang.san@example.cn"
    assert user.display_name == "张 三"
    assert user.roles == {"citizen"}
    assert user.password_hash.startswith("pbkdf2:") or user.password_hash.startswith("scrypt:")
    assert user.check_password("Lüjing-2026-xy")
    entry = db.session.scalars(select(TraceEntry).order_by(TraceEntry.seq.desc())).first()
    assert entry.action == "user.registered"
    assert entry.visibility == "internal"
    assert entry.payload_data["email"] == "zhang.san@example.cn"


def test_production_hash_is_scrypt(app):
    app.config.pop("PASSWORD_HASH_METHOD")
    user = User(email="a@b.cn", display_name="a")
    user.set_password("Some-pass-2026")
    assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1", "至少"),
        ("x" * 129, "不能超过"),
        ("1234567890", "常见"),
        ("aaaaaaaaaaaa1", "常见"),
        ("onlyletters", "字母和数字"),
        ("zhangsan-2026-pass", "邮箱用户名"),
    ],
)
def test_password_rule(password, fragment, app):
    with app.test_request_context():
        problem = password_problem(password, email="zhangsan@example.cn", name="李四")
        assert problem is not None
        assert fragment in str(problem)


def test_long_passphrase_without_digits_passes(app):
    with app.test_request_context():
        assert password_problem("correct horse battery staple", email="a@b.cn") is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"email": "not-an-email"}, "invalid_email"),
        ({"email": "a" * 250 + "@b.cn"}, "invalid_email"),
        ({"display_name": "   "}, "invalid_name"),
        ({"display_name": "名" * 81}, "invalid_name"),
        ({"password": "weak"}, "weak_password"),
        ({"roles": ["citizen", "emperor"]}, "unknown_role"),
    ],
)
def test_create_user_refuses_bad_input_and_changes_nothing(db, kwargs, code):
    users, entries = _count(db, User), _count(db, TraceEntry)
    args = {"email": "ok@example.cn", "display_name": "正常", "password": "Good-pass-2026"} | kwargs
    with pytest.raises(DomainError) as exc:
        ops.create_user(None, **args)
    assert exc.value.code == code
    db.session.rollback()
    assert _count(db, User) == users
    assert _count(db, TraceEntry) == entries


def test_duplicate_email_case_insensitive(db, make_user):
    make_user(email="dup@example.cn")
    with pytest.raises(DomainError) as exc:
        ops.create_user(None, email="DUP@example.cn", display_name="x", password="Good-pass-2026")
    assert exc.value.code == "duplicate_email"


def test_set_roles_records_each_grant_and_removal(db, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user(Role.CITIZEN)
    ops.set_roles(admin, user, ["expert", "official"])
    db.session.commit()
    assert user.roles == {"expert", "official"}
    assert _actions(db)[-3:] == ["user.role_granted", "user.role_granted", "user.role_removed"]
    entry = db.session.scalars(select(TraceEntry).order_by(TraceEntry.seq.desc())).first()
    assert entry.actor_name == admin.display_name
    assert entry.payload_data == {"role": "citizen"}


def test_admin_cannot_remove_own_admin_role_or_disable_self(db, make_user):
    admin = make_user(Role.ADMIN)
    with pytest.raises(DomainError):
        ops.set_roles(admin, admin, ["citizen"])
    with pytest.raises(DomainError):
        ops.set_enabled(admin, admin, False)


def test_disable_ends_sessions(db, make_user):
    admin = make_user(Role.ADMIN)
    user = make_user()
    token = user.session_token
    ops.set_enabled(admin, user, False, reason="冒用他人身份")
    assert not user.is_enabled
    assert user.session_token != token
    assert _actions(db)[-1] == "user.disabled"


def test_departments_and_members(db, make_user):
    admin = make_user(Role.ADMIN)
    department = ops.create_department(admin, code="FGW", name="市发展和改革委员会", name_en="DRC")
    assert department.code == "fgw"
    with pytest.raises(DomainError):
        ops.create_department(admin, code="fgw", name="重复")
    with pytest.raises(DomainError):
        ops.create_department(admin, code="含中文", name="x")
    official = make_user(Role.OFFICIAL)
    ops.add_member(admin, department, official)
    with pytest.raises(DomainError):
        ops.add_member(admin, department, official)
    assert official.is_member_of(department)
    ops.update_department(admin, department, name="市发改委", name_en=None, active=False)
    ops.remove_member(admin, department, official)
    assert not official.is_member_of(department)
    assert [a for a in _actions(db) if a.startswith("department.")] == [
        "department.created",
        "department.member_added",
        "department.updated",
        "department.member_removed",
    ]


def test_change_password(db, make_user):
    user = make_user()
    token = user.session_token
    with pytest.raises(DomainError):
        ops.change_password(user, current="wrong-password1", new="Another-pass-2026")
    ops.change_password(user, current="Test-pass-2026", new="Another-pass-2026")
    assert user.check_password("Another-pass-2026")
    assert user.session_token != token
