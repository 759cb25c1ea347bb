"""The plan store: SQLAlchemy 2 on SQLite (default, one file under GPACCESS_HOME) or PostgreSQL (by URL).

This module owns the engine, sessions, the declarative `Base` every plan-store model derives from, the column
types shared by those models, and the Alembic migrations shipped inside the package (`migrations/`). The models
themselves live with the layer that owns them (`access.audit`, `access.users`, `cohort.records`); this module
imports none of them, so `storage` stays at the bottom of the dependency chain.

Transactions: write through command functions, each of which wraps its change and its audit event in
`atomic(session)` — one transaction, committed together or rolled back together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Their home is `storage.revision` (no SQLAlchemy there); plan-store modules read them here as before.
from gpaccess.storage.revision import HEAD_REVISION as HEAD_REVISION
from gpaccess.storage.revision import utc_wall_clock
from gpaccess.storage.revision import utcnow as utcnow

if TYPE_CHECKING:  # Alembic is loaded only to migrate: every other command reads the revision with plain SQL
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_FILENAME = "plans.sqlite3"

# Every constraint and index gets a predictable name, the same on SQLite and PostgreSQL, so a migration can
# name what it alters or drops (SQLite cannot alter a constraint without its name, through batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JSONDocumentType(TypeDecorator[Any]):
    """JSON documents: JSONB on PostgreSQL (indexable, compared by value), JSON text on SQLite. PostgreSQL's
    dialect module loads only when a PostgreSQL plan store is used (a command on SQLite never pays for it)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONDocument = JSONDocumentType()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone of its own).

    A naive datetime is refused rather than guessed at: every timestamp gpaccess writes comes from
    `utcnow()` or from a user's input that has already been given a zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite stores text without a zone: store the UTC wall-clock time and re-attach UTC on the way out.
        wall_clock = utc_wall_clock(value)
        return wall_clock if dialect.name == "sqlite" else wall_clock.replace(tzinfo=UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def portable_enum(enum: type[StrEnum], name: str, length: int = 16) -> Enum:
    """A portable enum: a short string column with a named CHECK listing the values (no PostgreSQL TYPE), so
    adding a value is an ordinary migration on both backends."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [member.value for member in e],
    )


class Base(DeclarativeBase):
    """Declarative base of every plan-store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file: the plan store's default is `sqlite_url(home / DEFAULT_FILENAME)`."""
    return f"sqlite:///{path}"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for the plan store. `kwargs` go to `sqlalchemy.create_engine` (e.g. `connect_args`).

    SQLite: the folder is created if missing; every connection enforces foreign keys, waits up to 30 s for a
    writer instead of failing at once, and (for a file) uses write-ahead logging so readers never block the
    writer. The sqlite3 module's own transaction handling is switched off and SQLAlchemy emits BEGIN itself,
    so transactions (and savepoints, and migrations' DDL) behave as on PostgreSQL.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    if not in_memory and url.database is not None:
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" listener below issues BEGIN
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 30000")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (a command returns what it wrote)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """One transaction for a command's change and its audit event.

    If the session is idle, a transaction is opened and committed on success (rolled back on error). If the
    caller already holds a transaction, the command joins it through a savepoint: an error undoes the
    command's writes, and the caller's commit makes them permanent.
    """
    if session.in_transaction():
        with session.begin_nested():
            yield session
    else:
        with session.begin():
            yield session


@contextlib.contextmanager
def joined(session: Session) -> Iterator[Session]:
    """The caller's transaction if it holds one, otherwise a new one committed on success. For a lookup, with at
    most a write that stands or falls with it, which has nothing to undo on its own: `atomic`'s savepoint would
    be two more statements on every request that asks who is signed in."""
    if session.in_transaction():
        yield session
    else:
        with session.begin():
            yield session


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code from the migrations folder inside the package (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run(target: str | URL | Engine, action: str, revision: str) -> None:
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as connection:
            from alembic import command

            config = alembic_config(connection)
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    finally:
        if engine is not target:
            engine.dispose()


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the plan store at `target` (a URL or an engine) up to `revision`, in one transaction."""
    _run(target, "upgrade", revision)


def downgrade(target: str | URL | Engine, revision: str = "base") -> None:
    """Migrate the plan store at `target` down to `revision` (developers and tests; never done in service)."""
    _run(target, "downgrade", revision)


def recorded_revision(engine: Engine) -> str | None:
    """The revision recorded in the database's `alembic_version` table, read with plain SQL (no Alembic);
    None when there is no such table (a new database, or not a gpaccess one)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def current_revision(target: str | URL | Engine) -> str | None:
    """The revision the database at `target` is at (None when it has never been migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if engine is not target:
            engine.dispose()
