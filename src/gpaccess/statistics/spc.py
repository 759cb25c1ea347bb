"""NHS "Making Data Count" XmR charts: has a practice's monthly series really changed?

After support starts, a practice's figures move every month. Most of that movement is common-cause
variation; the XmR chart and its four rules separate it from special causes. The calculations follow
NHSRplotthedots `ptd_spc` (the NHS-R implementation of Making Data Count), so a chart made here reads
the same as one made with the NHS tools:

* centre line = mean of the segment's points (of the first `fix_after_n_points` if given);
* moving ranges |x_i − x_{i−1}| over those points; with `screen_outliers` (the default, as in
  NHSRplotthedots, after Nelson 1982 and Provost & Murray 2011) moving ranges not strictly below
  3.267 × their mean are left out and the mean moving range is recomputed once. The MDC Excel tool does
  not screen: `screen_outliers=False` reproduces it;
* process limits = mean ± 2.66 × mean moving range; the ⅔ ("2σ") lines at mean ± (2/3)·2.66 × mean
  moving range, and 1σ lines at mean ± (1/3)·2.66 × mean moving range;
* rebasing starts a new segment with its own limits; rules never look across a segment boundary.

Rules, as NHSRplotthedots evaluates them (its code is the tie-breaker where wording is loose):

1. a point strictly above the upper or strictly below the lower limit (a point exactly on a limit is
   not beyond it, but it is beyond the 2σ line, so it counts towards rule 4);
2. 7 consecutive points on the same side of the mean; a point exactly on the mean breaks the run;
3. 7 consecutive points each strictly higher (or lower) than the one before; a tie breaks the trend;
4. 2 of 3 consecutive points beyond the 2σ line but within the limits, with all three on the same side
   of the mean (points on opposite sides never count, NHSRplotthedots issue #143). Only the points
   beyond the 2σ line are flagged, not the third.

Each point takes the first rule that applies in the order 1, 3, 4, 2, and its direction (above/
increasing, below/decreasing) becomes improvement or concern through `improvement_direction`, or
"neutral high"/"neutral low" when neither direction is better.

Deviation, on purpose: limits resting on fewer than 12 points are flagged as trial limits, counting
the points the limits were computed from. NHSRplotthedots documents "n < 12" but its code flags
segments of fewer than 13 points, and counts segment length even when `fix_after_n_points` computes the
limits from fewer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Direction = Literal["increase", "decrease", "neutral"]

LIMIT_FACTOR = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two points, as MDC rounds it
SCREEN_FACTOR = 3.267  # D4 for n = 2: the upper limit of a moving-range chart
RUN_LENGTH = 7
TRIAL_BELOW = 12
MIN_POINTS = 6  # DESIGN "SPC points": fewer than this, no limits at all

LimitsRule = Literal["not enough points", "trial limits", "limits"]

COMMON_CAUSE = "Common Cause"
_SIGN = {"increase": 1, "neutral": 0, "decrease": -1}


@dataclass(frozen=True)
class SpcPoints:
    """One row per point, arrays in the input order."""

    value: FloatArray
    segment: NDArray[np.intp]
    mean: FloatArray
    lower_limit: FloatArray
    upper_limit: FloatArray
    lower_two_sigma: FloatArray
    upper_two_sigma: FloatArray
    lower_one_sigma: FloatArray
    upper_one_sigma: FloatArray
    moving_range: FloatArray  # |x_i − x_{i−1}| within a segment; NaN for its first point
    moving_range_used: BoolArray  # entered the mean moving range (baseline and not screened out)
    outside_limits: BoolArray
    relative_to_mean: NDArray[np.int_]  # −1 below, 0 on, +1 above
    close_to_limits: BoolArray  # beyond a 2σ line but not beyond the limit
    special_cause_type: NDArray[np.str_]
    special_cause: BoolArray
    point_type: NDArray[np.str_]
    trial_limits: BoolArray


@dataclass(frozen=True)
class SpcSegment:
    """Summary of one segment (the whole series unless rebased), like NHSRplotthedots `summary()`."""

    start: int
    stop: int  # exclusive
    baseline_points: int  # points the limits were computed from
    mean: float
    mean_moving_range: float
    lower_limit: float
    upper_limit: float
    trial_limits: bool
    common_cause: int
    special_cause_improvement: int
    special_cause_concern: int
    variation_type: str  # the point type of the segment's last point

    @property
    def limits_rule(self) -> LimitsRule:
        """What this segment's limits stand on (DESIGN "SPC points"): `limits_rule(baseline_points)`. A chart
        draws no limits for "not enough points" ("not enough months"), labels "trial limits", and shows
        "limits" as process limits."""
        return limits_rule(self.baseline_points)


@dataclass(frozen=True)
class SpcResult:
    points: SpcPoints
    segments: tuple[SpcSegment, ...]
    improvement_direction: Direction
    target: float | None
    assurance: str | None  # consistent_pass / consistent_fail / inconsistent, or None

    @property
    def limits_rule(self) -> LimitsRule:
        """The rule for the latest segment's limits (the one a verdict reads); "not enough points" when empty."""
        return self.segments[-1].limits_rule if self.segments else "not enough points"


@dataclass(frozen=True)
class _Limits:
    mean: float
    amr: float
    moving_range: FloatArray
    used: BoolArray
    baseline: int


def limits_rule(points: int) -> LimitsRule:
    """What a series of `points` values supports (DESIGN "SPC points"), for every chart and verdict gpaccess
    shows: fewer than 6 points, no limits ("not enough months"); 6 to 11, trial limits, labelled as such; 12
    or more, process limits. `xmr` itself computes limits for any length, as NHSRplotthedots does."""
    if points < MIN_POINTS:
        return "not enough points"
    return "trial limits" if points < TRIAL_BELOW else "limits"


def xmr(
    values: ArrayLike,
    *,
    improvement_direction: Direction = "increase",
    screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
    rebase_at: Sequence[int] = (),
    target: float | None = None,
) -> SpcResult:
    """XmR chart of a series in time order. `rebase_at` holds 0-based indices where a segment starts."""
    y = _series(values)
    direction = _direction(improvement_direction)
    _check_fix(fix_after_n_points)
    bounds = _segment_bounds(len(y), rebase_at)
    parts = [_segment(y[a:b], screen_outliers, fix_after_n_points, direction) for a, b in bounds]
    points = _concatenate([columns for columns, _ in parts], bounds)
    segments = tuple(_summarise(points, a, b, baseline) for (a, b), (_, baseline) in zip(bounds, parts, strict=True))
    return SpcResult(
        points=points,
        segments=segments,
        improvement_direction=improvement_direction,
        target=target,
        assurance=assurance(segments[-1], target, improvement_direction) if segments else None,
    )


def assurance(segment: SpcSegment, target: float | None, improvement_direction: Direction) -> str | None:
    """Will the process consistently meet the target? Judged on the last segment's limits.

    A target beyond the upper limit is always missed by an improving-upwards measure ("consistent_fail")
    and always met by an improving-downwards one; mirror-wise below the lower limit; in between the
    process sometimes meets it ("inconsistent"). No target or a neutral direction gives no label.
    """
    if target is None or improvement_direction == "neutral":
        return None
    increasing = improvement_direction == "increase"
    if target > segment.upper_limit:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < segment.lower_limit:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


def process_limits(y: FloatArray, *, screen_outliers: bool, fix_after_n_points: int | None) -> _Limits:
    """Mean and mean moving range of one segment (the first `fix_after_n_points` points if given)."""
    baseline = y if fix_after_n_points is None else y[:fix_after_n_points]
    mean = float(np.mean(baseline)) if baseline.size else float("nan")
    mr_baseline = np.abs(np.diff(baseline))
    used = np.ones(mr_baseline.shape, dtype=bool)
    amr = _mean_or_nan(mr_baseline)
    if screen_outliers:
        amr_rows, used = _screened(mr_baseline[None, :])
        amr, used = float(amr_rows[0]), used[0]
    moving_range = np.concatenate([[np.nan], np.abs(np.diff(y))]) if y.size else np.array([])
    used_all = np.zeros(y.shape, dtype=bool)
    used_all[1 : 1 + used.size] = used
    return _Limits(mean=mean, amr=amr, moving_range=moving_range, used=used_all, baseline=baseline.size)


def _segment(
    y: FloatArray, screen: bool, fix: int | None, direction: int
) -> tuple[dict[str, NDArray[np.generic]], int]:
    lim = process_limits(y, screen_outliers=screen, fix_after_n_points=fix)
    half = LIMIT_FACTOR * lim.amr
    columns = _points(y, lim.mean, half, lim.moving_range, lim.used, lim.baseline < TRIAL_BELOW, direction)
    return columns, lim.baseline


def xmr_rows(values: ArrayLike, *, improvement_direction: Direction = "increase") -> dict[str, NDArray[np.generic]]:
    """XmR charts of many series of one length at once, one per row of `values` (series × points, in time
    order): what `xmr` gives each row alone with its defaults (outliers screened, no fixed baseline, no
    rebasing), as 2-D arrays of the `SpcPoints` fields but `segment` (every row is one segment). A server charts
    every practice's latest months: row by row, the small arrays' overheads cost 100 times the arithmetic."""
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] == 0:
        raise ValueError("values must be a 2-D array of series × points, with at least one point")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite: a series with gaps cannot be charted")
    direction = _direction(improvement_direction)
    n = y.shape[1]
    mean = y.mean(axis=1)[:, None]
    amr, used = _screened(np.abs(np.diff(y, axis=1)))
    half = LIMIT_FACTOR * amr[:, None]
    moving_range = np.concatenate([np.full((y.shape[0], 1), np.nan), np.abs(np.diff(y, axis=1))], axis=1)
    used_all = np.concatenate([np.zeros((y.shape[0], 1), dtype=bool), used], axis=1)
    return _points(y, mean, half, moving_range, used_all, n < TRIAL_BELOW, direction)


def _screened(moving_ranges: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Each row's mean moving range after screening (ranges not strictly below 3.267 × the row's mean are left
    out, once), and which ranges it used; NaN for a row with none left (a constant series: every range is 0)."""
    count = moving_ranges.shape[1]
    first = moving_ranges.mean(axis=1) if count else np.full(moving_ranges.shape[0], np.nan)
    used = moving_ranges < SCREEN_FACTOR * first[:, None]
    kept = used.sum(axis=1)
    # The kept ranges of each row moved to its front in their order, and averaged by `mean` over exactly those:
    # the same additions in the same order as the mean of the row's kept ranges alone. A sum with the left-out
    # ranges as zeros differs in the last bit, which can move a point that sits on a limit across it.
    packed = np.take_along_axis(moving_ranges, np.argsort(~used, axis=1, kind="stable"), axis=1)
    amr = np.full(len(moving_ranges), np.nan)
    for k in np.unique(kept[kept > 0]):
        rows = kept == k
        amr[rows] = packed[rows, :k].mean(axis=1)
    return amr, used


def _points(
    y: FloatArray,
    mean: FloatArray | float,
    half: FloatArray | float,
    moving_range: FloatArray,
    used: BoolArray,
    trial: bool | BoolArray,
    direction: int,
) -> dict[str, NDArray[np.generic]]:
    """The `SpcPoints` fields but `segment` of points against a centre line `mean` and limits mean ± `half`
    (one series, or one per row, broadcast over the last axis): the lines, each point beyond the limits, its side
    of the mean, beyond a 2σ line within them, and the first rule it breaks."""
    upper, lower = mean + half, mean - half
    outside = (y > upper) | (y < lower)
    relative = np.sign(y - mean).astype(int)
    close = ~outside & ((y < mean - 2 * half / 3) | (y > mean + 2 * half / 3))
    cause = special_cause_type(y, relative, close, outside)

    def line(v: FloatArray | float) -> FloatArray:
        return np.broadcast_to(v, y.shape)

    return {
        "value": y,
        "mean": line(mean),
        "lower_limit": line(lower),
        "upper_limit": line(upper),
        "lower_two_sigma": line(mean - 2 * half / 3),
        "upper_two_sigma": line(mean + 2 * half / 3),
        "lower_one_sigma": line(mean - half / 3),
        "upper_one_sigma": line(mean + half / 3),
        "moving_range": moving_range,
        "moving_range_used": used,
        "outside_limits": outside,
        "relative_to_mean": relative,
        "close_to_limits": close,
        "special_cause_type": cause,
        "special_cause": cause != COMMON_CAUSE,
        "point_type": point_type(cause, direction),
        "trial_limits": np.broadcast_to(trial, y.shape),
    }


def special_cause_type(
    y: FloatArray, relative_to_mean: NDArray[np.int_], close_to_limits: BoolArray, outside_limits: BoolArray
) -> NDArray[np.str_]:
    """Label each point with the first rule it breaks: limits, trend, 2 of 3, run; else common cause."""
    trend = part_of_run(seven_point_trend(y))
    two_of_three = two_in_three(close_to_limits, relative_to_mean) & close_to_limits
    run = part_of_run(seven_point_one_side(relative_to_mean))
    above = relative_to_mean > 0
    rising = _trend_direction(y, trend) == 1
    labels = np.full(y.shape, COMMON_CAUSE, dtype="<U32")
    labels[run] = np.where(above[run], "7 Points Above CL", "7 Points Below CL")
    labels[two_of_three] = np.where(above[two_of_three], "2 in 3 Above CL", "2 in 3 Below CL")
    labels[trend] = np.where(rising[trend], "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)")
    labels[outside_limits] = np.where(relative_to_mean[outside_limits] == 1, "Above UCL", "Below LCL")
    return labels


# The rules look at windows of a few points. A server draws three charts per page, so they are counted over
# every window at once (sums of windows from cumulative sums), not a window at a time: a fraction of the time.
def _window_sums(a: NDArray[np.generic], k: int) -> NDArray[np.int_]:
    """Sum of each run of `k` consecutive items (one per window start: `len(a) - k + 1` of them)."""
    a = np.asarray(a, dtype=int)
    c = np.concatenate([np.zeros((*a.shape[:-1], 1), dtype=int), np.cumsum(a, axis=-1)], axis=-1)
    return c[..., k:] - c[..., :-k]


def seven_point_one_side(relative_to_mean: NDArray[np.int_]) -> NDArray[np.int_]:
    """+1/−1 at the 7th (and each later) consecutive point on one side of the mean; 0 elsewhere."""
    side = np.asarray(relative_to_mean)
    out = np.zeros(side.shape, dtype=int)
    if side.shape[-1] < RUN_LENGTH:
        return out
    above = _window_sums(side > 0, RUN_LENGTH) == RUN_LENGTH
    below = _window_sums(side < 0, RUN_LENGTH) == RUN_LENGTH
    out[..., RUN_LENGTH - 1 :] = above.astype(int) - below.astype(int)
    return out


def seven_point_trend(y: FloatArray) -> NDArray[np.int_]:
    """+1 (−1) at the 7th and later points of a strictly rising (falling) sequence of 7; 0 elsewhere."""
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros(y.shape, dtype=int)
    if y.shape[-1] < RUN_LENGTH:
        return out
    steps = np.diff(y, axis=-1)
    rising = _window_sums(steps > 0, RUN_LENGTH - 1) == RUN_LENGTH - 1
    falling = _window_sums(steps < 0, RUN_LENGTH - 1) == RUN_LENGTH - 1
    out[..., RUN_LENGTH - 1 :] = rising.astype(int) - falling.astype(int)
    return out


def part_of_run(ends: NDArray[np.int_]) -> BoolArray:
    """A point belongs to a run if it or any of the next 6 points ends a run of 7."""
    ends = np.asarray(ends) != 0
    flagged = np.concatenate([np.zeros((*ends.shape[:-1], 1), dtype=int), np.cumsum(ends, axis=-1)], axis=-1)
    n = ends.shape[-1]
    stop = np.minimum(np.arange(n) + RUN_LENGTH, n)
    return (flagged[..., stop] - flagged[..., :n]) > 0


def two_in_three(close_to_limits: BoolArray, relative_to_mean: NDArray[np.int_]) -> BoolArray:
    """True where some 3-point window holding the point has ≥2 points beyond a 2σ line, all on one side."""
    shape = np.shape(close_to_limits)
    n = shape[-1]
    out = np.zeros(shape, dtype=bool)
    if n < 3:
        return out
    side = np.asarray(relative_to_mean)
    one_side = (_window_sums(side > 0, 3) == 3) | (_window_sums(side < 0, 3) == 3)
    hit = (_window_sums(close_to_limits, 3) >= 2) & one_side
    for k in range(3):  # each window marks its three points
        out[..., k : n - 2 + k] |= hit
    return out


def point_type(special_cause_type: NDArray[np.str_], direction: int) -> NDArray[np.str_]:
    """Turn a rule label into improvement / concern (or neutral high / low) / common cause."""
    labels, where = np.unique(special_cause_type, return_inverse=True)  # a few labels: read each once
    sign = [1 if "Above" in s or "Increasing" in s else -1 if "Below" in s or "Decreasing" in s else 0 for s in labels]
    signed = np.asarray(sign, dtype=int)[where.reshape(special_cause_type.shape)]
    out = np.full(special_cause_type.shape, "common_cause", dtype="<U32")
    if direction == 0:
        out[signed > 0] = "special_cause_neutral_high"
        out[signed < 0] = "special_cause_neutral_low"
        return out
    oriented = signed * direction
    out[oriented > 0] = "special_cause_improvement"
    out[oriented < 0] = "special_cause_concern"
    return out


def _trend_direction(y: FloatArray, in_trend: BoolArray) -> NDArray[np.int_]:
    """The step that gives a trend point its direction: the next step if the next point is in the
    trend too, otherwise the step that led to it (NHSRplotthedots, issue #171)."""
    steps = np.sign(np.diff(y, axis=-1)).astype(int)
    edge = np.zeros((*y.shape[:-1], 1), dtype=int)
    left = np.concatenate([edge, steps], axis=-1)
    right = np.concatenate([steps, steps[..., -1:]], axis=-1) if steps.shape[-1] else np.zeros(y.shape, dtype=int)
    next_in_trend = np.concatenate([in_trend[..., 1:], edge.astype(bool)], axis=-1)
    return np.where(in_trend & next_in_trend, right, left)


def _summarise(points: SpcPoints, start: int, stop: int, baseline_points: int) -> SpcSegment:
    window = slice(start, stop)
    kinds = points.point_type[window]
    return SpcSegment(
        start=start,
        stop=stop,
        baseline_points=baseline_points,
        mean=float(points.mean[start]),
        mean_moving_range=float((points.upper_limit[start] - points.mean[start]) / LIMIT_FACTOR),
        lower_limit=float(points.lower_limit[start]),
        upper_limit=float(points.upper_limit[start]),
        trial_limits=bool(points.trial_limits[start]),
        common_cause=int(np.sum(~points.special_cause[window])),
        special_cause_improvement=int(np.sum(kinds == "special_cause_improvement")),
        special_cause_concern=int(np.sum(kinds == "special_cause_concern")),
        variation_type=str(kinds[-1]),
    )


def _concatenate(parts: list[dict[str, NDArray[np.generic]]], bounds: list[tuple[int, int]]) -> SpcPoints:
    segment = np.concatenate([np.full(b - a, k, dtype=np.intp) for k, (a, b) in enumerate(bounds)])
    fields = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return SpcPoints(segment=segment, **fields)


def _segment_bounds(n: int, rebase_at: Sequence[int]) -> list[tuple[int, int]]:
    starts = sorted({int(i) for i in rebase_at})
    if any(i <= 0 or i >= n for i in starts):
        raise ValueError(f"rebase_at indices must lie strictly between 0 and {n}; got {list(rebase_at)}")
    edges = [0, *starts, n]
    return list(itertools.pairwise(edges))


def _series(values: ArrayLike) -> FloatArray:
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError("values must be a non-empty 1-D series")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite: a series with gaps cannot be charted")
    return y


def _direction(improvement_direction: str) -> int:
    if improvement_direction not in _SIGN:
        raise ValueError(f"improvement_direction must be one of {sorted(_SIGN)}; got {improvement_direction!r}")
    return _SIGN[improvement_direction]


def _check_fix(fix_after_n_points: int | None) -> None:
    if fix_after_n_points is not None and fix_after_n_points < 1:
        raise ValueError(f"fix_after_n_points must be at least 1; got {fix_after_n_points}")


def _mean_or_nan(a: FloatArray) -> float:
    return float(np.mean(a)) if a.size else float("nan")


__all__ = [
    "SpcPoints",
    "SpcResult",
    "SpcSegment",
    "assurance",
    "process_limits",
    "special_cause_type",
    "xmr",
    "xmr_rows",
]
