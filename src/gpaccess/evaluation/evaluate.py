"""An ICB's "what worked": for any support and for each action type, the supported practices against matched
comparison practices, and the rows of its aggregate return (DESIGN "Evaluation data").

- The ICB's report estimates "any support" and each action type received by at least `report_min` (20) of its
  practices; a type with fewer reads "too few in this ICB" and points to the national estimate.
- Its aggregate return carries every action type (and any support) received by at least `return_min` (5)
  practices: the estimate, its interval and standard error, and the practices rounded to 5; no practice named.
- The national version pools the returns (pooling.py) and shows types with at least 20 practices pooled.

Each estimate states its outcome's scale: a rate per 1,000 patients is modelled on the log scale and reported
as a percentage change; a share is modelled as a proportion and reported in percentage points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gpaccess.evaluation.comparators import MatchSettings, match, pre_period_features
from gpaccess.evaluation.did import EstimationError, before_after, staggered_att
from gpaccess.evaluation.records import ANY_SUPPORT, SupportRecord, action_types, first_starts

REPORT_MIN = 20
RETURN_MIN = 5
NATIONAL_MIN = 20
ROUND_TO = 5
PRE_MONTHS = 6
ESTIMATED, TOO_FEW, NOT_ESTIMATED = "estimated", "too few in this ICB", "not estimated"


@dataclass(frozen=True)
class Outcome:
    """The measure an evaluation reads, and how its effect is put (`kind` as in measures/definitions)."""

    name: str
    title: str
    kind: str  # "rate_per_1000" | "share"

    @property
    def unit(self) -> str:
        return "% change" if self.kind == "rate_per_1000" else "percentage points"

    def model_value(self, value: pd.Series) -> pd.Series:
        """The monthly value on the model's scale: the log of a rate (a relative effect), a share as it is."""
        v = value.astype(float)
        return np.log(v.where(v > 0)) if self.kind == "rate_per_1000" else v

    def reported(self, coefficient: float | None) -> float | None:
        if coefficient is None or not math.isfinite(coefficient):
            return None
        return 100.0 * math.expm1(coefficient) if self.kind == "rate_per_1000" else 100.0 * coefficient


@dataclass(frozen=True)
class EvaluationSettings:
    report_min: int = REPORT_MIN
    return_min: int = RETURN_MIN
    pre_months: int = PRE_MONTHS  # at most this many months before the first start describe a practice
    matching: MatchSettings = field(default_factory=MatchSettings)


@dataclass(frozen=True)
class Estimate:
    action: str
    status: str  # ESTIMATED | TOO_FEW | NOT_ESTIMATED
    practices: int  # the ICB's practices that received it
    matched: int = 0  # of them, in the estimate
    comparators: int = 0
    from_region: int = 0  # comparators from elsewhere in the region (support unknown)
    unmatched: int = 0
    coefficient: float | None = None  # model scale
    std_error: float | None = None
    coefficient_lower: float | None = None
    coefficient_upper: float | None = None
    effect: float | None = None  # reported scale (Outcome.unit)
    lower: float | None = None
    upper: float | None = None
    supported_change: float | None = None  # before/after, reported scale
    comparison_change: float | None = None
    note: str = ""
    balance: pd.DataFrame | None = None

    @property
    def shown(self) -> bool:
        """In the ICB's report with its estimate (not "too few")."""
        return self.status == ESTIMATED


@dataclass
class IcbEvaluation:
    icb_code: str
    outcome: Outcome
    months: list[str]  # the panel's months
    estimates: list[Estimate]
    supported: int  # practices of the ICB with any support on record
    not_in_store: int  # supported practices on record without outcome data in the store
    limitations: list[str] = field(default_factory=list)

    def return_rows(self, return_min: int = RETURN_MIN) -> pd.DataFrame:
        """The aggregate return: every estimated type with at least `return_min` practices; practices rounded
        to 5; no practice named."""
        rows = [
            {
                "icb_code": self.icb_code,
                "outcome": self.outcome.name,
                "unit": self.outcome.unit,
                "action": e.action,
                "practices": round_to_5(e.matched),
                "effect": e.effect,
                "lower": e.lower,
                "upper": e.upper,
                "coefficient": e.coefficient,
                "std_error": e.std_error,
                "first_month": self.months[0] if self.months else "",
                "last_month": self.months[-1] if self.months else "",
            }
            for e in self.estimates
            if e.coefficient is not None and e.practices >= return_min and e.matched >= return_min
        ]
        return pd.DataFrame(rows, columns=RETURN_COLUMNS)


RETURN_COLUMNS = [
    "icb_code",
    "outcome",
    "unit",
    "action",
    "practices",
    "effect",
    "lower",
    "upper",
    "coefficient",
    "std_error",
    "first_month",
    "last_month",
]


def round_to_5(n: int) -> int:
    """Counts of practices in anything national are rounded to 5 (DESIGN "National and public")."""
    return int(ROUND_TO * math.floor(n / ROUND_TO + 0.5))


def evaluate_icb(
    panel: pd.DataFrame,
    directory: pd.DataFrame,
    support: Sequence[SupportRecord],
    icb_code: str,
    outcome: Outcome,
    settings: EvaluationSettings | None = None,
    context: pd.DataFrame | None = None,
) -> IcbEvaluation:
    """Estimate what worked in one ICB. `panel`: practice_code, month (YYYY-MM), value (the outcome's monthly
    value), patients; `directory`: practice_code, icb_code, region_code, supplier (every practice the store
    holds: comparators may come from the region); `context`: practice_code, imd_score where loaded."""
    cfg = settings or EvaluationSettings()
    panel = panel.assign(y=outcome.model_value(panel["value"]))
    months = sorted(panel.month.unique())
    icb_practices = set(directory.loc[directory.icb_code == icb_code, "practice_code"])
    in_store = set(panel.practice_code)
    everyone_supported = {r.practice_code for r in support}
    mine = [r for r in support if r.practice_code in icb_practices]
    not_in_store = len({r.practice_code for r in support if r.practice_code not in in_store})
    info = directory.set_index("practice_code")[["icb_code", "region_code", "supplier"]]
    if context is not None and "imd_score" in context.columns:
        info = info.join(context.set_index("practice_code")[["imd_score"]], how="left")
    groups = [(ANY_SUPPORT, None), *((a, a) for a in action_types(mine))]
    estimates = []
    for label, action in groups:
        starts = first_starts(mine, action)
        estimates.append(
            _estimate(panel, months, info, starts, everyone_supported, label, outcome, cfg)
            if len(starts) >= cfg.return_min
            else Estimate(label, TOO_FEW, len(starts), note=TOO_FEW_NOTE)
        )
    result = IcbEvaluation(icb_code, outcome, months, estimates, len(first_starts(mine)), not_in_store)
    result.limitations = limitations(result)
    return result


TOO_FEW_NOTE = f"fewer than {REPORT_MIN} of the ICB's practices received it: see the national estimate"


def _estimate(
    panel: pd.DataFrame,
    months: list[str],
    info: pd.DataFrame,
    starts: dict[str, str],
    supported: set[str],
    label: str,
    outcome: Outcome,
    cfg: EvaluationSettings,
) -> Estimate:
    n = len(starts)
    pre = [m for m in months if m < min(starts.values())][-cfg.pre_months :]
    if not pre:
        return Estimate(label, NOT_ESTIMATED, n, note="no month before the first support is in the store")
    features = info.join(pre_period_features(panel, pre), how="inner")
    matching = match(features, starts, supported, cfg.matching)
    matched = {c: starts[c] for c in matching.matched}
    if not matched:
        return Estimate(label, NOT_ESTIMATED, n, unmatched=len(matching.unmatched), note="no comparison practice")
    try:
        fit = staggered_att(panel, matched, matching.comparators)
    except EstimationError as exc:
        return Estimate(label, NOT_ESTIMATED, n, unmatched=len(matching.unmatched), note=str(exc))
    ba = before_after(panel, matched, matching.pairs)
    status = ESTIMATED if n >= cfg.report_min else TOO_FEW  # DESIGN: types received by at least 20 practices
    return Estimate(
        action=label,
        status=status,
        practices=n,
        matched=fit.supported,
        comparators=fit.comparators,
        from_region=matching.from_region,
        unmatched=len(matching.unmatched),
        coefficient=fit.coefficient,
        std_error=fit.std_error,
        coefficient_lower=fit.lower,
        coefficient_upper=fit.upper,
        effect=outcome.reported(fit.coefficient),
        lower=outcome.reported(fit.lower),
        upper=outcome.reported(fit.upper),
        supported_change=outcome.reported(ba.supported_change),
        comparison_change=outcome.reported(ba.comparison_change),
        note="" if status == ESTIMATED else TOO_FEW_NOTE,
        balance=matching.balance,
    )


def limitations(result: IcbEvaluation) -> list[str]:
    out = [
        "Comparison practices are matched on what the store holds (the outcome before support, list size, "
        "deprivation where loaded, supplier); practices may differ in ways it does not hold.",
        "The estimate assumes that without support the supported practices would have moved as their comparison "
        "practices did; the trend before support, in the table of how alike they are, is the check offered here.",
        "Practices that received several action types count under each; an action type's estimate is the "
        "change with that support, alongside whatever else they received.",
    ]
    if any(e.from_region for e in result.estimates):
        out.append(
            "Some comparison practices are elsewhere in the region: whether they received support is not known "
            "here, which would make an effect look smaller."
        )
    if result.not_in_store:
        out.append(f"{result.not_in_store} supported practice(s) on record have no outcome data in the store.")
    if any(e.unmatched for e in result.estimates):
        out.append("Supported practices with no close comparison practice are left out of the estimate.")
    return out
