"""The plan store's migrations: from empty to head and back to base, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

# Importing the models registers their tables on Base.metadata.
import gpaccess.access.accounts
import gpaccess.access.audit
import gpaccess.access.users
import gpaccess.cohort.records
import gpaccess.plans.records  # noqa: F401
from gpaccess.config import Settings
from gpaccess.plans.commands import create_cycle
from gpaccess.storage.db import (
    HEAD_REVISION,
    Base,
    alembic_config,
    current_revision,
    downgrade,
    make_engine,
    make_session_factory,
    recorded_revision,
    upgrade,
)

TABLES = {
    "users", "audit_log", "cycles", "cohort_runs", "cohort_members", "cohort_overrides",
    "plans", "plan_actions", "plan_versions", "plan_notes", "plan_suggestions", "plan_progress",
    "web_sessions", "api_tokens", "login_attempts",
}  # fmt: skip


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_upgrade_from_empty_to_head(empty_db):
    assert _tables(empty_db.url) == set()
    assert current_revision(empty_db.url) is None

    upgrade(empty_db.url)

    assert _tables(empty_db.url) == TABLES
    assert current_revision(empty_db.url) == _head()
    engine = make_engine(empty_db.url)
    try:
        assert recorded_revision(engine) == _head()  # the plain-SQL read commands use agrees with Alembic's
    finally:
        engine.dispose()


def test_the_head_revision_commands_check_against_is_the_latest_migration():
    assert _head() == HEAD_REVISION


def test_a_new_plan_store_is_created_at_head_and_an_old_one_is_refused(tmp_path: Path):
    from gpaccess.services.app import App, PlanStoreOutOfDateError

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0001")
    old = App.from_settings(Settings(home=tmp_path, database_url=url))
    with pytest.raises(PlanStoreOutOfDateError, match="gpaccess store upgrade"):
        old.ensure_plan_store()
    assert old.upgrade_plan_store() == ("0001", HEAD_REVISION)
    old.close()
    new = App.from_settings(Settings(home=tmp_path / "new"))
    new.ensure_plan_store()
    assert current_revision(new.plan_store_url) == HEAD_REVISION
    new.close()


def test_migrations_at_head_match_the_models(db_engine):
    """The hand-written migration and the ORM models describe the same tables, columns, types and indexes."""
    with db_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrations_downgrade_to_base_and_up_again(empty_db):
    upgrade(empty_db.url)
    downgrade(empty_db.url, "base")

    assert _tables(empty_db.url) == set()
    assert current_revision(empty_db.url) is None

    upgrade(empty_db.url)  # the downgrade left nothing behind (triggers, functions) that blocks a re-run
    assert _tables(empty_db.url) == TABLES


def test_migrations_upgrade_twice_is_a_no_op(db_engine):
    sessions = make_session_factory(db_engine)
    with sessions() as session:
        create_cycle(session, name="winter 2021/22", starts=date(2021, 10, 1), ends=date(2022, 3, 31), user="a")

    upgrade(db_engine)

    with db_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM cycles")) == 1


def test_migrations_default_url_is_a_sqlite_file_under_home(tmp_path: Path):
    settings = Settings(home=tmp_path / "home")
    assert settings.plan_store_url == f"sqlite:///{tmp_path / 'home' / 'plans.sqlite3'}"

    upgrade(settings.plan_store_url)  # creates the missing folder

    assert (tmp_path / "home" / "plans.sqlite3").is_file()
    assert _tables(settings.plan_store_url) == TABLES


def test_migrations_database_url_setting_wins(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    assert Settings(home=tmp_path, database_url=url).plan_store_url == url


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_foreign_keys_refuse_a_run_without_its_cycle(db_engine):
    """Enforced on both backends (SQLite only because every connection turns foreign keys on)."""
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cohort_runs (icb_code, cycle_id, created_at, created_by, parameters, criteria, "
                "data_months, data_versions, cap, eligible, status) VALUES ('QWE', 99, :at, 'a', '{}', '[]', "
                "'[]', '{}', 0, 0, 'draft')"
            ),
            {"at": datetime(2022, 1, 1, tzinfo=UTC)},
        )


def test_in_memory_sqlite_migrates_without_wal():
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
            assert set(inspect(conn).get_table_names()) - {"alembic_version"} == TABLES
    finally:
        engine.dispose()
