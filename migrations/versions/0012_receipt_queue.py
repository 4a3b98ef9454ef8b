"""Receipt mails queued in the transaction that stores the comment (issue 8, surge intake).

Revision ID: 0012_receipt_queue
Revises: 0011_availability
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0012_receipt_queue"
down_revision = "0011_availability"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "comment_receipt_queue",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("queued_at", portal.core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comment.id"],
            name=op.f("fk_comment_receipt_queue_comment_id_comment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_comment_receipt_queue")),
    )
    op.create_index(op.f("ix_comment_receipt_queue_queued_at"), "comment_receipt_queue", ["queued_at"])


def downgrade():
    op.drop_index(op.f("ix_comment_receipt_queue_queued_at"), table_name="comment_receipt_queue")
    op.drop_table("comment_receipt_queue")
