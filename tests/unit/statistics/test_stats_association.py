"""Association across an ICB's practices: Spearman correlations, quartile thresholds and quarter bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from gpaccess.statistics.association import HIGH, LOW, quarter_bands, quartile_thresholds, spearman_pairs

# Six practices: GP face-to-face share rises with the code; local satisfaction does not follow it.
F2F = [0.10, 0.20, 0.30, 0.40, 0.50, 0.60]
SAT = [0.90, 0.50, 0.60, 0.70, 0.80, 0.40]


def test_spearman_matches_hand_worked_example_and_scipy() -> None:
    # Ranks: f2f 1..6; satisfaction 6,2,3,4,5,1. d = -5,0,0,0,0,5; sum d^2 = 50.
    # rho = 1 - 6 * 50 / (6 * (36 - 1)) = 1 - 300/210 = -3/7.
    frame = pd.DataFrame({"f2f": F2F, "sat": SAT})
    got = spearman_pairs(frame, ["f2f", "sat"]).iloc[0]
    assert (got["first"], got["second"], got["n"]) == ("f2f", "sat", 6)
    assert got["rho"] == pytest.approx(-3 / 7)
    ref = stats.spearmanr(F2F, SAT)
    assert got["rho"] == pytest.approx(ref.statistic)
    assert got["p_value"] == pytest.approx(ref.pvalue)


def test_spearman_uses_pairwise_complete_rows() -> None:
    frame = pd.DataFrame(
        {
            "a": [1, 2, 3, 4, 5, 6, 7],
            "b": [2, 1, 4, 3, 6, 5, np.nan],
            "c": [np.nan, 3, 1, 2, 5, 4, 7],
        }
    )
    got = spearman_pairs(frame, ["a", "b", "c"]).set_index(["first", "second"])
    assert list(got.index) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert got.loc[("a", "b"), "n"] == 6
    assert got.loc[("a", "b"), "rho"] == pytest.approx(
        stats.spearmanr([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]).statistic
    )
    assert got.loc[("b", "c"), "n"] == 5
    assert got.loc[("b", "c"), "rho"] == pytest.approx(stats.spearmanr([1, 4, 3, 6, 5], [3, 1, 2, 5, 4]).statistic)
    # Ties take average ranks, as scipy does.
    tied = pd.DataFrame({"x": [1, 2, 2, 3, 4], "y": [1, 3, 2, 4, 4]})
    assert spearman_pairs(tied, ["x", "y"]).rho[0] == pytest.approx(stats.spearmanr(tied.x, tied.y).statistic)


def test_spearman_gives_nan_below_five_practices_or_without_spread() -> None:
    few = pd.DataFrame({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1]})
    row = spearman_pairs(few, ["a", "b"]).iloc[0]
    assert row["n"] == 4 and math.isnan(row["rho"]) and math.isnan(row["p_value"])
    flat = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [0.0] * 5})
    assert math.isnan(spearman_pairs(flat, ["a", "b"]).rho[0])
    assert spearman_pairs(flat, ["a"]).empty


def test_quartile_thresholds_are_interpolated_percentiles() -> None:
    # Six values: 25th percentile at position 1.25 -> 0.2 + 0.25 * 0.1; 75th at 3.75 -> 0.4 + 0.75 * 0.1.
    q1, q3 = quartile_thresholds(pd.Series(F2F)) or (None, None)
    assert q1 == pytest.approx(0.225)
    assert q3 == pytest.approx(0.475)
    assert quartile_thresholds(pd.Series([1, 2, 3, 4])) is None  # too few practices
    assert quartile_thresholds(pd.Series([1, 5, 5, 5, 5, 9])) is None  # no spread between the quartiles
    assert quartile_thresholds(pd.Series([1, 2, np.nan, 3, 4, 5])) == (2.0, 4.0)


def test_quarter_bands_include_the_thresholds() -> None:
    bands = quarter_bands(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, np.nan], index=list("abcdef")))
    assert bands.to_dict() == {"a": LOW, "b": LOW, "c": None, "d": HIGH, "e": HIGH, "f": None}
    assert quarter_bands(pd.Series([1.0, 2.0])).isna().all()


@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 6), st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 1))),
        min_size=5,
        max_size=40,
    )
)
def test_spearman_agrees_with_scipy_with_ties_and_perfect_orders(pairs) -> None:
    from gpaccess.statistics.association import spearman

    x, y = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
    if len(np.unique(x)) < 2 or len(np.unique(y)) < 2:
        return  # no spread: spearman_pairs never asks (NaN by its own rule)
    ref = stats.spearmanr(x, y)
    rho, p = spearman(x, y)
    assert rho == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
