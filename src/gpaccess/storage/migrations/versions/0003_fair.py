"""Cohort members record each criterion's status and whether the practice was near the limit.

Revision ID: 0003_fair
Revises: 0002
Created: hand-written for the fair-cohort issue ("A fair cohort on every criterion..."), items 3-5 and 7

`criteria_status` holds, per enabled criterion, "met", "near the limit", "not met" or "not assessed", so a
criterion with too little data is stored as not assessed rather than as not met. `near_limit` marks a practice
between the 95% and 99.8% limits on some criterion that meets none (the new "near the limit" list beside the
"capped out" list, which `near_miss` keeps). Both nullable: runs stored before this revision have neither.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_fair"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("cohort_members") as batch:
        batch.add_column(sa.Column("near_limit", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("criteria_status", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cohort_members") as batch:
        batch.drop_column("criteria_status")
        batch.drop_column("near_limit")
