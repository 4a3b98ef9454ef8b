"""Demo content. Each feature adds a step to ``STEPS``; every step is idempotent."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from portal.auth import operations
from portal.auth.models import Department, Role, user_by_email
from portal.core.extensions import db

DEPARTMENTS = [
    ("bgt", "市人民政府办公厅", "General Office of the Municipal Government"),
    ("fgw", "市发展和改革委员会", "Municipal Development and Reform Commission"),
    ("jyj", "市教育局", "Municipal Education Bureau"),
    ("swj", "市水务局", "Municipal Water Affairs Bureau"),
    ("sfj", "市司法局", "Municipal Justice Bureau"),
    ("jtj", "市交通运输局", "Municipal Transport Bureau"),
]

#: Demo accounts: email, name, password, roles, departments. The passwords are printed by
#: seed-demo and listed in the README; they are for a demo database only.
USERS = [
    ("admin@demo.gov.cn", "系统管理员", "Guanli-2026-demo", [Role.ADMIN], []),
    ("official@demo.gov.cn", "王建国", "Chengban-2026-demo", [Role.OFFICIAL], ["fgw"]),
    ("official.edu@demo.gov.cn", "李秀英", "Chengban-2026-demo", [Role.OFFICIAL], ["jyj"]),
    ("expert@demo.gov.cn", "陈立群", "Lunzheng-2026-demo", [Role.EXPERT], []),
    ("legal@demo.gov.cn", "赵法明", "Shencha-2026-demo", [Role.LEGAL_REVIEWER], ["sfj"]),
    ("leader@demo.gov.cn", "周市长", "Jueding-2026-demo", [Role.LEADER], ["bgt"]),
    ("spokesperson@demo.gov.cn", "孙晓明", "Fabu-2026-demo", [Role.SPOKESPERSON], ["bgt"]),
    ("auditor@demo.gov.cn", "吴审计", "Jiandu-2026-demo", [Role.AUDITOR], []),
    ("citizen@demo.gov.cn", "张小红", "Gongzhong-2026-demo", [Role.CITIZEN], []),
]


def seed_accounts() -> Iterator[str]:
    for code, name, name_en in DEPARTMENTS:
        if db.session.scalar(select(Department).where(Department.code == code)) is None:
            operations.create_department(None, code=code, name=name, name_en=name_en)
            yield f"department {code} {name}"
    db.session.flush()
    for email, name, password, roles, codes in USERS:
        if user_by_email(email) is not None:
            continue
        departments = db.session.scalars(select(Department).where(Department.code.in_(codes))).all()
        operations.create_user(
            None,
            email=email,
            display_name=name,
            password=password,
            roles=roles,
            departments=departments,
            confirmed=True,
        )
        yield f"user {email} / {password} ({', '.join(r.value for r in roles)})"


def seed_demo() -> Iterator[str]:
    """Run the accounts step, then every feature's step (core.hooks.add_seed_step), one transaction each."""
    from portal.core.hooks import seed_steps

    for step in [seed_accounts, *seed_steps()]:
        lines = list(step())
        db.session.commit()
        yield from lines
    yield "demo accounts (email / password):"
    for email, _name, password, roles, _codes in USERS:
        yield f"  {email:<28} {password:<20} {', '.join(r.value for r in roles)}"
