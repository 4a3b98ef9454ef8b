"""Consultations, comments, duplicate groups, responses, tracking counter; follows and notifications.

Revision ID: 0004_consultation
Revises: 0002_decisions
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0004_consultation"
down_revision = "0002_decisions"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime


def upgrade():
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("ends_at", UTC(), nullable=False),
        sa.Column("original_ends_at", UTC(), nullable=False),
        sa.Column("emergency_reason", sa.Text(), nullable=True),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_recorded_at", UTC(), nullable=True),
        sa.Column("reminder_sent_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_consultation_decision_id_decision"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["draft_version.id"],
                                name=op.f("fk_consultation_version_id_draft_version")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["user.id"], name=op.f("fk_consultation_opened_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_consultation_decision_id")),
    )
    op.create_table(
        "consultation_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("previous_ends_at", UTC(), nullable=False),
        sa.Column("new_ends_at", UTC(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_consultation_extension_consultation_id_consultation"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_consultation_extension_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_extension")),
    )
    op.create_index(op.f("ix_consultation_extension_consultation_id"), "consultation_extension", ["consultation_id"])
    op.create_table(
        "tracking_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_tracking_counter")),
    )
    op.create_table(
        "comment_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("normalised", sa.Text(), nullable=False),
        sa.Column("text_length", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_comment_group_consultation_id_consultation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_group")),
    )
    op.create_index(op.f("ix_comment_group_consultation_id"), "comment_group", ["consultation_id"])
    op.create_index(op.f("ix_comment_group_text_hash"), "comment_group", ["text_hash"])
    op.create_index("ix_comment_group_consultation_length", "comment_group", ["consultation_id", "text_length"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("sender_name", sa.String(length=80), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("article_anchor", sa.String(length=40), nullable=True),
        sa.Column("article_label", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("submission_token", sa.String(length=64), nullable=True),
        sa.Column("rejection_reason", sa.String(length=20), nullable=True),
        sa.Column("rejection_note", sa.Text(), nullable=True),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("moderated_at", UTC(), nullable=True),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("withdrawn_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"],
                                name=op.f("fk_comment_consultation_id_consultation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_comment_author_id_user")),
        sa.ForeignKeyConstraint(["entered_by_id"], ["user.id"], name=op.f("fk_comment_entered_by_id_user")),
        sa.ForeignKeyConstraint(["moderated_by_id"], ["user.id"], name=op.f("fk_comment_moderated_by_id_user")),
        sa.ForeignKeyConstraint(["version_id"], ["draft_version.id"], name=op.f("fk_comment_version_id_draft_version")),
        sa.ForeignKeyConstraint(["group_id"], ["comment_group.id"], name=op.f("fk_comment_group_id_comment_group")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_comment_tracking_number")),
        sa.UniqueConstraint("author_id", "submission_token", name=op.f("uq_comment_author_id_submission_token")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_comment_year_number")),
    )
    op.create_index(op.f("ix_comment_author_id"), "comment", ["author_id"])
    op.create_index("ix_comment_consultation_status", "comment", ["consultation_id", "status", "published_at", "id"])
    op.create_index("ix_comment_group_status", "comment", ["group_id", "status"])
    op.create_table(
        "comment_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comment.id"], name=op.f("fk_comment_response_comment_id_comment"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["responded_by_id"], ["user.id"],
                                name=op.f("fk_comment_response_responded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_response")),
        sa.UniqueConstraint("comment_id", name=op.f("uq_comment_response_comment_id")),
    )
    op.create_table(
        "decision_follow",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_decision_follow_user_id_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_decision_follow_decision_id_decision"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "decision_id", name=op.f("pk_decision_follow")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("dedupe_key", sa.String(length=80), nullable=True),
        sa.Column("read_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_notification_user_id_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_notification_decision_id_decision"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("user_id", "dedupe_key", name=op.f("uq_notification_user_id_dedupe_key")),
    )
    op.create_index("ix_notification_user_read", "notification", ["user_id", "read_at"])


def downgrade():
    op.drop_index("ix_notification_user_read", table_name="notification")
    op.drop_table("notification")
    op.drop_table("decision_follow")
    op.drop_table("comment_response")
    op.drop_index("ix_comment_group_status", table_name="comment")
    op.drop_index("ix_comment_consultation_status", table_name="comment")
    op.drop_index(op.f("ix_comment_author_id"), table_name="comment")
    op.drop_table("comment")
    op.drop_index("ix_comment_group_consultation_length", table_name="comment_group")
    op.drop_index(op.f("ix_comment_group_text_hash"), table_name="comment_group")
    op.drop_index(op.f("ix_comment_group_consultation_id"), table_name="comment_group")
    op.drop_table("comment_group")
    op.drop_table("tracking_counter")
    op.drop_index(op.f("ix_consultation_extension_consultation_id"), table_name="consultation_extension")
    op.drop_table("consultation_extension")
    op.drop_table("consultation")
