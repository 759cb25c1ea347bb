"""Fair comparison: expected share by appointment mix, funnel limits with overdispersion, shrunk estimates.

The engine aggregates appointments to practice × stratum (small); the statistics are pure numpy functions.
Comparison is national (every practice in the store for the window); an ICB only chooses which of those
practices it looks at (DESIGN: 'Face-to-face criterion').

The reference (stratum rates, φ, τ²) is fitted on practices without a data-quality flag (DESIGN "The comparison
reference"); every practice is then placed against it. Face-to-face shares are compared on the log-odds scale
(`casemix.log_odds_shift`: the shift in the odds from the national rates of the practice's own strata, with its
binomial standard error), net of the median shift of the reference practices on the same clinical system (its
recording of mode: domain.md B4), with additive overdispersion; observed ÷ expected and the limits are then read
back as shares. See docs/methodology.md ("The face-to-face comparison").
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from gpaccess.measures.compute import strata_counts
from gpaccess.measures.definitions import Measure
from gpaccess.measures.membership import in_codes
from gpaccess.statistics import casemix, funnel, shrinkage
from gpaccess.statistics.funnel import Z95, Z998, Adjustment, LimitCurves


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


MIN_SYSTEM_PRACTICES = 30  # reference practices a clinical system needs before its recording offset is used


def compare(
    aggregate,
    window_values: pd.DataFrame | Callable[[], pd.DataFrame],
    measure: Measure,
    months: list[date],
    adjustment: Adjustment = "additive",
    *,
    flagged: Collection[str] = (),
    systems: pd.Series | None = None,
) -> Comparison:
    """Compare every practice on one share: face-to-face shares against their own appointment mix's expected
    share (`aggregate` is the practice-month aggregate); other shares against the national proportion, from
    every practice's window values (given, or a callable that computes them only when needed).

    `flagged`: practice codes with a data-quality flag, left out of the reference. `systems`: each practice's
    clinical system (practice code -> supplier); when given, a face-to-face comparison allows for each system's
    recording of mode (the median shift of its reference practices)."""
    if measure.standardisable:
        return _standardised(aggregate, measure, months, adjustment, set(flagged), systems)
    values = window_values() if callable(window_values) else window_values
    return _proportion(values, measure, months, adjustment, set(flagged))


def _standardised(
    aggregate, measure: Measure, months: list[date], adjustment: Adjustment, flagged: set[str], systems
) -> Comparison:
    strata = strata_counts(aggregate, measure, months).to_pandas()
    strata = strata[strata.n > 0]
    # Factorised by hashing (sorted codes, as np.unique gives, but far faster on ~600,000 national rows).
    practice_idx, codes = pd.factorize(strata.practice_code, sort=True)
    stratum_idx = strata.groupby(["hcp_type", "national_category", "time_band"], sort=True).ngroup().to_numpy()
    n, r = strata.n.to_numpy(float), strata.r.to_numpy(float)
    codes = np.asarray(codes, dtype=object)
    reference = ~np.isin(codes, list(flagged))
    if not reference.any():
        reference[:] = True  # every practice flagged: the comparison still stands, on all of them
    rate = casemix.reference_rates(stratum_idx, n, r, reference[practice_idx], int(stratum_idx.max()) + 1)
    std = casemix.standardise_long(practice_idx, stratum_idx, n, r, n_practices=len(codes), reference_rate=rate)
    fit = casemix.log_odds_shift(practice_idx, stratum_idx, n, r, rate, n_practices=len(codes))
    offset = _system_offsets(codes, fit.shift, reference, systems)
    f = funnel.scale_funnel(fit.shift - offset, fit.standard_error, reference=reference, adjustment=adjustment)

    def share_at(extra: np.ndarray) -> np.ndarray:
        return casemix.share_at_shift(practice_idx, stratum_idx, n, rate, offset + extra, n_practices=len(codes))

    expected_share = share_at(np.zeros(len(codes)))
    observed_share = std.observed_share
    expected = expected_share * std.denominator
    limits = {
        name: share_at(sign * z * f.width) / expected_share
        for name, sign, z in (("lower95", -1, Z95), ("upper95", 1, Z95), ("lower998", -1, Z998), ("upper998", 1, Z998))
    }
    prior_share = np.clip(expected_share, 1e-6, 1 - 1e-6)
    # The prior strength, like the rest of the reference, is fitted on practices without a data-quality flag.
    prior = shrinkage.fit_prior_strength(std.observed[reference], std.denominator[reference], prior_share[reference])
    shrunk = shrinkage.shrink(std.observed, std.denominator, prior_share, prior_strength=prior.prior_strength)
    table = pd.DataFrame(
        {
            "practice_code": codes,
            "numerator": std.observed,
            "denominator": std.denominator,
            "observed_share": observed_share,
            "expected_share": expected_share,
            "expected": expected,
            "value": observed_share / expected_share,
            "size": expected,
            "log_odds_shift": fit.shift,
            "log_odds_se": fit.standard_error,
            "recording_offset": offset,
            "in_reference": reference,
            "shrunk_share": shrunk.shrunk_share,
            "shrunk_lower": shrunk.lower,
            "shrunk_upper": shrunk.upper,
        }
    )
    c95, c998 = funnel.positions(f.z_adjusted, 0.95), funnel.positions(f.z_adjusted, 0.998)
    table = table.assign(
        **limits,
        z=f.z_adjusted,
        position95=c95,
        position998=c998,
        beyond_lower95=-f.z_adjusted - Z95,
        beyond_lower998=-f.z_adjusted - Z998,
    )
    share0 = float(std.observed[reference].sum() / std.denominator[reference].sum())
    return Comparison(
        measure,
        months,
        "ratio",
        table,
        _log_odds_curves(expected[expected > 0], share0, f.overdispersion, adjustment),
        1.0,
        adjustment,
        f.overdispersion.phi,
        f.overdispersion.tau2,
        shrunk.fit.prior_strength,
    )


def _system_offsets(codes: np.ndarray, shift: np.ndarray, reference: np.ndarray, systems) -> np.ndarray:
    """Each practice's clinical-system recording offset on the log-odds scale: the median shift of the reference
    practices on its system minus the median of all reference practices; 0 for a system with fewer than
    MIN_SYSTEM_PRACTICES reference practices, or when systems are not given. Medians, so the few practices that
    truly differ cannot move it."""
    out = np.zeros(len(codes))
    if systems is None:
        return out
    system = pd.Series(codes).map(systems).fillna("").to_numpy(dtype=object)
    ok = reference & np.isfinite(shift)
    centre = float(np.median(shift[ok])) if ok.any() else 0.0
    for name in sorted(set(system[ok]) - {""}):
        mine = ok & (system == name)
        if mine.sum() >= MIN_SYSTEM_PRACTICES:
            out[system == name] = float(np.median(shift[mine])) - centre
    return out


def _log_odds_curves(
    expected: np.ndarray, share0: float, od: funnel.Overdispersion, adjustment: Adjustment, points: int = 200
) -> LimitCurves:
    """Limits over a grid of expected counts for a practice at the national share (for drawing the funnel; each
    practice's own limits, in the table, allow for its mix)."""
    grid = np.geomspace(max(float(expected.min()), 1.0), max(float(expected.max()), 2.0), points)
    s = 1 / np.sqrt(grid * (1 - share0))
    width = np.sqrt(s**2 + od.tau2) if adjustment == "additive" else s * np.sqrt(max(od.phi, 1.0))
    if adjustment == "none":
        width = s
    logit0 = np.log(share0 / (1 - share0))

    def at(z: float) -> np.ndarray:
        return 1 / (1 + np.exp(-np.clip(logit0 + z * width, -40.0, 40.0))) / share0

    return LimitCurves(grid, at(-Z95), at(Z95), at(-Z998), at(Z998))


def baseline_comparison(
    values: pd.DataFrame, *, target: float = 1.0, flagged: Collection[str] = (), adjustment: Adjustment = "additive"
) -> pd.DataFrame:
    """Each practice's appointments in the window against what its own baseline-year rate predicts
    (O = appointments, E = baseline rate × patient-months / 1,000), on the log scale with Poisson error, centred
    on `target` (1: the baseline itself). φ and τ² come from the reference practices (every practice of `values`
    with a baseline and no data-quality flag: pass the whole store's values for a national reference) around
    their pooled ratio — the national change since the baseline year — so a practice is compared with its own
    baseline but judged against how much practices really vary. Columns: practice_code, ratio, lower95,
    lower998, z, beyond_lower95, beyond_lower998 (NaN where the practice has no baseline)."""
    t = values
    has = (t.appts_vs_baseline.notna() & (t.baseline_rate > 0) & (t.rate__den > 0)).to_numpy()
    observed = t.rate__num.to_numpy(float)
    expected = np.where(has, t.baseline_rate.to_numpy(float) * t.rate__den.to_numpy(float) / 1000.0, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(has, np.log(np.maximum(observed, 0.5) / expected), np.nan)
        s = np.where(has, 1 / np.sqrt(expected), np.nan)
    reference = has & ~in_codes(t.practice_code, flagged)
    if reference.sum() < 2:
        reference = has
    cols = ["practice_code", "ratio", "lower95", "lower998", "z", "beyond_lower95", "beyond_lower998"]
    if has.sum() < 2:
        return pd.DataFrame({"practice_code": t.practice_code.to_numpy()}).reindex(columns=cols)
    national = float(np.log(observed[reference].sum() / expected[reference].sum()))
    centre = float(np.log(target))
    f = funnel.scale_funnel(y, s, centre=centre, reference=reference, dispersion_centre=national, adjustment=adjustment)
    return pd.DataFrame(
        {
            "practice_code": t.practice_code.to_numpy(),
            "ratio": np.exp(y),
            "lower95": np.exp(centre - Z95 * f.width),
            "lower998": np.exp(centre - Z998 * f.width),
            "z": f.z_adjusted,
            "beyond_lower95": -f.z_adjusted - Z95,
            "beyond_lower998": -f.z_adjusted - Z998,
        }
    )


def _proportion(
    values: pd.DataFrame, measure: Measure, months: list[date], adjustment: Adjustment, flagged: set[str]
) -> Comparison:
    num, den = values[f"{measure.name}__num"].astype(float), values[f"{measure.name}__den"].astype(float)
    keep = den > 0
    num, den = num[keep].to_numpy(), den[keep].to_numpy()
    reference = ~in_codes(values.practice_code[keep], flagged)
    f = funnel.proportion_funnel(num, den, adjustment=adjustment, reference=reference if reference.any() else None)
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
