"""Rank intervals by simulation — used ONLY in the methodology, to measure how certain a rank would be.

gpaccess does not publish or use ranks or league tables. This module lets docs/methodology.md say, with
figures from real data (checked by tests/docs/test_docs_rank_intervals.py), what a league table would and would
not tell an ICB. Goldstein & Spiegelhalter (JRSS A 1996; 159:385) and Marshall & Spiegelhalter (BMJ 1998) showed
that once each unit's uncertainty is carried through, a rank interval can span much of the table; on a month of
real GPAD face-to-face shares the intervals are narrow, and the methodology says why gpaccess still never ranks.
Nothing in gpaccess that produces an output may import this module (an import-linter contract); its output
must never reach a user-facing table.

Method: draw every unit's value many times from its posterior (beta) or sampling (normal) distribution,
rank the units within each draw (rank 1 = highest value unless `ascending`), and report each unit's
2.5th, 50th and 97.5th percentile of rank. Draws come from a seeded `numpy.random.Generator`, so the
worked example in the methodology can be reproduced exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RankIntervals:
    """Per-unit rank of the point estimate and percentiles of the simulated rank."""

    point_rank: FloatArray
    lower: FloatArray  # 2.5th percentile
    median: FloatArray
    upper: FloatArray  # 97.5th percentile
    draws: int


def rank_intervals_from_draws(draws: ArrayLike, point_estimate: ArrayLike, *, ascending: bool = False) -> RankIntervals:
    """Rank intervals from a (draws × units) matrix of simulated values.

    Ties within a draw share the average rank, as do ties among the point estimates.
    """
    values = np.asarray(draws, dtype=np.float64)
    point = np.asarray(point_estimate, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != point.shape[0]:
        raise ValueError(f"draws must be (draws × units) matching {point.shape[0]} units; got {values.shape}")
    sign = 1.0 if ascending else -1.0
    ranks = stats.rankdata(sign * values, axis=1)
    lower, median, upper = np.percentile(ranks, [2.5, 50, 97.5], axis=0)
    return RankIntervals(
        point_rank=stats.rankdata(sign * point),
        lower=lower,
        median=median,
        upper=upper,
        draws=values.shape[0],
    )


def rank_intervals_beta(
    alpha: ArrayLike,
    beta: ArrayLike,
    *,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    ascending: bool = False,
) -> RankIntervals:
    """Rank intervals for shares with Beta(α, β) posteriors; the point estimate is the posterior mean."""
    a, b = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    rng = np.random.default_rng(seed)
    simulated = rng.beta(a, b, size=(draws, a.shape[0]))
    return rank_intervals_from_draws(simulated, a / (a + b), ascending=ascending)


def rank_intervals_normal(
    estimate: ArrayLike,
    standard_error: ArrayLike,
    *,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    ascending: bool = False,
) -> RankIntervals:
    """Rank intervals for estimates with normal sampling distributions N(estimate, se²)."""
    mean = np.asarray(estimate, dtype=np.float64)
    se = np.asarray(standard_error, dtype=np.float64)
    rng = np.random.default_rng(seed)
    simulated = mean + se * rng.standard_normal(size=(draws, mean.shape[0]))
    return rank_intervals_from_draws(simulated, mean, ascending=ascending)


__all__ = ["RankIntervals", "rank_intervals_beta", "rank_intervals_from_draws", "rank_intervals_normal"]
