"""The plan store's latest migration, and the clock its timestamps come from: importable without SQLAlchemy,
so a command that only checks the revision or stamps an event does not load it."""

from __future__ import annotations

from datetime import UTC, datetime

# The latest migration's revision, so a command can check the plan store is current without loading Alembic
# (tests/integration/test_plan_store_migrations.py keeps it equal to the head of `migrations/versions`).
HEAD_REVISION = "0005"


def utcnow() -> datetime:
    return datetime.now(UTC)
