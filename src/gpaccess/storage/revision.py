"""The plan store's latest migration, the clock its timestamps come from, and how SQLite stores them:
importable without SQLAlchemy, so a command that only checks the revision or stamps an event does not load it."""

from __future__ import annotations

from datetime import UTC, datetime

# The latest migration's revision, so a command can check the plan store is current without loading Alembic
# (tests/integration/test_plan_store_migrations.py keeps it equal to the head of `migrations/versions`).
HEAD_REVISION = "0005"


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_wall_clock(value: datetime) -> datetime:
    """A timestamp as SQLite keeps it (no zone of its own): the UTC wall-clock time. A naive datetime is refused
    rather than guessed at: every timestamp gpaccess writes comes from `utcnow()` or a zoned user input."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: plan-store timestamps must carry a timezone")
    return value.astimezone(UTC).replace(tzinfo=None)
