"""The last verification of the ledger, shared by every process (one row).

Revision ID: 0009_ledger_verification
Revises: 0008_releases
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0009_ledger_verification"
down_revision = "0008_releases"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime


def upgrade():
    op.create_table(
        "ledger_verification",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("head_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("broken_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("verified_at", UTC(), nullable=False),
        sa.Column("full_verified_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_verification")),
    )


def downgrade():
    op.drop_table("ledger_verification")
