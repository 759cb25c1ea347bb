"""Support plans: plans per practice and cycle, their actions, versions, notes, the analyst's decisions on
suggestions, and progress verdicts; cycles learn where they were carried forward from and the lessons they took.

Revision ID: 0004
Revises: 0003_fair
Created: hand-written for the plans issue ("Tailored support plans..."), items 1-4 and 7

Every constraint is named as `gpaccess.storage.db.NAMING_CONVENTION` names it. Enumerations are short strings
with a named CHECK. A plan's `version` is its optimistic-concurrency counter; `plan_versions` keeps every saved
state with who, when and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003_fair"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def _one_of(column: str, values: Sequence[str], table: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("carried_from", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lessons", JSON, nullable=True))

    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("icb_code", sa.String(16), nullable=False),
        sa.Column("practice_code", sa.String(16), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("carried_from_plan_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_plans_cycle_id_cycles"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["carried_from_plan_id"], ["plans.id"], name=op.f("fk_plans_carried_from_plan_id_plans"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("practice_code", "cycle_id", name=op.f("uq_plans_practice_cycle")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plans_version_positive")),
        _one_of("status", ["draft", "agreed", "closed", "withdrawn"], "plans"),
    )  # fmt: skip
    op.create_index(op.f("ix_plans_icb_code"), "plans", ["icb_code"])

    op.create_table(
        "plan_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action_type", sa.String(48), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("funding_source", sa.String(128), nullable=True),
        sa.Column("funding_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("outcome_measure", sa.String(48), nullable=False),
        sa.Column("expected_change", sa.String(8), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("carried_from_action_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_actions")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_actions_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("due IS NULL OR due >= start", name=op.f("ck_plan_actions_due_after_start")),
        sa.CheckConstraint(
            "funding_amount IS NULL OR funding_amount >= 0", name=op.f("ck_plan_actions_funding_not_negative")
        ),
        _one_of("status", ["planned", "in_progress", "done", "stopped"], "plan_actions"),
        _one_of("expected_change", ["higher", "lower"], "plan_actions"),
    )
    op.create_index(op.f("ix_plan_actions_plan_id"), "plan_actions", ["plan_id"])

    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_versions_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("plan_id", "version", name=op.f("uq_plan_versions_plan_version")),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_plan_versions_reason_not_empty")),
    )

    op.create_table(
        "plan_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_notes")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_notes_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["plan_actions.id"], name=op.f("fk_plan_notes_action_id_plan_actions"), ondelete="SET NULL"
        ),
        sa.CheckConstraint("length(trim(text)) > 0", name=op.f("ck_plan_notes_text_not_empty")),
    )
    op.create_index(op.f("ix_plan_notes_plan_id"), "plan_notes", ["plan_id"])

    op.create_table(
        "plan_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("action_type", sa.String(48), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_suggestions")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_suggestions_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "decision <> 'rejected' OR (decision_reason IS NOT NULL AND length(trim(decision_reason)) > 0)",
            name=op.f("ck_plan_suggestions_rejection_has_reason"),
        ),
        _one_of("decision", ["accepted", "edited", "rejected"], "plan_suggestions"),
    )
    op.create_index(op.f("ix_plan_suggestions_plan_id"), "plan_suggestions", ["plan_id"])

    op.create_table(
        "plan_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(48), nullable=False),
        sa.Column("verdict", sa.String(64), nullable=False),
        sa.Column("pre_months", sa.Integer(), nullable=False),
        sa.Column("post_months", sa.Integer(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("data_versions", JSON, nullable=False),
        sa.Column("gpaccess_version", sa.String(32), nullable=False),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.Column("computed_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_progress")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_progress_plan_id_plans"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_plan_progress_plan_measure", "plan_progress", ["plan_id", "measure", "computed_at"])


def downgrade() -> None:
    op.drop_index("ix_plan_progress_plan_measure", table_name="plan_progress")
    op.drop_table("plan_progress")
    op.drop_index(op.f("ix_plan_suggestions_plan_id"), table_name="plan_suggestions")
    op.drop_table("plan_suggestions")
    op.drop_index(op.f("ix_plan_notes_plan_id"), table_name="plan_notes")
    op.drop_table("plan_notes")
    op.drop_table("plan_versions")
    op.drop_index(op.f("ix_plan_actions_plan_id"), table_name="plan_actions")
    op.drop_table("plan_actions")
    op.drop_index(op.f("ix_plans_icb_code"), table_name="plans")
    op.drop_table("plans")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("lessons")
        batch.drop_column("carried_from")
