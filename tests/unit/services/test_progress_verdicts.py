"""Progress verdicts: Making Data Count against limits fixed on the months before the plan (DESIGN "SPC points"),
checked against numbers worked by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gpaccess.measures.definitions import get_measure
from gpaccess.services.progress import NOT_ENOUGH, NOTHING_SINCE, direction_for, verdict

START = date(2025, 11, 1)


def series(pre: list[float], post: list[float]) -> pd.DataFrame:
    months = pd.date_range(end="2025-10-01", periods=len(pre), freq="MS").append(
        pd.date_range(start="2025-11-01", periods=len(post), freq="MS")
    )
    return pd.DataFrame({"month": months, "value": [*pre, *post]})


PRE = [10.0, 12.0] * 6  # mean 11, every moving range 2: limits 11 ± 2.66 × 2 = 5.68 to 16.32


def test_limits_rest_on_the_months_before_the_plan_only():
    found = verdict(series(PRE, [11.5, 30.0]), START, "increase")
    d = found["detail"]
    assert d["mean"] == pytest.approx(11.0)
    assert (d["lower"], d["upper"]) == (pytest.approx(5.68), pytest.approx(16.32))  # 30 did not widen them
    assert d["limits"] == "limits" and d["trial"] is False
    assert (found["pre_months"], found["post_months"]) == (12, 2)
    assert found["verdict"] == "improvement"


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("increase", "improvement"), ("decrease", "concern"), ("neutral", "special cause: higher")],
)
def test_a_point_above_the_limit_reads_by_the_measures_direction(direction, expected):
    assert verdict(series(PRE, [20.0]), START, direction)["verdict"] == expected


def test_within_the_range_is_common_cause_and_a_fall_without_direction_is_special_cause_lower():
    assert verdict(series(PRE, [11.5]), START, "increase")["verdict"] == "common cause"
    assert verdict(series(PRE, [2.0]), START, "neutral")["verdict"] == "special cause: lower"


def test_fewer_than_6_months_before_the_plan_is_not_enough_months_yet():
    found = verdict(series([10, 12, 10, 12, 10], [30.0]), START, "increase")
    assert found["verdict"] == NOT_ENOUGH == "not enough months yet"
    assert found["pre_months"] == 5 and "upper" not in found["detail"]


def test_6_to_11_months_give_trial_limits_labelled():
    found = verdict(series(PRE[:8], [11.0]), START, "increase")
    assert found["detail"]["limits"] == "trial limits" and found["detail"]["trial"] is True


def test_no_month_since_the_start_says_so():
    assert verdict(series(PRE, []), START, "increase")["verdict"] == NOTHING_SINCE


def test_a_gap_before_the_latest_run_of_months_is_not_joined():
    gap = pd.DataFrame(
        {"month": pd.to_datetime(["2019-08-01", "2019-09-01"]), "value": [50.0, 60.0]}
    )  # baseline months stored beside recent ones
    found = verdict(pd.concat([gap, series(PRE, [11.0])]), START, "increase")
    assert found["pre_months"] == 12


def test_direction_comes_from_the_definition_or_the_plan_but_never_for_the_mode_mix():
    assert direction_for(get_measure("dna_rate"), None) == "decrease"
    assert direction_for(get_measure("within_14_days"), "lower") == "increase"  # the definition wins
    assert direction_for(get_measure("appts_per_1000"), "higher") == "increase"  # the plan states it
    assert direction_for(get_measure("appts_per_1000"), None) == "neutral"
    assert direction_for(get_measure("f2f_gp"), "higher") == "neutral"  # face-to-face has no direction
