"""XmR (Making Data Count) against NHSRplotthedots, clinical-qikit and hand arithmetic.

NHSRplotthedots: nhs-r-community/NHSRplotthedots at commit 050b07d7eacc011767532732f69b8fd7d6a28fd3 —
vignettes/deviations.Rmd (worked example), tests/testthat/_snaps/ptd_spc_standard.md and _snaps/ptd_spc.md
(limits for `set.seed(123); rnorm(20)`), tests/testthat/test-ptd_calculate_point_type.R (rule vectors),
tests/testthat/test-ptd_spc_standard.R (2-of-3 on opposite sides), and
tests/testthat/test-ptd_calculate_assurance_type.R (assurance labels).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpaccess.statistics.spc import (
    SpcSegment,
    assurance,
    part_of_run,
    seven_point_one_side,
    seven_point_trend,
    two_in_three,
    xmr,
)

# --- the "Deviations from Excel defaults" worked example ------------------------------------------------
EXAMPLE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]


def test_spc_worked_example_with_screening_matches_vignette() -> None:
    # vignette caption: UPL 4.6, mean 1.94, LPL −0.72; the 10 is the one special-cause improvement point.
    # By hand: mean = 35/18; moving ranges 15 × 1, 8, 9 → mean 32/17 = 1.882; 3.267 × 1.882 = 6.15 screens
    # out the 8 and the 9; the remaining mean is 1, so limits are 35/18 ± 2.66.
    seg = xmr(EXAMPLE).segments[0]
    assert round(seg.mean, 2) == 1.94
    assert round(seg.upper_limit, 2) == 4.6
    assert round(seg.lower_limit, 2) == -0.72
    assert seg.upper_limit == pytest.approx(35 / 18 + 2.66)
    assert seg.mean_moving_range == pytest.approx(1.0)
    points = xmr(EXAMPLE).points
    assert list(np.flatnonzero(points.special_cause)) == [4]
    assert points.point_type[4] == "special_cause_improvement"
    assert points.special_cause_type[4] == "Above UCL"


def test_spc_worked_example_without_screening_reproduces_excel_tool() -> None:
    # Excel keeps all moving ranges: 35/18 ± 2.66 × 32/17 = 6.9515 and −3.0626 (vignette: 6.95, −3.06)
    seg = xmr(EXAMPLE, screen_outliers=False).segments[0]
    assert seg.upper_limit == pytest.approx(35 / 18 + 2.66 * 32 / 17)
    assert seg.lower_limit == pytest.approx(35 / 18 - 2.66 * 32 / 17)
    assert (round(seg.upper_limit, 2), round(seg.lower_limit, 2)) == (6.95, -3.06)
    assert list(np.flatnonzero(xmr(EXAMPLE, screen_outliers=False).points.special_cause)) == [4]


# --- NHSRplotthedots snapshots for set.seed(123); rnorm(20) ----------------------------------------------
# R's rnorm(20) after set.seed(123), to the 8 decimals R prints; the snapshot means (0.1416238 etc.)
# confirm the values.
RNORM = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip
OUTLIER = [*RNORM[:14], 10.0, *RNORM[15:]]  # data$y[15] <- 10


def test_spc_matches_nhsrplotthedots_snapshot_r1() -> None:
    result = xmr(RNORM)
    seg = result.segments[0]
    assert seg.mean == pytest.approx(0.1416238, abs=5e-8)
    assert seg.lower_limit == pytest.approx(-3.01138, abs=5e-6)
    assert seg.upper_limit == pytest.approx(3.294627, abs=5e-7)
    assert list(result.points.relative_to_mean[:15]) == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    # summary(): 20 points, all common cause
    assert (seg.common_cause, seg.special_cause_improvement, seg.variation_type) == (20, 0, "common_cause")


def test_spc_matches_nhsrplotthedots_snapshot_screened_outlier_r2() -> None:
    seg = xmr(OUTLIER).segments[0]
    assert seg.mean == pytest.approx(0.6694159, abs=5e-8)
    assert seg.lower_limit == pytest.approx(-2.383666, abs=5e-7)
    assert seg.upper_limit == pytest.approx(3.722497, abs=5e-7)
    rtm = xmr(OUTLIER).points.relative_to_mean
    assert list(rtm[:14]) == [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]


def test_spc_matches_nhsrplotthedots_snapshot_unscreened_r3() -> None:
    seg = xmr(OUTLIER, screen_outliers=False).segments[0]
    assert seg.lower_limit == pytest.approx(-4.596625, abs=5e-7)
    assert seg.upper_limit == pytest.approx(5.935457, abs=5e-7)


def test_spc_rebase_matches_nhsrplotthedots_facet_summary() -> None:
    # _snaps/ptd_spc.md: facets of 10 points each → (0.0746, −2.60, 2.75) and (0.209, −3.28, 3.70);
    # rebasing at the 11th point gives each half its own limits in the same way.
    first, second = xmr(RNORM, rebase_at=[10]).segments
    assert (round(first.mean, 4), round(first.lower_limit, 2), round(first.upper_limit, 2)) == (0.0746, -2.60, 2.75)
    assert (round(second.mean, 3), round(second.lower_limit, 2), round(second.upper_limit, 2)) == (0.209, -3.28, 3.70)
    assert first.trial_limits and second.trial_limits


def test_spc_mean_moving_range_matches_clinical_qikit() -> None:
    # clinical-qikit 0.5.0 `qikit.spc.limits._screened_mean_mr` gave 1.1853396231578948 (RNORM),
    # 1.1477749835294118 (OUTLIER) and 1.0 (EXAMPLE). Its limits use 3/1.128 = 2.6596 rather than
    # MDC's rounded 2.66, so only the mean moving range is compared.
    assert xmr(RNORM).segments[0].mean_moving_range == pytest.approx(1.1853396231578948)
    assert xmr(OUTLIER).segments[0].mean_moving_range == pytest.approx(1.1477749835294118)
    assert xmr(EXAMPLE).segments[0].mean_moving_range == pytest.approx(1.0)


# --- rule functions against NHSRplotthedots' own test vectors ----------------------------------------------
def test_spc_seven_point_one_side_matches_nhsrplotthedots_vectors() -> None:
    run = seven_point_one_side
    assert list(run(np.ones(6, dtype=int)) != 0) == [False] * 6
    assert list(run(np.array([1] * 6 + [-1])) != 0) == [False] * 7
    assert list(run(np.array([1] * 8 + [-1])) != 0) == [False] * 6 + [True, True, False]
    assert list(run(np.array([-1] * 8 + [1])) != 0) == [False] * 6 + [True, True, False]


def test_spc_part_of_run_matches_nhsrplotthedots_vectors() -> None:
    assert list(part_of_run(np.array([0] * 6 + [1, 0]))) == [True] * 7 + [False]
    assert list(part_of_run(np.array([0] * 7 + [-1, 0]))) == [False] + [True] * 7 + [False]


def test_spc_seven_point_trend_matches_nhsrplotthedots_vectors() -> None:
    assert list(seven_point_trend(np.arange(1.0, 7.0))) == [0] * 6
    assert list(seven_point_trend(np.array([1, 2, 3, 3, 4, 5, 6.0]))) == [0] * 7  # a tie breaks the trend
    assert list(seven_point_trend(np.arange(1.0, 8.0))) == [0] * 6 + [1]
    assert list(seven_point_trend(np.array([2, 1, 2, 3, 4, 5, 6, 7, 3.0]))) == [0] * 7 + [1, 0]
    assert list(seven_point_trend(np.arange(7.0, 0, -1))) == [0] * 6 + [-1]
    assert list(seven_point_trend(np.array([2, 7, 6, 5, 4, 3, 2, 1, 3.0]))) == [0] * 7 + [-1, 0]


def test_spc_two_in_three_matches_nhsrplotthedots_vectors() -> None:
    def flags(close: list[int], side: list[int]) -> list[int]:
        return [int(x) for x in two_in_three(np.array(close, dtype=bool), np.array(side))]

    for close in ([1, 0, 1], [0, 1, 1], [1, 1, 0]):
        assert flags(close, [1, 1, 1]) == [1, 1, 1]
        assert flags(close, [1, -1, 1]) == [0, 0, 0]  # opposite sides never count
    assert flags([0, 0, 1, 0, 1, 0, 0], [1] * 7) == [0, 0, 1, 1, 1, 0, 0]
    assert flags([0, 0, 1, 1, 0, 0, 0], [1] * 7) == [0, 1, 1, 1, 1, 0, 0]
    assert flags([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1]) == [0] * 7
    assert flags([1, 0, 0, 1], [1] * 4) == [0, 0, 0, 0]
    # only the points beyond the 2σ line are part of it (ptd_part_of_two_in_three, case "i")
    close = np.array([1, 0, 0, 1, 1], dtype=bool)
    assert list(two_in_three(close, np.ones(5, dtype=int)) & close) == [False, False, False, True, True]


def test_spc_two_in_three_on_opposite_sides_is_common_cause() -> None:
    # test-ptd_spc_standard.R: c(1, −1) × 8 with points 15 and 16 set to 5.5 and −5.5
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5
    assert list(xmr(data).points.point_type[-2:]) == ["common_cause", "common_cause"]


# --- rule edges end to end, worked by hand ----------------------------------------------------------------
BASELINE = [0.0, 1.0] * 6  # mean 0.5, eleven moving ranges of 1 → limits 0.5 ± 2.66, 2σ lines 0.5 ± 1.7733


def test_spc_fix_after_n_points_by_hand() -> None:
    result = xmr([*BASELINE, 3.0, 3.0, 3.0], fix_after_n_points=12)
    seg = result.segments[0]
    assert (seg.mean, seg.upper_limit, seg.lower_limit) == pytest.approx((0.5, 3.16, -2.16))
    assert seg.baseline_points == 12 and not seg.trial_limits
    assert result.points.upper_two_sigma[0] == pytest.approx(0.5 + 2 * 2.66 / 3)
    assert result.points.upper_one_sigma[0] == pytest.approx(0.5 + 2.66 / 3)
    assert xmr([*BASELINE, 3.0], fix_after_n_points=11).segments[0].trial_limits


def test_spc_point_exactly_on_limit_is_not_beyond_it() -> None:
    on_limit = 0.5 + 2.66 * 1.0
    points = xmr([*BASELINE, on_limit, 0.0], fix_after_n_points=12).points
    assert points.upper_limit[12] == on_limit
    assert not points.outside_limits[12] and points.close_to_limits[12]
    assert points.special_cause_type[12] == "Common Cause"
    beyond = xmr([*BASELINE, on_limit + 0.01, 0.0], fix_after_n_points=12).points
    assert beyond.special_cause_type[12] == "Above UCL"


def test_spc_two_of_three_same_side_and_opposite_sides_by_hand() -> None:
    # 2.5 is beyond the upper 2σ line (2.2733) and within the limit (3.16); 1.0 is above the mean 0.5
    same = xmr([*BASELINE, 2.5, 1.0, 2.5], fix_after_n_points=12).points
    assert list(same.special_cause_type[12:]) == ["2 in 3 Above CL", "Common Cause", "2 in 3 Above CL"]
    assert list(same.point_type[12:]) == ["special_cause_improvement", "common_cause", "special_cause_improvement"]
    # 0.0 is below the mean, so no window of three lies on one side
    opposite = xmr([*BASELINE, 2.5, 0.0, 2.5], fix_after_n_points=12).points
    assert not opposite.special_cause.any()


def run_series(run: list[float]) -> list[float]:
    """Alternating 2, 0 around the run, then three zeros (no other rule can fire)."""
    return [2.0, 0.0] * 5 + run + [0.0, 0.0, 0.0]


def test_spc_seven_points_above_mean_but_not_six() -> None:
    # 7 × 1.5: mean = (10 + 10.5)/20 = 1.025, so the run sits above it; limits stay wide (MR̄ ≈ 1.16)
    seven = xmr(run_series([1.5] * 7)).points
    assert list(np.flatnonzero(seven.special_cause)) == list(range(10, 17))
    assert set(seven.special_cause_type[10:17]) == {"7 Points Above CL"}
    six = xmr(run_series([1.5] * 6)).points
    assert not six.special_cause.any()


def test_spc_point_on_the_mean_breaks_a_run() -> None:
    # sum = 10 + 9 + 1 = 20 over 20 points: the mean is exactly 1.0, the value in the middle of the run
    points = xmr(run_series([1.5, 1.5, 1.5, 1.0, 1.5, 1.5, 1.5])).points
    assert points.mean[0] == 1.0
    assert points.relative_to_mean[13] == 0
    assert not points.special_cause.any()


TREND = [2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2]


def trend_series(trend: list[float]) -> list[float]:
    return [2.0, 4.0] * 3 + trend + [2.0, 4.0, 2.0, 4.0]


def test_spc_seven_point_trend_but_not_six_and_ties_break_it() -> None:
    seven = xmr(trend_series(TREND), improvement_direction="decrease").points
    assert list(np.flatnonzero(seven.special_cause)) == list(range(6, 13))
    assert set(seven.special_cause_type[6:13]) == {"7 Point Trend (Increasing)"}
    assert set(seven.point_type[6:13]) == {"special_cause_concern"}
    assert not xmr(trend_series(TREND[:6])).points.special_cause.any()
    tied = [2.0, 2.2, 2.4, 2.4, 2.6, 2.8, 3.0, 3.2]
    assert not xmr(trend_series(tied)).points.special_cause.any()
    falling = xmr([-v for v in trend_series(TREND)]).points
    assert set(falling.special_cause_type[6:13]) == {"7 Point Trend (Decreasing)"}
    assert set(falling.point_type[6:13]) == {"special_cause_concern"}


def test_spc_improvement_direction_orients_the_point_type() -> None:
    assert xmr(EXAMPLE, improvement_direction="decrease").points.point_type[4] == "special_cause_concern"
    assert xmr(EXAMPLE, improvement_direction="neutral").points.point_type[4] == "special_cause_neutral_high"
    low = xmr([-v for v in EXAMPLE], improvement_direction="neutral").points
    assert low.point_type[4] == "special_cause_neutral_low"


def test_spc_trial_limits_below_twelve_points() -> None:
    assert xmr(BASELINE[:11]).segments[0].trial_limits
    assert not xmr(BASELINE).segments[0].trial_limits


def test_spc_rebase_gives_each_segment_its_own_limits_by_hand() -> None:
    result = xmr([*BASELINE, *[v + 10 for v in BASELINE]], rebase_at=[12])
    first, second = result.segments
    assert (first.mean, first.upper_limit) == pytest.approx((0.5, 3.16))
    assert (second.start, second.mean, second.upper_limit) == pytest.approx((12, 10.5, 13.16))
    assert list(result.points.segment) == [0] * 12 + [1] * 12
    assert np.isnan(result.points.moving_range[12])  # no moving range across the rebase
    assert not result.points.special_cause.any()


# --- assurance: test-ptd_calculate_assurance_type.R ------------------------------------------------------
def segment_with_limits(lower: float, upper: float) -> SpcSegment:
    return SpcSegment(0, 12, 12, (lower + upper) / 2, 1.0, lower, upper, False, 12, 0, 0, "common_cause")


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("increase", ["consistent_fail", "consistent_pass", "inconsistent"]),
        ("decrease", ["consistent_pass", "consistent_fail", "inconsistent"]),
        ("neutral", [None, None, None]),
    ],
)
def test_spc_assurance_matches_nhsrplotthedots(direction: str, expected: list[str | None]) -> None:
    # limits (1, 3), (5, 7), (1, 5) with target 4
    labels = [assurance(segment_with_limits(lo, hi), 4.0, direction) for lo, hi in [(1, 3), (5, 7), (1, 5)]]  # type: ignore[arg-type]
    assert labels == expected


def test_spc_assurance_uses_the_last_segment_and_needs_a_target() -> None:
    assert xmr(EXAMPLE).assurance is None
    assert xmr(EXAMPLE, target=5.0).assurance == "consistent_fail"  # 5 > UCL 4.60
    rebased = xmr([*BASELINE, *[v + 10 for v in BASELINE]], rebase_at=[12], target=5.0)
    assert rebased.assurance == "consistent_pass"  # 5 < LCL of the second segment, 10.5 − 2.66


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "non-empty"),
        ({"values": [1.0, float("nan")]}, "finite"),
        ({"values": [1.0, 2.0], "rebase_at": [0]}, "rebase_at"),
        ({"values": [1.0, 2.0], "improvement_direction": "up"}, "improvement_direction"),
        ({"values": [1.0, 2.0], "fix_after_n_points": 0}, "fix_after_n_points"),
    ],
)
def test_spc_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        xmr(**kwargs)  # type: ignore[arg-type]


def test_spc_flat_series_has_no_limits_and_no_signal() -> None:
    # every moving range is 0; screening (strictly below 3.267 × 0) leaves none, so there are no limits
    points = xmr([5.0] * 12).points
    assert np.isnan(points.upper_limit).all()
    assert not points.special_cause.any()


# --- the window rules against a point-by-point reading of their definitions ------------------------------
# The rules count over every window at once; these loops read the module docstring's wording one window at a
# time, as NHSRplotthedots does, so any series on which the two disagree is a bug in the counting.
def _one_side_by_window(side: list[int]) -> list[int]:
    return [side[i] if i >= 6 and side[i] != 0 and len(set(side[i - 6 : i + 1])) == 1 else 0 for i in range(len(side))]


def _trend_by_window(y: list[float]) -> list[int]:
    out = []
    for i in range(len(y)):
        steps = [y[j] - y[j - 1] for j in range(i - 5, i + 1)] if i >= 6 else []
        out.append(1 if steps and all(s > 0 for s in steps) else -1 if steps and all(s < 0 for s in steps) else 0)
    return out


def _part_of_run_by_window(ends: list[int]) -> list[bool]:
    return [any(e != 0 for e in ends[i : i + 7]) for i in range(len(ends))]


def _two_in_three_by_window(close: list[bool], side: list[int]) -> list[bool]:
    out = [False] * len(close)
    for start in range(len(close) - 2):
        if sum(close[start : start + 3]) >= 2 and abs(sum(side[start : start + 3])) == 3:
            out[start : start + 3] = [True] * 3
    return out


sides = st.lists(st.sampled_from([-1, 0, 1]), max_size=30)


@given(sides)
def test_spc_run_rule_counts_every_window_as_read_one_by_one(side: list[int]) -> None:
    assert list(seven_point_one_side(np.array(side, dtype=int))) == _one_side_by_window(side)
    assert list(part_of_run(np.array(side, dtype=int))) == _part_of_run_by_window(side)


@given(st.lists(st.integers(-3, 3), max_size=30))  # small integers: ties (which break a trend) are common
def test_spc_trend_rule_counts_every_window_as_read_one_by_one(y: list[int]) -> None:
    assert list(seven_point_trend(np.array(y, dtype=float))) == _trend_by_window([float(v) for v in y])


@given(st.lists(st.tuples(st.booleans(), st.sampled_from([-1, 0, 1])), max_size=30))
def test_spc_two_in_three_counts_every_window_as_read_one_by_one(points: list[tuple[bool, int]]) -> None:
    close, side = [c for c, _ in points], [s for _, s in points]
    got = two_in_three(np.array(close, dtype=bool), np.array(side, dtype=int))
    assert list(got) == _two_in_three_by_window(close, side)


def test_screened_mean_moving_range_is_the_mean_of_the_kept_ranges_to_the_last_bit():
    # Two ranges (4.85, 4.8) are screened out; a point (0.1) then sits on the lower limit in exact arithmetic
    # (0.765 - 2.66 x 0.25), where the last bit of the mean moving range decides its side. Both paths must take
    # the mean of the kept ranges themselves, in their order, as the one-series chart always has.
    from gpaccess.statistics.spc import xmr_rows

    y = np.array([0.5, 0.2, 0.15, 5.0, 0.2, 0.5, 0.1, 0.5, 0.3, 0.2])
    ranges = np.abs(np.diff(y))
    kept = ranges[ranges < 3.267 * np.mean(ranges)]
    assert len(kept) == 7
    lower = np.mean(y) - 2.66 * np.mean(kept)
    alone = xmr(y).points
    together = xmr_rows(np.vstack([y, y[::-1], y]))
    assert alone.lower_limit[0] == lower and together["lower_limit"][0, 0] == lower
    assert together["lower_limit"][2, 0] == lower
    assert alone.point_type.tolist() == together["point_type"][0].tolist()
