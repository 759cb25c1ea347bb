"""Association across an ICB's practices: Spearman correlations and quartile bands — pure, no I/O.

The local view (cohort/local_view.py) puts national measures and an ICB's local indicators side by side. These
functions say how two columns move together across the ICB's practices (Spearman's rank correlation, which
needs no assumption about the scale of a local indicator) and which practices sit in the lowest or highest
quarter of the ICB on one column, so that the view can point to practices where GPAD and local data tell
different stories. A band is a description of where a value sits among the ICB's practices, never a rank
shown to anyone outside the ICB.

Fewer than `MIN_PRACTICES` practices with values give no correlation and no bands: a guess is never offered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MIN_PRACTICES = 5  # fewer practices with values than this: no correlation and no quartiles
LOW, HIGH = "lowest quarter", "highest quarter"


def spearman_pairs(frame: pd.DataFrame, columns: Sequence[str], *, min_n: int = MIN_PRACTICES) -> pd.DataFrame:
    """Spearman's rho, n and two-sided p-value for every pair of `columns`, on the rows where both have values.

    Fewer than `min_n` such rows, or a column with no spread among them, gives NaN rho and p (never a guess).
    """
    out = []
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            both = frame[[a, b]].apply(pd.to_numeric, errors="coerce").dropna()
            n = len(both)
            rho = p = float("nan")
            if n >= min_n and both[a].nunique() > 1 and both[b].nunique() > 1:
                rho, p = spearman(both[a].to_numpy(dtype=float), both[b].to_numpy(dtype=float))
            out.append({"first": a, "second": b, "n": n, "rho": rho, "p_value": p})
    return pd.DataFrame(out, columns=["first", "second", "n", "rho", "p_value"])


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho (Pearson's correlation of the values' ranks, ties sharing their mean rank) and its
    two-sided p-value from Student's t with n − 2 degrees of freedom, as `scipy.stats.spearmanr` gives them.
    Written here because importing `scipy.stats` took 1.5 s of every cohort report for two lines of arithmetic."""
    from scipy import special

    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    rho = float(np.clip(np.corrcoef(rx, ry)[0, 1], -1.0, 1.0))
    dof = len(x) - 2
    if abs(rho) == 1.0:
        return rho, 0.0
    t = rho * np.sqrt(dof / ((1.0 + rho) * (1.0 - rho)))
    return rho, float(2 * special.stdtr(dof, -abs(t)))


def quartile_thresholds(values: pd.Series, *, min_n: int = MIN_PRACTICES) -> tuple[float, float] | None:
    """The 25th and 75th percentiles (linear interpolation) of the values present, or None when there are
    fewer than `min_n` values or no spread between the two."""
    present = pd.to_numeric(values, errors="coerce").dropna()
    if len(present) < min_n:
        return None
    q1, q3 = (float(x) for x in np.percentile(present.to_numpy(dtype="float64"), [25, 75]))
    return None if q1 == q3 else (q1, q3)


def quarter_bands(values: pd.Series, *, min_n: int = MIN_PRACTICES) -> pd.Series:
    """ "lowest quarter" at or below the 25th percentile, "highest quarter" at or above the 75th, else None."""
    bands = pd.Series([None] * len(values), index=values.index, dtype=object)
    limits = quartile_thresholds(values, min_n=min_n)
    if limits is None:
        return bands
    numbers = pd.to_numeric(values, errors="coerce")
    bands[numbers <= limits[0]] = LOW
    bands[numbers >= limits[1]] = HIGH
    return bands
