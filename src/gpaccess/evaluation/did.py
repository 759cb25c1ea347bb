"""The estimator: staggered difference-in-differences through pyfixest, and the before-and-after comparison
that shows regression to the mean (docs/methodology.md, "The estimator").

Practices start support in different months. Two-way fixed effects fitted to all of them at once compare
later starters with earlier ones already treated and are biased when effects differ by start or over time, so
the estimate is Gardner's two-stage difference-in-differences (pyfixest's `event_study(estimator="did2s")`):
practice and month effects are fitted on the untreated practice-months (comparison practices throughout,
supported practices before their start), then the supported practices' residual after their start is the
average effect on the supported. Standard errors are cluster-robust by practice (the two-stage correction is
pyfixest's). The interval is 95%.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpaccess.errors import UserError

ESTIMATOR = "did2s"
LEVEL = 0.95
MIN_MONTHS = 2


class EstimationError(UserError):
    """The model could not be fitted to these practices (too few months or practices)."""


@dataclass(frozen=True)
class DidResult:
    coefficient: float  # on the model's scale (log of the rate, or the share)
    std_error: float
    lower: float
    upper: float
    supported: int
    comparators: int
    observations: int
    estimator: str = ESTIMATOR


def _month_numbers(months: pd.Series) -> pd.Series:
    """YYYY-MM as consecutive integers from 1 (the estimator reads 0 as "never treated")."""
    y = months.str.slice(0, 4).astype(int)
    m = months.str.slice(5, 7).astype(int)
    n = y * 12 + m
    return n - int(n.min()) + 1


def staggered_att(panel: pd.DataFrame, starts: dict[str, str], comparators: list[str]) -> DidResult:
    """The average effect on the supported practices (`starts`: practice -> first month of support) against
    `comparators`, from the panel's `y` (columns practice_code, month YYYY-MM, y)."""
    keep = set(starts) | set(comparators)
    data = panel[panel.practice_code.isin(keep)].dropna(subset=["y"])[["practice_code", "month", "y"]].copy()
    first, last = data.month.min(), data.month.max()
    # supported from the first month: no before; starting after the last month: no after (neither is a comparator)
    starts = {c: m for c, m in starts.items() if first < m <= last}
    data = data[data.practice_code.isin(set(starts) | set(comparators))]
    counts = data.groupby("practice_code").month.transform("size")
    data = data[counts >= MIN_MONTHS]  # a practice seen once is a singleton the estimator drops
    treated = sorted(set(starts) & set(data.practice_code))
    control = sorted(set(comparators) & set(data.practice_code))
    if not treated or not control:
        raise EstimationError("no supported practice with months before its support, or no comparison practice")
    t = _month_numbers(pd.concat([data.month, pd.Series(list(starts.values()), dtype=str)], ignore_index=True))
    data["t"] = t.iloc[: len(data)].to_numpy()
    start_t = dict(zip(starts, t.iloc[len(data) :].to_numpy(), strict=True))
    data["g"] = data.practice_code.map(start_t).fillna(0).astype(int)
    data["unit"] = data.practice_code.astype("category").cat.codes.astype(int)
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = pf.event_study(
                data, yname="y", idname="unit", tname="t", gname="g", cluster="unit", estimator=ESTIMATOR, att=True
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise EstimationError(f"the estimator could not be fitted: {exc}") from exc
        row = fit.tidy().iloc[0]
    coef, se = float(row["Estimate"]), float(row["Std. Error"])
    return DidResult(
        coefficient=coef,
        std_error=se,
        lower=float(row["2.5%"]),
        upper=float(row["97.5%"]),
        supported=len(treated),
        comparators=len(control),
        observations=len(data),
    )


@dataclass(frozen=True)
class BeforeAfter:
    """Mean change from before to after each supported practice's start, for the supported practices and for
    their matched comparators over the same months (model scale)."""

    supported_change: float
    comparison_change: float

    @property
    def difference(self) -> float:
        return self.supported_change - self.comparison_change


def before_after(panel: pd.DataFrame, starts: dict[str, str], pairs: pd.DataFrame) -> BeforeAfter:
    """The regression-to-the-mean comparison: practices chosen for a low figure rise on average with no support
    at all, so the supported practices' own change is set beside the change their comparators show."""
    wide = panel.pivot_table(index="practice_code", columns="month", values="y", aggfunc="mean")
    own: list[float] = []
    other: list[float] = []
    with warnings.catch_warnings():  # a comparator missing every month of one side: no change, left out
        warnings.simplefilter("ignore", RuntimeWarning)
        _changes(wide, starts, pairs, own, other)
    if not own:
        return BeforeAfter(float("nan"), float("nan"))
    return BeforeAfter(float(np.nanmean(own)), float(np.nanmean(other)))


def _changes(wide: pd.DataFrame, starts: dict[str, str], pairs: pd.DataFrame, own: list, other: list) -> None:
    months = np.array(wide.columns, dtype=str)
    for code, group in pairs.groupby("practice_code"):
        start = starts.get(str(code))
        if start is None or code not in wide.index:
            continue
        pre, post = months < start, months >= start
        if not pre.any() or not post.any():
            continue
        y = wide.loc[code].to_numpy(dtype=float)
        own.append(np.nanmean(y[post]) - np.nanmean(y[pre]))
        comp = wide.reindex(group.comparator_code).to_numpy(dtype=float)
        other.append(np.nanmean(np.nanmean(comp[:, post], axis=1) - np.nanmean(comp[:, pre], axis=1)))
