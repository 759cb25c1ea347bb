"""Audit events appended with `sqlite3` (`access.audit_sqlite`) are stored exactly as the ORM stores them."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from gpaccess.access.audit import AuditEvent, AuditEventOut, record_event
from gpaccess.access.audit_sqlite import AuditAppender, append_events, sqlite_file
from gpaccess.config import Settings
from gpaccess.services.app import App
from gpaccess.services.audit import audit_together

COLUMNS = "at, actor, action, object_type, object_id, icb_code, detail"
EVENT = {
    "actor": "analyst1",
    "action": "measures.read",
    "object_type": "practice",
    "object_id": 42,  # stored as text, as the ORM stores it
    "icb_code": "QSL",
    "detail": {"role": "icb_analyst", "verified": False, "window": ["2025-08", "2025-09"], "name": "Café – 2"},
    # Another zone, so both paths must turn it into UTC wall-clock time.
    "at": datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
}


def _store(tmp_path: Path) -> App:
    app = App.from_settings(Settings(home=tmp_path))
    app.ensure_plan_store()
    return app


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY id").fetchall()


def test_an_appended_event_is_stored_as_the_orm_stores_it(tmp_path: Path) -> None:
    app = _store(tmp_path)
    with app.plan_session() as db:
        record_event(db, **EVENT)
    path = sqlite_file(app.plan_store_url)
    assert path is not None
    assert append_events(path, [EVENT])
    by_orm, by_sqlite3 = _rows(path)
    assert by_sqlite3 == by_orm
    with app.plan_session() as db:  # and it reads back through the ORM as the same event
        read = [AuditEventOut.model_validate(r) for r in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert read[0].model_dump(exclude={"id"}) == read[1].model_dump(exclude={"id"})
    assert read[1].at == EVENT["at"].astimezone(UTC)
    assert read[1].object_id == "42"


def test_appending_to_a_missing_or_older_store_leaves_it_to_sqlalchemy(tmp_path: Path) -> None:
    assert not append_events(tmp_path / "none.sqlite3", [EVENT])
    assert not (tmp_path / "none.sqlite3").exists()
    app = _store(tmp_path)
    path = sqlite_file(app.plan_store_url)
    assert path is not None
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    assert not append_events(path, [EVENT])
    assert _rows(path) == []


def test_a_page_of_reads_is_appended_in_one_go_and_kept_append_only(tmp_path: Path) -> None:
    app = _store(tmp_path)
    from gpaccess.access.principal import cli_principal
    from gpaccess.services.audit import audit_read

    with audit_together(app):
        for code in ("A1", "B2"):
            audit_read(app, principal=cli_principal("analyst1"), action="practice.read", icb_code="QSL",
                       object_type="practice", object_id=code)  # fmt: skip
    path = sqlite_file(app.plan_store_url)
    assert path is not None
    assert [r[4] for r in _rows(path)] == ["A1", "B2"]
    with sqlite3.connect(path) as connection, pytest.raises(sqlite3.DatabaseError):
        connection.execute("DELETE FROM audit_log")  # the migration's trigger refuses it


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////abs/plans.sqlite3", Path("/abs/plans.sqlite3")),
        ("sqlite:///rel/plans.sqlite3", Path("rel/plans.sqlite3")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///plans.sqlite3?timeout=5", None),
        ("postgresql+psycopg://u@h/db", None),
    ],
)
def test_only_a_plain_sqlite_file_url_is_appended_to_directly(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected


def test_a_naive_time_is_refused_on_both_paths(tmp_path: Path) -> None:
    path = sqlite_file(_store(tmp_path).plan_store_url)
    assert path is not None
    with pytest.raises(ValueError, match="naive datetime"):
        append_events(path, [EVENT | {"at": datetime(2026, 1, 1)}])


def _queued(appender: AuditAppender, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(appender._queue) < n:  # the threads have queued their events behind the writer
        assert time.monotonic() < deadline, "the appending threads did not queue"
        time.sleep(0.001)


def _append_in_threads(appender: AuditAppender, codes: list[str]) -> tuple[list[threading.Thread], dict]:
    outcome: dict[str, object] = {}

    def one(code: str) -> None:
        try:
            outcome[code] = appender.append([EVENT | {"object_id": code}])
        except Exception as exc:  # the test asserts what each thread saw
            outcome[code] = exc

    threads = [threading.Thread(target=one, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    return threads, outcome


def test_requests_appending_at_once_share_one_commit_and_each_waits_for_it(tmp_path: Path) -> None:
    path = sqlite_file(_store(tmp_path).plan_store_url)
    assert path is not None
    appender = AuditAppender(path)
    assert appender.append([EVENT | {"object_id": "first"}])
    statements: list[str] = []
    assert appender._connection is not None
    appender._connection.set_trace_callback(statements.append)
    with appender._writer:  # another group being written: these three queue behind it
        threads, outcome = _append_in_threads(appender, ["A", "B", "C"])
        _queued(appender, 3)
        assert outcome == {}  # none has returned before its events are committed
    for t in threads:
        t.join(10)
    assert outcome == {"A": True, "B": True, "C": True}
    assert sorted(r[4] for r in _rows(path)) == ["A", "B", "C", "first"]
    assert statements.count("COMMIT") == 1  # the three in one transaction
    appender.close()


def test_a_failed_group_commit_fails_every_request_in_it_and_writes_none(tmp_path: Path) -> None:
    path = sqlite_file(_store(tmp_path).plan_store_url)
    assert path is not None
    appender = AuditAppender(path)
    assert appender.append([EVENT])
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE audit_log RENAME TO audit_log_away")
    with appender._writer:
        threads, outcome = _append_in_threads(appender, ["A", "B"])
        _queued(appender, 2)
    for t in threads:
        t.join(10)
    assert set(outcome) == {"A", "B"}
    assert all(isinstance(e, sqlite3.OperationalError) and "audit_log" in str(e) for e in outcome.values())
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE audit_log_away RENAME TO audit_log")
    assert appender.append([EVENT | {"object_id": "after"}])  # a new connection once the store is whole again
    assert [r[4] for r in _rows(path)] == ["42", "after"]
    appender.close()
