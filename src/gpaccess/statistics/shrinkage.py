"""Empirical-Bayes beta-binomial shrinkage towards each practice's own expected share.

A small practice's observed share is noisy: picking the "lowest 20%" of raw shares mostly picks small
practices that were unlucky this quarter. Shrinkage damps that noise before any selection. Each
practice's prior is centred on ITS OWN expected share e_p (from indirect standardisation, so the pull is
towards "what its appointment mix predicts", never towards an ICB or national mean), and one prior
strength M, shared by all practices, measures how much practices really differ once case mix is allowed
for:

    true share π_p ~ Beta(α_p = M·e_p, β_p = M·(1 − e_p))       (prior mean e_p, prior "sample size" M)
    r_p | π_p     ~ Binomial(n_p, π_p)
    posterior     π_p | r_p ~ Beta(α_p + r_p, β_p + n_p − r_p)
    shrunk share  (α_p + r_p) / (M + n_p) = w_p·(r_p/n_p) + (1 − w_p)·e_p,  w_p = n_p / (M + n_p)

Because w_p lies in [0, 1), the shrunk share always lies between the observed share and e_p and never
past e_p. Large practices (n_p ≫ M) keep nearly their own share; small ones are pulled most.

M is fitted by maximum marginal likelihood: r_p is beta-binomial given (n_p, α_p, β_p), and we maximise
Σ_p [ln B(α_p + r_p, β_p + n_p − r_p) − ln B(α_p, β_p)] over log M (the binomial coefficients do not
depend on M). The search starts from a method-of-moments estimate: under the model
Var(r_p) = n_p e_p (1 − e_p) [1 + (n_p − 1) ρ] with intra-practice correlation ρ = 1/(M + 1), so

    ρ̂ = Σ_p [(r_p − n_p e_p)² − n_p e_p (1 − e_p)] / Σ_p n_p (n_p − 1) e_p (1 − e_p),   M̂₀ = 1/ρ̂ − 1.

When the data show no more spread than binomial noise, the likelihood keeps rising with M; the fit then
stops at the upper bound (M = 10¹⁰), which means "shrink fully to e_p", and says so (`at_upper_bound`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

LOG_M_BOUNDS = (np.log(1e-3), np.log(1e10))


@dataclass(frozen=True)
class PriorFit:
    """The fitted prior strength M and how it was reached."""

    prior_strength: float  # M
    method_of_moments_start: float  # M̂₀, where the search began
    log_likelihood: float  # marginal beta-binomial log-likelihood at M, without binomial coefficients
    converged: bool
    at_upper_bound: bool  # no overdispersion found: shrink fully to e_p


@dataclass(frozen=True)
class Shrunk:
    """Per-practice shrunk shares with credible intervals."""

    observed_share: FloatArray  # r/n (NaN when n = 0)
    expected_share: FloatArray  # e_p, the prior mean
    shrunk_share: FloatArray  # posterior mean
    lower: FloatArray  # equal-tailed credible interval
    upper: FloatArray
    weight: FloatArray  # n/(M + n): how much of its own data each practice keeps
    level: float
    fit: PriorFit


LOG_M_TOLERANCE = 1e-7  # on log M: M to about one part in ten million


def fit_prior_strength(numerator: ArrayLike, denominator: ArrayLike, expected_share: ArrayLike) -> PriorFit:
    """Fit M by maximum marginal likelihood on log M within its bounds.

    One parameter on an interval: a golden-section search, bracketed around the method-of-moments estimate
    and widened to the bounds when the maximum lies outside that bracket. Written here rather than calling
    scipy.optimize, which took half a second to import on every cohort run for a one-dimensional search."""
    r, n, e = _inputs(numerator, denominator, expected_share)
    start = method_of_moments_strength(r, n, e)
    low, high = LOG_M_BOUNDS
    log_start = float(np.clip(np.log(start), low, high))

    def negative(log_m: float) -> float:
        return -marginal_log_likelihood(r, n, e, float(np.exp(log_m)))

    # The likelihood of log M is unimodal in practice; a coarse scan finds the bracket holding its maximum
    # (and copes with a flat or monotone likelihood, whose maximum is a bound).
    grid = np.unique(np.concatenate([np.linspace(low, high, 25), [log_start]]))
    values = np.array([negative(float(g)) for g in grid])
    best = int(np.argmin(values))
    a, b = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, len(grid) - 1)])
    log_m, fun = _golden_section(negative, a, b, LOG_M_TOLERANCE)
    # With no spread beyond the binomial the likelihood keeps rising with M and flattens, at large M, below
    # the precision of the log-beta differences (their noise there is about 1e-6 of it): the upper bound
    # ("shrink fully") is then the answer whenever it is as good as the point found, within that precision.
    if values[-1] <= fun + 1e-6 * max(1.0, abs(fun)):
        log_m, fun = float(grid[-1]), float(values[-1])
    return PriorFit(
        prior_strength=float(np.exp(log_m)),
        method_of_moments_start=start,
        log_likelihood=-float(fun),
        converged=True,
        at_upper_bound=bool(np.isclose(log_m, high, atol=1e-6)),
    )


_INVERSE_PHI = (np.sqrt(5.0) - 1) / 2


def _golden_section(f: Callable[[float], float], a: float, b: float, tol: float) -> tuple[float, float]:
    """The minimum of a unimodal `f` on [a, b] to within `tol`, and its value (a textbook golden-section search:
    deterministic, and the interval shrinks by 0.618 a step)."""
    c, d = b - _INVERSE_PHI * (b - a), a + _INVERSE_PHI * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _INVERSE_PHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INVERSE_PHI * (b - a)
            fd = f(d)
    x = (a + b) / 2
    return x, f(x)


def method_of_moments_strength(numerator: ArrayLike, denominator: ArrayLike, expected_share: ArrayLike) -> float:
    """M̂₀ = 1/ρ̂ − 1 from the moment identity above; the upper bound when ρ̂ ≤ 0 (no excess spread)."""
    r, n, e = _inputs(numerator, denominator, expected_share)
    binomial_variance = n * e * (1 - e)
    excess = float(np.sum((r - n * e) ** 2 - binomial_variance))
    scale = float(np.sum(n * (n - 1) * e * (1 - e)))
    upper = float(np.exp(LOG_M_BOUNDS[1]))
    if scale <= 0 or excess <= 0:
        return upper
    rho = excess / scale
    return float(np.clip(1 / rho - 1, np.exp(LOG_M_BOUNDS[0]), upper))


def marginal_log_likelihood(
    numerator: ArrayLike, denominator: ArrayLike, expected_share: ArrayLike, prior_strength: float
) -> float:
    """Σ_p ln B(α_p + r_p, β_p + n_p − r_p) − ln B(α_p, β_p), with α_p = M e_p, β_p = M (1 − e_p)."""
    from scipy import special  # imported when used: scipy is slow to load

    r, n, e = _inputs(numerator, denominator, expected_share)
    alpha, beta = prior_strength * e, prior_strength * (1 - e)
    return float(np.sum(special.betaln(alpha + r, beta + n - r) - special.betaln(alpha, beta)))


def shrink(
    numerator: ArrayLike,
    denominator: ArrayLike,
    expected_share: ArrayLike,
    *,
    prior_strength: float | None = None,
    level: float = 0.95,
) -> Shrunk:
    """Shrink each practice's share towards its own expected share; fit M unless it is given.

    The interval's ends are the posterior Beta's quantiles: the inverse regularised incomplete beta function
    (`scipy.special.betaincinv`, which is what `scipy.stats.beta.ppf` computes, without importing scipy.stats)."""
    from scipy import special  # imported when used: scipy is slow to load

    r, n, e = _inputs(numerator, denominator, expected_share)
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1; got {level}")
    fit = _given_or_fitted(r, n, e, prior_strength)
    m = fit.prior_strength
    a_post, b_post = m * e + r, m * (1 - e) + n - r
    tail = (1 - level) / 2
    return Shrunk(
        observed_share=_share(r, n),
        expected_share=e,
        shrunk_share=a_post / (a_post + b_post),
        lower=special.betaincinv(a_post, b_post, tail),
        upper=special.betaincinv(a_post, b_post, 1 - tail),
        weight=n / (m + n),
        level=level,
        fit=fit,
    )


def _given_or_fitted(r: FloatArray, n: FloatArray, e: FloatArray, prior_strength: float | None) -> PriorFit:
    if prior_strength is None:
        return fit_prior_strength(r, n, e)
    if not prior_strength > 0:
        raise ValueError(f"prior_strength must be positive; got {prior_strength}")
    return PriorFit(
        prior_strength=float(prior_strength),
        method_of_moments_start=float("nan"),
        log_likelihood=marginal_log_likelihood(r, n, e, prior_strength),
        converged=True,
        at_upper_bound=False,
    )


def _inputs(
    numerator: ArrayLike, denominator: ArrayLike, expected_share: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r = np.atleast_1d(np.asarray(numerator, dtype=np.float64))
    n = np.atleast_1d(np.asarray(denominator, dtype=np.float64))
    e = np.atleast_1d(np.asarray(expected_share, dtype=np.float64))
    if not (r.shape == n.shape == e.shape) or r.ndim != 1:
        raise ValueError(f"expected three 1-D arrays of one length; got {r.shape}, {n.shape}, {e.shape}")
    if not np.all(np.isfinite(r) & np.isfinite(n)) or np.any((r < 0) | (r > n)):
        raise ValueError("numerators must be finite and lie between 0 and their denominators")
    if not np.all((e > 0) & (e < 1)):
        raise ValueError("expected shares must lie strictly between 0 and 1 (a Beta prior needs both tails)")
    return r, n, e


def _share(r: FloatArray, n: FloatArray) -> FloatArray:
    out = np.full(r.shape, np.nan)
    np.divide(r, n, out=out, where=n > 0)
    return out


__all__ = [
    "PriorFit",
    "Shrunk",
    "fit_prior_strength",
    "marginal_log_likelihood",
    "method_of_moments_strength",
    "shrink",
]
