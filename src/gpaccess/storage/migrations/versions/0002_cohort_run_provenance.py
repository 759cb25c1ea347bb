"""Cohort runs record what they stood on: the gpaccess and method versions, the store generation and the pin.

Revision ID: 0002
Revises: 0001
Created: hand-written for the store issue ("One consistent store..."), items 1-3

A run read one snapshot of the analytical store; `data_versions` already lists its releases. These columns add
the gpaccess version and the cohort method version that computed it (so `cohort reproduce` can say when the
method changed since), the snapshot's manifest generation, and the name of the pin that keeps every file the
run read from being swept. All nullable: runs stored before this revision have none of them, and reproduction
reports that instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cohort_runs") as batch:
        batch.add_column(sa.Column("gpaccess_version", sa.String(32), nullable=True))
        batch.add_column(sa.Column("method_version", sa.String(32), nullable=True))
        batch.add_column(sa.Column("store_generation", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pin", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cohort_runs") as batch:
        batch.drop_column("pin")
        batch.drop_column("store_generation")
        batch.drop_column("method_version")
        batch.drop_column("gpaccess_version")
