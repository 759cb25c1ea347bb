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
