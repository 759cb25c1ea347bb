"""Matched comparison practices: for each supported practice, the not-supported practices most like it before
support started (DESIGN "Evaluation data"; docs/methodology.md, "Matching").

Each practice is described by its pre-period: the outcome's level (mean of the monthly outcome) and trend (its
least-squares slope a month), its list size (log of the mean registered patients) and, where the deprivation
data are loaded, its IMD score. Each of these is put on one scale (divided by its standard deviation across
the practices being matched, and the outcome's level then doubled: `FEATURE_WEIGHTS`), and the distance between
two practices is the root of the summed squared differences over the features both have, plus
`SUPPLIER_PENALTY` where both suppliers are known and differ.

For each supported practice the `k` nearest not-supported practices of its own ICB within the caliper are
taken; if fewer than `k` are that close, the rest come from not-supported-as-far-as-known practices elsewhere
in its region (whose support the installation cannot know: a limitation every report states). Matching is with
replacement (a comparator can serve several supported practices). A supported practice with no comparator
within the caliper is left out of the estimate and counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

NUMERIC_FEATURES = ("pre_level", "pre_trend", "log_list_size", "imd_score")
FEATURE_TITLES = {
    "pre_level": "outcome before support (mean)",
    "pre_trend": "outcome before support (trend a month)",
    "log_list_size": "list size (log)",
    "imd_score": "deprivation (IMD score)",
}
# The outcome's own level before support counts double: it is what regression to the mean works on.
FEATURE_WEIGHTS = {"pre_level": 2.0, "pre_trend": 1.0, "log_list_size": 1.0, "imd_score": 1.0}
SUPPLIER_PENALTY = 0.5
DEFAULT_K = 3
DEFAULT_CALIPER = 2.0
MIN_PRE_MONTHS = 2  # a comparator is seen in at least this many months before support
SAME_ICB, SAME_REGION = "same ICB", "same region"
BALANCE_COLUMNS = ["feature", "title", "supported_mean", "comparison_mean", "standardised_difference"]


@dataclass(frozen=True)
class MatchSettings:
    k: int = DEFAULT_K
    caliper: float = DEFAULT_CALIPER  # in the features' standard-deviation units


@dataclass(frozen=True)
class Matching:
    pairs: pd.DataFrame  # practice_code, comparator_code, distance, source (same ICB | same region)
    unmatched: list[str]  # supported practices with no comparator within the caliper
    balance: pd.DataFrame  # feature, title, supported_mean, comparison_mean, standardised_difference

    @property
    def matched(self) -> list[str]:
        return sorted(set(self.pairs.practice_code))

    @property
    def comparators(self) -> list[str]:
        return sorted(set(self.pairs.comparator_code))

    @property
    def from_region(self) -> int:
        """Comparators drawn from elsewhere in the region (support unknown)."""
        return int(self.pairs[self.pairs.source == SAME_REGION].comparator_code.nunique())


def pre_period_features(panel: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """Per practice over `months` (the pre-period): pre_level, pre_trend and log_list_size from the panel's
    `y` and `patients` columns (index practice_code)."""
    pre = panel[panel.month.isin(months)].dropna(subset=["y"])
    order = {m: i for i, m in enumerate(sorted(months))}
    x = pre.month.map(order).astype(float)
    pre = pre.assign(x=x)
    g = pre.groupby("practice_code")
    level = g.y.mean()
    xm = g.x.transform("mean")
    ym = g.y.transform("mean")
    sxy = ((pre.x - xm) * (pre.y - ym)).groupby(pre.practice_code).sum()
    sxx = ((pre.x - xm) ** 2).groupby(pre.practice_code).sum()
    trend = (sxy / sxx.where(sxx > 0)).reindex(level.index)
    size = np.log(g.patients.mean().where(lambda v: v > 0))
    return pd.DataFrame({"pre_level": level, "pre_trend": trend, "log_list_size": size, "pre_months": g.y.size()})


def match(
    features: pd.DataFrame,
    supported: Iterable[str],
    excluded: Iterable[str],
    settings: MatchSettings | None = None,
) -> Matching:
    """Match each supported practice to not-supported ones. `features`: index practice_code, columns icb_code,
    region_code, supplier and the numeric features present (NUMERIC_FEATURES; missing values allowed).
    `excluded`: every practice known to be supported (never a comparator), the supported ones included."""
    cfg = settings or MatchSettings()
    treated = sorted(set(supported) & set(features.index))
    never = set(excluded) | set(treated)
    pool = features[~features.index.isin(never)]
    if "pre_months" in pool.columns:
        pool = pool[pool.pre_months >= MIN_PRE_MONTHS]
    numeric = [c for c in NUMERIC_FEATURES if c in features.columns and features[c].notna().any()]
    both = features.loc[treated + list(pool.index), numeric]
    scale = both.std(ddof=0).replace(0.0, np.nan) / pd.Series({c: FEATURE_WEIGHTS[c] for c in numeric})
    z_pool = (pool[numeric] / scale).to_numpy(dtype=float)
    pairs: list[tuple[str, str, float, str]] = []
    unmatched: list[str] = []
    pool_icb = pool.icb_code.to_numpy()
    pool_region = pool.region_code.to_numpy()
    pool_supplier = pool.supplier.to_numpy() if "supplier" in pool.columns else np.full(len(pool), None)
    codes = pool.index.to_numpy()
    for code in treated:
        row = features.loc[code]
        z = (row[numeric] / scale).to_numpy(dtype=float)
        diff = z_pool - z
        ok = ~np.isnan(diff)
        dist = np.sqrt(np.where(ok, diff**2, 0.0).sum(axis=1))
        dist[~ok.any(axis=1)] = np.inf
        supplier = row.get("supplier")
        if isinstance(supplier, str) and supplier:
            differs = np.array([isinstance(s, str) and bool(s) and s != supplier for s in pool_supplier])
            dist = dist + SUPPLIER_PENALTY * differs
        close = dist <= cfg.caliper
        chosen: list[tuple[str, float, str]] = []
        for where, source in ((pool_icb == row.icb_code, SAME_ICB), (pool_region == row.region_code, SAME_REGION)):
            if source == SAME_REGION:
                where = where & (pool_icb != row.icb_code)
            idx = np.flatnonzero(where & close)
            idx = idx[np.argsort(dist[idx], kind="stable")][: cfg.k - len(chosen)]
            chosen += [(str(codes[i]), float(dist[i]), source) for i in idx]
            if len(chosen) >= cfg.k:
                break
        if not chosen:
            unmatched.append(code)
        pairs += [(code, c, d, s) for c, d, s in chosen]
    frame = pd.DataFrame(pairs, columns=["practice_code", "comparator_code", "distance", "source"])
    return Matching(frame, unmatched, _balance(features, frame, numeric, list(pool.index)))


def _balance(features: pd.DataFrame, pairs: pd.DataFrame, numeric: list[str], pool: list[str]) -> pd.DataFrame:
    """Each feature's mean among matched supported practices and among their comparators (weighted as used:
    each supported practice's comparators share its weight), and the standardised difference: the difference
    over the root of the mean of the supported practices' and the whole pool's variances before matching (so
    matching cannot shrink the yardstick)."""
    rows = []
    if pairs.empty:
        return pd.DataFrame(columns=BALANCE_COLUMNS)
    weights = 1.0 / pairs.groupby("practice_code").comparator_code.transform("count")
    treated = features.loc[sorted(set(pairs.practice_code))]
    for f in numeric:
        a = treated[f].astype(float)
        b = features.loc[pairs.comparator_code, f].astype(float).to_numpy()
        w = weights.to_numpy()
        keep = ~np.isnan(b)
        comparison = float(np.average(b[keep], weights=w[keep])) if keep.any() else float("nan")
        sd = float(np.sqrt((np.nanvar(a) + np.nanvar(features.loc[pool, f].astype(float))) / 2))
        mean_a = float(np.nanmean(a)) if a.notna().any() else float("nan")
        rows.append(
            {
                "feature": f,
                "title": FEATURE_TITLES[f],
                "supported_mean": mean_a,
                "comparison_mean": comparison,
                "standardised_difference": (mean_a - comparison) / sd if sd > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)
