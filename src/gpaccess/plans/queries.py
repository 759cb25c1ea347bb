"""Reads from the plans' tables. Results are pydantic schemas or plain dataclasses, detached from the session.

Queries for named data take the ICB codes in scope (`icb_codes`), or return objects carrying their ICB so the
service can check the reader's scope before showing them.

`supported_actions` is the interface the evaluation reads (keep it stable): for one cycle or all, every action
of every plan that was not withdrawn, as (practice_code, icb_code, action_type, start_month, cycle, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from gpaccess.errors import NotFoundError
from gpaccess.plans.records import Cycle, Plan, PlanAction, PlanProgress, PlanVersion
from gpaccess.plans.schemas import OPEN_PLAN_STATUSES, CycleOut, PlanOut, PlanStatus, ProgressOut, VersionOut


def cycles(session: Session) -> list[CycleOut]:
    """Every cycle, latest first."""
    rows = session.scalars(select(Cycle).order_by(Cycle.starts.desc(), Cycle.id.desc()))
    return [CycleOut.model_validate(row) for row in rows]


def cycle(session: Session, name: str) -> CycleOut:
    """One cycle by name (NotFoundError if unknown)."""
    row = session.scalar(select(Cycle).where(Cycle.name == name))
    if row is None:
        raise NotFoundError(f"no cycle named {name!r} (see `gpaccess cycle list`)")
    return CycleOut.model_validate(row)


def plan_counts(session: Session) -> dict[str, int]:
    """How many plans each cycle holds, by cycle name."""
    rows = session.execute(select(Cycle.name, func.count(Plan.id)).join(Plan, isouter=True).group_by(Cycle.name))
    return {name: int(n) for name, n in rows}


def _loaded():
    return select(Plan).options(selectinload(Plan.actions), selectinload(Plan.notes), selectinload(Plan.suggestions))


def plan_by_id(session: Session, plan_id: int) -> PlanOut:
    """Any plan by id: the caller checks the reader's scope against its ICB before showing it."""
    row = session.scalar(_loaded().where(Plan.id == plan_id))
    if row is None:
        raise NotFoundError(f"no plan {plan_id}")
    return PlanOut.model_validate(row)


def plan_for(session: Session, *, practice_code: str, cycle: str) -> PlanOut | None:
    row = session.scalar(
        _loaded().join(Cycle).where(Plan.practice_code == practice_code.strip().upper(), Cycle.name == cycle)
    )
    return None if row is None else PlanOut.model_validate(row)


_HAS_PLANS = select(Plan.id).where(Plan.practice_code == bindparam("practice_code")).limit(1)  # built once


def has_plans(session: Session, practice_code: str) -> bool:
    """Whether the practice has a plan in any cycle: one indexed lookup, before loading plans with their
    actions, notes and suggestions (most practices have none, and a server answers for each on its page)."""
    return session.execute(_HAS_PLANS, {"practice_code": practice_code.upper()}).first() is not None


def plans(
    session: Session,
    *,
    icb_codes: Iterable[str] | None,
    cycle: str | None = None,
    open_only: bool = False,
    practice_codes: Iterable[str] | None = None,
) -> list[PlanOut]:
    """Plans of these ICBs (None: every ICB), in ICB then practice-code order (never by a measure)."""
    stmt = _loaded().join(Cycle).order_by(Plan.icb_code, Plan.practice_code, Cycle.starts)
    if icb_codes is not None:
        stmt = stmt.where(Plan.icb_code.in_(sorted({c.upper() for c in icb_codes})))
    if cycle is not None:
        stmt = stmt.where(Cycle.name == cycle)
    if open_only:
        stmt = stmt.where(Plan.status.in_(OPEN_PLAN_STATUSES))
    if practice_codes is not None:
        stmt = stmt.where(Plan.practice_code.in_(sorted({c.upper() for c in practice_codes})))
    return [PlanOut.model_validate(row) for row in session.scalars(stmt)]


def versions(session: Session, plan_id: int) -> list[VersionOut]:
    """Every saved version of a plan, oldest first, with who saved it, when and why."""
    rows = session.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version))
    return [VersionOut.model_validate(row) for row in rows]


def latest_progress(session: Session, plan_id: int) -> list[ProgressOut]:
    """The latest verdict of each of the plan's outcome measures, in the order they were recorded."""
    rows = session.scalars(
        select(PlanProgress).where(PlanProgress.plan_id == plan_id).order_by(PlanProgress.computed_at, PlanProgress.id)
    )
    latest: dict[str, ProgressOut] = {}
    for row in rows:
        latest[row.measure] = ProgressOut.model_validate(row)
    return list(latest.values())


@dataclass(frozen=True)
class SupportedAction:
    """One action a practice received (or is receiving) in a cycle: what the evaluation compares."""

    practice_code: str
    icb_code: str
    action_type: str  # a key of the catalogue (`plans/catalogue.toml`)
    start_month: str  # YYYY-MM: the month the action starts
    cycle: str  # the cycle's name
    plan_id: int
    action_id: int
    status: str  # planned / in_progress / done / stopped


def supported_actions(
    session: Session, *, cycle: str | None = None, icb_codes: Iterable[str] | None = None
) -> list[SupportedAction]:
    """Every action of every plan not withdrawn, for one cycle (by name) or all cycles, and these ICBs (None:
    all), in ICB, practice, start and action order."""
    stmt = (
        select(Plan.practice_code, Plan.icb_code, PlanAction.action_type, PlanAction.start, Cycle.name, Plan.id,
               PlanAction.id, PlanAction.status)
        .join(PlanAction, PlanAction.plan_id == Plan.id)
        .join(Cycle, Cycle.id == Plan.cycle_id)
        .where(Plan.status != PlanStatus.WITHDRAWN)
        .order_by(Plan.icb_code, Plan.practice_code, PlanAction.start, PlanAction.id)
    )  # fmt: skip
    if cycle is not None:
        stmt = stmt.where(Cycle.name == cycle)
    if icb_codes is not None:
        stmt = stmt.where(Plan.icb_code.in_(sorted({c.upper() for c in icb_codes})))
    return [
        SupportedAction(
            practice_code=practice,
            icb_code=icb,
            action_type=kind,
            start_month=f"{start:%Y-%m}",
            cycle=name,
            plan_id=plan_id,
            action_id=action_id,
            status=status.value,
        )
        for practice, icb, kind, start, name, plan_id, action_id, status in session.execute(stmt)
    ]
