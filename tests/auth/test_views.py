"""Registration, login and logout, throttling, profile, password change, admin pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.auth.models import Department, Role, User, user_by_email
from portal.trace.models import TraceEntry

GOOD = {"email": "li.si@example.cn", "display_name": "李四", "password": "Qingshui-2026", "confirm": "Qingshui-2026"}


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_register_logs_in_and_records(client, db):
    response = client.post("/register", data=GOOD)
    assert response.status_code == 302
    user = user_by_email("li.si@example.cn")
    assert user is not None
    assert user.roles == {"citizen"}
    assert "李四" in client.get("/profile").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-email"}, "邮箱地址格式不正确"),
        ({"email": "x" * 300 + "@example.cn"}, "不能超过"),
        ({"display_name": "名" * 81}, "不能超过 80 个字符"),
        ({"password": "short", "confirm": "short"}, "至少需要 10 个字符"),
        ({"password": "abcdefghijk", "confirm": "abcdefghijk"}, "字母和数字"),
        ({"confirm": "Different-2026"}, "两次输入的密码不一致"),
        ({"display_name": ""}, "此项必填"),
    ],
)
def test_register_bad_input_changes_nothing(client, db, change, message):
    users = _count(db, User)
    response = client.post("/register", data=GOOD | change)
    assert response.status_code in (400, 409)
    assert message in response.get_data(as_text=True)
    assert _count(db, User) == users


def test_register_duplicate_email(client, db, make_user):
    make_user(email="li.si@example.cn")
    entries = _count(db, TraceEntry)
    response = client.post("/register", data=GOOD | {"email": "LI.SI@example.cn"})
    assert response.status_code == 409
    assert "该邮箱已注册" in response.get_data(as_text=True)
    assert _count(db, TraceEntry) == entries


def test_login_logout(client, make_user, login):
    user = make_user()
    page = client.get("/login")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    login(user)
    assert user.display_name in client.get("/").get_data(as_text=True)
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/profile").status_code == 302


def test_login_wrong_password(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "Wrong-pass-2026"})
    assert response.status_code == 400
    assert "邮箱或密码不正确" in response.get_data(as_text=True)


def test_login_next_is_local_only(client, make_user):
    user = make_user()
    response = client.post(
        "/login?next=https://evil.example/x", data={"email": user.email, "password": "Test-pass-2026"}
    )
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/profile", data={"email": user.email, "password": "Test-pass-2026"})
    assert response.headers["Location"] == "/profile"


def test_disabled_account_cannot_log_in(client, db, make_user):
    user = make_user()
    user.is_enabled = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": "Test-pass-2026"})
    assert response.status_code == 403
    assert "此账号已停用" in response.get_data(as_text=True)
    assert client.get("/profile").status_code == 302


def test_failed_logins_are_throttled_per_account(client, make_user):
    user = make_user()
    for _ in range(5):
        assert client.post("/login", data={"email": user.email, "password": "Wrong-pass-2026"}).status_code == 400
    response = client.post("/login", data={"email": user.email, "password": "Test-pass-2026"})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "操作过于频繁" in response.get_data(as_text=True)
    # Another account from the same address is not yet blocked.
    other = make_user()
    assert client.post("/login", data={"email": other.email, "password": "Test-pass-2026"}).status_code == 302


def test_failed_logins_are_throttled_per_address(app, client, make_user):
    app.config["LOGIN_LIMIT_ADDRESS"] = "3 per 15 minutes"
    for n in range(3):
        client.post("/login", data={"email": f"nobody{n}@example.cn", "password": "Wrong-pass-2026"})
    user = make_user()
    assert client.post("/login", data={"email": user.email, "password": "Test-pass-2026"}).status_code == 429


def test_session_ends_when_password_changes_elsewhere(app, client, db, make_user, login):
    user = make_user()
    login(user)
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": "Test-pass-2026"})
    response = client.post(
        "/profile/password",
        data={"current": "Test-pass-2026", "new": "Brand-new-2026", "confirm": "Brand-new-2026"},
    )
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200  # this browser stays logged in
    assert other.get("/profile").status_code == 302  # the other session ended


def test_password_change_wrong_current(client, make_user, login):
    login(make_user())
    response = client.post(
        "/profile/password", data={"current": "Nope-nope-2026", "new": "Brand-new-2026", "confirm": "Brand-new-2026"}
    )
    assert response.status_code == 400
    assert "当前密码不正确" in response.get_data(as_text=True)


def test_profile_update_sets_language(client, db, make_user, login):
    user = make_user()
    login(user)
    response = client.post("/profile", data={"display_name": "新名字", "locale": "en"})
    assert response.status_code == 302
    assert user.display_name == "新名字"
    assert user.locale == "en"
    assert '<html lang="en">' in client.get("/profile").get_data(as_text=True)


def test_admin_manages_roles_departments_and_status(client, db, make_user, make_department, login):
    admin = make_user(Role.ADMIN)
    department = make_department(code="swj", name="市水务局")
    user = make_user()
    login(admin)
    assert user.email in client.get("/admin/users?q=" + user.email[:5]).get_data(as_text=True)
    assert client.get("/admin/users?role=bogus&page=-3").status_code == 200
    response = client.post(
        f"/admin/users/{user.id}",
        data={"roles": ["official", "expert"], "departments": ["swj"], "enabled": "y", "reason": ""},
    )
    assert response.status_code == 302
    assert user.roles == {"official", "expert"}
    assert user.is_member_of(department)
    response = client.post(f"/admin/users/{user.id}", data={"roles": ["official"], "departments": [], "reason": "离职"})
    assert response.status_code == 302
    assert not user.is_enabled
    assert not user.is_member_of(department)
    bad = client.post(f"/admin/users/{user.id}", data={"roles": ["emperor"]})
    assert bad.status_code == 400


def test_admin_creates_users_and_departments(client, db, make_user, login):
    login(make_user(Role.ADMIN))
    response = client.post("/admin/departments", data={"code": "jtj", "name": "市交通运输局", "name_en": "Transport"})
    assert response.status_code == 302
    assert db.session.scalar(select(Department).where(Department.code == "jtj")) is not None
    duplicate = client.post("/admin/departments", data={"code": "jtj", "name": "重复"})
    assert duplicate.status_code == 409
    assert "已存在" in duplicate.get_data(as_text=True)
    too_long = client.post("/admin/departments", data={"code": "x" * 40, "name": "长"})
    assert too_long.status_code == 400
    response = client.post(
        "/admin/users/new",
        data={
            "email": "new.official@example.cn",
            "display_name": "新同事",
            "password": "Xinren-2026a",
            "roles": ["official"],
            "departments": ["jtj"],
        },
    )
    assert response.status_code == 302
    created = user_by_email("new.official@example.cn")
    assert created.roles == {"official"}
    assert created.departments[0].code == "jtj"
    page = client.get("/admin/departments/jtj")
    assert "新同事" in page.get_data(as_text=True)
    response = client.post(f"/admin/departments/jtj/members/{created.id}/remove")
    assert response.status_code == 302
    assert not created.departments
    response = client.post("/admin/departments/jtj/members", data={"member-email": created.email})
    assert response.status_code == 302
    assert created.departments
    missing = client.post("/admin/departments/jtj/members", data={"member-email": "ghost@example.cn"})
    assert missing.status_code == 400
    assert "没有使用该邮箱的账号" in missing.get_data(as_text=True)
    assert client.get("/admin/departments/nope").status_code == 404


def test_non_admin_gets_403_on_admin_pages(client, make_user, login):
    login(make_user(Role.OFFICIAL))
    assert client.get("/admin/users").status_code == 403
