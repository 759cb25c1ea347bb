"""The October 2021 criteria as named, configurable rules (domain.md A1).

Each rule says, for every practice of the ICB, whether it is met, why in plain English with the numbers, and
how strong the evidence is on a z-like scale (how far past the line the practice sits), so that selection under
the cap can be explained. Reasons say "lower than expected for its appointment mix", never "worse": there is
no face-to-face target (DESIGN: 'Face-to-face criterion').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from gpaccess.cohort.local_view import latest_local
from gpaccess.measures.fair import Comparison
from gpaccess.statistics import funnel
from gpaccess.statistics.funnel import Z95


@dataclass(frozen=True)
class CriteriaSettings:
    f2f_method: Literal["funnel", "shrunk"] = "funnel"
    f2f_level: float = 0.95  # 0.95 (default) or 0.998
    baseline_threshold: float = 1.0  # appointments per 1,000 below this share of the baseline year's
    local_top_share: float = 0.2  # "highest" 111 / A&E use: above the level of this share of the ICB's practices
    local_111_indicator: str = "nhs111_in_hours_per_1000"
    local_ae_indicator: str = "ae_attendances_per_1000"
    enabled: tuple[str, ...] = ("f2f_gp_low", "appointments_below_baseline", "high_111_use", "high_ae_use")


@dataclass(frozen=True)
class Verdict:
    met: bool
    assessed: bool  # False: the data to judge it are not loaded (never counted as met)
    reason: str
    evidence: float = float("nan")


@dataclass
class Context:
    """What the rules look at for one ICB: its practices' measures, the national comparison, local data."""

    table: pd.DataFrame  # the ICB's practices with national measures (one row each)
    f2f: Comparison
    window: str
    local: pd.DataFrame = field(default_factory=pd.DataFrame)  # practice_code, indicator, period, value
    quality: pd.DataFrame | None = None  # the session's data-quality flags (measures/quality.py), if at hand


Rule = Callable[[Context, CriteriaSettings], dict[str, Verdict]]


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 else f"{x:.1%}"


def f2f_gp_low(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
    """GP face-to-face share lower than expected for the practice's own appointment mix (compared nationally)."""
    comp = ctx.f2f.table.set_index("practice_code")
    level = "95%" if cfg.f2f_level == 0.95 else "99.8%"
    out = {}
    for code in ctx.table.practice_code:
        if code not in comp.index:
            out[code] = Verdict(False, False, "no GP appointments with a known mode in the window")
            continue
        r = comp.loc[code]
        head = (
            f"GP face-to-face share {_pct(r.observed_share)} over {ctx.window}; "
            f"expected {_pct(r.expected_share)} for its appointment mix"
        )
        if cfg.f2f_method == "funnel":
            beyond = r.beyond_lower95 if cfg.f2f_level == 0.95 else r.beyond_lower998
            lower = r.lower95 if cfg.f2f_level == 0.95 else r.lower998
            met = bool(beyond > 0)
            where = f"below the lower {level} funnel limit" if met else f"within the {level} funnel limits"
            out[code] = Verdict(
                met, True, f"{head}; observed ÷ expected {r.value:.2f} (limit {lower:.2f}): {where}", _finite(beyond)
            )
        else:
            met = bool(r.shrunk_upper < r.expected_share)
            z = (r.expected_share - r.shrunk_share) / max((r.shrunk_upper - r.shrunk_lower) / (2 * Z95), 1e-9)
            where = "credibly lower than expected" if met else "not credibly lower than expected"
            out[code] = Verdict(
                met,
                True,
                f"{head}; shrunk estimate {_pct(r.shrunk_share)} "
                f"({_pct(r.shrunk_lower)}–{_pct(r.shrunk_upper)}): {where}",
                _finite(z - Z95),
            )
    return out


# A practice with no face-to-face appointment at all sits infinitely far below the limit on the log scale; for
# ordering under the cap it is simply the strongest evidence there is, and it must be storable.
MAX_EVIDENCE = 99.0


def _finite(value: float) -> float:
    v = float(value)
    return v if math.isnan(v) or math.isfinite(v) else math.copysign(MAX_EVIDENCE, v)


def appointments_below_baseline(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
    """Appointments per 1,000 patients below the same months of the baseline year.

    Evidence is on the same footing as the face-to-face rule: observed appointments against what the baseline
    rate predicts, as a ratio funnel with additive overdispersion across the ICB's practices that have a
    baseline, so a large practice is not favoured just for its size."""
    t = ctx.table
    has = t.appts_vs_baseline.notna() & (t.baseline_rate > 0) & (t.rate__den > 0)
    expected = (t.baseline_rate * t.rate__den / 1000.0).where(has)
    beyond = pd.Series(np.nan, index=t.index)
    if has.sum() >= 3:
        f = funnel.ratio_funnel(t.rate__num[has].to_numpy(float), expected[has].to_numpy(float))
        beyond[has] = funnel.classify(f, 0.95).beyond_lower
    out = {}
    for i, r in t.iterrows():
        ratio, base, now = r.appts_vs_baseline, r.baseline_rate, r.appts_per_1000
        if not has[i]:
            out[r.practice_code] = Verdict(
                False, False, "not assessed: no practice-level baseline months loaded (see the system-level baseline)"
            )
            continue
        met = bool(ratio < cfg.baseline_threshold)
        text = (
            f"{now:.0f} appointments per 1,000 patients a month over {ctx.window}, "
            f"{ratio:.0%} of the same months of the baseline year ({base:.0f})"
        )
        out[r.practice_code] = Verdict(met, True, text + ("" if met else ": not below it"), _finite(beyond[i]))
    return out


def _local_high(indicator: str, label: str) -> Rule:
    def rule(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
        codes = list(ctx.table.practice_code)
        local = ctx.local
        rows = local[local.indicator == indicator] if not local.empty else local
        if rows.empty:
            return {
                c: Verdict(False, False, f"not assessed: no local {label} data uploaded (indicator '{indicator}')")
                for c in codes
            }
        wide, periods = latest_local(rows)
        period = periods[indicator]
        values = wide.set_index("practice_code")[indicator].reindex(codes)
        known = values.dropna()
        cut = float(np.quantile(known, 1 - cfg.local_top_share)) if len(known) else float("nan")
        q1, q3 = np.quantile(known, [0.25, 0.75]) if len(known) else (np.nan, np.nan)
        # A robust standard deviation (IQR / 1.349 for normal data), so evidence is in z-like units and can be
        # weighed against the funnel's z when the cap forces a choice.
        spread = float(q3 - q1) / 1.349 or 1.0
        out = {}
        for c in codes:
            v = values.get(c)
            if v is None or pd.isna(v):
                out[c] = Verdict(False, False, f"not assessed: no local {label} figure for this practice")
                continue
            met = bool(v > cut)
            text = (
                f"{label} {v:,.1f} (local data, {period}); the level above which the ICB's highest "
                f"{cfg.local_top_share:.0%} sit is {cut:,.1f}"
            )
            out[c] = Verdict(met, True, text, float((v - cut) / spread))
        return out

    return rule


TITLES: dict[str, str] = {
    "f2f_gp_low": "GP face-to-face share lower than expected for its appointment mix",
    "appointments_below_baseline": "Appointments below the same months before the pandemic",
    "high_111_use": "High in-hours NHS 111 use (local data)",
    "high_ae_use": "High A&E attendance (local data)",
}


def rule_for(name: str, cfg: CriteriaSettings) -> Rule:
    """The rule behind a criterion name; the local rules read the indicators the settings name."""
    if name == "high_111_use":
        return _local_high(cfg.local_111_indicator, "in-hours NHS 111 contacts per 1,000")
    if name == "high_ae_use":
        return _local_high(cfg.local_ae_indicator, "A&E attendances per 1,000")
    return {"f2f_gp_low": f2f_gp_low, "appointments_below_baseline": appointments_below_baseline}[name]


def evaluate(ctx: Context, cfg: CriteriaSettings) -> dict[str, dict[str, Verdict]]:
    """Every enabled rule for every practice: {rule name: {practice code: verdict}}."""
    return {name: rule_for(name, cfg)(ctx, cfg) for name in cfg.enabled}
