"""Writes to the plans' tables. Each command runs in one transaction with its audit event.

Every argument is keyword-only and `user` (the acting user, as the audit log names them) is required. Inputs are
validated by `plans.schemas` and action types against the catalogue before anything is written; a refusal is a
`UserError` and nothing is stored.

Concurrency: a plan carries a version number. `update_plan` names the version the user read; its first statement
is a compare-and-swap (`UPDATE plans SET version = version + 1 ... WHERE id = ? AND version = ?`), so of two
people who read the same version, the second to save is told of the first's change (`PlanConflictError`) and
nothing of theirs is stored: no update is lost. On PostgreSQL the second UPDATE waits for the first's row lock
and then finds the version moved on; on SQLite it waits for the write lock (busy timeout) and finds the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gpaccess.access.audit import record_event
from gpaccess.errors import ConflictError, NotFoundError, UserError
from gpaccess.plans.catalogue import FACE_TO_FACE_MEASURES, action_type
from gpaccess.plans.records import Cycle, Plan, PlanAction, PlanNote, PlanProgress, PlanSuggestion, PlanVersion
from gpaccess.plans.schemas import (
    OPEN_ACTION_STATUSES,
    ActionChange,
    ActionIn,
    ActionStatus,
    CycleIn,
    NoteIn,
    PlanStatus,
    ProgressIn,
    SuggestionDecisionIn,
)
from gpaccess.storage.db import atomic, utcnow
from gpaccess.storage.inputs import acting_user, validated


class PlanInputError(UserError):
    """A plan input was refused (a bad date, an unknown action, a rejection without its reason)."""

    http_status = 422


class PlanConflictError(ConflictError):
    """The plan was saved by someone else since it was read: show it again and reapply the change."""


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise PlanInputError(f"{what} needs a reason: say why (it is kept with the plan's version)")
    return text


def _cycle(session: Session, name: str) -> Cycle:
    cycle = session.scalar(select(Cycle).where(Cycle.name == name))
    if cycle is None:
        raise NotFoundError(f"no cycle named {name!r}: create it first (`gpaccess cycle new`)")
    return cycle


def _month_start(d: date) -> date:
    return d.replace(day=1)


# -- cycles ------------------------------------------------------------------------------------------------------


def create_cycle(session: Session, *, name: str, starts: date, ends: date, user: str) -> int:
    """Create a support cycle such as "winter 2021/22"; returns its id."""
    actor = acting_user(PlanInputError, user)
    data = validated(PlanInputError, CycleIn, name=name, starts=starts, ends=ends)
    with atomic(session):
        if session.scalar(select(Cycle.id).where(Cycle.name == data.name)) is not None:
            raise ConflictError(f"a cycle named {data.name!r} already exists")
        cycle = Cycle(name=data.name, starts=data.starts, ends=data.ends, created_at=utcnow(), created_by=actor)
        session.add(cycle)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="cycle.created",
            object_type="cycle",
            object_id=cycle.id,
            detail={"name": data.name, "starts": data.starts.isoformat(), "ends": data.ends.isoformat()},
        )
        return cycle.id


@dataclass(frozen=True)
class CycleStarted:
    cycle_id: int
    name: str
    created: bool  # False: an existing cycle without plans (e.g. made by a cohort run) was filled
    plans: int  # plans carried forward (one per practice with open actions)
    actions: int  # open actions carried forward
    lessons: int


def start_cycle(
    session: Session,
    *,
    name: str,
    starts: date,
    ends: date,
    from_cycle: str | None,
    lessons: Sequence[dict[str, Any]] = (),
    user: str,
) -> CycleStarted:
    """Start cycle `name` (or fill one that exists and has no plans yet), carrying forward from `from_cycle`
    every open action (planned or in progress) into a draft plan per practice, and the evaluation's lessons."""
    actor = acting_user(PlanInputError, user)
    data = validated(PlanInputError, CycleIn, name=name, starts=starts, ends=ends)
    with atomic(session):
        old = _cycle(session, from_cycle) if from_cycle else None
        if old is not None and old.name == data.name:
            raise PlanInputError(f"a cycle cannot carry forward from itself ({data.name!r})")
        cycle = session.scalar(select(Cycle).where(Cycle.name == data.name))
        created = cycle is None
        if cycle is None:
            cycle = Cycle(name=data.name, starts=data.starts, ends=data.ends, created_at=utcnow(), created_by=actor)
            session.add(cycle)
        else:
            count = session.scalar(select(func.count()).select_from(Plan).where(Plan.cycle_id == cycle.id)) or 0
            if count:
                raise ConflictError(f"cycle {data.name!r} already has {count} plan(s): carry forward into a new cycle")
            cycle.starts, cycle.ends = data.starts, data.ends
        cycle.carried_from = old.name if old else None
        cycle.lessons = [dict(lesson) for lesson in lessons]
        session.flush()
        plans = actions = 0
        if old is not None:
            now = utcnow()
            olds = session.scalars(
                select(Plan).where(Plan.cycle_id == old.id, Plan.status != PlanStatus.WITHDRAWN).order_by(Plan.id)
            )
            for plan in olds:
                open_actions = [a for a in plan.actions if a.status in OPEN_ACTION_STATUSES]
                if not open_actions:
                    continue
                start = _month_start(data.starts)
                new = Plan(
                    icb_code=plan.icb_code,
                    practice_code=plan.practice_code,
                    cycle=cycle,
                    status=PlanStatus.DRAFT,
                    version=1,
                    starts=start,
                    summary=plan.summary,
                    created_at=now,
                    created_by=actor,
                    updated_at=now,
                    updated_by=actor,
                    carried_from_plan_id=plan.id,
                    actions=[
                        PlanAction(
                            position=i,
                            action_type=a.action_type,
                            description=a.description,
                            owner=a.owner,
                            start=max(a.start, start),
                            due=a.due if a.due is not None and a.due >= max(a.start, start) else None,
                            status=a.status,
                            funding_source=a.funding_source,
                            funding_amount=a.funding_amount,
                            outcome_measure=a.outcome_measure,
                            expected_change=a.expected_change,
                            notes=a.notes,
                            carried_from_action_id=a.id,
                        )
                        for i, a in enumerate(open_actions, start=1)
                    ],
                )
                session.add(new)
                session.flush()
                session.add(
                    PlanVersion(
                        plan_id=new.id,
                        version=1,
                        at=now,
                        by=actor,
                        reason=f"open actions carried forward from {old.name} (plan {plan.id})",
                        state=plan_state(new),
                    )
                )
                record_event(
                    session,
                    actor=actor,
                    action="plan.carried_forward",
                    object_type="plan",
                    object_id=new.id,
                    icb_code=new.icb_code,
                    detail={
                        "from_plan": plan.id,
                        "from_cycle": old.name,
                        "cycle": data.name,
                        "actions": len(open_actions),
                    },
                )
                plans += 1
                actions += len(open_actions)
        record_event(
            session,
            actor=actor,
            action="cycle.started",
            object_type="cycle",
            object_id=cycle.id,
            detail={
                "name": data.name,
                "starts": data.starts.isoformat(),
                "ends": data.ends.isoformat(),
                "from": old.name if old else None,
                "created": created,
                "plans": plans,
                "actions": actions,
                "lessons": len(cycle.lessons or []),
            },
        )
        return CycleStarted(cycle.id, data.name, created, plans, actions, len(cycle.lessons or []))


# -- plans -------------------------------------------------------------------------------------------------------


def _no_quota(measure: str | None, change: object) -> None:
    if measure in FACE_TO_FACE_MEASURES and change is not None:
        raise PlanInputError(
            f"a plan may follow {measure} but never sets it a direction: there is no face-to-face quota "
            "(leave the expected change empty)"
        )


def _checked_action(data: ActionIn) -> ActionIn:
    action_type(data.action_type)  # UnknownActionTypeError names the known types
    _no_quota(data.outcome_measure, data.expected_change)
    return data


def plan_state(plan: Plan) -> dict[str, Any]:
    """The plan as one JSON document: what a version keeps."""
    return {
        "status": plan.status.value,
        "starts": plan.starts.isoformat(),
        "summary": plan.summary,
        "actions": [
            {
                "id": a.id,
                "action_type": a.action_type,
                "description": a.description,
                "owner": a.owner,
                "start": a.start.isoformat(),
                "due": a.due.isoformat() if a.due else None,
                "status": a.status.value,
                "funding_source": a.funding_source,
                "funding_amount": None if a.funding_amount is None else str(a.funding_amount),
                "outcome_measure": a.outcome_measure,
                "expected_change": a.expected_change.value if a.expected_change else None,
                "notes": a.notes,
            }
            for a in plan.actions
        ],
    }


def create_plan(
    session: Session,
    *,
    icb_code: str,
    practice_code: str,
    cycle: str,
    starts: date,
    summary: str,
    actions: Sequence[ActionIn],
    decisions: Sequence[SuggestionDecisionIn] = (),
    reason: str = "plan drawn up with the practice",
    user: str,
) -> int:
    """Draw up a practice's plan for a cycle (version 1): its agreed actions and the analyst's decision on each
    suggestion (a rejected one is kept with its reason). One plan per practice per cycle."""
    actor = acting_user(PlanInputError, user)
    why = _reason(reason, "a plan")
    icb, practice = icb_code.strip().upper(), practice_code.strip().upper()
    checked = [_checked_action(validated(PlanInputError, ActionIn, **a.model_dump())) for a in actions]
    decided = [validated(PlanInputError, SuggestionDecisionIn, **d.model_dump()) for d in decisions]
    if not summary or not summary.strip():
        raise PlanInputError("a plan states, in a sentence, what it aims to change for patients (summary)")
    with atomic(session):
        cycle_row = _cycle(session, cycle)
        existing = session.scalar(select(Plan).where(Plan.practice_code == practice, Plan.cycle_id == cycle_row.id))
        if existing is not None:
            raise ConflictError(f"{practice} already has plan {existing.id} for {cycle!r}: update it instead")
        now = utcnow()
        plan = Plan(
            icb_code=icb,
            practice_code=practice,
            cycle=cycle_row,
            status=PlanStatus.DRAFT,
            version=1,
            starts=_month_start(starts),
            summary=summary.strip(),
            created_at=now,
            created_by=actor,
            updated_at=now,
            updated_by=actor,
            actions=[PlanAction(position=i, **a.model_dump()) for i, a in enumerate(checked, start=1)],
            suggestions=[PlanSuggestion(**d.model_dump(), decided_at=now, decided_by=actor) for d in decided],
        )
        session.add(plan)
        session.flush()
        session.add(PlanVersion(plan_id=plan.id, version=1, at=now, by=actor, reason=why, state=plan_state(plan)))
        record_event(
            session,
            actor=actor,
            action="plan.created",
            object_type="plan",
            object_id=plan.id,
            icb_code=icb,
            detail={
                "practice_code": practice,
                "cycle": cycle_row.name,
                "actions": [a.action_type for a in checked],
                "rejected": [d.action_type for d in decided if d.decision == "rejected"],
                "reason": why,
            },
        )
        return plan.id


def update_plan(
    session: Session,
    *,
    plan_id: int,
    icb_code: str,
    expected_version: int,
    reason: str,
    status: PlanStatus | str | None = None,
    summary: str | None = None,
    add_actions: Sequence[ActionIn] = (),
    changes: Sequence[ActionChange] = (),
    note: NoteIn | None = None,
    user: str,
) -> int:
    """Save a change to a plan made from version `expected_version`; returns the new version.

    Refused with `PlanConflictError` (nothing stored) if the plan was saved by anyone since that version. A
    change that leaves the plan as it was (the same values saved again, no note) stores nothing, makes no
    version and no audit event, and returns `expected_version` itself."""
    actor = acting_user(PlanInputError, user)
    why = _reason(reason, "a change to a plan")
    icb = icb_code.strip().upper()
    new_status = None if status is None else validated(PlanInputError, _StatusIn, status=status).status
    added = [_checked_action(validated(PlanInputError, ActionIn, **a.model_dump())) for a in add_actions]
    changed = [validated(PlanInputError, ActionChange, **c.model_dump(exclude_unset=True)) for c in changes]
    noted = None if note is None else validated(PlanInputError, NoteIn, **note.model_dump())
    if summary is not None and not summary.strip():
        raise PlanInputError("a plan's summary cannot be blank")
    if new_status is None and summary is None and not added and not changed and noted is None:
        raise PlanInputError("nothing to change: give a status, a summary, an action, a change or a note")
    try:
        with atomic(session):
            now = utcnow()
            swapped = session.execute(
                update(Plan)
                .where(Plan.id == plan_id, Plan.icb_code == icb, Plan.version == expected_version)
                .values(version=Plan.version + 1, updated_at=now, updated_by=actor)
                .execution_options(synchronize_session=False)
            )
            if swapped.rowcount != 1:  # type: ignore[attr-defined]
                _refuse_stale(session, plan_id, icb, expected_version)
            plan = session.get(Plan, plan_id, populate_existing=True)
            assert plan is not None
            before = plan_state(plan)
            version = expected_version + 1
            if new_status is not None:
                plan.status = new_status
            if summary is not None:
                plan.summary = summary.strip()
            by_id = {a.id: a for a in plan.actions}
            for change in changed:
                target = by_id.get(change.action_id)
                if target is None:
                    raise NotFoundError(f"plan {plan_id} has no action {change.action_id}")
                for field_name in change.model_fields_set - {"action_id"}:
                    setattr(target, field_name, getattr(change, field_name))
                _no_quota(target.outcome_measure, target.expected_change)
                if target.due is not None and target.due < target.start:
                    raise PlanInputError(f"action {target.id} would be due ({target.due}) before it starts")
            position = max((a.position for a in plan.actions), default=0)
            for i, data in enumerate(added, start=1):
                plan.actions.append(PlanAction(position=position + i, **data.model_dump()))
            session.flush()
            if noted is None and plan_state(plan) == before:
                raise _UnchangedError  # undoes the version bump: nothing is stored
            if noted is not None:
                if noted.action_id is not None and noted.action_id not in {a.id for a in plan.actions}:
                    raise NotFoundError(f"plan {plan_id} has no action {noted.action_id}")
                plan.notes.append(
                    PlanNote(action_id=noted.action_id, at=now, by=actor, text=noted.text, version=version)
                )
            session.flush()
            session.add(
                PlanVersion(plan_id=plan.id, version=version, at=now, by=actor, reason=why, state=plan_state(plan))
            )
            record_event(
                session,
                actor=actor,
                action="plan.updated",
                object_type="plan",
                object_id=plan.id,
                icb_code=icb,
                detail={
                    "version": version,
                    "reason": why,
                    "status": new_status.value if new_status else None,
                    "added": [a.action_type for a in added],
                    "changed": [c.action_id for c in changed],
                    "note": noted is not None,
                },
            )
            return version
    except _UnchangedError:
        return expected_version
    except OperationalError as exc:  # SQLite: another writer kept the lock past the busy timeout
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            raise PlanConflictError(
                f"plan {plan_id} is being saved by someone else right now: show it again and reapply the change"
            ) from exc
        raise


class _UnchangedError(Exception):
    """Raised inside the transaction to roll back a save that changes nothing."""


class _StatusIn(BaseModel):
    status: PlanStatus


def _refuse_stale(session: Session, plan_id: int, icb: str, expected: int) -> None:
    row = session.execute(
        select(Plan.version, Plan.updated_by, Plan.updated_at).where(Plan.id == plan_id, Plan.icb_code == icb)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no plan {plan_id} for {icb}")
    version, by, at = row
    raise PlanConflictError(
        f"plan {plan_id} was saved by {by} at {at:%Y-%m-%d %H:%M:%S} UTC (now version {version}) after you read "
        f"version {expected}: nothing of yours was stored; show the plan again and reapply your change"
    )


def record_progress(
    session: Session,
    *,
    plan_id: int,
    icb_code: str,
    results: Sequence[ProgressIn],
    data_versions: dict[str, Any],
    gpaccess_version: str,
    user: str,
) -> int:
    """Store a plan's outcome verdicts computed from one snapshot (not a plan version: nobody edited the plan)."""
    actor = acting_user(PlanInputError, user)
    checked = [validated(PlanInputError, ProgressIn, **r.model_dump()) for r in results]
    with atomic(session):
        plan = session.get(Plan, plan_id)
        if plan is None or plan.icb_code != icb_code.strip().upper():
            raise NotFoundError(f"no plan {plan_id} for {icb_code}")
        now = utcnow()
        for r in checked:
            session.add(
                PlanProgress(
                    plan_id=plan_id,
                    **r.model_dump(),
                    data_versions=data_versions,
                    gpaccess_version=gpaccess_version,
                    computed_at=now,
                    computed_by=actor,
                )
            )
        session.flush()
        record_event(
            session,
            actor=actor,
            action="plan.progress_recorded",
            object_type="plan",
            object_id=plan_id,
            icb_code=plan.icb_code,
            detail={"verdicts": {r.measure: r.verdict for r in checked}},
        )
        return len(checked)


__all__ = [
    "ActionChange",
    "ActionIn",
    "ActionStatus",
    "CycleStarted",
    "NoteIn",
    "PlanConflictError",
    "PlanInputError",
    "create_cycle",
    "create_plan",
    "record_progress",
    "start_cycle",
    "update_plan",
]
