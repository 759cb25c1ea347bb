"""Progress of open plans: each outcome measure's Making Data Count verdict against limits fixed on the months
before the plan started (DESIGN "Plans" and "SPC points").

For every open plan and each measure its actions are expected to move, the practice's monthly series (the
latest run of consecutive months) is split at the plan's first month. The months before set the limits, under
the one rule for SPC points (`statistics.spc.limits_rule`): fewer than 6, "not enough months yet"; 6 to 11,
trial limits (labelled); 12 or more, limits. The latest month since the plan started then reads as improvement
or concern where the measure has a direction (its definition's, or the change the plan states for a measure
that is not a share of the mode mix); face-to-face and the other mode shares have none, so they read "special
cause: higher", "special cause: lower" or "common cause".

Recomputed by `gpaccess progress` and after each GPAD ingest or rollback; a failure there never undoes the ingest.
Each computation is stored with the releases of the snapshot it read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from gpaccess import __version__
from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import NotFoundError
from gpaccess.measures.definitions import Measure
from gpaccess.measures.service import MeasureSession
from gpaccess.plans import commands, queries
from gpaccess.plans.schemas import PlanOut, ProgressIn
from gpaccess.services.app import App
from gpaccess.statistics.spc import limits_rule, xmr

# The mode mix has no good direction (DESIGN "Comparing practices": outside the cohort view face-to-face share
# has none), so a plan's stated change never gives these one.
MODE_MIX = frozenset({"f2f_gp", "f2f_all", "telephone_share", "video_online_share", "home_visit_share"})
NOT_ENOUGH = "not enough months yet"
NOTHING_SINCE = "no months since the plan started yet"
VERDICTS = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral_high": "special cause: higher",
    "special_cause_neutral_low": "special cause: lower",
    "common_cause": "common cause",
}


def direction_for(measure: Measure, stated: str | None) -> str:
    """The improvement direction for SPC: the definition's, else the plan's stated change unless mode mix."""
    if measure.direction == "higher":
        return "increase"
    if measure.direction == "lower":
        return "decrease"
    if measure.name in MODE_MIX or stated not in ("higher", "lower"):
        return "neutral"
    return "increase" if stated == "higher" else "decrease"


def latest_run_of_months(series: pd.DataFrame) -> pd.DataFrame:
    from gpaccess.publication.figures import latest_consecutive

    return latest_consecutive(series.dropna(subset=["value"]).reset_index(drop=True))


def verdict(series: pd.DataFrame, plan_start: date, direction: str) -> ProgressIn | dict[str, Any]:
    """The verdict for one series (columns month, value) and a plan's first month: a dict for `ProgressIn`."""
    s = latest_run_of_months(series)
    months = pd.to_datetime(s["month"]).dt.date if len(s) else pd.Series([], dtype=object)
    start = pd.Timestamp(plan_start).date()
    pre = s[(months < start).to_numpy()] if len(s) else s
    post = s[(months >= start).to_numpy()] if len(s) else s
    rule = limits_rule(len(pre))
    detail: dict[str, Any] = {
        "direction": direction,
        "limits": rule,
        "baseline_months": [f"{m:%Y-%m}" for m in pd.to_datetime(pre["month"])],
    }
    if rule == "not enough points":
        detail["needed"] = 6
        return {"verdict": NOT_ENOUGH, "pre_months": len(pre), "post_months": len(post), "detail": detail}
    values = np.concatenate([pre["value"].to_numpy(float), post["value"].to_numpy(float)])
    result = xmr(values, improvement_direction=direction, fix_after_n_points=len(pre))  # type: ignore[arg-type]
    p = result.points
    detail.update(
        mean=float(p.mean[0]),
        lower=float(p.lower_limit[0]),
        upper=float(p.upper_limit[0]),
        trial=bool(p.trial_limits[0]),
        points=[
            {"month": f"{m:%Y-%m}", "value": float(v), "type": str(t), "after_start": i >= len(pre)}
            for i, (m, v, t) in enumerate(zip(pd.to_datetime(s["month"]), values, p.point_type, strict=True))
        ],
    )
    if len(post) == 0:
        return {"verdict": NOTHING_SINCE, "pre_months": len(pre), "post_months": 0, "detail": detail}
    return {
        "verdict": VERDICTS[str(p.point_type[-1])],
        "pre_months": len(pre),
        "post_months": len(post),
        "detail": detail,
    }


@dataclass(frozen=True)
class PlanProgress:
    plan_id: int
    practice_code: str
    icb_code: str
    verdicts: dict[str, str]  # measure -> verdict
    results: tuple[ProgressIn, ...] = ()  # the verdicts with their limits and points (what a support pack shows)


def plan_verdicts(session: MeasureSession, plan: PlanOut) -> list[ProgressIn]:
    """Every outcome measure's verdict for one plan, from the session's snapshot."""
    out = []
    stated = {a.outcome_measure: (a.expected_change.value if a.expected_change else None) for a in plan.actions}
    for name in plan.outcome_measures:
        m = session.measure(name)
        try:
            series = session.series(plan.practice_code, name)
        except NotFoundError:  # no appointments stored for the practice: not enough months
            series = pd.DataFrame({"month": [], "value": []})
        found = verdict(series, plan.starts, direction_for(m, stated.get(name)))
        out.append(ProgressIn(measure=name, **found))  # type: ignore[arg-type]
    return out


def recompute(
    app: App,
    *,
    principal: Principal,
    icb_codes: Iterable[str] | None = None,
    session: MeasureSession | None = None,
) -> list[PlanProgress]:
    """Recompute every open plan's outcome verdicts (of these ICBs, or every ICB in scope) from one snapshot and
    store them with its releases."""
    from gpaccess.ingest.aggregate import PUBLICATION as AGGREGATE
    from gpaccess.services.measures import measure_session

    principal.require(Permission.EDIT_PLANS)
    codes = None if icb_codes is None else [principal.require_icb(c) for c in icb_codes]
    with app.plan_session() as db:
        open_plans = queries.plans(db, icb_codes=codes, open_only=True)
    open_plans = [p for p in open_plans if principal.sees_icb(p.icb_code)]
    if not open_plans:
        return []
    s = session or measure_session(app)
    for name in {m for p in open_plans for m in p.outcome_measures}:
        s.prefetch_series(sorted({p.practice_code for p in open_plans if name in p.outcome_measures}), name)
    versions = {AGGREGATE: dict(s.snapshot.versions().get(AGGREGATE, {})), "generation": s.snapshot.generation}
    results = []
    with app.plan_session() as db:
        for plan in open_plans:
            found = plan_verdicts(s, plan)
            commands.record_progress(
                db,
                plan_id=plan.id,
                icb_code=plan.icb_code,
                results=found,
                data_versions=versions,
                gpaccess_version=__version__,
                user=principal.actor,
            )
            results.append(
                PlanProgress(
                    plan.id, plan.practice_code, plan.icb_code, {r.measure: r.verdict for r in found}, tuple(found)
                )
            )
    return results


def recompute_after_ingest(app: App, *, principal: Principal, warn=None) -> int:
    """After a GPAD ingest or rollback: recompute open plans' progress if the plan store holds any. Never raises
    (the ingest stands whatever happens here); returns how many plans were updated."""
    try:
        if app.plan_store_url.startswith("sqlite:///") and not _sqlite_file_exists(app.plan_store_url):
            return 0
        return len(recompute(app, principal=principal))
    except Exception as exc:
        if warn is not None:
            warn(f"progress of open plans was not updated ({type(exc).__name__}: {exc}); run `gpaccess progress`")
        return 0


def _sqlite_file_exists(url: str) -> bool:
    from pathlib import Path

    return Path(url.removeprefix("sqlite:///")).exists()
