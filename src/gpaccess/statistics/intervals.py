"""Confidence intervals for a proportion: Wilson's score interval (Wilson 1927; Newcombe 1998, method 3).

Used by the public publication: every share is shown with its interval. Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Z95 = 1.959963984540054


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, z: float = Z95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lower and upper bounds of the Wilson score interval for numerator ÷ denominator (NaN where the
    denominator is 0 or missing). Never outside [0, 1]."""
    x = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    bad = ~(n > 0)
    lower = np.where(bad, np.nan, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(bad, np.nan, np.clip(centre + half, 0.0, 1.0))
    return lower, upper
