"""Invariants of the statistics, checked with Hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpaccess.statistics.casemix import standardise_long
from gpaccess.statistics.funnel import limit_curves, proportion_funnel, ratio_funnel
from gpaccess.statistics.ranks import rank_intervals_normal
from gpaccess.statistics.shrinkage import shrink

FAST = settings(max_examples=60, deadline=None)


@st.composite
def practices(draw: st.DrawFn, minimum: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators for a handful of practices, shares kept away from 0 and 1 overall."""
    size = draw(st.integers(minimum, 25))
    n = np.array(draw(st.lists(st.integers(20, 5000), min_size=size, max_size=size)), dtype=float)
    shares = np.array(draw(st.lists(st.floats(0.05, 0.95), min_size=size, max_size=size)))
    return np.round(n * shares), n


ADJUSTMENTS = st.sampled_from(["none", "multiplicative", "additive"])


@FAST
@given(practices(), ADJUSTMENTS)
def test_stats_funnel_limits_widen_as_denominators_shrink(data: tuple[np.ndarray, np.ndarray], adj: str) -> None:
    r, n = data
    grid = np.sort(np.concatenate([n, np.geomspace(1, 10_000, 30)]))
    for funnel in (proportion_funnel(r, n, adjustment=adj), ratio_funnel(r + 1, n * 0.5, adjustment=adj)):  # type: ignore[arg-type]
        c = limit_curves(funnel, grid)
        for upper in (c.upper95, c.upper998):
            assert np.all(np.diff(upper) <= 1e-12)  # upper limits fall as size grows
        for lower in (c.lower95, c.lower998):
            assert np.all(np.diff(lower) >= -1e-12)  # lower limits rise as size grows
        assert np.all(c.lower998 <= c.lower95) and np.all(c.upper95 <= c.upper998)


@FAST
@given(practices(), ADJUSTMENTS)
def test_stats_funnel_adjusted_limits_never_narrower(data: tuple[np.ndarray, np.ndarray], adj: str) -> None:
    r, n = data
    plain = proportion_funnel(r, n, adjustment="none")
    adjusted = proportion_funnel(r, n, adjustment=adj)  # type: ignore[arg-type]
    assert np.all(adjusted.upper95 >= plain.upper95 - 1e-12)
    assert np.all(adjusted.lower95 <= plain.lower95 + 1e-12)


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 6), st.integers(0, 400), st.floats(0, 1)),
        min_size=1,
        max_size=80,
    )
)
def test_stats_expected_equals_observed_nationally(rows: list[tuple[int, int, int, float]]) -> None:
    practice = np.array([row[0] for row in rows])
    stratum = np.array([row[1] for row in rows])
    n = np.array([row[2] for row in rows], dtype=float)
    r = np.floor(n * np.array([row[3] for row in rows]))
    s = standardise_long(practice, stratum, n, r)
    np.testing.assert_allclose(s.expected.sum(), s.observed.sum(), rtol=1e-9, atol=1e-9)


@FAST
@given(practices(minimum=2), st.floats(0.05, 0.95), st.one_of(st.none(), st.floats(0.5, 5000)))
def test_stats_shrinkage_lies_between_observed_and_expected(
    data: tuple[np.ndarray, np.ndarray], centre: float, m: float | None
) -> None:
    r, n = data
    e = np.clip(centre + np.linspace(-0.04, 0.04, n.size), 0.01, 0.99)
    s = shrink(r, n, e, prior_strength=m)
    low = np.minimum(s.observed_share, e) - 1e-12
    high = np.maximum(s.observed_share, e) + 1e-12
    assert np.all((low <= s.shrunk_share) & (s.shrunk_share <= high))
    assert np.all((s.lower <= s.shrunk_share) & (s.shrunk_share <= s.upper))


@settings(max_examples=40, deadline=None)
@given(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.01, 3), st.floats(0.01, 3), st.integers(0, 1000))
def test_stats_two_unit_rank_interval_contains_point_rank(
    a: float, b: float, se_a: float, se_b: float, seed: int
) -> None:
    # with two units the higher estimate wins at least half the draws, so its interval includes rank 1
    r = rank_intervals_normal([a, b], [se_a, se_b], draws=400, seed=seed)
    assert np.all((r.lower <= r.point_rank) & (r.point_rank <= r.upper))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-1000, 1000), min_size=2, max_size=15, unique=True),
    st.floats(0.0, 0.1),
    st.integers(0, 1000),
)
def test_stats_rank_interval_contains_point_rank_when_spread_is_small(
    values: list[int], spread: float, seed: int
) -> None:
    # estimates at least 1 apart with standard errors ≤ 0.1: ranks are as good as fixed
    r = rank_intervals_normal(values, np.full(len(values), spread), draws=300, seed=seed)
    assert np.all((r.lower <= r.point_rank) & (r.point_rank <= r.upper))
    assert np.all((r.lower <= r.median) & (r.median <= r.upper))


@st.composite
def series_block(draw: st.DrawFn) -> np.ndarray:
    """Several monthly series of one length, with ties, runs, trends and constant rows as real data has."""
    rows, length = draw(st.integers(1, 6)), draw(st.integers(1, 30))
    level = st.sampled_from([0.2, 0.25, 0.3, 0.35, 0.5])  # a few values: ties and points exactly on a line
    cells = st.one_of(level, st.floats(0.0, 1.0, allow_nan=False), st.integers(0, 40).map(float))
    block = np.array(draw(st.lists(st.lists(cells, min_size=length, max_size=length), min_size=rows, max_size=rows)))
    if draw(st.booleans()):  # a strictly rising row: a trend of 7 or more
        block[0] = np.linspace(0.1, 0.9, length)
    if rows > 1 and draw(st.booleans()):
        block[-1] = 0.3  # a constant row: every moving range 0, so no limits
    return block


@settings(max_examples=150, deadline=None)
@given(series_block(), st.sampled_from(["increase", "decrease", "neutral"]))
def test_stats_xmr_rows_gives_each_row_what_xmr_gives_it_alone(block: np.ndarray, direction: str) -> None:
    from gpaccess.statistics.spc import xmr, xmr_rows

    together = xmr_rows(block, improvement_direction=direction)  # type: ignore[arg-type]
    for i, row in enumerate(block):
        alone = xmr(row, improvement_direction=direction).points  # type: ignore[arg-type]
        for name, values in together.items():
            expected = getattr(alone, name)
            if values.dtype.kind == "f":
                np.testing.assert_allclose(values[i], expected, rtol=1e-12, atol=0, equal_nan=True, err_msg=name)
            else:
                assert values[i].tolist() == expected.tolist(), name
