"""Plan store foundation: users, the audit log, cycles, cohort runs and members, overrides.

Revision ID: 0001
Revises:
Created: hand-written for the cohort issue, item 1

Every constraint is named as `gpaccess.storage.db.NAMING_CONVENTION` would name it, so later migrations can
alter or drop them on SQLite (batch mode) and PostgreSQL alike. The audit log has no foreign keys and is
append-only: triggers on both backends abort UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
ACTIVE = sa.text("revoked_at IS NULL")


def _one_of(column: str, values: Sequence[str], table: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("icb_code", sa.String(16), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("icb_code", sa.String(16), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])
    op.create_index(op.f("ix_audit_log_icb_code"), "audit_log", ["icb_code"])
    op.create_index(op.f("ix_audit_log_object"), "audit_log", ["object_type", "object_id"])

    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("name", name=op.f("uq_cycles_name")),
        sa.CheckConstraint("ends >= starts", name=op.f("ck_cycles_ends_after_starts")),
    )

    op.create_table(
        "cohort_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("icb_code", sa.String(16), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("criteria", JSON, nullable=False),
        sa.Column("data_months", JSON, nullable=False),
        sa.Column("data_versions", JSON, nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_runs")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cohort_runs_cycle_id_cycles"), ondelete="RESTRICT"
        ),
        sa.CheckConstraint("cap >= 0", name=op.f("ck_cohort_runs_cap_not_negative")),
        sa.CheckConstraint("eligible >= 0", name=op.f("ck_cohort_runs_eligible_not_negative")),
        _one_of("status", ["draft", "confirmed", "withdrawn"], "cohort_runs"),
    )
    op.create_index(op.f("ix_cohort_runs_icb_cycle"), "cohort_runs", ["icb_code", "cycle_id", "created_at"])

    op.create_table(
        "cohort_members",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("practice_code", sa.String(16), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("criteria_met", JSON, nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("evidence_strength", sa.Float(), nullable=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("exclusion_reasons", JSON, nullable=False),
        sa.Column("near_miss", sa.Boolean(), nullable=False),
        sa.Column("overridden", sa.String(16), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "practice_code", name=op.f("pk_cohort_members")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["cohort_runs.id"], name=op.f("fk_cohort_members_run_id_cohort_runs"), ondelete="CASCADE"
        ),
        _one_of("overridden", ["none", "added", "removed"], "cohort_members"),
        sa.CheckConstraint(
            "overridden = 'none' OR (override_reason IS NOT NULL AND length(trim(override_reason)) > 0)",
            name=op.f("ck_cohort_members_override_has_reason"),
        ),
    )

    op.create_table(
        "cohort_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("icb_code", sa.String(16), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("practice_code", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_overrides")),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cohort_overrides_cycle_id_cycles"), ondelete="RESTRICT"
        ),
        _one_of("action", ["add", "remove"], "cohort_overrides"),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_cohort_overrides_reason_not_empty")),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_by IS NULL)", name=op.f("ck_cohort_overrides_revoked_with_who")
        ),
    )
    op.create_index(
        op.f("uq_cohort_overrides_active"),
        "cohort_overrides",
        ["icb_code", "cycle_id", "practice_code"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    _audit_log_append_only()


def _audit_log_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute("DROP TRIGGER audit_log_no_update")
    op.drop_index(op.f("uq_cohort_overrides_active"), table_name="cohort_overrides")
    op.drop_table("cohort_overrides")
    op.drop_table("cohort_members")
    op.drop_index(op.f("ix_cohort_runs_icb_cycle"), table_name="cohort_runs")
    op.drop_table("cohort_runs")
    op.drop_table("cycles")
    op.drop_index(op.f("ix_audit_log_object"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_icb_code"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("users")
