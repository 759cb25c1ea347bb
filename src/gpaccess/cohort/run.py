"""Run one ICB's cohort end to end: measures → criteria → exclusions → cap → overrides → stored run.

The run is stored in the plan store with its parameters, data months and the store releases behind them, so
it can be reproduced exactly; overrides live in the plan store too (each with its reason, user and time).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy.orm import Session

from gpaccess import __version__
from gpaccess.cohort import commands, queries
from gpaccess.cohort.criteria import Context
from gpaccess.cohort.reproduce import parameters_of
from gpaccess.cohort.schemas import MemberIn, Overridden
from gpaccess.cohort.select import Cohort, Override, SelectionSettings, select
from gpaccess.errors import NotFoundError
from gpaccess.measures.service import MeasureSession, MeasureSettings
from gpaccess.plans import commands as plan_commands
from gpaccess.plans import queries as plan_queries
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
    # The comparison first: it reads every practice's window measures (its reference is the country's practices
    # without a data-quality flag), so the ICB's table below is a slice of them rather than a second query.
    f2f = session.comparison("f2f_gp")
    table = session.icb_table(icb_code)
    enabled = settings.criteria.enabled
    imd = deprivation(snap)
    ctx = Context(
        table=table,
        f2f=f2f,
        window=session.label,
        local=local_indicators(snap, icb_code),
        quality=session.quality(settings.exclusions, list(table.practice_code)),
        baseline=session.baseline_comparison(settings.criteria.baseline_threshold)
        if "appointments_below_baseline" in enabled
        else None,
        imd=imd,
    )
    months = [f"{m:%Y-%m}" for m in session.months]
    return select(ctx, months, settings, icb_code=icb_code, overrides=list(overrides), imd=imd)


def overrides_from_store(db: Session, icb_code: str, cycle: str, at: datetime | None = None) -> list[Override]:
    """The overrides in force for the ICB's cycle now, or at `at` (a stored run's time, to reproduce it)."""
    try:
        rows = queries.active_overrides(db, icb_code=icb_code, cycle=cycle, at=at)
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
        plan_queries.cycle(db, name)
    except NotFoundError:
        end = max(months)
        starts = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        ends = date(starts.year + (starts.month > 6), (starts.month + 5) % 12 + 1, 1)
        plan_commands.create_cycle(db, name=name, starts=starts, ends=ends, user=user)


# The cohort method's version: bump it whenever a change to the criteria, the statistics behind them or the
# selection would give different members, reasons or figures for the same data and settings, so that
# `gpaccess cohort reproduce` can say a difference comes from the method, not the data.
METHOD_VERSION = "4"  # 4: log-odds face-to-face comparison, 99.8% rules, local funnels, statuses


def member_rows(cohort: Cohort) -> list[MemberIn]:
    """The cohort's members as the plan store keeps them (and as reproduction compares them)."""
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
                near_limit=bool(r.near_limit),
                criteria_status={name: getattr(r, f"status_{name}") for name in cohort.settings.criteria.enabled},
                overridden=overridden,
                override_reason=r.override_reason if overridden != Overridden.NONE else None,
            )
        )
    return members


def record(
    db: Session,
    cohort: Cohort,
    cycle: str,
    snapshot: Snapshot,
    *,
    measures: MeasureSettings,
    pin: str | None = None,
    user: str,
) -> int:
    """Store the run with what it stood on: its settings (selection and measures), the versions of the snapshot
    it read (every publication and period, so it can be recomputed from the store as it was:
    `Warehouse.snapshot(as_of=...)`), the gpaccess and method versions, and the pin keeping that data."""
    return commands.record_run(
        db,
        icb_code=cohort.icb_code,
        cycle=cycle,
        parameters=parameters_of(cohort.settings, measures),
        criteria=list(cohort.settings.criteria.enabled),
        data_months=cohort.months,
        data_versions={pub: dict(periods) for pub, periods in snapshot.versions().items()},
        members=member_rows(cohort),
        cap=cohort.cap,
        eligible=cohort.eligible,
        provenance={
            "gpaccess_version": __version__,
            "method_version": METHOD_VERSION,
            "store_generation": snapshot.generation,
            "pin": pin,
        },
        user=user,
    )
