"""Beta-binomial shrinkage towards each practice's own expected share, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from gpaccess.statistics.shrinkage import (
    fit_prior_strength,
    marginal_log_likelihood,
    method_of_moments_strength,
    shrink,
)


def test_shrinkage_posterior_mean_by_hand() -> None:
    # M = 100, e = 0.5 → α = β = 50; r = 30 of n = 100 → (50 + 30)/(100 + 100) = 0.4, weight 100/200
    s = shrink([30], [100], [0.5], prior_strength=100)
    assert s.shrunk_share[0] == pytest.approx(0.4)
    assert s.weight[0] == pytest.approx(0.5)
    assert s.observed_share[0] == pytest.approx(0.3)


def test_shrinkage_credible_interval_has_its_stated_tail_mass() -> None:
    # posterior Beta(80, 120): the regularised incomplete beta at the bounds gives 2.5% and 97.5%
    s = shrink([30], [100], [0.5], prior_strength=100)
    assert special.betainc(80, 120, s.lower[0]) == pytest.approx(0.025)
    assert special.betainc(80, 120, s.upper[0]) == pytest.approx(0.975)
    assert s.lower[0] < 0.4 < s.upper[0]


def test_shrinkage_marginal_likelihood_of_one_trial_is_the_prior_mean() -> None:
    # n = 1: P(r = 1) = E[π] = e whatever M is, so the log-likelihood is ln e (here ln 0.3)
    for m in (0.5, 2.0, 50.0):
        assert marginal_log_likelihood([1], [1], [0.3], m) == pytest.approx(math.log(0.3))


def test_shrinkage_method_of_moments_by_hand() -> None:
    # two practices, n = 10, e = 0.5, r = 2 and 8: Σ(r − ne)² = 18, Σ n e(1−e) = 5 → excess 13;
    # Σ n(n−1) e(1−e) = 45 → ρ = 13/45 → M₀ = 45/13 − 1 = 32/13
    assert method_of_moments_strength([2, 8], [10, 10], [0.5, 0.5]) == pytest.approx(32 / 13)


def test_shrinkage_fit_recovers_a_known_prior_strength() -> None:
    rng = np.random.default_rng(7)
    practices, true_m = 3000, 200.0
    e = rng.uniform(0.3, 0.8, practices)
    n = rng.integers(100, 3000, practices)
    r = rng.binomial(n, rng.beta(true_m * e, true_m * (1 - e)))
    fit = fit_prior_strength(r, n, e)
    assert fit.converged and not fit.at_upper_bound
    assert 160 < fit.prior_strength < 250
    # it is a maximum: nudging M either way lowers the likelihood
    for nudge in (0.98, 1.02):
        assert marginal_log_likelihood(r, n, e, fit.prior_strength * nudge) < fit.log_likelihood


def test_shrinkage_binomial_noise_alone_shrinks_almost_fully() -> None:
    # no real between-practice variation: the fitted M (about 5,000 in this sample) dwarfs n = 500,
    # so each practice keeps under a tenth of its own deviation
    rng = np.random.default_rng(3)
    e = np.full(400, 0.6)
    n = np.full(400, 500)
    r = rng.binomial(n, e)
    s = shrink(r, n, e)
    assert s.weight.max() < 0.1
    np.testing.assert_allclose(s.shrunk_share, e, atol=0.01)


def test_shrinkage_less_spread_than_binomial_stops_at_the_upper_bound() -> None:
    # every practice exactly on its expectation: the moment estimate has no excess variance and the
    # likelihood keeps rising with M, so the fit says "shrink fully"
    s = shrink([60, 120, 30], [100, 200, 50], [0.6, 0.6, 0.6])
    assert s.fit.at_upper_bound
    np.testing.assert_allclose(s.shrunk_share, 0.6)


def test_shrinkage_small_practices_move_most() -> None:
    s = shrink([5, 500], [10, 1000], [0.7, 0.7], prior_strength=200)
    moved = np.abs(s.shrunk_share - s.observed_share)
    assert moved[0] > moved[1]


def test_shrinkage_practice_without_appointments_gets_its_prior() -> None:
    s = shrink([0, 40], [0, 100], [0.3, 0.5], prior_strength=50)
    assert s.shrunk_share[0] == pytest.approx(0.3)
    assert np.isnan(s.observed_share[0])


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([5], [4], [0.5]), {}, "between 0"),
        (([1], [4], [1.0]), {}, "strictly between"),
        (([1, 2], [4], [0.5]), {}, "one length"),
        (([1], [4], [0.5]), {"prior_strength": 0.0}, "positive"),
        (([1], [4], [0.5]), {"level": 1.0}, "level"),
    ],
)
def test_shrinkage_refuses_bad_input(args: tuple[list[float], ...], kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shrink(*args, **kwargs)  # type: ignore[arg-type]
