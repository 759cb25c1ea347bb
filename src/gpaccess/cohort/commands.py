"""Writes to the cohort's tables. Each command runs in one transaction with its audit event.

Every argument is keyword-only and `user` (the acting user's username) is required: the CLI passes the
operating-system user or `--as USER`, the web app the signed-in user. Inputs are validated by the schemas in
`cohort.schemas` before anything is written; a refusal is a `UserError` the CLI and web app can show.

A command opens its own transaction and commits it, or, when the caller already holds one, joins it through
a savepoint and leaves the commit to the caller (`gpaccess.storage.db.atomic`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from gpaccess.access.audit import record_event
from gpaccess.cohort.records import CohortMember, CohortOverride, CohortRun
from gpaccess.cohort.schemas import MemberIn, OverrideAction, OverrideIn, RunIn, RunStatus
from gpaccess.errors import ConflictError, NotFoundError, UserError
from gpaccess.plans.records import Cycle
from gpaccess.storage.db import atomic, utcnow
from gpaccess.storage.inputs import acting_user, validated


class CohortInputError(UserError):
    """A cohort input was refused (an inconsistent member, the cap exceeded, a bad month)."""

    http_status = 422


class OverrideReasonRequiredError(CohortInputError):
    """An override without a reason: every decision to add or remove a practice says why."""


def _cycle(session: Session, name: str) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise NotFoundError(f"no cycle named {name!r}: create it first")
    return cycle


def record_run(
    session: Session,
    *,
    icb_code: str,
    cycle: str,
    parameters: Mapping[str, JsonValue],
    criteria: JsonValue,
    data_months: Sequence[str],
    data_versions: Mapping[str, JsonValue],
    members: Sequence[MemberIn],
    cap: int,
    eligible: int,
    status: RunStatus = RunStatus.DRAFT,
    provenance: Mapping[str, JsonValue] | None = None,
    user: str,
) -> int:
    """Store one cohort run with its members; returns the run's id.

    The run keeps everything needed to reproduce it: the selection's `parameters` and `criteria`, the
    `data_months` it read and the store releases (`data_versions`, e.g. publication -> release ids) behind
    them, and `provenance`: the gpaccess and method versions, the store generation and the name of the pin that
    keeps the run's data readable. Refused (nothing stored) if a member is inconsistent, a practice appears
    twice, or more practices are selected by the criteria than `cap` allows (overrides may add beyond it, each
    with its reason).
    """
    actor = acting_user(CohortInputError, user)
    run = validated(
        CohortInputError,
        RunIn,
        icb_code=icb_code,
        cycle=cycle,
        parameters=dict(parameters),
        criteria=criteria,
        data_months=list(data_months),
        data_versions=dict(data_versions),
        members=[m.model_dump() for m in members],
        cap=cap,
        eligible=eligible,
        status=status,
        **dict(provenance or {}),
    )
    with atomic(session):
        cycle_row = _cycle(session, run.cycle)
        row = CohortRun(
            icb_code=run.icb_code,
            cycle=cycle_row,
            created_at=utcnow(),
            created_by=actor,
            parameters=run.parameters,
            criteria=run.criteria,
            data_months=run.data_months,
            data_versions=run.data_versions,
            cap=run.cap,
            eligible=run.eligible,
            status=run.status,
            gpaccess_version=run.gpaccess_version,
            method_version=run.method_version,
            store_generation=run.store_generation,
            pin=run.pin,
            members=[CohortMember(**m.model_dump()) for m in run.members],
        )
        session.add(row)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="cohort_run.recorded",
            object_type="cohort_run",
            object_id=row.id,
            icb_code=run.icb_code,
            detail={
                "cycle": run.cycle,
                "status": run.status.value,
                "cap": run.cap,
                "eligible": run.eligible,
                "members": len(run.members),
                "selected": sorted(m.practice_code for m in run.members if m.selected),
                "data_months": run.data_months,
            },
        )
        return row.id


def add_override(
    session: Session,
    *,
    icb_code: str,
    cycle: str,
    practice_code: str,
    action: OverrideAction | str,
    reason: str,
    user: str,
) -> int:
    """Add (`action="add"`) or remove (`"remove"`) a practice for an ICB's cycle, saying why; returns its id.

    A missing or blank reason is refused (`OverrideReasonRequiredError`), and so is a second active override
    for the same practice (revoke the first).
    """
    actor = acting_user(CohortInputError, user)
    if reason is None or not str(reason).strip():
        raise OverrideReasonRequiredError(
            f"an override of {practice_code} needs a reason: say why the practice is added or removed"
        )
    data = validated(
        CohortInputError,
        OverrideIn,
        icb_code=icb_code,
        cycle=cycle,
        practice_code=practice_code,
        action=action,
        reason=reason,
    )
    with atomic(session):
        cycle_row = _cycle(session, data.cycle)
        active = session.scalar(
            select(CohortOverride).where(
                CohortOverride.icb_code == data.icb_code,
                CohortOverride.cycle_id == cycle_row.id,
                CohortOverride.practice_code == data.practice_code,
                CohortOverride.revoked_at.is_(None),
            )
        )
        if active is not None:
            raise ConflictError(
                f"{data.practice_code} already has an active override ({active.action.value}, id {active.id}) "
                f"for {data.icb_code} in {data.cycle!r}: revoke it first"
            )
        row = CohortOverride(
            icb_code=data.icb_code,
            cycle=cycle_row,
            practice_code=data.practice_code,
            action=data.action,
            reason=data.reason,
            created_by=actor,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="cohort_override.added",
            object_type="cohort_override",
            object_id=row.id,
            icb_code=data.icb_code,
            detail={
                "cycle": data.cycle,
                "practice_code": data.practice_code,
                "action": data.action.value,
                "reason": data.reason,
            },
        )
        return row.id


def revoke_override(session: Session, *, icb_code: str, override_id: int, reason: str | None = None, user: str) -> None:
    """Revoke an active override of the ICB's (kept, marked revoked; never deleted)."""
    actor = acting_user(CohortInputError, user)
    icb = icb_code.strip().upper()
    with atomic(session):
        row = session.get(CohortOverride, override_id)
        if row is None or row.icb_code != icb:
            raise NotFoundError(f"no override {override_id} for {icb}")
        if row.revoked_at is not None:
            raise ConflictError(f"override {override_id} was already revoked by {row.revoked_by}")
        row.revoked_at = utcnow()
        row.revoked_by = actor
        session.flush()
        record_event(
            session,
            actor=actor,
            action="cohort_override.revoked",
            object_type="cohort_override",
            object_id=row.id,
            icb_code=row.icb_code,
            detail={"practice_code": row.practice_code, "action": row.action.value, "reason": reason},
        )
