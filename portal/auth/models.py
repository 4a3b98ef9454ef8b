"""Users, their roles, departments (承办单位) and department membership."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    EXPERT = "expert"
    OFFICIAL = "official"
    LEGAL_REVIEWER = "legal_reviewer"
    LEADER = "leader"
    SPOKESPERSON = "spokesperson"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.CITIZEN: _l("公众"),
    Role.EXPERT: _l("专家"),
    Role.OFFICIAL: _l("承办单位工作人员"),
    Role.LEGAL_REVIEWER: _l("合法性审查人员"),
    Role.LEADER: _l("决策机关负责人"),
    Role.SPOKESPERSON: _l("新闻发言人"),
    Role.AUDITOR: _l("监督人员"),
    Role.ADMIN: _l("系统管理员"),
}

#: Field limits, shared by the model, the forms and the CLI.
EMAIL_MAX = 254
NAME_MAX = 80
PASSWORD_MIN = 10
PASSWORD_MAX = 128
DEPARTMENT_CODE_MAX = 32
DEPARTMENT_NAME_MAX = 120

# werkzeug's scrypt: memory-hard, no extra dependency.
PASSWORD_METHOD = "scrypt"  # noqa: S105 (a hash method name, not a password)


class UserRole(db.Model):
    __tablename__ = "user_role"

    #: The user holding the role.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    #: One of the role codes in ``Role``.
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class DepartmentMember(db.Model):
    __tablename__ = "department_member"

    #: The department.
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), primary_key=True)
    #: The member.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class Department(TimestampMixin, db.Model):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short stable code used in URLs, filters and the CLI (e.g. ``fgw``).
    code: Mapped[str] = mapped_column(String(DEPARTMENT_CODE_MAX), unique=True)
    #: Official Chinese name.
    name: Mapped[str] = mapped_column(String(DEPARTMENT_NAME_MAX))
    #: English name, shown in the English interface when present.
    name_en: Mapped[str | None] = mapped_column(String(DEPARTMENT_NAME_MAX))
    #: Departments merged away or renamed stay for the archive but take no new work.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    members: Mapped[list[User]] = relationship(
        secondary="department_member", back_populates="departments", order_by="User.display_name"
    )

    def display_name(self, locale: str | None = None) -> str:
        if locale and locale.startswith("en") and self.name_en:
            return self.name_en
        return self.name

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class User(TimestampMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name; stored lower-cased.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: Name shown on pages and recorded in the ledger.
    display_name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: werkzeug scrypt hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Disabled accounts cannot log in; their records stay.
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Changes on password change, which ends every other session (part of the login cookie id).
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    #: When the address was confirmed; None until then.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Preferred interface language.
    locale: Mapped[str | None] = mapped_column(String(10))

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    departments: Mapped[list[Department]] = relationship(
        secondary="department_member", back_populates="members", order_by="Department.code"
    )

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def set_password(self, password: str) -> None:
        method = (
            current_app.config.get("PASSWORD_HASH_METHOD", PASSWORD_METHOD) if has_app_context() else PASSWORD_METHOD
        )
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def is_member_of(self, department: Department | int | None) -> bool:
        if department is None:
            return False
        dept_id = department if isinstance(department, int) else department.id
        return any(d.id == dept_id for d in self.departments)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class AnonymousUser:
    """The visitor who has not logged in."""

    is_authenticated = False
    is_active = False
    is_anonymous = True
    id = None
    display_name = ""
    roles: frozenset[str] = frozenset()
    departments: list = []

    def get_id(self):
        return None

    def has_role(self, *roles: str) -> bool:
        return False

    def is_member_of(self, department) -> bool:
        return False


def user_by_email(email: str) -> User | None:
    """The user with this address, case-insensitively."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def department_by_code(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code.strip()))
