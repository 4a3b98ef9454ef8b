"""Decisions, draft versions, articles, responsible persons.

Revision ID: 0002_decisions
Revises: 0001_accounts_ledger
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0002_decisions"
down_revision = "0001_accounts_ledger"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime


def upgrade():
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("document_number", sa.String(length=80), nullable=True),
        sa.Column("affects_stability", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("stage_changed_at", UTC(), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_decision_created_by_id_user")),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_decision_department_id_department")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("slug", name=op.f("uq_decision_slug")),
    )
    op.create_index(op.f("ix_decision_department_id"), "decision", ["department_id"], unique=False)
    op.create_index(op.f("ix_decision_stage"), "decision", ["stage"], unique=False)
    op.create_index("ix_decision_stage_department", "decision", ["stage", "department_id"], unique=False)
    op.create_table(
        "decision_responsible",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"],
                                name=op.f("fk_decision_responsible_decision_id_decision"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_decision_responsible_user_id_user")),
        sa.PrimaryKeyConstraint("decision_id", "user_id", name=op.f("pk_decision_responsible")),
    )
    op.create_table(
        "draft_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_draft_version_created_by_id_user")),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_draft_version_decision_id_decision"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_version")),
        sa.UniqueConstraint("decision_id", "number", name=op.f("uq_draft_version_decision_id")),
    )
    op.create_index(op.f("ix_draft_version_decision_id"), "draft_version", ["decision_id"], unique=False)
    op.create_table(
        "draft_article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["draft_version.id"],
                                name=op.f("fk_draft_article_version_id_draft_version"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_article")),
        sa.UniqueConstraint("version_id", "anchor", name=op.f("uq_draft_article_version_id")),
    )
    op.create_index(op.f("ix_draft_article_version_id"), "draft_article", ["version_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_draft_article_version_id"), table_name="draft_article")
    op.drop_table("draft_article")
    op.drop_index(op.f("ix_draft_version_decision_id"), table_name="draft_version")
    op.drop_table("draft_version")
    op.drop_table("decision_responsible")
    op.drop_index("ix_decision_stage_department", table_name="decision")
    op.drop_index(op.f("ix_decision_stage"), table_name="decision")
    op.drop_index(op.f("ix_decision_department_id"), table_name="decision")
    op.drop_table("decision")
