"""Every practice's SPC points computed together (`figures.BatchSpc`) are the chart `xmr` draws of that
practice alone: its months with a value, their latest consecutive run, and the rules' signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpaccess.measures.service import MeasureSession, SeriesBatch
from gpaccess.publication.figures import SPC_DIRECTION, BatchSpc, latest_consecutive, spc_points
from gpaccess.statistics.spc import xmr
from gpaccess.storage.warehouse import StoreConfig, Warehouse

LIMITS = {"mean": "mean", "lower": "lower_limit", "upper": "upper_limit", "lower_2s": "lower_two_sigma",
          "upper_2s": "upper_two_sigma"}  # fmt: skip


def _expected(series: pd.DataFrame, direction: str) -> tuple[pd.DataFrame, object]:
    """The chart of one practice worked out alone, on frames: the months with a value, their latest run."""
    kept = latest_consecutive(series.dropna(subset=["value"]).reset_index(drop=True))
    return kept, xmr(kept["value"].astype(float).to_numpy(), improvement_direction=direction).points  # type: ignore[arg-type]


def _check(columns: dict[str, np.ndarray], series: pd.DataFrame, direction: str) -> None:
    kept, p = _expected(series, direction)
    assert list(pd.to_datetime(columns["month"])) == list(pd.to_datetime(kept["month"]))
    np.testing.assert_allclose(columns["value"].astype(float), kept["value"].astype(float))
    for ours, theirs in LIMITS.items():
        np.testing.assert_allclose(columns[ours], getattr(p, theirs), rtol=1e-12, equal_nan=True, err_msg=ours)
    assert columns["trial"].tolist() == p.trial_limits.tolist()
    signal = ["" if not s else "improvement" if "improvement" in t else "concern" if "concern" in t else "neither"
              for t, s in zip(p.point_type, p.special_cause, strict=True)]  # fmt: skip
    assert columns["special_cause"].tolist() == signal
    rule = ["outside limits" if o else "2 of 3 beyond 2σ" if s and c else "run or trend of 7" if s else ""
            for o, s, c in zip(p.outside_limits, p.special_cause, p.close_to_limits, strict=True)]  # fmt: skip
    assert columns["rule"].tolist() == rule


def test_runs_start_after_a_gap_and_end_at_the_last_month_with_a_value():
    # Stored months with a calendar gap (2019 baseline months beside recent ones), and practices missing months.
    months = pd.to_datetime(["2019-08-01", "2019-09-01"] + [f"2025-{m:02d}-01" for m in range(1, 11)])
    n = len(months)
    rng = np.random.default_rng(3)
    values = {
        "A": rng.uniform(0.2, 0.6, n),  # every month: the run is the 10 recent months (the gap breaks it)
        "B": np.where(np.arange(n) == 6, np.nan, rng.uniform(0.2, 0.6, n)),  # May 2025 missing: June on
        "C": np.where(np.arange(n) >= n - 2, np.nan, np.linspace(0.1, 0.9, n)),  # left the data: ends earlier
        "D": np.where(np.arange(n) < 2, 0.4, np.nan),  # only the 2019 months
        "E": np.full(n, 0.3),  # constant: no limits
    }
    frame = pd.concat(
        [
            pd.DataFrame({"month": months, "numerator": v * 100, "denominator": 100.0, "value": v})
            for v in values.values()
        ],
        ignore_index=True,
    )
    batch = BatchSpc.of(SeriesBatch(frame, n), "increase")
    for i in range(len(values)):
        _check(batch.columns(i), frame.iloc[i * n : (i + 1) * n].reset_index(drop=True), "increase")
    assert len(batch.columns(0)["month"]) == 10 and len(batch.columns(1)["month"]) == 5
    assert len(batch.columns(2)["month"]) == 8 and len(batch.columns(3)["month"]) == 2


def test_a_practice_with_no_value_has_no_chart():
    months = pd.to_datetime(["2025-01-01", "2025-02-01"])
    frame = pd.DataFrame({"month": months, "numerator": [0.0, 0.0], "denominator": [0.0, 0.0], "value": np.nan})
    with pytest.raises(ValueError, match="non-empty"):
        BatchSpc.of(SeriesBatch(frame, 2), "increase").columns(0)


@pytest.mark.parametrize("measure", ["f2f_gp", "dna_rate", "appts_per_1000"])
def test_every_practice_of_a_store_gets_its_own_chart(synthetic_store, measure):
    home, _ = synthetic_store
    warehouse = Warehouse(StoreConfig(home=home))
    try:
        session = MeasureSession(warehouse.snapshot())
        session.prefetch_series(None, measure)  # every practice's series in one batch, as a server reads them
        direction = SPC_DIRECTION[session.measure(measure).direction]
        codes = list(session.directory().practice_code)
        assert len(codes) > 500
        for code in codes:
            try:
                series = session.series(code, measure)
            except Exception:  # no appointments: no series, and no chart either
                continue
            if series["value"].isna().all():
                continue
            _check(spc_points(session, code, measure).columns, series, direction)
    finally:
        warehouse.close()


def test_a_server_computes_every_practices_points_once_per_batch(synthetic_store):
    from gpaccess.publication.figures import warm_spc

    home, _ = synthetic_store
    warehouse = Warehouse(StoreConfig(home=home))
    try:
        session = MeasureSession(warehouse.snapshot())
        session.prefetch_series(None, "f2f_gp")
        warm_spc(session, ("f2f_gp",))
        (batch,) = session.series_batches("f2f_gp")  # every practice's series in one batch
        (points,) = batch.derived.values()
        code = next(c for c in session.directory().practice_code if session.series(c, "f2f_gp")["value"].notna().any())
        spc_points(session, code, "f2f_gp")  # a page's chart reads the points computed on warming
        assert list(batch.derived.values()) == [points]
    finally:
        warehouse.close()
