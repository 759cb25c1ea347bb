"""The national "what worked": ICBs' aggregate returns pooled by inverse variance (DESIGN "Evaluation data").

Each return row is one ICB's estimate for one action type on the model's scale (`coefficient`, `std_error`).
For each outcome and action type the pooled estimate is the inverse-variance weighted mean (a fixed-effect
pool: each ICB's estimate weighted by 1 / its squared standard error), with standard error 1 / sqrt(sum of the
weights) and a 95% normal interval. Cochran's Q and I² say how much the ICBs' estimates differ beyond chance:
a high I² means the average hides real differences between ICBs. Types with fewer than `NATIONAL_MIN` practices
pooled (the returns' rounded counts added up) are listed as too few. No practice is named anywhere: the returns
carry none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gpaccess.errors import InputFileError, Problem
from gpaccess.evaluation.evaluate import NATIONAL_MIN, RETURN_COLUMNS, Outcome

Z95 = 1.959963984540054
POOLED_COLUMNS = [
    "outcome",
    "unit",
    "action",
    "icbs",
    "practices",
    "effect",
    "lower",
    "upper",
    "coefficient",
    "std_error",
    "i_squared",
    "status",
]


@dataclass(frozen=True)
class Pooled:
    coefficient: float
    std_error: float
    q: float
    i_squared: float  # 0 to 1

    @property
    def lower(self) -> float:
        return self.coefficient - Z95 * self.std_error

    @property
    def upper(self) -> float:
        return self.coefficient + Z95 * self.std_error


def inverse_variance(estimates: Iterable[float], std_errors: Iterable[float]) -> Pooled:
    b = [float(x) for x in estimates]
    s = [float(x) for x in std_errors]
    if not b or any(not (v > 0) for v in s):
        raise ValueError("pooling needs at least one estimate, each with a positive standard error")
    w = [1.0 / v**2 for v in s]
    total = sum(w)
    pooled = sum(wi * bi for wi, bi in zip(w, b, strict=True)) / total
    q = sum(wi * (bi - pooled) ** 2 for wi, bi in zip(w, b, strict=True))
    df = len(b) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 and df > 0 else 0.0
    return Pooled(pooled, 1.0 / math.sqrt(total), q, i2)


def read_returns(paths: Iterable[Path]) -> pd.DataFrame:
    """ICBs' aggregate returns, as written by `gpaccess evaluate` (one CSV each)."""
    frames, problems = [], []
    for path in paths:
        frame = pd.read_csv(path, dtype={"icb_code": str, "action": str, "outcome": str})
        missing = [c for c in RETURN_COLUMNS if c not in frame.columns]
        problems += [Problem(str(path), 1, c, "a column of the evaluation return") for c in missing]
        frames.append(frame)
    if problems:
        raise InputFileError(problems, "not an evaluation return (written by `gpaccess evaluate`)")
    if not frames:
        return pd.DataFrame(columns=RETURN_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def pool_returns(returns: pd.DataFrame, national_min: int = NATIONAL_MIN) -> pd.DataFrame:
    """One row per outcome and action type: the pooled estimate (reported scale and model scale), the ICBs
    and practices pooled, I² and whether it is shown ("estimated") or "too few practices pooled"."""
    rows = []
    usable = returns.dropna(subset=["coefficient", "std_error"])
    usable = usable[usable.std_error > 0]
    for (name, unit, action), g in usable.groupby(["outcome", "unit", "action"], sort=True):
        p = inverse_variance(g.coefficient, g.std_error)
        kind = "rate_per_1000" if unit == "% change" else "share"
        out = Outcome(str(name), str(name), kind)
        practices = int(g.practices.sum())
        rows.append(
            {
                "outcome": name,
                "unit": unit,
                "action": action,
                "icbs": int(g.icb_code.nunique()),
                "practices": practices,
                "effect": out.reported(p.coefficient),
                "lower": out.reported(p.lower),
                "upper": out.reported(p.upper),
                "coefficient": p.coefficient,
                "std_error": p.std_error,
                "i_squared": p.i_squared,
                "status": "estimated" if practices >= national_min else "too few practices pooled",
            }
        )
    return pd.DataFrame(rows, columns=POOLED_COLUMNS)
