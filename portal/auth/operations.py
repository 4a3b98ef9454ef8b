"""User actions on accounts, roles and departments. Each flushes and records the ledger entry."""

from __future__ import annotations

import secrets

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import trace
from portal.auth.models import (
    DEPARTMENT_CODE_MAX,
    DEPARTMENT_NAME_MAX,
    EMAIL_MAX,
    NAME_MAX,
    Department,
    Role,
    User,
    UserRole,
    department_by_code,
    user_by_email,
)
from portal.auth.passwords import password_problem
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.trace import INTERNAL

ROLE_CODES = frozenset(r.value for r in Role)


def normalise_email(email: str) -> str:
    """Validate the address's form (no DNS lookup) and return it lower-cased."""
    email = (email or "").strip()
    if len(email) > EMAIL_MAX:
        raise DomainError(_l("邮箱地址过长。"), code="invalid_email")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(_l("邮箱地址格式不正确。"), code="invalid_email") from exc
    return checked.normalized.lower()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("请填写姓名或昵称。"), code="invalid_name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("姓名不能超过 %(n)s 个字符。", n=NAME_MAX), code="invalid_name")
    return name


def _check_roles(roles) -> list[str]:
    codes = sorted({str(r) for r in roles})
    unknown = [r for r in codes if r not in ROLE_CODES]
    if unknown:
        raise DomainError(_l("未知角色:%(roles)s", roles=", ".join(unknown)), code="unknown_role")
    return codes


def create_user(
    actor,
    *,
    email: str,
    display_name: str,
    password: str,
    roles=(Role.CITIZEN,),
    departments=(),
    confirmed: bool = False,
) -> User:
    """Create an account; ``actor`` None means the person registered themselves."""
    email = normalise_email(email)
    display_name = _clean_name(display_name)
    problem = password_problem(password, email=email, name=display_name)
    if problem:
        raise DomainError(problem, code="weak_password")
    codes = _check_roles(roles)
    if user_by_email(email) is not None:
        raise DomainError(_l("该邮箱已注册,请直接登录或找回密码。"), code="duplicate_email", status=409)
    user = User(email=email, display_name=display_name, email_confirmed_at=utcnow() if confirmed else None)
    user.set_password(password)
    user.role_rows = [UserRole(role=code) for code in codes]
    user.departments = list(departments)
    db.session.add(user)
    db.session.flush()
    trace.record(
        actor or user,
        "user.created" if actor else "user.registered",
        user,
        visibility=INTERNAL,
        email=email,
        name=display_name,
        roles=codes,
        departments=[d.code for d in user.departments],
    )
    if not confirmed:
        from portal.auth.confirmation import send_confirmation

        send_confirmation(user)
    return user


def resend_confirmation(user: User) -> None:
    """Send the confirmation e-mail again (the view limits how often)."""
    from portal.auth.confirmation import send_confirmation

    if user.email_confirmed_at is not None:
        raise DomainError(_l("您的邮箱已经确认,无需再次确认。"), code="already_confirmed", status=409)
    send_confirmation(user)


def confirm_email(user: User, *, now=None) -> list | None:
    """Mark ``user``'s address confirmed, once, and let held comments and registrations take effect
    in the same transaction. Returns the features' notices for the user, or None when the address
    was already confirmed (nothing changes then)."""
    from sqlalchemy import update

    from portal.core.hooks import emit

    now = now or utcnow()
    # Conditional UPDATE: of two simultaneous clicks on the link exactly one changes the row.
    done = db.session.execute(
        update(User)
        .where(User.id == user.id, User.email_confirmed_at.is_(None))
        .values(email_confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.refresh(user)
        return None
    db.session.refresh(user)
    # Internal: the account and the moment only; no address or other personal data.
    trace.record(user, "user.email_confirmed", user, visibility=INTERNAL)
    notices: list = []
    for found in emit("user.email_confirmed", user=user, now=now):
        notices.extend(found)
    return notices


def change_password(user: User, *, current: str, new: str) -> None:
    """Change the password after checking the current one; ends the user's other sessions."""
    if not user.check_password(current):
        raise DomainError(_l("当前密码不正确。"), code="wrong_password")
    problem = password_problem(new, email=user.email, name=user.display_name)
    if problem:
        raise DomainError(problem, code="weak_password")
    user.set_password(new)
    db.session.flush()
    trace.record(user, "user.password_changed", user, visibility=INTERNAL)


def update_profile(user: User, *, display_name: str, locale: str | None) -> User:
    """Change the name shown for the user and the preferred language."""
    name = _clean_name(display_name)
    changes = {}
    if name != user.display_name:
        changes["name"] = [user.display_name, name]
        user.display_name = name
    if locale != user.locale:
        changes["locale"] = [user.locale, locale]
        user.locale = locale
    if changes:
        db.session.flush()
        trace.record(user, "user.profile_updated", user, visibility=INTERNAL, changes=changes)
    return user


def set_roles(actor: User, user: User, roles) -> User:
    """Make ``user`` hold exactly ``roles``; each grant and removal is its own ledger entry."""
    wanted = set(_check_roles(roles))
    held = set(user.roles)
    if actor.id == user.id and Role.ADMIN in held and Role.ADMIN not in wanted:
        raise DomainError(_l("不能移除自己的管理员角色。"), code="self_demotion")
    for code in sorted(wanted - held):
        user.role_rows.append(UserRole(role=code))
        db.session.flush()
        trace.record(actor, "user.role_granted", user, role=code)
    for row in [r for r in user.role_rows if r.role in held - wanted]:
        user.role_rows.remove(row)
        db.session.flush()
        trace.record(actor, "user.role_removed", user, role=row.role)
    return user


def set_enabled(actor: User, user: User, enabled: bool, *, reason: str = "") -> User:
    """Enable or disable an account; a disabled account cannot log in."""
    if actor.id == user.id and not enabled:
        raise DomainError(_l("不能停用自己的账号。"), code="self_disable")
    if user.is_enabled == enabled:
        return user
    user.is_enabled = enabled
    if not enabled:
        user.session_token = secrets.token_hex(16)  # ends its open sessions
    db.session.flush()
    trace.record(
        actor, "user.enabled" if enabled else "user.disabled", user, visibility=INTERNAL, reason=reason.strip()[:500]
    )
    return user


def _check_department_fields(code: str, name: str, name_en: str | None) -> tuple[str, str, str | None]:
    code = (code or "").strip().lower()
    name = " ".join((name or "").split())
    name_en = " ".join((name_en or "").split()) or None
    if not code or len(code) > DEPARTMENT_CODE_MAX or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        raise DomainError(
            _l("单位代码只能由字母、数字、连字符组成,最长 %(n)s 个字符。", n=DEPARTMENT_CODE_MAX), code="invalid_code"
        )
    if not name or len(name) > DEPARTMENT_NAME_MAX:
        raise DomainError(_l("单位名称必填,最长 %(n)s 个字符。", n=DEPARTMENT_NAME_MAX), code="invalid_name")
    if name_en and len(name_en) > DEPARTMENT_NAME_MAX:
        raise DomainError(_l("英文名称最长 %(n)s 个字符。", n=DEPARTMENT_NAME_MAX), code="invalid_name")
    return code, name, name_en


def create_department(actor, *, code: str, name: str, name_en: str | None = None) -> Department:
    """Create a department (承办单位)."""
    code, name, name_en = _check_department_fields(code, name, name_en)
    if department_by_code(code) is not None:
        raise DomainError(_l("单位代码 %(code)s 已存在。", code=code), code="duplicate_department", status=409)
    department = Department(code=code, name=name, name_en=name_en, active=True)
    db.session.add(department)
    db.session.flush()
    trace.record(actor, "department.created", department, department=department, code=code, name=name, name_en=name_en)
    return department


def update_department(
    actor: User, department: Department, *, name: str, name_en: str | None, active: bool
) -> Department:
    """Rename a department or mark it inactive."""
    _, name, name_en = _check_department_fields(department.code, name, name_en)
    changes = {}
    for attr, value in (("name", name), ("name_en", name_en), ("active", active)):
        if getattr(department, attr) != value:
            changes[attr] = [getattr(department, attr), value]
            setattr(department, attr, value)
    if changes:
        db.session.flush()
        trace.record(actor, "department.updated", department, department=department, changes=changes)
    return department


def add_member(actor: User, department: Department, user: User) -> None:
    """Make ``user`` a member of ``department``."""
    if user in department.members:
        raise DomainError(_l("%(name)s 已是该单位成员。", name=user.display_name), code="already_member")
    department.members.append(user)
    db.session.flush()
    trace.record(
        actor,
        "department.member_added",
        department,
        department=department,
        user_id=user.id,
        user_name=user.display_name,
    )


def remove_member(actor: User, department: Department, user: User) -> None:
    """Remove ``user`` from ``department``."""
    if user not in department.members:
        raise DomainError(_l("%(name)s 不是该单位成员。", name=user.display_name), code="not_member")
    department.members.remove(user)
    db.session.flush()
    trace.record(
        actor,
        "department.member_removed",
        department,
        department=department,
        user_id=user.id,
        user_name=user.display_name,
    )


def set_departments(actor: User, user: User, codes) -> User:
    """Make ``user`` a member of exactly the departments with ``codes``."""
    wanted = set(codes)
    found = db.session.scalars(select(Department).where(Department.code.in_(wanted))).all() if wanted else []
    missing = wanted - {d.code for d in found}
    if missing:
        raise DomainError(_l("未知单位:%(codes)s", codes=", ".join(sorted(missing))), code="unknown_department")
    for department in found:
        if user not in department.members:
            add_member(actor, department, user)
    for department in list(user.departments):
        if department.code not in wanted:
            remove_member(actor, department, user)
    return user
