"""Alembic environment for the plan store.

At runtime `gpaccess.storage.db.upgrade()` builds the configuration in code and hands over an open connection
(`config.attributes["connection"]`), so the whole migration runs in that connection's transaction.

From the command line (developers: `alembic -c alembic.ini ...` at the repository root) the URL comes from
`-x url=...` or the ini's `sqlalchemy.url`, and the models to compare against for `--autogenerate` are the
modules named by the ini's `gpaccess_model_modules` (imported by name, so `storage` keeps no import of the
layers above it). Migrations are still reviewed by hand: autogenerate only drafts them.
"""

from __future__ import annotations

import importlib
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, MetaData

from gpaccess.storage.db import Base, make_engine

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # the developer's alembic.ini


def _target_metadata() -> MetaData | None:
    if "target_metadata" in config.attributes:
        metadata: MetaData | None = config.attributes["target_metadata"]
        return metadata
    modules = (config.get_main_option("gpaccess_model_modules") or "").split()
    for name in modules:
        importlib.import_module(name)
    return Base.metadata if modules else None


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        transactional_ddl=True,  # true of SQLite too, since db.make_engine issues BEGIN itself
        compare_type=True,
    )


def run_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=_target_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database: pass -x url=... or set sqlalchemy.url in alembic.ini")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
