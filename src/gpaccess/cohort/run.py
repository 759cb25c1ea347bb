"""Run one ICB's cohort end to end: measures → criteria → exclusions → cap → overrides → stored run.

The run is stored in the plan store with its parameters, data months and the store releases behind them, so
it can be reproduced exactly; overrides live in the plan store too (each with its reason, user and time).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from gpaccess.cohort import commands, queries
from gpaccess.cohort.criteria import Context
from gpaccess.cohort.schemas import MemberIn, Overridden
from gpaccess.cohort.select import Cohort, Override, SelectionSettings, select
from gpaccess.errors import NotFoundError
from gpaccess.measures.service import MeasureSession
from gpaccess.storage.snapshot import Snapshot


def default_cycle(months: list[date]) -> str:
    """Support runs over the winter after the window: 'winter 2025/26' for a window ending in Oct 2025."""
    end = max(months)
    start = end.year if end.month >= 4 else end.year - 1
    return f"winter {start}/{(start + 1) % 100:02d}"


def local_indicators(snapshot: Snapshot, icb_code: str) -> pd.DataFrame:
    cols = ["practice_code", "indicator", "period", "value"]
    if not snapshot.has("local_indicators") or icb_code not in snapshot.periods("local_indicators"):
        return pd.DataFrame(columns=cols)
    return snapshot.table("local_indicators", periods=[icb_code]).to_pandas()[cols]


def deprivation(snapshot: Snapshot) -> pd.DataFrame | None:
    """Each practice's IMD score and decile from the latest IMD year that scores it, where the deprivation data
    are loaded (context data). The decile is the store's one computation, across every practice scored that
    year (`ingest.context.queries.imd_deciles`): 1 = the most deprived tenth, ties share a decile."""
    from gpaccess.ingest.context.queries import latest_imd

    if not snapshot.has("imd"):
        return None
    return latest_imd(snapshot).select("practice_code", "imd_score", "imd_decile").to_pandas()


def build_cohort(
    session: MeasureSession,
    icb_code: str,
    settings: SelectionSettings,
    overrides: list[Override] = (),  # type: ignore[assignment]
) -> Cohort:
    snap = session.snapshot
    table = session.icb_table(icb_code)
    ctx = Context(
        table=table, f2f=session.comparison("f2f_gp"), window=session.label, local=local_indicators(snap, icb_code)
    )
    months = [f"{m:%Y-%m}" for m in session.months]
    return select(ctx, months, settings, icb_code=icb_code, overrides=list(overrides), imd=deprivation(snap))


def overrides_from_store(db: Session, icb_code: str, cycle: str) -> list[Override]:
    try:
        rows = queries.active_overrides(db, icb_code=icb_code, cycle=cycle)
    except NotFoundError:
        return []
    return [
        Override(
            o.practice_code,
            "add" if str(o.action.value) == "add" else "remove",
            o.reason,
            o.created_by,
            f"{o.created_at:%Y-%m-%d %H:%M}",
        )
        for o in rows
    ]


def ensure_cycle(db: Session, name: str, months: list[date], user: str) -> None:
    try:
        queries.cycle(db, name)
    except NotFoundError:
        end = max(months)
        starts = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        ends = date(starts.year + (starts.month > 6), (starts.month + 5) % 12 + 1, 1)
        commands.create_cycle(db, name=name, starts=starts, ends=ends, user=user)


def record(db: Session, cohort: Cohort, cycle: str, snapshot: Snapshot, *, user: str) -> int:
    """Store the run with the versions of the snapshot it read: every publication and period, so the run can be
    recomputed from the store as it was (`Warehouse.snapshot(as_of=...)`)."""
    members = []
    for r in cohort.members.itertuples():
        overridden = {"none": Overridden.NONE, "added": Overridden.ADDED, "removed": Overridden.REMOVED}[r.overridden]
        members.append(
            MemberIn(
                practice_code=r.practice_code,
                selected=bool(r.selected),
                criteria_met=list(r.criteria_met),
                reasons=list(r.reasons),
                evidence_strength=None if pd.isna(r.evidence) else float(r.evidence),
                excluded=bool(r.excluded),
                exclusion_reasons=list(r.exclusion_reasons),
                near_miss=bool(r.near_miss),
                overridden=overridden,
                override_reason=r.override_reason if overridden != Overridden.NONE else None,
            )
        )
    params = _jsonable(dataclasses.asdict(cohort.settings))
    return commands.record_run(
        db,
        icb_code=cohort.icb_code,
        cycle=cycle,
        parameters=params,
        criteria=list(cohort.settings.criteria.enabled),
        data_months=cohort.months,
        data_versions={pub: dict(periods) for pub, periods in snapshot.versions().items()},
        members=members,
        cap=cohort.cap,
        eligible=cohort.eligible,
        user=user,
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def settings_from_parameters(parameters: dict[str, Any]) -> SelectionSettings:
    """The selection settings a stored run used, rebuilt from its `parameters` (to reproduce it exactly)."""
    from gpaccess.cohort.criteria import CriteriaSettings
    from gpaccess.cohort.exclusions import ExclusionSettings

    p = dict(parameters)
    criteria = dict(p.pop("criteria"))
    criteria["enabled"] = tuple(criteria["enabled"])
    exclusions = ExclusionSettings(**p.pop("exclusions"))
    return SelectionSettings(**p, criteria=CriteriaSettings(**criteria), exclusions=exclusions)
