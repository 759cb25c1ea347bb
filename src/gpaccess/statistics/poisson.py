"""A Poisson log-linear model with exposure, for rates that depend on one covariate (the optional deprivation
adjustment of the local criteria): counts O_i ~ Poisson(x_i · exp(a + b·v_i)), x_i the exposure (patients /
1,000 × months), v_i the covariate (an IMD score). Fitted by iteratively reweighted least squares (Newton's
method on the log-likelihood, which is concave), from the pooled rate with b = 0; pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class LogLinear:
    intercept: float  # a: log rate at covariate 0
    slope: float  # b: change in log rate per unit of the covariate
    iterations: int

    def rate(self, covariate: ArrayLike) -> FloatArray:
        """The fitted rate per unit of exposure at each covariate value."""
        return np.exp(self.intercept + self.slope * np.asarray(covariate, dtype=np.float64))


def fit_log_linear(
    counts: ArrayLike, exposure: ArrayLike, covariate: ArrayLike, *, tolerance: float = 1e-10, max_iter: int = 100
) -> LogLinear:
    """Maximum-likelihood (a, b) of O ~ Poisson(x · exp(a + b·v)). Counts need not be integers (a rate times an
    exposure); the likelihood is the Poisson one all the same (quasi-likelihood: the estimates do not depend on
    the dispersion)."""
    o = np.asarray(counts, dtype=np.float64)
    x = np.asarray(exposure, dtype=np.float64)
    v = np.asarray(covariate, dtype=np.float64)
    if not (o.shape == x.shape == v.shape) or o.ndim != 1:
        raise ValueError(f"expected three 1-D arrays of one length; got {o.shape}, {x.shape}, {v.shape}")
    if o.size < 2 or np.any(o < 0) or np.any(x <= 0) or not np.all(np.isfinite(o) & np.isfinite(x) & np.isfinite(v)):
        raise ValueError("need at least two units with finite counts ≥ 0, exposures > 0 and finite covariates")
    if o.sum() <= 0:
        raise ValueError("every count is zero: no rate to model")
    centre = float(v.mean())
    vc = v - centre  # centred: the Newton steps are better conditioned
    beta = np.array([np.log(o.sum() / x.sum()), 0.0])
    design = np.column_stack([np.ones_like(vc), vc])
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        mu = x * np.exp(design @ beta)
        gradient = design.T @ (o - mu)
        hessian = design.T @ (design * mu[:, None])
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < tolerance:
            break
    return LogLinear(intercept=float(beta[0] - beta[1] * centre), slope=float(beta[1]), iterations=iterations)


__all__ = ["LogLinear", "fit_log_linear"]
