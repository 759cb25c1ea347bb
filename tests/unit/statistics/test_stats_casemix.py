"""Indirect standardisation checked against hand arithmetic."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gpaccess.statistics.casemix import national_rates, standardise, standardise_long

# Three practices × two strata, worked by hand:
#   stratum 0: Σn = 10+20+30 = 60, Σr = 5+8+15 = 28  → rate 28/60
#   stratum 1: Σn = 30+20+10 = 60, Σr = 3+4+1  = 8   → rate 8/60
#   E_1 = 10·28/60 + 30·8/60 = 520/60; O_1 = 8;  N_1 = 40; e_1 = 520/2400;  O/E = 480/520
#   E_2 = 20·28/60 + 20·8/60 = 720/60; O_2 = 12; N_2 = 40; e_2 = 720/2400;  O/E = 1
#   E_3 = 30·28/60 + 10·8/60 = 920/60; O_3 = 16; N_3 = 40; e_3 = 920/2400;  O/E = 960/920
N = np.array([[10, 30], [20, 20], [30, 10]])
R = np.array([[5, 3], [8, 4], [15, 1]])


def test_casemix_national_rates_by_hand() -> None:
    np.testing.assert_allclose(national_rates(N, R), [28 / 60, 8 / 60])


def test_casemix_expected_share_and_ratio_by_hand() -> None:
    s = standardise(N, R)
    np.testing.assert_allclose(s.expected, [520 / 60, 720 / 60, 920 / 60])
    np.testing.assert_allclose(s.observed, [8, 12, 16])
    np.testing.assert_allclose(s.expected_share, [520 / 2400, 720 / 2400, 920 / 2400])
    np.testing.assert_allclose(s.observed_share, [8 / 40, 12 / 40, 16 / 40])
    np.testing.assert_allclose(s.ratio, [480 / 520, 1.0, 960 / 920])
    # national rates make the nation its own reference: ΣE = ΣO = 36
    assert s.expected.sum() == pytest.approx(36.0)


def test_casemix_unused_stratum_contributes_nothing() -> None:
    n = np.column_stack([N, np.zeros(3)])
    r = np.column_stack([R, np.zeros(3)])
    s = standardise(n, r)
    assert s.reference_rate[2] == 0
    np.testing.assert_allclose(s.expected, [520 / 60, 720 / 60, 920 / 60])


def test_casemix_external_reference_rate_by_hand() -> None:
    # rates 0.5 and 0.1: E_1 = 10·0.5 + 30·0.1 = 8, e_1 = 8/40 = 0.2
    s = standardise(N, R, reference_rate=[0.5, 0.1])
    np.testing.assert_allclose(s.expected, [8.0, 12.0, 16.0])
    np.testing.assert_allclose(s.expected_share, [0.2, 0.3, 0.4])


def test_casemix_long_form_matches_wide_and_adds_repeated_rows() -> None:
    # the same data as long rows, with practice 0's stratum-0 row split in two (4 + 6 appointments)
    practice = np.array([0, 0, 0, 1, 1, 2, 2])
    stratum = np.array([0, 0, 1, 0, 1, 0, 1])
    n = np.array([4, 6, 30, 20, 20, 30, 10])
    r = np.array([2, 3, 3, 8, 4, 15, 1])
    long = standardise_long(practice, stratum, n, r, n_practices=4)
    np.testing.assert_allclose(long.expected[:3], [520 / 60, 720 / 60, 920 / 60])
    # a practice index with no rows: zero counts, no share
    assert long.denominator[3] == 0
    assert np.isnan(long.expected_share[3])


def test_casemix_long_form_is_fast_at_national_size() -> None:
    rng = np.random.default_rng(1)
    practices, strata = 6300, 300
    practice = np.repeat(np.arange(practices), strata)
    stratum = np.tile(np.arange(strata), practices)
    n = rng.integers(0, 50, size=practice.size)
    r = rng.binomial(n, 0.6)
    began = time.perf_counter()
    s = standardise_long(practice, stratum, n, r)
    elapsed = time.perf_counter() - began
    assert s.expected.shape == (practices,)
    assert s.expected.sum() == pytest.approx(r.sum())
    assert elapsed < 2.0, f"1.9 million rows took {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("n", "r", "message"),
    [
        (N, R + 40, "exceeds"),
        (N, -R, "non-negative"),
        (N[:, :1], R, "one shape"),
    ],
)
def test_casemix_refuses_bad_input(n: np.ndarray, r: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        standardise(n, r)


def test_casemix_refuses_bad_reference_rate() -> None:
    with pytest.raises(ValueError, match="one rate per stratum"):
        standardise(N, R, reference_rate=[0.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        standardise(N, R, reference_rate=[0.5, 1.5])


def test_casemix_long_refuses_bad_indices() -> None:
    with pytest.raises(ValueError, match="integers"):
        standardise_long([0.5], [0], [1], [1])
    with pytest.raises(ValueError, match="non-negative"):
        standardise_long([-1], [0], [1], [1])
    with pytest.raises(ValueError, match="one length"):
        standardise_long([0, 1], [0], [1], [1])
    with pytest.raises(ValueError, match="n_practices=1"):
        standardise_long([0, 1], [0, 0], [1, 1], [1, 1], n_practices=1)
