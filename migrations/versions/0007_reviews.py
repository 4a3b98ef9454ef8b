"""Expert pool, committees, signed reviews, risk assessments, legality reviews, collective discussions.

Signed reviews, risk assessments and meeting opinions are immutable, and a filed legality opinion
cannot be changed: database triggers refuse it (SQLite and PostgreSQL), as for the ledger.

Revision ID: 0007_reviews
Revises: 0002_decisions
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0007_reviews"
down_revision = "0002_decisions"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime

IMMUTABLE = ("expert_review", "risk_assessment", "meeting_opinion")


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in IMMUTABLE:
        for verb in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is immutable: {verb} refused'); END"
            )
    statements.append(
        "CREATE TRIGGER legality_review_filed BEFORE UPDATE ON legality_review WHEN OLD.result IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'legality_review: a filed opinion cannot be changed'); END"
    )
    statements.append(
        "CREATE TRIGGER legality_review_no_delete BEFORE DELETE ON legality_review "
        "BEGIN SELECT RAISE(ABORT, 'legality_review: DELETE refused'); END"
    )
    return statements


def _postgres_triggers() -> list[str]:
    statements = [
        """CREATE FUNCTION reviews_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION '% is immutable: % refused', TG_TABLE_NAME, TG_OP; END $$""",
        """CREATE FUNCTION legality_review_guard() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' OR OLD.result IS NOT NULL THEN
               RAISE EXCEPTION 'legality_review: a filed opinion cannot be changed (% refused)', TG_OP;
             END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER legality_review_guard BEFORE UPDATE OR DELETE ON legality_review
           FOR EACH ROW EXECUTE FUNCTION legality_review_guard()""",
    ]
    for table in IMMUTABLE:
        statements.append(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION reviews_refuse_change()"
        )
    return statements


def upgrade():
    op.create_table(
        "expert_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("organisation", sa.String(length=120), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_expert_profile_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_profile")),
        sa.UniqueConstraint("user_id", name=op.f("uq_expert_profile_user_id")),
    )
    op.create_index(op.f("ix_expert_profile_field"), "expert_profile", ["field"], unique=False)

    op.create_table(
        "expert_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["expert_profile.id"],
            name=op.f("fk_expert_interest_profile_id_expert_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_interest")),
        sa.UniqueConstraint("profile_id", "kind", "value", name=op.f("uq_expert_interest_profile_id_kind_value")),
    )
    op.create_index(op.f("ix_expert_interest_profile_id"), "expert_interest", ["profile_id"], unique=False)

    op.create_table(
        "committee_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("declaration", sa.String(length=16), nullable=True),
        sa.Column("declaration_note", sa.Text(), nullable=False),
        sa.Column("declared_at", UTC(), nullable=True),
        sa.Column("removed_at", UTC(), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_committee_member_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["expert_profile.id"], name=op.f("fk_committee_member_profile_id_expert_profile")
        ),
        sa.ForeignKeyConstraint(["assigned_by_id"], ["user.id"], name=op.f("fk_committee_member_assigned_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_member")),
        sa.UniqueConstraint("decision_id", "profile_id", name=op.f("uq_committee_member_decision_id_profile_id")),
    )
    op.create_index(op.f("ix_committee_member_decision_id"), "committee_member", ["decision_id"], unique=False)
    op.create_index(op.f("ix_committee_member_profile_id"), "committee_member", ["profile_id"], unique=False)

    aspects = ("necessity", "feasibility", "soundness", "legality", "risks", "cost_benefit")
    op.create_table(
        "expert_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("draft_version_id", sa.Integer(), nullable=True),
        *[
            column
            for aspect in aspects
            for column in (
                sa.Column(f"{aspect}_rating", sa.String(length=16), nullable=False),
                sa.Column(f"{aspect}_text", sa.Text(), nullable=False),
            )
        ],
        sa.Column("recommendation", sa.String(length=16), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("amendment_reason", sa.Text(), nullable=False),
        sa.Column("signed_name", sa.String(length=120), nullable=False),
        sa.Column("signed_at", UTC(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_expert_review_decision_id_decision")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["committee_member.id"], name=op.f("fk_expert_review_member_id_committee_member")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["expert_review.id"], name=op.f("fk_expert_review_supersedes_id_expert_review")
        ),
        sa.ForeignKeyConstraint(
            ["draft_version_id"], ["draft_version.id"], name=op.f("fk_expert_review_draft_version_id_draft_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_review")),
        sa.UniqueConstraint("member_id", "version", name=op.f("uq_expert_review_member_id_version")),
    )
    op.create_index(op.f("ix_expert_review_decision_id"), "expert_review", ["decision_id"], unique=False)
    op.create_index(op.f("ix_expert_review_member_id"), "expert_review", ["member_id"], unique=False)

    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("draft_version_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("controllable", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("mitigation", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_risk_assessment_decision_id_decision")),
        sa.ForeignKeyConstraint(
            ["draft_version_id"], ["draft_version.id"], name=op.f("fk_risk_assessment_draft_version_id_draft_version")
        ),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_risk_assessment_recorded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
    )
    op.create_index(op.f("ix_risk_assessment_decision_id"), "risk_assessment", ["decision_id"], unique=False)

    op.create_table(
        "legality_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("draft_version_id", sa.Integer(), nullable=True),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", UTC(), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("required_changes", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", UTC(), nullable=True),
        sa.Column("opinion_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_legality_review_decision_id_decision")),
        sa.ForeignKeyConstraint(
            ["draft_version_id"], ["draft_version.id"], name=op.f("fk_legality_review_draft_version_id_draft_version")
        ),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["user.id"], name=op.f("fk_legality_review_submitted_by_id_user")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["user.id"], name=op.f("fk_legality_review_reviewer_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legality_review")),
    )
    op.create_index(op.f("ix_legality_review_decision_id"), "legality_review", ["decision_id"], unique=False)

    op.create_table(
        "deliberation_materials",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("comment_report_url", sa.String(length=500), nullable=False),
        sa.Column("expert_adoption", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_deliberation_materials_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_deliberation_materials_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_deliberation_materials")),
    )

    op.create_table(
        "deliberation_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_by_id", sa.Integer(), nullable=True),
        sa.Column("draft_version_id", sa.Integer(), nullable=True),
        sa.Column("comment_report_url", sa.String(length=500), nullable=False),
        sa.Column("expert_adoption", sa.Text(), nullable=False),
        sa.Column("risk_assessment_id", sa.Integer(), nullable=True),
        sa.Column("legality_review_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("head_statement", sa.Text(), nullable=False),
        sa.Column("departure_reason", sa.Text(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("public_summary", sa.Text(), nullable=False),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_deliberation_meeting_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(["head_id"], ["user.id"], name=op.f("fk_deliberation_meeting_head_id_user")),
        sa.ForeignKeyConstraint(
            ["scheduled_by_id"], ["user.id"], name=op.f("fk_deliberation_meeting_scheduled_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["draft_version_id"],
            ["draft_version.id"],
            name=op.f("fk_deliberation_meeting_draft_version_id_draft_version"),
        ),
        sa.ForeignKeyConstraint(
            ["risk_assessment_id"],
            ["risk_assessment.id"],
            name=op.f("fk_deliberation_meeting_risk_assessment_id_risk_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["legality_review_id"],
            ["legality_review.id"],
            name=op.f("fk_deliberation_meeting_legality_review_id_legality_review"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation_meeting")),
    )
    op.create_index(op.f("ix_deliberation_meeting_decision_id"), "deliberation_meeting", ["decision_id"], unique=False)

    op.create_table(
        "meeting_attendee",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["deliberation_meeting.id"],
            name=op.f("fk_meeting_attendee_meeting_id_deliberation_meeting"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_meeting_attendee_user_id_user")),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_meeting_attendee")),
    )

    op.create_table(
        "meeting_opinion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=10), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["deliberation_meeting.id"], name=op.f("fk_meeting_opinion_meeting_id_deliberation_meeting")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["user.id"], name=op.f("fk_meeting_opinion_member_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_opinion")),
        sa.UniqueConstraint("meeting_id", "member_id", name=op.f("uq_meeting_opinion_meeting_id_member_id")),
    )
    op.create_index(op.f("ix_meeting_opinion_meeting_id"), "meeting_opinion", ["meeting_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in _postgres_triggers() if dialect == "postgresql" else _sqlite_triggers():
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP TRIGGER IF EXISTS legality_review_guard ON legality_review")
        op.execute("DROP FUNCTION IF EXISTS legality_review_guard()")
        op.execute("DROP FUNCTION IF EXISTS reviews_refuse_change()")
    else:
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute("DROP TRIGGER IF EXISTS legality_review_filed")
        op.execute("DROP TRIGGER IF EXISTS legality_review_no_delete")
    op.drop_index(op.f("ix_meeting_opinion_meeting_id"), table_name="meeting_opinion")
    op.drop_table("meeting_opinion")
    op.drop_table("meeting_attendee")
    op.drop_index(op.f("ix_deliberation_meeting_decision_id"), table_name="deliberation_meeting")
    op.drop_table("deliberation_meeting")
    op.drop_table("deliberation_materials")
    op.drop_index(op.f("ix_legality_review_decision_id"), table_name="legality_review")
    op.drop_table("legality_review")
    op.drop_index(op.f("ix_risk_assessment_decision_id"), table_name="risk_assessment")
    op.drop_table("risk_assessment")
    op.drop_index(op.f("ix_expert_review_member_id"), table_name="expert_review")
    op.drop_index(op.f("ix_expert_review_decision_id"), table_name="expert_review")
    op.drop_table("expert_review")
    op.drop_index(op.f("ix_committee_member_profile_id"), table_name="committee_member")
    op.drop_index(op.f("ix_committee_member_decision_id"), table_name="committee_member")
    op.drop_table("committee_member")
    op.drop_index(op.f("ix_expert_interest_profile_id"), table_name="expert_interest")
    op.drop_table("expert_interest")
    op.drop_index(op.f("ix_expert_profile_field"), table_name="expert_profile")
    op.drop_table("expert_profile")
