"""The October 2021 criteria as named, configurable rules (domain.md A1).

Each rule gives every practice of the ICB a status — met, near the limit, not met, or not assessed — with a
plain-English reason holding the numbers, and its evidence on one scale for every criterion (DESIGN "Cohort
rules"): the distance past the rule's 99.8% funnel limit in z units, positive further past (for "low" and "high"
rules alike), negative inside. So ordering by evidence means the same whatever the criterion.

* Face-to-face: the national log-odds comparison (`measures/fair.py`), met below the lower 99.8% limit, near
  the limit between the 95% and 99.8% limits. Reasons say "lower than expected for its appointment mix" only
  when the practice is past a limit, never "worse": there is no face-to-face target.
* Baseline: appointments in the window against what the practice's own baseline-year rate predicts (target 1),
  with the spread taken from every reference practice in the store around the national change
  (`measures.fair.baseline_comparison`), met below the lower 99.8% limit.
* Local (NHS 111, A&E): each practice's rate per 1,000 patients a month against the ICB's own practices through
  the same overdispersed funnel (list size × months as exposure, Poisson counts), met beyond the upper 99.8%
  limit; optionally against a deprivation-adjusted expectation (a Poisson model on the IMD score). A local
  criterion is not assessed for the ICB unless at least half its eligible practices, and at least 10, have a
  value.

A criterion that was not assessed is `CriterionStatus.NOT_ASSESSED`, never "not met".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd

from gpaccess.cohort.local_view import latest_local
from gpaccess.measures.fair import Comparison
from gpaccess.statistics import funnel, poisson
from gpaccess.statistics.funnel import Z95, Z998
from gpaccess.storage.periods import period_months


class CriterionStatus(StrEnum):
    """A practice's standing on one criterion. Stored and exported as these words."""

    MET = "met"  # past the 99.8% limit
    NEAR = "near the limit"  # between the 95% and 99.8% limits: listed, not met
    NOT_MET = "not met"
    NOT_ASSESSED = "not assessed"  # too little data to judge: neither met nor unmet


@dataclass(frozen=True)
class CriteriaSettings:
    f2f_method: Literal["funnel", "shrunk"] = "funnel"
    f2f_level: float = 0.998  # the limit the face-to-face rule is met beyond: 0.998 (DESIGN) or 0.95
    baseline_threshold: float = 1.0  # the baseline rule's target: this share of the baseline year's rate
    local_111_indicator: str = "nhs111_in_hours_per_1000"
    local_ae_indicator: str = "ae_attendances_per_1000"
    local_min_share: float = 0.5  # a local criterion is assessed when this share of eligible practices has a value
    local_min_practices: int = 10  # ... and at least this many
    local_deprivation: bool = False  # compare local rates with a deprivation-adjusted expectation
    enabled: tuple[str, ...] = ("f2f_gp_low", "appointments_below_baseline", "high_111_use", "high_ae_use")


@dataclass(frozen=True)
class Verdict:
    status: CriterionStatus
    reason: str
    evidence: float = float("nan")  # z units past the 99.8% limit; NaN when not assessed

    @property
    def met(self) -> bool:
        return self.status is CriterionStatus.MET

    @property
    def assessed(self) -> bool:
        return self.status is not CriterionStatus.NOT_ASSESSED

    @property
    def near(self) -> bool:
        return self.status is CriterionStatus.NEAR


def not_assessed(reason: str) -> Verdict:
    return Verdict(CriterionStatus.NOT_ASSESSED, reason)


@dataclass
class Context:
    """What the rules look at for one ICB: its practices' measures, the national comparisons, local data."""

    table: pd.DataFrame  # the ICB's practices with national measures (one row each)
    f2f: Comparison
    window: str
    local: pd.DataFrame = field(default_factory=pd.DataFrame)  # practice_code, indicator, period, value
    quality: pd.DataFrame | None = None  # the session's data-quality flags (measures/quality.py), if at hand
    baseline: pd.DataFrame | None = None  # measures.fair.baseline_comparison: the national baseline funnel
    imd: pd.DataFrame | None = None  # practice_code, imd_score (for the optional deprivation adjustment)
    eligible: set[str] | None = None  # practices without a data-quality exclusion (set by `select`)


Rule = Callable[[Context, CriteriaSettings], dict[str, Verdict]]


def _pct(x: float) -> str:
    return f"{x:.0%}" if x >= 0.1 else f"{x:.1%}"


def _status(beyond_998: float, beyond_95: float) -> CriterionStatus:
    if beyond_998 > 0:
        return CriterionStatus.MET
    return CriterionStatus.NEAR if beyond_95 > 0 else CriterionStatus.NOT_MET


# A practice with no face-to-face appointment at all sits infinitely far below the limit; for ordering under
# the cap it is simply the strongest evidence there is, and it must be storable.
MAX_EVIDENCE = 99.0


def _finite(value: float) -> float:
    v = float(value)
    return v if math.isnan(v) or math.isfinite(v) else math.copysign(MAX_EVIDENCE, v)


def f2f_gp_low(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
    """GP face-to-face share lower than expected for the practice's own appointment mix (compared nationally)."""
    comp = ctx.f2f.table.set_index("practice_code")
    out = {}
    for code in ctx.table.practice_code:
        if code not in comp.index:
            out[code] = not_assessed("not assessed: no GP appointments with a known mode in the window")
            continue
        r = comp.loc[code]
        head = (
            f"GP face-to-face share {_pct(r.observed_share)} over {ctx.window}; "
            f"expected {_pct(r.expected_share)} for its appointment mix"
        )
        if cfg.f2f_method == "shrunk":
            out[code] = _shrunk_verdict(r, head)
            continue
        b998, b95 = float(r.beyond_lower998), float(r.beyond_lower95)
        if cfg.f2f_level == 0.95:  # the 95% limit chosen as the rule: met there, no near-the-limit band
            status = CriterionStatus.MET if b95 > 0 else CriterionStatus.NOT_MET
        else:
            status = _status(b998, b95)
        where = {
            CriterionStatus.MET: "lower than expected for its appointment mix: below the lower "
            + ("95%" if cfg.f2f_level == 0.95 else "99.8%")
            + " funnel limit",
            CriterionStatus.NEAR: "between the lower 95% and 99.8% funnel limits: near the limit, not met",
            CriterionStatus.NOT_MET: "within the funnel limits: no different from expected",
        }[status]
        text = f"{head}; observed ÷ expected {r.value:.2f} (99.8% limit {r.lower998:.2f}): {where}"
        if status is not CriterionStatus.NOT_MET:
            text += _f2f_context(ctx, code)
        out[code] = Verdict(status, text, _finite(b998))
    return out


def _shrunk_verdict(r, head: str) -> Verdict:
    met = bool(r.shrunk_upper < r.expected_share)
    z = (r.expected_share - r.shrunk_share) / max((r.shrunk_upper - r.shrunk_lower) / (2 * Z95), 1e-9)
    where = "credibly lower than expected" if met else "not credibly lower than expected"
    text = f"{head}; shrunk estimate {_pct(r.shrunk_share)} ({_pct(r.shrunk_lower)}–{_pct(r.shrunk_upper)}): {where}"
    return Verdict(CriterionStatus.MET if met else CriterionStatus.NOT_MET, text, _finite(z - Z998))


# Context added to a face-to-face reason past a limit: what else in the figures may explain it.
HIGH_VIDEO_SHARE = 0.15  # and at least 1.5 times the ICB's median
NOTABLE_UNKNOWN_MODE = 0.05


def _f2f_context(ctx: Context, code: str) -> str:
    row = ctx.table.set_index("practice_code").loc[code]
    notes = []
    video = row.get("video_online_share")
    if video is not None and not pd.isna(video):
        median = float(ctx.table.video_online_share.median())
        if video >= HIGH_VIDEO_SHARE and video >= 1.5 * median:
            notes.append(
                f"video/online {_pct(video)} of its appointments with a known mode (ICB median {_pct(median)}): "
                "a high share suggests an online-triage model, whose contacts are recorded as remote"
            )
    unknown = row.get("unknown_mode_share")
    if unknown is not None and not pd.isna(unknown) and unknown >= NOTABLE_UNKNOWN_MODE:
        notes.append(f"Unknown mode {_pct(unknown)} of its appointments (left out of the share)")
    if ctx.quality is not None:
        flags = ctx.quality.set_index("practice_code").quality_flags.get(code)
        if flags:
            notes.append("data-quality flags: " + "; ".join(flags))
    return "".join(f". Context: {n}" for n in notes)


def appointments_below_baseline(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
    """Appointments per 1,000 patients below the same months of the baseline year, beyond the 99.8% limit of a
    funnel whose spread comes from every reference practice in the store (national), not the ICB's."""
    comp = ctx.baseline
    if comp is None:  # hand-made inputs: the table's own practices stand in for the nation
        from gpaccess.measures.fair import baseline_comparison

        comp = baseline_comparison(ctx.table, target=cfg.baseline_threshold)
    by_code = comp.set_index("practice_code")
    out = {}
    for r in ctx.table.itertuples():
        code = r.practice_code
        if code not in by_code.index or pd.isna(by_code.loc[code, "z"]):
            out[code] = not_assessed(
                "not assessed: no practice-level baseline months loaded (see the system-level baseline)"
            )
            continue
        c = by_code.loc[code]
        status = _status(float(c.beyond_lower998), float(c.beyond_lower95))
        where = {
            CriterionStatus.MET: "below its baseline beyond the lower 99.8% funnel limit",
            CriterionStatus.NEAR: "between the lower 95% and 99.8% funnel limits: near the limit, not met",
            CriterionStatus.NOT_MET: "within the funnel limits" if c.ratio < 1 else "not below its baseline",
        }[status]
        text = (
            f"{r.appts_per_1000:.0f} appointments per 1,000 patients a month over {ctx.window}, "
            f"{c.ratio:.0%} of the same months of the baseline year ({r.baseline_rate:.0f}; "
            f"99.8% limit {c.lower998:.0%}): {where}"
        )
        out[code] = Verdict(status, text, _finite(c.beyond_lower998))
    return out


def _local_high(indicator: str, label: str) -> Rule:
    def rule(ctx: Context, cfg: CriteriaSettings) -> dict[str, Verdict]:
        codes = list(ctx.table.practice_code)
        local = ctx.local
        rows = local[local.indicator == indicator] if not local.empty else local
        if rows.empty:
            return {
                c: not_assessed(f"not assessed: no local {label} data uploaded (indicator '{indicator}')")
                for c in codes
            }
        wide, periods = latest_local(rows)
        period = periods[indicator]
        values = wide.set_index("practice_code")[indicator].reindex(codes)
        patients = ctx.table.set_index("practice_code").patients.reindex(codes)
        eligible = ctx.eligible if ctx.eligible is not None else set(codes)
        usable = values.notna() & (patients > 0)
        with_value = int(sum(usable[c] for c in codes if c in eligible))
        needed = max(cfg.local_min_practices, math.ceil(cfg.local_min_share * len(eligible)))
        if with_value < needed:
            why = (
                f"not assessed for the ICB: {with_value} of its {len(eligible)} eligible practices have a local "
                f"{label} figure for {period} (at least {needed} needed: half, and at least "
                f"{cfg.local_min_practices})"
            )
            return {c: not_assessed(why) for c in codes}
        fit = local_funnel(
            values.to_numpy(float),
            patients.to_numpy(float),
            months=period_months(period),
            reference=np.array([usable[c] and c in eligible for c in codes]),
            imd=_imd_for(ctx, codes) if cfg.local_deprivation else None,
        )
        out = {}
        for i, c in enumerate(codes):
            if not usable[c]:
                why = "no local figure for this practice" if pd.isna(values[c]) else "no list size for the window"
                out[c] = not_assessed(f"not assessed: {why}")
                continue
            za = float(fit.z_adjusted[i])
            status = _status(za - Z998, za - Z95)
            higher = (
                "higher than its deprivation predicts" if cfg.local_deprivation else "higher than the ICB's practices"
            )
            where = {
                CriterionStatus.MET: f"{higher}: above the upper 99.8% funnel limit",
                CriterionStatus.NEAR: "between the upper 95% and 99.8% funnel limits: near the limit, not met",
                CriterionStatus.NOT_MET: "within the funnel limits",
            }[status]
            expected = float(fit.expected_rate[i])
            basis = "for its deprivation" if cfg.local_deprivation else "across the ICB's practices"
            text = f"{label} {values[c]:,.1f} (local data, {period}); expected {expected:,.1f} {basis}: {where}"
            out[c] = Verdict(status, text, _finite(za - Z998))
        return out

    return rule


@dataclass(frozen=True)
class LocalFit:
    expected_rate: np.ndarray  # per 1,000 patients a month
    z_adjusted: np.ndarray  # NaN where a practice has no value or list size
    phi: float
    tau2: float


def local_funnel(
    rate: np.ndarray,
    patients: np.ndarray,
    *,
    months: int,
    reference: np.ndarray,
    imd: np.ndarray | None = None,
) -> LocalFit:
    """Local rates per 1,000 patients a month as Poisson counts (rate × list size / 1,000 × months) against the
    reference practices' pooled rate — or, with `imd`, a Poisson regression of the counts on the IMD score
    (log link, exposure as offset) — on the log scale with additive overdispersion fitted on the reference."""
    exposure = np.where(patients > 0, patients, np.nan) / 1000.0 * months
    observed = rate * exposure
    has = np.isfinite(observed) & np.isfinite(exposure)
    ref = reference & has
    if imd is not None and np.isfinite(imd[ref]).sum() >= 3:
        ok = ref & np.isfinite(imd)
        model = poisson.fit_log_linear(observed[ok], exposure[ok], imd[ok])
        expected_rate = model.rate(np.where(np.isfinite(imd), imd, float(np.nanmedian(imd[ok]))))
    else:
        expected_rate = np.full(rate.shape, observed[ref].sum() / exposure[ref].sum())
    expected = expected_rate * exposure
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(has, np.log(np.maximum(observed, 0.5) / expected), np.nan)
        s = np.where(has, 1 / np.sqrt(expected), np.nan)
    f = funnel.scale_funnel(y, s, reference=ref)
    return LocalFit(expected_rate, f.z_adjusted, f.overdispersion.phi, f.overdispersion.tau2)


def _imd_for(ctx: Context, codes: list[str]) -> np.ndarray:
    if ctx.imd is None or ctx.imd.empty:
        return np.full(len(codes), np.nan)
    return ctx.imd.set_index("practice_code").imd_score.reindex(codes).to_numpy(float)


TITLES: dict[str, str] = {
    "f2f_gp_low": "GP face-to-face share lower than expected for its appointment mix",
    "appointments_below_baseline": "Appointments below the same months before the pandemic",
    "high_111_use": "High in-hours NHS 111 use (local data)",
    "high_ae_use": "High A&E attendance (local data)",
}
# Neutral names for a criterion's reason when it is not met: a practice within its limits is never described
# by the criterion's title ("lower than expected").
LABELS: dict[str, str] = {
    "f2f_gp_low": "GP face-to-face share against its appointment mix",
    "appointments_below_baseline": "Appointments against the same months before the pandemic",
    "high_111_use": "In-hours NHS 111 use (local data)",
    "high_ae_use": "A&E attendance (local data)",
}


def rule_for(name: str, cfg: CriteriaSettings) -> Rule:
    """The rule behind a criterion name; the local rules read the indicators the settings name."""
    if name == "high_111_use":
        return _local_high(cfg.local_111_indicator, "in-hours NHS 111 contacts per 1,000 patients a month")
    if name == "high_ae_use":
        return _local_high(cfg.local_ae_indicator, "A&E attendances per 1,000 patients a month")
    return {"f2f_gp_low": f2f_gp_low, "appointments_below_baseline": appointments_below_baseline}[name]


def evaluate(ctx: Context, cfg: CriteriaSettings) -> dict[str, dict[str, Verdict]]:
    """Every enabled rule for every practice: {rule name: {practice code: verdict}}."""
    return {name: rule_for(name, cfg)(ctx, cfg) for name in cfg.enabled}
