"""The evaluation's data from one snapshot: every practice's monthly outcome over the latest run of consecutive
stored months, where each practice belongs (ICB, region, supplier) and its deprivation where loaded.

GPAD is national, so the installation's own store holds the comparison practices too (DESIGN "Evaluation
data"). Only practice-month rows come into Python (about 6,300 practices x months at national scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from gpaccess.errors import NotFoundError, UserError
from gpaccess.evaluation.evaluate import Outcome
from gpaccess.ingest.aggregate import PUBLICATION as AGGREGATE
from gpaccess.measures.compute import monthly_series, practice_month_counts, with_list_size
from gpaccess.measures.definitions import DEFAULT_F2F, get_measure
from gpaccess.measures.practices import practice_directory
from gpaccess.storage.periods import month_key, parse_month, shift_month
from gpaccess.storage.snapshot import Snapshot

DEFAULT_OUTCOME = "appts_per_1000"


@dataclass(frozen=True)
class EvaluationData:
    outcome: Outcome
    months: list[str]
    panel: pd.DataFrame  # practice_code, month (YYYY-MM), value, patients
    directory: pd.DataFrame  # practice_code, practice_name, icb_code, icb_name, region_code, supplier
    context: pd.DataFrame | None  # practice_code, imd_score


def outcome_for(name: str, f2f_definition: str = DEFAULT_F2F) -> Outcome:
    m = get_measure(name, f2f_definition)
    if m.kind not in ("rate_per_1000", "share"):
        raise UserError(
            f"{name} has no monthly value to evaluate (it compares a window with a baseline year): "
            f"try {DEFAULT_OUTCOME} or a share such as f2f_gp"
        )
    return Outcome(m.name, m.title, m.kind)


def consecutive_months(snapshot: Snapshot) -> list[date]:
    """The latest run of consecutive months with the practice-month aggregate stored."""
    stored = sorted(d for d in (parse_month(p) for p in snapshot.periods(AGGREGATE)) if d is not None)
    if not stored:
        raise NotFoundError("the store holds no GPAD appointments yet: run `gpaccess ingest` (or `gpaccess demo`)")
    run = [stored[-1]]
    have = set(stored)
    while shift_month(run[0], -1) in have:
        run.insert(0, shift_month(run[0], -1))
    return run


def evaluation_data(
    snapshot: Snapshot, outcome: str = DEFAULT_OUTCOME, f2f_definition: str = DEFAULT_F2F
) -> EvaluationData:
    """Every practice's monthly outcome over the latest consecutive months, with the practice directory."""
    from gpaccess.cohort.run import deprivation

    out = outcome_for(outcome, f2f_definition)
    measure = get_measure(outcome, f2f_definition)
    months = consecutive_months(snapshot)
    keys = [month_key(m) for m in months]
    agg = snapshot.table(AGGREGATE, periods=keys)
    regs = snapshot.table("registrations") if snapshot.has("registrations") else None
    if regs is None and measure.kind == "rate_per_1000":
        raise NotFoundError(
            f"{outcome} needs list sizes: ingest the registered-patients files (gp-reg-pat-prac-all) for "
            f"{keys[0]} to {keys[-1]}"
        )
    counts = with_list_size(practice_month_counts(agg, [measure]), regs)
    series = monthly_series(counts, measure)
    sizes = counts.select("practice_code", "month", "patients")
    frame = series.left_join(sizes, ["practice_code", "month"]).to_pandas()
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
    panel = frame[["practice_code", "month", "value", "patients"]].sort_values(["practice_code", "month"])
    directory = practice_directory(snapshot, months)
    context = deprivation(snapshot)
    return EvaluationData(out, keys, panel.reset_index(drop=True), directory, context)
