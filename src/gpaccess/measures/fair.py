"""Fair comparison: expected share by appointment mix, funnel limits with overdispersion, shrunk estimates.

The engine aggregates appointments to practice × stratum (small); the statistics are pure numpy functions.
Comparison is national (every practice in the store for the window); an ICB only chooses which of those
practices it looks at (DESIGN: 'Face-to-face criterion').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from gpaccess.measures.compute import strata_counts
from gpaccess.measures.definitions import Measure
from gpaccess.statistics import casemix, funnel, shrinkage
from gpaccess.statistics.funnel import Adjustment, LimitCurves


@dataclass(frozen=True)
class Comparison:
    """Every practice's place against the funnel for one measure and window (pandas: practice-level only)."""

    measure: Measure
    months: list[date]
    kind: str  # "ratio" (observed/expected, case-mix adjusted) or "proportion"
    table: pd.DataFrame
    curves: LimitCurves
    target: float
    adjustment: Adjustment
    phi: float
    tau2: float
    prior_strength: float | None


def compare(
    aggregate,
    window_values: pd.DataFrame | Callable[[], pd.DataFrame],
    measure: Measure,
    months: list[date],
    adjustment: Adjustment = "additive",
) -> Comparison:
    """Compare every practice on one share: face-to-face shares against their own appointment mix's expected
    share (`aggregate` is the practice-month aggregate); other shares against the national proportion, from
    every practice's window values (given, or a callable that computes them only when needed)."""
    if measure.standardisable:
        return _standardised(aggregate, measure, months, adjustment)
    values = window_values() if callable(window_values) else window_values
    return _proportion(values, measure, months, adjustment)


def _standardised(aggregate, measure: Measure, months: list[date], adjustment: Adjustment) -> Comparison:
    strata = strata_counts(aggregate, measure, months).to_pandas()
    strata = strata[strata.n > 0]
    # Factorised by hashing (sorted codes, as np.unique gives, but far faster on ~600,000 national rows).
    practice_idx, codes = pd.factorize(strata.practice_code, sort=True)
    stratum_idx = strata.groupby(["hcp_type", "national_category", "time_band"], sort=True).ngroup().to_numpy()
    std = casemix.standardise_long(practice_idx, stratum_idx, strata.n.to_numpy(), strata.r.to_numpy())
    f = funnel.ratio_funnel(std.observed, std.expected, adjustment=adjustment)
    expected_share = std.expected_share
    shrunk = shrinkage.shrink(std.observed, std.denominator, np.clip(expected_share, 1e-6, 1 - 1e-6))
    table = pd.DataFrame(
        {
            "practice_code": np.asarray(codes, dtype=object),
            "numerator": std.observed,
            "denominator": std.denominator,
            "observed_share": std.observed_share,
            "expected_share": expected_share,
            "expected": std.expected,
            "value": f.value,
            "size": f.size,
            "shrunk_share": shrunk.shrunk_share,
            "shrunk_lower": shrunk.lower,
            "shrunk_upper": shrunk.upper,
        }
    )
    return Comparison(
        measure,
        months,
        "ratio",
        _with_limits(table, f),
        funnel.limit_curves(f),
        1.0,
        adjustment,
        f.overdispersion.phi,
        f.overdispersion.tau2,
        shrunk.fit.prior_strength,
    )


def _proportion(values: pd.DataFrame, measure: Measure, months: list[date], adjustment: Adjustment) -> Comparison:
    num, den = values[f"{measure.name}__num"].astype(float), values[f"{measure.name}__den"].astype(float)
    keep = den > 0
    num, den = num[keep].to_numpy(), den[keep].to_numpy()
    f = funnel.proportion_funnel(num, den, adjustment=adjustment)
    table = pd.DataFrame(
        {
            "practice_code": values.practice_code[keep].to_numpy(),
            "numerator": num,
            "denominator": den,
            "observed_share": f.value,
            "expected_share": f.target,
            "expected": den * f.target,
            "value": f.value,
            "size": f.size,
        }
    )
    return Comparison(
        measure,
        months,
        "proportion",
        _with_limits(table, f),
        funnel.limit_curves(f),
        f.target,
        adjustment,
        f.overdispersion.phi,
        f.overdispersion.tau2,
        None,
    )


def _with_limits(table: pd.DataFrame, f: funnel.Funnel) -> pd.DataFrame:
    c95, c998 = funnel.classify(f, 0.95), funnel.classify(f, 0.998)
    return table.assign(
        lower95=f.lower95,
        upper95=f.upper95,
        lower998=f.lower998,
        upper998=f.upper998,
        z=f.z_adjusted,
        position95=c95.position,
        position998=c998.position,
        beyond_lower95=c95.beyond_lower,
        beyond_lower998=c998.beyond_lower,
    )
