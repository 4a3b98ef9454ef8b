"""Search index work queue.

Revision ID: 0005_search
Revises: 0001_accounts_ledger
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0005_search"
down_revision = "0001_accounts_ledger"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_key", sa.String(length=120), nullable=False),
        sa.Column("enqueued_at", portal.core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queue")),
    )


def downgrade():
    op.drop_table("search_queue")
