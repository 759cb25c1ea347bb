"""The staggered estimator and the before/after comparison, on panels whose answer is worked out exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpaccess.evaluation.did import EstimationError, before_after, staggered_att

MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]


def _panel(effect_of, n_treated=30, n_control=40, starts=("2025-04", "2025-05", "2025-06"), noise=0.0, seed=1):
    """y = practice level + month level + effect (exactly, or with noise)."""
    rng = np.random.default_rng(seed)
    rows, start_of = [], {}
    month_level = {m: 0.02 * i + (0.05 if i % 3 == 0 else 0) for i, m in enumerate(MONTHS)}
    for i in range(n_treated + n_control):
        code = f"P{i:05d}"
        level = rng.normal(6.0, 0.3)
        start = starts[i % len(starts)] if i < n_treated else None
        if start:
            start_of[code] = start
        for m in MONTHS:
            y = (
                level
                + month_level[m]
                + (effect_of(MONTHS.index(m) - MONTHS.index(start)) if start and m >= start else 0)
            )
            rows.append((code, m, y + rng.normal(0, noise)))
    panel = pd.DataFrame(rows, columns=["practice_code", "month", "y"])
    controls = [f"P{i:05d}" for i in range(n_treated, n_treated + n_control)]
    return panel, start_of, controls


def test_constant_effect_is_recovered_exactly_without_noise():
    panel, starts, controls = _panel(lambda k: 0.05)
    fit = staggered_att(panel, starts, controls)
    assert fit.coefficient == pytest.approx(0.05, abs=1e-5)  # the fixed-effects solver iterates to a tolerance
    assert fit.supported == 30 and fit.comparators == 40 and fit.observations == 700


def test_effect_growing_with_time_since_start_gives_the_mean_over_supported_months():
    """Two-way fixed effects are biased here (later starters are compared with earlier, already-treated ones);
    the two-stage estimator returns exactly the average effect over the supported practice-months."""
    panel, starts, controls = _panel(lambda k: 0.01 * (k + 1))
    expected = []
    for start in starts.values():
        k = MONTHS.index(start)
        expected += [0.01 * (j - k + 1) for j in range(k, len(MONTHS))]
    fit = staggered_att(panel, starts, controls)
    assert fit.coefficient == pytest.approx(
        np.mean(expected), abs=1e-5
    )  # the fixed-effects solver iterates to a tolerance


def test_interval_contains_the_effect_with_noise():
    panel, starts, controls = _panel(lambda k: 0.05, noise=0.03, seed=4)
    fit = staggered_att(panel, starts, controls)
    assert fit.lower < 0.05 < fit.upper
    assert fit.std_error > 0 and fit.upper - fit.lower == pytest.approx(2 * 1.96 * fit.std_error, rel=0.05)


def test_a_practice_supported_from_the_first_month_is_left_out():
    panel, starts, controls = _panel(lambda k: 0.05)
    starts = {**starts, "P00000": MONTHS[0]}
    assert staggered_att(panel, starts, controls).supported == 29


def test_a_practice_starting_after_the_last_month_is_left_out():
    panel, starts, controls = _panel(lambda k: 0.05)
    fit = staggered_att(panel, {**starts, "P00000": "2026-01"}, controls)
    assert fit.supported == 29 and fit.comparators == 40
    assert fit.coefficient == pytest.approx(0.05, abs=1e-5)


def test_no_comparators_is_an_error():
    panel, starts, _ = _panel(lambda k: 0.05)
    with pytest.raises(EstimationError, match="no comparison practice"):
        staggered_att(panel, starts, [])


def test_before_after_by_hand():
    # A supported from 2025-03: before 1, 1; after 3, 5 → change 3. Comparators B (0,0 → 1,1: +1) and
    # C (2,2 → 2,4: +1): comparison change 1.
    data = {"A": [1, 1, 3, 5], "B": [0, 0, 1, 1], "C": [2, 2, 2, 4]}
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    panel = pd.DataFrame(
        [(p, m, y) for p, ys in data.items() for m, y in zip(months, ys, strict=True)],
        columns=["practice_code", "month", "y"],
    )
    pairs = pd.DataFrame({"practice_code": ["A", "A"], "comparator_code": ["B", "C"]})
    ba = before_after(panel, {"A": "2025-03"}, pairs)
    assert ba.supported_change == pytest.approx(3.0)
    assert ba.comparison_change == pytest.approx(1.0)
    assert ba.difference == pytest.approx(2.0)
