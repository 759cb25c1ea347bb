"""Appending audit events to a SQLite plan store with the standard library alone.

A read-only command (`gpaccess measures --icb X`) writes one audit event and nothing else. Through SQLAlchemy
that meant loading it, about half a second of a two-second command, to insert one row. Here the row goes in
with `sqlite3`, stored exactly as the ORM stores it: the UTC wall-clock time in SQLAlchemy's text format and
the detail as JSON text. `tests/integration/test_audit_sqlite.py` writes the same event both ways and compares
the stored rows, so the two paths cannot drift.

It appends only to a plan store that exists and is at this gpaccess's revision. Anything else (a new store to
create, an old one to refuse, PostgreSQL) goes through SQLAlchemy as before: `append_events` answers False and
the caller takes that path. The database's append-only triggers hold for these inserts as for any other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gpaccess.storage.revision import HEAD_REVISION, utc_wall_clock

_INSERT = (
    "INSERT INTO audit_log (at, actor, action, object_type, object_id, icb_code, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///path` URL (SQLAlchemy's form; `sqlite:////abs` for an absolute path), or
    None for anything else: another database, an in-memory one, or a URL with options."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


def append_events(path: Path, events: Sequence[dict[str, Any]]) -> bool:
    """Insert the events in one transaction; False (nothing written) when the store is missing or at another
    revision, for the caller to take SQLAlchemy's path, which creates or refuses it with its own message."""
    if not path.is_file():
        return False
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = NORMAL")  # as `storage.db.make_engine` sets for every connection
        try:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return False
        if found is None or found[0] != HEAD_REVISION:
            return False
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(_INSERT, [_row(e) for e in events])
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return True
    finally:
        connection.close()


def _row(event: dict[str, Any]) -> tuple[Any, ...]:
    if not event.get("actor"):
        raise ValueError("an audit event needs an actor")
    object_id = event.get("object_id")
    return (
        _stored_time(event["at"]),
        event["actor"],
        event["action"],
        event["object_type"],
        None if object_id is None else str(object_id),
        event.get("icb_code"),
        json.dumps(event.get("detail") or {}),
    )


def _stored_time(value: datetime) -> str:
    """The UTC wall-clock time in the text SQLAlchemy's SQLite DATETIME stores (`storage.db.UTCDateTime`)."""
    return utc_wall_clock(value).strftime("%Y-%m-%d %H:%M:%S.%f")
