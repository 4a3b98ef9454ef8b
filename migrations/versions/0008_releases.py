"""Releases and corrections, decision publication, ledger checkpoints, implementation updates,
feedback with responses, post-evaluations, adjustments.

Append-only records are protected by database triggers (SQLite and PostgreSQL), as the ledger is:
corrections, publications, checkpoints, post-evaluations and adjustments refuse UPDATE and DELETE;
a published release refuses any change to its text and cannot be deleted.

Revision ID: 0008_releases
Revises: 0002_decisions
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

import portal.core.models

revision = "0008_releases"
down_revision = "0002_decisions"
branch_labels = None
depends_on = None

UTC = portal.core.models.UTCDateTime

IMMUTABLE = ("release_correction", "decision_publication", "ledger_checkpoint", "post_evaluation", "decision_adjustment")
#: Columns of a published release that may never change.
RELEASE_CONTENT = ("kind", "title", "summary", "body", "public_adoption", "expert_adoption", "decision_id", "published_at")


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in IMMUTABLE:
        for verb in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (*RELEASE_CONTENT, "status"))
    statements.append(
        "CREATE TRIGGER press_release_published BEFORE UPDATE ON press_release "
        f"WHEN OLD.status = 'published' AND ({changed}) "
        "BEGIN SELECT RAISE(ABORT, 'press_release: a published release cannot be edited'); END"
    )
    statements.append(
        "CREATE TRIGGER press_release_no_delete BEFORE DELETE ON press_release WHEN OLD.status = 'published' "
        "BEGIN SELECT RAISE(ABORT, 'press_release: a published release cannot be deleted'); END"
    )
    return statements


def _postgres_triggers() -> list[str]:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in (*RELEASE_CONTENT, "status"))
    statements = [
        """CREATE FUNCTION releases_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$""",
        f"""CREATE FUNCTION press_release_guard() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.status = 'published' THEN
               IF TG_OP = 'DELETE' OR {changed} THEN
                 RAISE EXCEPTION 'press_release: a published release cannot be changed (% refused)', TG_OP;
               END IF;
             END IF;
             IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER press_release_guard BEFORE UPDATE OR DELETE ON press_release
           FOR EACH ROW EXECUTE FUNCTION press_release_guard()""",
    ]
    for table in IMMUTABLE:
        statements.append(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION releases_refuse_change()"
        )
    return statements


def upgrade():
    op.create_table(
        "press_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public_adoption", sa.Text(), nullable=False),
        sa.Column("expert_adoption", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scheduled_at", UTC(), nullable=True),
        sa.Column("published_at", UTC(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_press_release_decision_id_decision")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_press_release_department_id_department")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_press_release_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_press_release")),
    )
    op.create_index(op.f("ix_press_release_decision_id"), "press_release", ["decision_id"], unique=False)
    op.create_index(op.f("ix_press_release_department_id"), "press_release", ["department_id"], unique=False)
    op.create_index("ix_release_status_scheduled", "press_release", ["status", "scheduled_at"], unique=False)
    op.create_index("ix_release_status_published", "press_release", ["status", "published_at"], unique=False)

    op.create_table(
        "release_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"], ["press_release.id"], name=op.f("fk_release_correction_release_id_press_release")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_release_correction_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_correction")),
        sa.UniqueConstraint("release_id", "number", name=op.f("uq_release_correction_release_id_number")),
    )
    op.create_index(op.f("ix_release_correction_release_id"), "release_correction", ["release_id"], unique=False)

    op.create_table(
        "decision_publication",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("document_number", sa.String(length=80), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("public_adoption", sa.Text(), nullable=False),
        sa.Column("expert_adoption", sa.Text(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_decision_publication_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["user.id"], name=op.f("fk_decision_publication_published_by_id_user")
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decision_publication")),
    )

    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("daily_key", sa.String(length=10), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_ledger_checkpoint_decision_id_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoint")),
        sa.UniqueConstraint("daily_key", name=op.f("uq_ledger_checkpoint_daily_key")),
    )
    op.create_index(op.f("ix_ledger_checkpoint_seq"), "ledger_checkpoint", ["seq"], unique=False)

    op.create_table(
        "implementation_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_implementation_update_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_implementation_update_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_implementation_update")),
    )
    op.create_index(
        op.f("ix_implementation_update_decision_id"), "implementation_update", ["decision_id"], unique=False
    )

    op.create_table(
        "feedback_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_feedback_counter")),
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=20), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rejection_reason", sa.String(length=20), nullable=True),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("moderated_at", UTC(), nullable=True),
        sa.Column("submission_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_feedback_decision_id_decision")),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_feedback_author_id_user")),
        sa.ForeignKeyConstraint(["moderated_by_id"], ["user.id"], name=op.f("fk_feedback_moderated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("tracking_number", name=op.f("uq_feedback_tracking_number")),
        sa.UniqueConstraint("author_id", "submission_token", name=op.f("uq_feedback_author_id_submission_token")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_feedback_year_number")),
    )
    op.create_index(op.f("ix_feedback_author_id"), "feedback", ["author_id"], unique=False)
    op.create_index("ix_feedback_decision_status", "feedback", ["decision_id", "status", "id"], unique=False)

    op.create_table(
        "feedback_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["feedback_id"], ["feedback.id"], name=op.f("fk_feedback_response_feedback_id_feedback")),
        sa.ForeignKeyConstraint(
            ["responded_by_id"], ["user.id"], name=op.f("fk_feedback_response_responded_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_response")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_feedback_response_feedback_id")),
    )

    op.create_table(
        "evaluation_proposal",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("feedback_count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_evaluation_proposal_decision_id_decision")
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_evaluation_proposal")),
    )

    op.create_table(
        "post_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=True),
        sa.Column("conclusion", sa.String(length=20), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("feedback_received", sa.Integer(), nullable=False),
        sa.Column("feedback_published", sa.Integer(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_post_evaluation_decision_id_decision")),
        sa.ForeignKeyConstraint(["evaluator_id"], ["user.id"], name=op.f("fk_post_evaluation_evaluator_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_evaluation")),
    )
    op.create_index(op.f("ix_post_evaluation_decision_id"), "post_evaluation", ["decision_id"], unique=False)

    op.create_table(
        "decision_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_decision_adjustment_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_decision_adjustment_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_adjustment")),
    )
    op.create_index(op.f("ix_decision_adjustment_decision_id"), "decision_adjustment", ["decision_id"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgres_triggers():
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP TRIGGER IF EXISTS press_release_guard ON press_release")
        op.execute("DROP FUNCTION IF EXISTS press_release_guard()")
        op.execute("DROP FUNCTION IF EXISTS releases_refuse_change()")
    else:
        for table in IMMUTABLE:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        op.execute("DROP TRIGGER IF EXISTS press_release_published")
        op.execute("DROP TRIGGER IF EXISTS press_release_no_delete")
    op.drop_index(op.f("ix_decision_adjustment_decision_id"), table_name="decision_adjustment")
    op.drop_table("decision_adjustment")
    op.drop_index(op.f("ix_post_evaluation_decision_id"), table_name="post_evaluation")
    op.drop_table("post_evaluation")
    op.drop_table("evaluation_proposal")
    op.drop_table("feedback_response")
    op.drop_index("ix_feedback_decision_status", table_name="feedback")
    op.drop_index(op.f("ix_feedback_author_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_table("feedback_counter")
    op.drop_index(op.f("ix_implementation_update_decision_id"), table_name="implementation_update")
    op.drop_table("implementation_update")
    op.drop_index(op.f("ix_ledger_checkpoint_seq"), table_name="ledger_checkpoint")
    op.drop_table("ledger_checkpoint")
    op.drop_table("decision_publication")
    op.drop_index(op.f("ix_release_correction_release_id"), table_name="release_correction")
    op.drop_table("release_correction")
    op.drop_index("ix_release_status_published", table_name="press_release")
    op.drop_index("ix_release_status_scheduled", table_name="press_release")
    op.drop_index(op.f("ix_press_release_department_id"), table_name="press_release")
    op.drop_index(op.f("ix_press_release_decision_id"), table_name="press_release")
    op.drop_table("press_release")
