"""Indirect standardisation on the log-odds scale and the funnel on a given scale, against worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from gpaccess.statistics import casemix, funnel


def _logit(p):
    return np.log(p / (1 - p))


def test_one_stratum_shift_is_the_difference_in_log_odds():
    # practice 0: 60 of 100 against a rate of 0.5; practice 1: 20 of 50 against 0.5
    fit = casemix.log_odds_shift([0, 1], [0, 0], [100, 50], [60, 20], [0.5])
    assert fit.shift == pytest.approx([_logit(0.6), _logit(0.4)], rel=1e-9)
    assert fit.standard_error == pytest.approx([1 / np.sqrt(100 * 0.6 * 0.4), 1 / np.sqrt(50 * 0.4 * 0.6)])


def test_the_shift_reproduces_the_observed_count_over_a_mix():
    n, r, rate = np.array([200.0, 50.0, 30.0]), np.array([150.0, 10.0, 29.0]), np.array([0.7, 0.3, 0.99])
    fit = casemix.log_odds_shift([0, 0, 0], [0, 1, 2], n, r, rate)
    q = 1 / (1 + np.exp(-(_logit(rate) + fit.shift[0])))
    assert (n * q).sum() == pytest.approx(r.sum(), rel=1e-9)
    assert fit.standard_error[0] == pytest.approx(1 / np.sqrt((n * q * (1 - q)).sum()))
    shares = casemix.share_at_shift([0, 0, 0], [0, 1, 2], n, rate, fit.shift)
    assert shares[0] == pytest.approx(r.sum() / n.sum(), rel=1e-9)


def test_reference_rates_leave_flagged_rows_out():
    rate = casemix.reference_rates([0, 0, 1], [100, 100, 10], [90, 10, 5], [True, False, False], 2)
    assert rate == pytest.approx([0.9, 0.5])  # stratum 1 has no reference row: every row's pooled rate


def test_scale_funnel_fits_its_spread_on_the_reference_around_its_own_centre():
    y = np.array([0.10, 0.20, 0.15, 0.30, 0.25, 0.18, 0.22, -0.40])
    s = np.full(8, 0.05)
    ref = np.array([True] * 7 + [False])
    f = funnel.scale_funnel(y, s, centre=0.0, reference=ref, dispersion_centre=0.2)
    z = (y[ref] - 0.2) / 0.05
    zw = np.clip(z, *np.quantile(z, [0.1, 0.9]))
    w = np.full(7, 1 / 0.05**2)
    tau2 = max(0.0, (7 * np.mean(zw**2) - 6) / (w.sum() - (w**2).sum() / w.sum()))
    assert f.overdispersion.tau2 == pytest.approx(tau2, rel=1e-12)
    assert f.z_adjusted == pytest.approx(y / np.sqrt(s**2 + tau2), rel=1e-12)
    assert list(funnel.positions(f.z_adjusted, 0.95))[-1] == "below"
