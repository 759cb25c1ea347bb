"""The audit log: an append-only record of who changed (or read) what, and when.

Rules (docs/plan-store.md):
- A command writes its audit event with `record_event` inside the same transaction as its change, so the
  two are stored together or not at all.
- The table has no foreign keys: an event outlives whatever it names, and naming a user or object that was
  never stored (the operating-system user of a CLI run) must not fail.
- Rows are never updated or deleted. The ORM refuses (mapper and session events below), and the database
  refuses too: triggers on SQLite and PostgreSQL (migration 0001) abort any UPDATE or DELETE, and on
  PostgreSQL also TRUNCATE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Index, Integer, String, event, select
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from gpaccess.errors import GpaccessError
from gpaccess.storage.db import Base, JSONDocument, utcnow


class AuditLogAppendOnlyError(GpaccessError):
    """Something tried to change or remove an audit event: a bug, never a user's mistake."""


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(128))
    icb_code: Mapped[str | None] = mapped_column(String(16), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    # Answers "what happened to this object" without scanning the log.
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)


class AuditEventOut(BaseModel):
    """An audit event as read back (detached from the session)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    icb_code: str | None
    detail: dict[str, Any]


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    icb_code: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one audit event to the session's current transaction (the caller's command commits it).

    `action` is a dotted verb such as `cohort_run.recorded`; `detail` must be JSON-serialisable.
    """
    if not actor:
        raise ValueError("an audit event needs an actor")
    audit_event = AuditEvent(
        at=at or utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        icb_code=icb_code,
        detail=detail or {},
    )
    session.add(audit_event)
    return audit_event


def events_for(session: Session, *, object_type: str, object_id: str | int) -> list[AuditEventOut]:
    """Every audit event about one object, oldest first."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [AuditEventOut.model_validate(row) for row in rows]


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise AuditLogAppendOnlyError(f"audit event {target.id} cannot be changed: the audit log is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise AuditLogAppendOnlyError(f"audit event {target.id} cannot be deleted: the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    """Bulk `update(AuditEvent)` / `delete(AuditEvent)` statements bypass the mapper events above."""
    table = getattr(state.statement, "table", None)  # ORM statements carry an annotated copy of the Table
    if (state.is_update or state.is_delete) and getattr(table, "name", None) == AuditEvent.__tablename__:
        raise AuditLogAppendOnlyError("the audit log is append-only: UPDATE and DELETE are refused")
