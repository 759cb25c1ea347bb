"""The Poisson log-linear model of the local rules' optional deprivation adjustment."""

from __future__ import annotations

import numpy as np
import pytest

from gpaccess.statistics.poisson import fit_log_linear


def test_two_units_are_fitted_exactly():
    # Two parameters, two units: the MLE reproduces both rates, so b = log(rate2 / rate1) / (v2 − v1).
    fit = fit_log_linear([30.0, 80.0], [10.0, 20.0], [10.0, 30.0])
    assert fit.slope == pytest.approx(np.log((80 / 20) / (30 / 10)) / 20, rel=1e-10)
    assert fit.rate([10.0, 30.0]) == pytest.approx([3.0, 4.0], rel=1e-10)


def test_score_equations_hold_at_the_fit():
    rng = np.random.default_rng(1)
    v = rng.uniform(5, 50, 40)
    x = rng.uniform(10, 40, 40)
    o = rng.poisson(x * np.exp(-1.0 + 0.03 * v)).astype(float)
    fit = fit_log_linear(o, x, v)
    mu = x * fit.rate(v)
    # the Poisson score equations: Σ(O − μ) = 0 and Σ v(O − μ) = 0
    assert np.sum(o - mu) == pytest.approx(0.0, abs=1e-6)
    assert np.sum(v * (o - mu)) == pytest.approx(0.0, abs=1e-4)
    assert fit.slope == pytest.approx(0.03, abs=0.01)


def test_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="every count is zero"):
        fit_log_linear([0.0, 0.0], [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="exposures > 0"):
        fit_log_linear([1.0, 2.0], [0.0, 2.0], [1.0, 2.0])
