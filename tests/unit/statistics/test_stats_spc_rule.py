"""DESIGN "SPC points": fewer than 6 points, no limits; 6 to 11, trial limits; 12 or more, limits."""

from __future__ import annotations

import pytest

from gpaccess.statistics.spc import limits_rule


@pytest.mark.parametrize(
    ("points", "rule"),
    [(0, "not enough points"), (5, "not enough points"), (6, "trial limits"), (11, "trial limits"), (12, "limits")],
)
def test_limits_rule_by_number_of_points(points, rule):
    assert limits_rule(points) == rule


@pytest.mark.parametrize(("points", "rule"), [(5, "not enough points"), (6, "trial limits"), (12, "limits")])
def test_an_xmr_result_says_what_its_limits_stand_on(points, rule):
    from gpaccess.statistics.spc import xmr

    result = xmr([10.0, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 10][:points])
    assert result.limits_rule == rule == result.segments[-1].limits_rule
    fixed = xmr([10.0, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 10, 14, 15], fix_after_n_points=points)
    assert fixed.limits_rule == rule  # the points the limits were computed from, not the series' length
