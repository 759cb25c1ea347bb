"""Matching: nearest not-supported practices of the same ICB first, then the region; caliper; supplier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpaccess.evaluation.comparators import SAME_ICB, SAME_REGION, MatchSettings, match, pre_period_features


def _features(rows):
    cols = ["practice_code", "icb_code", "region_code", "supplier", "pre_level", "log_list_size"]
    return pd.DataFrame(rows, columns=cols).set_index("practice_code")


FEATURES = _features(
    [
        ("T1", "QAA", "Y1", "EMIS", 0.0, 0.0),
        ("C1", "QAA", "Y1", "EMIS", 0.1, 0.0),  # nearest, same ICB
        ("C2", "QAA", "Y1", "EMIS", 0.3, 0.1),
        ("C3", "QAA", "Y1", "EMIS", 3.0, 3.0),  # far: beyond the caliper
        ("S1", "QAA", "Y1", "EMIS", 0.0, 0.0),  # supported elsewhere in the plans: never a comparator
        ("R1", "QBB", "Y1", "EMIS", 0.05, 0.0),  # same region, another ICB
        ("X1", "QCC", "Y2", "EMIS", 0.0, 0.0),  # another region: never
    ]
)


def test_nearest_of_the_same_icb_first_then_the_region():
    m = match(FEATURES, ["T1"], ["S1"], MatchSettings(k=3, caliper=1.0))
    pairs = m.pairs.set_index("comparator_code")
    assert list(m.pairs.comparator_code) == ["C1", "C2", "R1"]  # C3 beyond the caliper; R1 fills the third
    assert pairs.loc["C1", "source"] == SAME_ICB and pairs.loc["R1", "source"] == SAME_REGION
    assert m.from_region == 1
    assert "S1" not in m.comparators and "X1" not in m.comparators and "T1" not in m.comparators


def test_distance_is_on_each_features_scale():
    m = match(FEATURES, ["T1"], ["S1"], MatchSettings(k=1, caliper=10.0))
    scale = FEATURES.loc[["T1", "C1", "C2", "C3", "R1", "X1"], ["pre_level", "log_list_size"]].std(ddof=0)
    assert m.pairs.distance.iloc[0] == pytest.approx(2 * 0.1 / scale["pre_level"])  # the level counts double


def test_a_different_supplier_costs_the_penalty():
    f = FEATURES.copy()
    f.loc["C1", "supplier"] = "TPP"
    m = match(f, ["T1"], ["S1"], MatchSettings(k=1, caliper=10.0))
    assert m.comparators == ["C2"]  # C1 is nearer on the measures, but its supplier differs


def test_no_comparator_within_the_caliper_leaves_the_practice_out():
    m = match(FEATURES, ["C3"], ["S1", "T1"], MatchSettings(k=2, caliper=0.5))
    assert m.unmatched == ["C3"] and m.pairs.empty


def test_balance_weights_each_supported_practice_once():
    m = match(FEATURES, ["T1"], ["S1"], MatchSettings(k=2, caliper=1.0))
    b = m.balance.set_index("feature")
    assert b.loc["pre_level", "supported_mean"] == 0.0
    assert b.loc["pre_level", "comparison_mean"] == pytest.approx((0.1 + 0.3) / 2)


def test_pre_period_features_level_trend_and_size():
    panel = pd.DataFrame(
        {
            "practice_code": ["A"] * 3 + ["B"] * 3,
            "month": ["2025-01", "2025-02", "2025-03"] * 2,
            "y": [1.0, 2.0, 3.0, 5.0, 5.0, np.nan],
            "patients": [1000, 1000, 1000, 4000, 4000, 4000],
        }
    )
    f = pre_period_features(panel, ["2025-01", "2025-02", "2025-03"])
    assert f.loc["A", "pre_level"] == 2.0 and f.loc["A", "pre_trend"] == pytest.approx(1.0)
    assert f.loc["B", "pre_trend"] == 0.0 and f.loc["B", "pre_months"] == 2
    assert f.loc["B", "log_list_size"] == pytest.approx(np.log(4000))
