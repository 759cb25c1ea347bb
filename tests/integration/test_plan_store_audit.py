"""A write and its audit event are one transaction; the audit log is append-only. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from gpaccess.access import audit
from gpaccess.access.audit import AuditEvent, AuditLogAppendOnlyError, record_event
from gpaccess.access.users import User, UsernameTakenError, create_user, get_user
from gpaccess.cohort import queries
from gpaccess.plans import commands
from gpaccess.plans.commands import create_cycle
from gpaccess.plans.records import Cycle

WINTER = {"name": "winter 2021/22", "starts": date(2021, 10, 1), "ends": date(2022, 3, 31)}


def _counts(sessions) -> tuple[int, int]:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Cycle)), s.scalar(select(func.count()).select_from(AuditEvent))


def test_write_and_audit_event_commit_together(db_sessions):
    with db_sessions() as session:
        cycle_id = create_cycle(session, **WINTER, user="analyst1")

    with db_sessions() as fresh:  # a new connection sees both
        events = queries.audit_events(fresh, object_type="cycle", object_id=cycle_id)
        assert fresh.get(Cycle, cycle_id).created_by == "analyst1"
    assert [(e.actor, e.action) for e in events] == [("analyst1", "cycle.created")]
    assert events[0].detail == {"name": "winter 2021/22", "starts": "2021-10-01", "ends": "2022-03-31"}
    assert events[0].at.tzinfo is not None
    assert abs((datetime.now(UTC) - events[0].at).total_seconds()) < 60


def test_write_and_audit_event_roll_back_together(db_sessions, monkeypatch):
    """An error after both the write and its audit event reached the database undoes both."""
    real_record_event = commands.record_event
    seen_inside: list[tuple[int, int]] = []

    def record_then_fail(session, **kwargs):
        event = real_record_event(session, **kwargs)
        session.flush()  # both rows are now written inside the command's transaction
        seen_inside.append(
            (
                session.scalar(select(func.count()).select_from(Cycle)),
                session.scalar(select(func.count()).select_from(AuditEvent)),
            )
        )
        raise RuntimeError("forced failure after the write and its audit event")
        return event

    monkeypatch.setattr(commands, "record_event", record_then_fail)
    with db_sessions() as session, pytest.raises(RuntimeError, match="forced failure"):
        create_cycle(session, **WINTER, user="analyst1")

    assert seen_inside == [(1, 1)]
    assert _counts(db_sessions) == (0, 0)


def test_audit_failure_undoes_the_write(db_sessions, monkeypatch):
    def fail(session, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(commands, "record_event", fail)
    with db_sessions() as session, pytest.raises(RuntimeError):
        create_cycle(session, **WINTER, user="analyst1")
    assert _counts(db_sessions) == (0, 0)


def test_command_inside_a_caller_transaction_joins_it(db_sessions, monkeypatch):
    """Inside the caller's transaction a command uses a savepoint: its failure undoes only its own writes."""
    with db_sessions() as session:
        session.execute(select(1))  # the caller's transaction is open
        create_cycle(session, **WINTER, user="analyst1")
        monkeypatch.setattr(commands, "record_event", lambda session, **kw: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            create_cycle(session, name="summer 2022", starts=date(2022, 4, 1), ends=date(2022, 9, 30), user="a")
        assert _counts(db_sessions) == (0, 0)  # nothing visible until the caller commits
        session.commit()
    assert _counts(db_sessions) == (1, 1)


def test_create_user_is_audited(db_sessions):
    with db_sessions() as session:
        made = create_user(
            session, username="jo", display_name="Jo Bloggs", role="icb_analyst", icb_code="QWE", user="admin"
        )
    with db_sessions() as session:
        assert get_user(session, "jo") == made
        (event,) = audit.events_for(session, object_type="user", object_id=made.id)
    assert (event.actor, event.action, event.icb_code) == ("admin", "user.created", "QWE")


@pytest.fixture
def one_event(db_sessions) -> int:
    with db_sessions() as session, session.begin():
        event = record_event(session, actor="jo", action="cohort_run.read", object_type="cohort_run", object_id=7)
        session.flush()
        return event.id


def test_audit_log_orm_refuses_update(db_sessions, one_event):
    with db_sessions() as session:
        event = session.get(AuditEvent, one_event)
        event.actor = "someone else"
        with pytest.raises(AuditLogAppendOnlyError):
            session.flush()


def test_audit_log_orm_refuses_delete(db_sessions, one_event):
    with db_sessions() as session:
        session.delete(session.get(AuditEvent, one_event))
        with pytest.raises(AuditLogAppendOnlyError):
            session.flush()


@pytest.mark.parametrize(
    "statement",
    [update(AuditEvent).values(actor="x"), delete(AuditEvent), delete(AuditEvent.__table__)],
    ids=["orm-update", "orm-delete", "core-delete"],
)
def test_audit_log_session_refuses_bulk_statements(db_sessions, one_event, statement):
    with db_sessions() as session, pytest.raises(AuditLogAppendOnlyError):
        session.execute(statement)


def test_audit_log_database_refuses_update_delete_and_truncate(db_engine, one_event):
    """Even SQL that bypasses the ORM is refused, by triggers on both backends (TRUNCATE: PostgreSQL's)."""
    statements = ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"]
    if db_engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for sql in statements:
        with pytest.raises(IntegrityError, match="append-only"), db_engine.begin() as conn:
            conn.execute(text(sql))
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["jo"]


def test_audit_log_has_no_foreign_keys(db_engine):
    from sqlalchemy import inspect

    assert inspect(db_engine).get_foreign_keys("audit_log") == []


def test_audit_event_may_name_an_actor_who_is_not_a_user(db_sessions):
    with db_sessions() as session, session.begin():
        record_event(session, actor="os-user-not-in-users", action="x.done", object_type="x")
    with db_sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(AuditEvent.actor)) == "os-user-not-in-users"


def test_audit_event_needs_an_actor(db_session):
    with pytest.raises(ValueError, match="needs an actor"):
        record_event(db_session, actor="", action="x.done", object_type="x")


def test_timestamps_must_carry_a_timezone(db_sessions):
    with db_sessions() as session, pytest.raises(StatementError, match="naive datetime"), session.begin():
        record_event(session, actor="jo", action="x.done", object_type="x", at=datetime(2022, 1, 1, 9, 0))


def test_timestamps_are_stored_in_utc(db_sessions):
    bst = timezone(timedelta(hours=1))
    with db_sessions() as session, session.begin():
        record_event(session, actor="jo", action="x.done", object_type="x", at=datetime(2022, 6, 1, 10, 0, tzinfo=bst))
    with db_sessions() as session:
        assert session.scalar(select(AuditEvent.at)) == datetime(2022, 6, 1, 9, 0, tzinfo=UTC)


def test_create_user_refuses_a_taken_username(db_sessions):
    with db_sessions() as session:
        create_user(session, username="jo", display_name="Jo", role="icb_analyst", icb_code="QWE", user="admin")
        with pytest.raises(UsernameTakenError):
            create_user(session, username="jo", display_name="Jo 2", role="practice_manager", user="admin")


def test_a_session_lookup_joins_the_callers_transaction_without_a_savepoint(db_engine, db_sessions):
    """Every signed-in request looks its session up inside the request's transaction: no savepoint of its own;
    alone, it opens a transaction and commits its touch of last-seen."""
    from sqlalchemy import event

    from gpaccess.access.accounts import SessionTimeouts, WebSession, resolve_session, start_session

    with db_sessions() as session:
        create_user(session, username="jo", display_name="Jo", role="icb_analyst", icb_code="QWE", user="admin")
        token = start_session(session, username="jo")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.upper())

    event.listen(db_engine, "before_cursor_execute", seen)
    try:
        with db_sessions() as session, session.begin():
            found = resolve_session(session, token, SessionTimeouts(touch_every=timedelta(0)))
    finally:
        event.remove(db_engine, "before_cursor_execute", seen)
    assert found is not None and found.username == "jo"
    assert statements and not [s for s in statements if "SAVEPOINT" in s]
    assert any(s.startswith("UPDATE") for s in statements)  # touched in the caller's transaction
    with db_sessions() as session:
        before = session.scalar(select(WebSession.last_seen_at))
    with db_sessions() as session:
        assert resolve_session(session, token, SessionTimeouts(touch_every=timedelta(0))) is not None
        assert not session.in_transaction()  # its own transaction, committed
    with db_sessions() as session:
        assert session.scalar(select(WebSession.last_seen_at)) > before
    with db_sessions() as session:
        assert resolve_session(session, "not a token") is None
