"""Availability of comment intake: probes, 5xx buckets, heartbeat, outages, outage extensions.

Revision ID: 0011_availability
Revises: 0004_consultation
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0011_availability"
down_revision = "0004_consultation"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime


def upgrade():
    op.create_table(
        "availability_probe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", UTC(), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_probe")),
        sa.UniqueConstraint("uid", name=op.f("uq_availability_probe_uid")),
    )
    op.create_index("ix_availability_probe_at", "availability_probe", ["at"])
    op.create_table(
        "intake_error_bucket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minute", UTC(), nullable=False),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_error_bucket")),
        sa.UniqueConstraint("minute", "endpoint", name=op.f("uq_intake_error_bucket_minute")),
    )
    op.create_index(op.f("ix_intake_error_bucket_minute"), "intake_error_bucket", ["minute"])
    op.create_table(
        "availability_heartbeat",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("beat_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_heartbeat")),
    )
    op.execute("INSERT INTO availability_heartbeat (id, beat_at) VALUES (1, NULL)")
    op.create_table(
        "availability_outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.Column("failed_probes", sa.Integer(), nullable=False),
        sa.Column("server_errors", sa.Integer(), nullable=False),
        sa.Column("first_error", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_outage")),
    )
    op.create_index(op.f("ix_availability_outage_started_at"), "availability_outage", ["started_at"])
    op.create_table(
        "availability_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("consultation_extension_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("outage_minutes", sa.Integer(), nullable=False),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["outage_id"], ["availability_outage.id"],
                                name=op.f("fk_availability_extension_outage_id_availability_outage"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_availability_extension_consultation_id_consultation"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["consultation_extension_id"], ["consultation_extension.id"],
                                name=op.f("fk_availability_extension_consultation_extension_id"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_extension")),
    )
    op.create_index(op.f("ix_availability_extension_outage_id"), "availability_extension", ["outage_id"])
    op.create_index(op.f("ix_availability_extension_consultation_id"), "availability_extension", ["consultation_id"])


def downgrade():
    op.drop_index(op.f("ix_availability_extension_consultation_id"), table_name="availability_extension")
    op.drop_index(op.f("ix_availability_extension_outage_id"), table_name="availability_extension")
    op.drop_table("availability_extension")
    op.drop_index(op.f("ix_availability_outage_started_at"), table_name="availability_outage")
    op.drop_table("availability_outage")
    op.drop_table("availability_heartbeat")
    op.drop_index(op.f("ix_intake_error_bucket_minute"), table_name="intake_error_bucket")
    op.drop_table("intake_error_bucket")
    op.drop_index("ix_availability_probe_at", table_name="availability_probe")
    op.drop_table("availability_probe")
