"""Appending audit events to a SQLite plan store with the standard library alone.

A read-only command (`gpaccess measures --icb X`) writes one audit event and nothing else. Through SQLAlchemy
that meant loading it, about half a second of a two-second command, to insert one row. Here the row goes in
with `sqlite3`, stored exactly as the ORM stores it: the UTC wall-clock time in SQLAlchemy's text format and
the detail as JSON text. `tests/integration/test_audit_sqlite.py` writes the same event both ways and compares
the stored rows, so the two paths cannot drift.

It appends only to a plan store that exists and is at this gpaccess's revision. Anything else (a new store to
create, an old one to refuse, PostgreSQL) goes through SQLAlchemy as before: `append` answers False and the
caller takes that path. The database's append-only triggers hold for these inserts as for any other.

A web server appends an audit transaction for nearly every request, from many threads in several processes.
Opening a connection per request (parsing the schema each time) and taking SQLite's write lock per request
(whose busy handler sleeps 1, 2, 5, 10 ms… between tries) was most of a page's wall-clock time under load. So an
`AuditAppender` keeps one connection and commits in groups: a request's events are queued, and whichever request
holds the writer's lock writes everything queued in one transaction. A request still returns only once its
own events are committed (or raises what the commit raised), so nothing read goes unaudited.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
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
    """Insert the events in one transaction through a connection of its own (see `AuditAppender.append`)."""
    appender = AuditAppender(path)
    try:
        return appender.append(events)
    finally:
        appender.close()


@dataclass
class _Ticket:
    rows: list[tuple[Any, ...]]
    settled: bool = False
    written: bool = False
    error: BaseException | None = None


class AuditAppender:
    """Appends audit events to one SQLite plan store, from any thread: one kept connection, group commits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()  # held by the one thread writing a group; also guards the connection
        self._connection: sqlite3.Connection | None = None

    def append(self, events: Sequence[dict[str, Any]]) -> bool:
        """Insert the events (with any other thread's queued at the time) in one transaction; False (nothing
        written) when the store is missing or at another revision, for the caller to take SQLAlchemy's path,
        which creates or refuses it with its own message. An event without an actor or with a naive time is
        refused here, before anything is queued."""
        ticket = _Ticket([_row(e) for e in events])
        with self._queue_lock:
            self._queue.append(ticket)
        with self._writer:
            if not ticket.settled:  # not written by the group before: this thread writes the next one
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._write(group)
        if ticket.error is not None:
            raise ticket.error
        return ticket.written

    def close(self) -> None:
        with self._writer:
            self._drop()

    def _write(self, group: list[_Ticket]) -> None:
        written = False
        try:
            connection = self._connect()
            if connection is not None:
                _insert(connection, [row for ticket in group for row in ticket.rows])
                written = True
        except BaseException as exc:
            self._drop()  # a connection that failed part-way is not kept
            for ticket in group:
                ticket.settled, ticket.error = True, exc
            return
        for ticket in group:
            ticket.settled, ticket.written = True, written

    def _connect(self) -> sqlite3.Connection | None:
        """The kept connection, opened (and the store's revision checked) on first use; None, and nothing kept,
        for a missing store or one at another revision."""
        if self._connection is not None:
            return self._connection
        if not self.path.is_file():
            return None
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA synchronous = NORMAL")  # as `storage.db.make_engine` sets for every one
            try:
                found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError:
                found = None
        except BaseException:
            connection.close()
            raise
        if found is None or found[0] != HEAD_REVISION:
            connection.close()
            return None
        self._connection = connection
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def _insert(connection: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(_INSERT, rows)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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
