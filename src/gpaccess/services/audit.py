"""Audit of reads: every read of named practice data is recorded in the plan store's append-only audit log,
with who read it (and whether that name was verified), in which role, what and for which ICB."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from gpaccess.access.principal import Principal
from gpaccess.services.app import App
from gpaccess.storage.revision import utcnow

if TYPE_CHECKING:
    from gpaccess.access.audit import AuditEventOut

log = logging.getLogger("gpaccess.audit")


def audit_read(
    app: App,
    *,
    principal: Principal,
    action: str,
    icb_code: str | None,
    object_type: str = "named_data",
    object_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one read of named data (its own transaction: a read is audited even if nothing else is written;
    inside `audit_together`, in that block's one transaction)."""
    event: dict[str, Any] = {
        "actor": principal.actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "icb_code": icb_code,
        "detail": {"role": principal.role.name, "verified": principal.verified, **(detail or {})},
        "at": utcnow(),
    }
    batch = _batch.get()
    if batch is not None:
        batch.append(event)
        return
    _write(app, [event])


_batch: ContextVar[list[dict[str, Any]] | None] = ContextVar("gpaccess_audit_batch", default=None)


@contextlib.contextmanager
def audit_together(app: App) -> Iterator[None]:
    """Write the reads audited inside the block in one transaction as it ends, each still its own event with
    its own time. A page that shows a practice's measures, charts and local data reads named data several ways:
    one commit instead of one per read. Written even when the block fails part-way (what was read is logged)."""
    events: list[dict[str, Any]] = []
    token = _batch.set(events)
    try:
        yield
    except BaseException:
        _batch.reset(token)
        try:
            _write(app, events)
        except Exception:  # the block's own error is the one to answer with; the lost events are logged
            log.exception("could not write %d audit event(s) of a failed request", len(events))
        raise
    _batch.reset(token)
    _write(app, events)


def _write(app: App, events: list[dict[str, Any]]) -> None:
    """The events in one transaction: appended with `sqlite3` to a current SQLite plan store (a read-only command
    need not load SQLAlchemy for one row, and a server's requests share one connection and group their commits:
    `access.audit_sqlite`), otherwise through the ORM."""
    if not events:
        return
    appender = app.audit_appender()
    if appender is not None and appender.append(events):
        return
    from gpaccess.access.audit import record_event

    with app.plan_session() as db:
        for event in events:
            record_event(db, **event)


def audit_log(app: App, *, principal: Principal, icb_code: str, limit: int = 200) -> list[AuditEventOut]:
    """The ICB's audit events, newest first (ICB administrators: `read_audit` over their own ICB)."""
    from sqlalchemy import select

    from gpaccess.access.audit import AuditEvent, AuditEventOut
    from gpaccess.access.roles import Permission

    code = principal.require_icb(icb_code)
    principal.require(Permission.READ_AUDIT)
    with app.plan_session() as db:
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.icb_code == code).order_by(AuditEvent.id.desc()).limit(limit)
        )
        return [AuditEventOut.model_validate(r) for r in rows]
