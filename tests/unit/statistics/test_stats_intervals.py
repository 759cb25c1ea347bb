"""Wilson score intervals against independently worked values (Newcombe 1998, table I)."""

from __future__ import annotations

import math

import numpy as np

from gpaccess.statistics.intervals import wilson_interval


def test_wilson_interval_matches_newcombe_examples():
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3: 81/263 -> 0.2553 to 0.3662;
    # 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611.
    lower, upper = wilson_interval([81, 15, 0], [263, 148, 20])
    np.testing.assert_allclose(lower, [0.2553, 0.0624, 0.0], atol=5e-5)
    np.testing.assert_allclose(upper, [0.3662, 0.1605, 0.1611], atol=5e-5)


def test_wilson_interval_is_missing_without_a_denominator_and_never_outside_0_1():
    lower, upper = wilson_interval([0, 5, 3], [0, 5, float("nan")])
    assert math.isnan(lower[0]) and math.isnan(upper[0]) and math.isnan(lower[2])
    assert upper[1] == 1.0 and 0 < lower[1] < 1
