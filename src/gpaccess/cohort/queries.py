"""Reads from the cohort's tables. Results are pydantic schemas, detached from the session.

Every query for named data takes the ICB's code: in a shared installation, scope comes from the caller's
access (`gpaccess.access`), never from what the data happens to contain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from gpaccess.access.audit import AuditEventOut, events_for
from gpaccess.cohort.records import CohortMember, CohortOverride, CohortRun
from gpaccess.cohort.schemas import OverrideOut, RunOut, RunStatus, RunSummaryOut
from gpaccess.errors import NotFoundError
from gpaccess.plans.records import Cycle


def _cycle_id(session: Session, name: str) -> int:
    cycle_id = session.scalar(select(Cycle.id).where(Cycle.name == name))
    if cycle_id is None:
        raise NotFoundError(f"no cycle named {name!r}")
    return cycle_id


def latest_run(session: Session, *, icb_code: str, cycle: str, status: RunStatus | None = None) -> RunOut | None:
    """The ICB's most recent run for the cycle (optionally of one status), with its members; None if none."""
    stmt = (
        select(CohortRun)
        .options(selectinload(CohortRun.members))
        .where(CohortRun.icb_code == icb_code.strip().upper(), CohortRun.cycle_id == _cycle_id(session, cycle))
        .order_by(CohortRun.created_at.desc(), CohortRun.id.desc())
        .limit(1)
    )
    if status is not None:
        stmt = stmt.where(CohortRun.status == status)
    row = session.scalar(stmt)
    return None if row is None else RunOut.model_validate(row)


def run(session: Session, *, icb_code: str, run_id: int) -> RunOut:
    """One of the ICB's runs by id, with its members (NotFoundError if unknown or another ICB's)."""
    row = session.scalar(
        select(CohortRun)
        .options(selectinload(CohortRun.members))
        .where(CohortRun.id == run_id, CohortRun.icb_code == icb_code.strip().upper())
    )
    if row is None:
        raise NotFoundError(f"no cohort run {run_id} for {icb_code}")
    return RunOut.model_validate(row)


def active_overrides(session: Session, *, icb_code: str, cycle: str, at: datetime | None = None) -> list[OverrideOut]:
    """The ICB's overrides for the cycle that are in force now (or were at `at`: made by then and not yet
    revoked then, as a stored run saw them), in practice-code order."""
    stmt = select(CohortOverride).where(
        CohortOverride.icb_code == icb_code.strip().upper(),
        CohortOverride.cycle_id == _cycle_id(session, cycle),
    )
    if at is None:
        stmt = stmt.where(CohortOverride.revoked_at.is_(None))
    else:
        stmt = stmt.where(
            CohortOverride.created_at <= at,
            CohortOverride.revoked_at.is_(None) | (CohortOverride.revoked_at > at),
        )
    rows = session.scalars(stmt.order_by(CohortOverride.practice_code))
    return [OverrideOut.model_validate(row) for row in rows]


def run_by_id(session: Session, run_id: int) -> RunOut:
    """Any run by its (global) id, with its members: the caller checks the reader's scope against its ICB."""
    row = session.scalar(select(CohortRun).options(selectinload(CohortRun.members)).where(CohortRun.id == run_id))
    if row is None:
        raise NotFoundError(f"no cohort run {run_id}")
    return RunOut.model_validate(row)


def runs(session: Session, *, icb_codes: set[str] | None = None) -> list[RunOut]:
    """Runs (without re-reading members lazily: they are loaded), newest first; only these ICBs' when given."""
    stmt = select(CohortRun).options(selectinload(CohortRun.members)).order_by(CohortRun.id.desc())
    if icb_codes is not None:
        stmt = stmt.where(CohortRun.icb_code.in_(sorted(icb_codes)))
    return [RunOut.model_validate(row) for row in session.scalars(stmt)]


def _run_summaries_statement(*, filtered: bool) -> Select[CohortRun, int]:
    counted = (
        select(CohortMember.run_id, func.count().label("selected"))
        .where(CohortMember.selected.is_(True))
        .group_by(CohortMember.run_id)
        .subquery()
    )
    stmt = (
        select(CohortRun, func.coalesce(counted.c.selected, 0))
        .outerjoin(counted, counted.c.run_id == CohortRun.id)
        .order_by(CohortRun.id.desc())
    )
    return stmt.where(CohortRun.icb_code.in_(bindparam("icb_codes", expanding=True))) if filtered else stmt


# Built once: building the statement took half of every ICB dashboard's lookup of its runs.
_RUN_SUMMARIES = {filtered: _run_summaries_statement(filtered=filtered) for filtered in (False, True)}


def run_summaries(session: Session, *, icb_codes: set[str] | None = None) -> list[RunSummaryOut]:
    """Runs without their members, newest first, each with how many it selected (counted by the database):
    a list of an ICB's runs reads one row per run, however many runs and members the store holds."""
    if icb_codes is None:
        rows = session.execute(_RUN_SUMMARIES[False])
    else:
        rows = session.execute(_RUN_SUMMARIES[True], {"icb_codes": sorted(icb_codes)})
    return [RunSummaryOut.model_validate(row).model_copy(update={"selected": int(n)}) for row, n in rows]


def audit_events(session: Session, *, object_type: str, object_id: str | int) -> list[AuditEventOut]:
    """Every audit event about one object (e.g. `"cohort_run", 12`), oldest first."""
    return events_for(session, object_type=object_type, object_id=object_id)
