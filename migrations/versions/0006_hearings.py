"""Hearings: notice and categories, the secret seed, registrations, observers, the draw, messages.

Revision ID: 0006_hearings
Revises: 0002_decisions
Create Date: 2026-11-29

The draw table refuses UPDATE and DELETE at the database (triggers, as for the ledger): a draw
runs once and is never altered. One registration per person per hearing, and one observer seat
number per hearing, are unique constraints.
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0006_hearings"
down_revision = "0002_decisions"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime

SQLITE_TRIGGERS = [
    """CREATE TRIGGER hearing_draw_no_update BEFORE UPDATE ON hearing_draw
       BEGIN SELECT RAISE(ABORT, 'hearing_draw is immutable: UPDATE refused'); END""",
    """CREATE TRIGGER hearing_draw_no_delete BEFORE DELETE ON hearing_draw
       BEGIN SELECT RAISE(ABORT, 'hearing_draw is immutable: DELETE refused'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION hearing_draw_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'hearing_draw is immutable: % refused', TG_OP; END $$""",
    """CREATE TRIGGER hearing_draw_no_change BEFORE UPDATE OR DELETE ON hearing_draw
       FOR EACH ROW EXECUTE FUNCTION hearing_draw_refuse()""",
    """CREATE TRIGGER hearing_draw_no_truncate BEFORE TRUNCATE ON hearing_draw
       FOR EACH STATEMENT EXECUTE FUNCTION hearing_draw_refuse()""",
]


def upgrade():
    op.create_table(
        "hearing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=160), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=False),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("stream_url", sa.String(length=500), nullable=True),
        sa.Column("observer_seats", sa.Integer(), nullable=False),
        sa.Column("registration_opens_at", UTC(), nullable=False),
        sa.Column("registration_closes_at", UTC(), nullable=False),
        sa.Column("selection_method", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=True),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", UTC(), nullable=True),
        sa.Column("list_published_at", UTC(), nullable=True),
        sa.Column("materials_delivered_at", UTC(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_sha256", sa.String(length=64), nullable=True),
        sa.Column("transcript_recorded_at", UTC(), nullable=True),
        sa.Column("record_confirm_by", UTC(), nullable=True),
        sa.Column("report_body", sa.Text(), nullable=True),
        sa.Column("report_support", sa.Text(), nullable=True),
        sa.Column("report_oppose", sa.Text(), nullable=True),
        sa.Column("report_neutral", sa.Text(), nullable=True),
        sa.Column("report_published_at", UTC(), nullable=True),
        sa.Column("needs_erased_at", UTC(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.CheckConstraint("observer_seats >= 0", name=op.f("ck_hearing_observer_seats")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_hearing_times")),
        sa.CheckConstraint("registration_closes_at > registration_opens_at", name=op.f("ck_hearing_window")),
        sa.CheckConstraint("sequence >= 0", name=op.f("ck_hearing_sequence")),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_hearing_decision_id_decision")),
        sa.ForeignKeyConstraint(["published_by_id"], ["user.id"], name=op.f("fk_hearing_published_by_id_user")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_hearing_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing")),
        sa.UniqueConstraint("slug", name=op.f("uq_hearing_slug")),
    )
    op.create_index(op.f("ix_hearing_decision_id"), "hearing", ["decision_id"], unique=False)
    op.create_index(op.f("ix_hearing_status"), "hearing", ["status"], unique=False)
    op.create_index("ix_hearing_status_starts_at", "hearing", ["status", "starts_at"], unique=False)

    op.create_table(
        "hearing_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("min_share_num", sa.Integer(), nullable=True),
        sa.Column("min_share_den", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("seats > 0", name=op.f("ck_hearing_category_seats")),
        sa.CheckConstraint(
            "(min_share_num IS NULL AND min_share_den IS NULL) OR "
            "(min_share_num > 0 AND min_share_den >= min_share_num)",
            name=op.f("ck_hearing_category_min_share"),
        ),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_category_hearing_id_hearing"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_category")),
        sa.UniqueConstraint("hearing_id", "code", name=op.f("uq_hearing_category_hearing_id_code")),
    )
    op.create_index(op.f("ix_hearing_category_hearing_id"), "hearing_category", ["hearing_id"], unique=False)

    op.create_table(
        "hearing_secret",
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_secret_hearing_id_hearing"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("hearing_id", name=op.f("pk_hearing_secret")),
    )

    op.create_table(
        "hearing_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("real_name", sa.String(length=80), nullable=False),
        sa.Column("contact", sa.String(length=120), nullable=False),
        sa.Column("public_name", sa.String(length=80), nullable=False),
        sa.Column("position", sa.String(length=10), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("has_interest", sa.Boolean(), nullable=False),
        sa.Column("interest_declaration", sa.Text(), nullable=False),
        sa.Column("accessibility_needs", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("draw_rank", sa.Integer(), nullable=True),
        sa.Column("draw_key", sa.String(length=64), nullable=True),
        sa.Column("respond_by", UTC(), nullable=True),
        sa.Column("responded_at", UTC(), nullable=True),
        sa.Column("materials_sent_at", UTC(), nullable=True),
        sa.Column("withdrawn_at", UTC(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("attendance_marked_at", UTC(), nullable=True),
        sa.Column("record_response", sa.String(length=10), nullable=True),
        sa.Column("record_objection", sa.Text(), nullable=True),
        sa.Column("record_responded_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_registration_hearing_id_hearing")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_hearing_registration_user_id_user")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["hearing_category.id"], name=op.f("fk_hearing_registration_category_id_hearing_category")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_registration")),
        sa.UniqueConstraint("hearing_id", "user_id", name=op.f("uq_hearing_registration_hearing_id_user_id")),
    )
    op.create_index(op.f("ix_hearing_registration_hearing_id"), "hearing_registration", ["hearing_id"], unique=False)
    op.create_index(op.f("ix_hearing_registration_user_id"), "hearing_registration", ["user_id"], unique=False)
    op.create_index(
        "ix_hearing_registration_hearing_status", "hearing_registration", ["hearing_id", "status"], unique=False
    )

    op.create_table(
        "hearing_observer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("real_name", sa.String(length=80), nullable=False),
        sa.Column("contact", sa.String(length=120), nullable=False),
        sa.Column("accessibility_needs", sa.String(length=500), nullable=True),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cancelled_at", UTC(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.CheckConstraint("seat_no IS NULL OR seat_no >= 1", name=op.f("ck_hearing_observer_seat_no")),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_observer_hearing_id_hearing")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_hearing_observer_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_observer")),
        sa.UniqueConstraint("hearing_id", "user_id", name=op.f("uq_hearing_observer_hearing_id_user_id")),
        sa.UniqueConstraint("hearing_id", "seat_no", name=op.f("uq_hearing_observer_hearing_id_seat_no")),
    )
    op.create_index(op.f("ix_hearing_observer_hearing_id"), "hearing_observer", ["hearing_id"], unique=False)

    op.create_table(
        "hearing_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("drawn_at", UTC(), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_draw_hearing_id_hearing")),
        sa.ForeignKeyConstraint(["drawn_by_id"], ["user.id"], name=op.f("fk_hearing_draw_drawn_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_draw")),
        sa.UniqueConstraint("hearing_id", name=op.f("uq_hearing_draw_hearing_id")),
    )

    op.create_table(
        "hearing_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_hearing_message_user_id_user")),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearing.id"], name=op.f("fk_hearing_message_hearing_id_hearing")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_message")),
    )
    op.create_index(op.f("ix_hearing_message_hearing_id"), "hearing_message", ["hearing_id"], unique=False)
    op.create_index("ix_hearing_message_user_created", "hearing_message", ["user_id", "created_at"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS hearing_draw_no_truncate ON hearing_draw")
        op.execute("DROP TRIGGER IF EXISTS hearing_draw_no_change ON hearing_draw")
        op.execute("DROP FUNCTION IF EXISTS hearing_draw_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS hearing_draw_no_update")
        op.execute("DROP TRIGGER IF EXISTS hearing_draw_no_delete")
    op.drop_index("ix_hearing_message_user_created", table_name="hearing_message")
    op.drop_index(op.f("ix_hearing_message_hearing_id"), table_name="hearing_message")
    op.drop_table("hearing_message")
    op.drop_table("hearing_draw")
    op.drop_index(op.f("ix_hearing_observer_hearing_id"), table_name="hearing_observer")
    op.drop_table("hearing_observer")
    op.drop_index("ix_hearing_registration_hearing_status", table_name="hearing_registration")
    op.drop_index(op.f("ix_hearing_registration_user_id"), table_name="hearing_registration")
    op.drop_index(op.f("ix_hearing_registration_hearing_id"), table_name="hearing_registration")
    op.drop_table("hearing_registration")
    op.drop_table("hearing_secret")
    op.drop_index(op.f("ix_hearing_category_hearing_id"), table_name="hearing_category")
    op.drop_table("hearing_category")
    op.drop_index("ix_hearing_status_starts_at", table_name="hearing")
    op.drop_index(op.f("ix_hearing_status"), table_name="hearing")
    op.drop_index(op.f("ix_hearing_decision_id"), table_name="hearing")
    op.drop_table("hearing")
