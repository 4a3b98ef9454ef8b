"""Accounts, roles, departments, and the append-only responsibility ledger.

Revision ID: 0001_accounts_ledger
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0001_accounts_ledger"
down_revision = None
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime

# The ledger refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) at the database itself, so
# not even the application's own code, a console session or a bad migration can rewrite it.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER trace_entry_no_update BEFORE UPDATE ON trace_entry
       BEGIN SELECT RAISE(ABORT, 'trace_entry is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER trace_entry_no_delete BEFORE DELETE ON trace_entry
       BEGIN SELECT RAISE(ABORT, 'trace_entry is append-only: DELETE refused'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION trace_entry_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'trace_entry is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER trace_entry_no_change BEFORE UPDATE OR DELETE ON trace_entry
       FOR EACH ROW EXECUTE FUNCTION trace_entry_refuse()""",
    """CREATE TRIGGER trace_entry_no_truncate BEFORE TRUNCATE ON trace_entry
       FOR EACH STATEMENT EXECUTE FUNCTION trace_entry_refuse()""",
]


def upgrade():
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("session_token", sa.String(length=32), nullable=False),
        sa.Column("email_confirmed_at", UTC(), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    op.create_table(
        "department_member",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"],
                                name=op.f("fk_department_member_department_id_department"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_department_member_user_id_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("department_id", "user_id", name=op.f("pk_department_member")),
    )
    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_user_role_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_role")),
    )
    op.create_table(
        "trace_entry",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("actor_roles", sa.String(length=400), nullable=False),
        sa.Column("actor_hash", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_trace_entry")),
        sa.UniqueConstraint("hash", name=op.f("uq_trace_entry_hash")),
    )
    op.create_index(op.f("ix_trace_entry_action"), "trace_entry", ["action"], unique=False)
    op.create_index("ix_trace_entry_actor", "trace_entry", ["actor_id"], unique=False)
    op.create_index("ix_trace_entry_subject", "trace_entry", ["subject_kind", "subject_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trace_entry_no_truncate ON trace_entry")
        op.execute("DROP TRIGGER IF EXISTS trace_entry_no_change ON trace_entry")
        op.execute("DROP FUNCTION IF EXISTS trace_entry_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS trace_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS trace_entry_no_delete")
    op.drop_index("ix_trace_entry_subject", table_name="trace_entry")
    op.drop_index("ix_trace_entry_actor", table_name="trace_entry")
    op.drop_index(op.f("ix_trace_entry_action"), table_name="trace_entry")
    op.drop_table("trace_entry")
    op.drop_table("user_role")
    op.drop_table("department_member")
    op.drop_table("user")
    op.drop_table("department")
