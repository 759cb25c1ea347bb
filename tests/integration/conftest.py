"""Shared plan-store fixtures: every test that uses them runs on SQLite and on PostgreSQL.

- `empty_db`: an empty database (`PlanStoreDB`: backend name and URL), one per test. SQLite is a file in
  `tmp_path`; PostgreSQL is a fresh schema `gpaccess_test_<session>_<n>` on the server at
  `GPACCESS_TEST_POSTGRES_URL` (default below), reached through a URL that sets `search_path`, dropped after
  the test; any left over are dropped when the session ends.
- `db_engine`: an engine on that database migrated to head; `db_sessions`: its session factory;
  `db_session`: one session, closed after the test.

PostgreSQL unreachable: the PostgreSQL half fails with the reason when `CI=true` (so CI never passes on
SQLite alone), and is skipped with the reason otherwise. Those tests carry the `postgres` marker, so
`-m "not postgres"` runs SQLite only.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gpaccess.storage.db import make_engine, make_session_factory, sqlite_url, upgrade

POSTGRES_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


@dataclass(frozen=True)
class PlanStoreDB:
    backend: str  # "sqlite" or "postgresql"
    url: str  # for PostgreSQL, carries search_path=<the test's schema>
    schema: str | None = None


@dataclass
class PostgresServer:
    admin: Engine
    prefix: str
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def new_schema(self) -> PlanStoreDB:
        schema = f"{self.prefix}_{next(self._counter)}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = self.admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return PlanStoreDB("postgresql", url.render_as_string(hide_password=False), schema)

    def drop_schema(self, schema: str) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    def drop_leftovers(self) -> None:
        with self.admin.begin() as conn:
            names = conn.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"), {"p": f"{self.prefix}%"}
            ).all()
            for name in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def postgres_url() -> str:
    return os.environ.get("GPACCESS_TEST_POSTGRES_URL") or POSTGRES_DEFAULT_URL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = postgres_url()
    admin = create_engine(make_url(url), connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL at {shown} is unreachable ({exc.orig}); {START_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    server = PostgresServer(admin, f"gpaccess_test_{secrets.token_hex(4)}")
    try:
        yield server
    finally:
        server.drop_leftovers()
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanStoreDB]:
    if request.param == "sqlite":
        yield PlanStoreDB("sqlite", sqlite_url(tmp_path_factory.mktemp("plan-store") / "plans.sqlite3"))
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    db = server.new_schema()
    try:
        yield db
    finally:
        assert db.schema is not None
        server.drop_schema(db.schema)


@pytest.fixture
def db_engine(empty_db: PlanStoreDB) -> Iterator[Engine]:
    engine = make_engine(empty_db.url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_sessions(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture
def db_session(db_sessions: sessionmaker[Session]) -> Iterator[Session]:
    with db_sessions() as session:
        yield session
