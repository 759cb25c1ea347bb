"""Audit of reads: every read of named practice data is recorded in the plan store's append-only audit log,
with who read it (and whether that name was verified), in which role, what and for which ICB."""

from __future__ import annotations

from typing import Any

from gpaccess.access.audit import record_event
from gpaccess.access.principal import Principal
from gpaccess.services.app import App


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
    """Record one read of named data (its own transaction: a read is audited even if nothing else is written)."""
    with app.plan_session() as db:
        record_event(
            db,
            actor=principal.actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            icb_code=icb_code,
            detail={"role": principal.role.name, "verified": principal.verified, **(detail or {})},
        )
