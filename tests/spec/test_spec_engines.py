"""DuckDB and Spark agree on the same appointment rows: the practice-month aggregate, every measure's
practice-month counts and pooled values, the standardisation strata and the monthly series. Counts must be
equal; ratios within 1e-12 relative. The rows are a seeded random sample of every vocabulary value, so every
column of the aggregate and every measure's numerator is exercised."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from gpaccess.ingest.aggregate import practice_month_aggregate
from gpaccess.ingest.schemas import vocabularies
from gpaccess.measures.compute import monthly_series, pooled, practice_month_counts, strata_counts, with_list_size
from gpaccess.measures.definitions import load_measures

pytestmark = pytest.mark.slow
MONTHS = [date(2024, m, 1) for m in (5, 6, 7)]
MEASURES = load_measures()


def _rows(n: int = 4000, seed: int = 11) -> tuple[str, str]:
    rng = np.random.default_rng(seed)
    v = vocabularies()
    cols = {
        "month": [MONTHS[i] for i in rng.integers(0, len(MONTHS), n)],
        "practice_code": [f"P{i:03d}" for i in rng.integers(0, 40, n)],
    }
    for c in ("hcp_type", "appt_mode", "national_category", "time_band", "appt_status"):
        values = list(v[c].canonical)
        cols[c] = [values[i] for i in rng.integers(0, len(values), n)]
    cols["count"] = rng.integers(1, 500, n).tolist()
    appts = pa.table(cols)
    practices = sorted(set(cols["practice_code"]))
    regs = pa.table(
        {
            "month": [m for m in MONTHS for _ in practices],
            "practice_code": [p for _ in MONTHS for p in practices],
            "patients": rng.integers(800, 20000, len(MONTHS) * len(practices)).tolist(),
        }
    )
    return appts, regs


class _Tables:
    """The same Arrow tables loaded into one engine."""

    def __init__(self, engine, appts: pa.Table, regs: pa.Table) -> None:
        self.engine = engine
        self.appts = self._load(appts)
        self.regs = self._load(regs)

    def _load(self, table: pa.Table):
        return self.engine.load(table)


@pytest.fixture(scope="module")
def both(duckdb_and_spark):
    duck, spark = duckdb_and_spark
    appts, regs = _rows()
    return _Tables(duck, appts, regs), _Tables(spark, appts, regs)


def _frame(expr, keys: list[str]) -> pd.DataFrame:
    df = expr.to_pandas()
    if "month" in df.columns:
        df["month"] = pd.to_datetime(df["month"]).dt.date
    return df.sort_values(keys).reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and len(a) > 0
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_integer_dtype(x) or pd.api.types.is_integer_dtype(y):
            assert x.isna().equals(y.isna()), c
            assert (x.dropna().astype("int64").to_numpy() == y.dropna().astype("int64").to_numpy()).all(), c
        elif pd.api.types.is_float_dtype(x):
            assert x.isna().equals(y.isna()), c
            np.testing.assert_allclose(x.dropna().to_numpy(), y.dropna().to_numpy(), rtol=1e-12, atol=0, err_msg=c)
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), c


GRAIN = ["month", "practice_code", "hcp_type", "national_category", "time_band"]


def test_the_practice_month_aggregate_is_the_same_on_both_engines(both):
    duck, spark = both
    a = _frame(practice_month_aggregate(duck.appts), GRAIN)
    b = _frame(practice_month_aggregate(spark.appts), GRAIN)
    _assert_same(a, b)
    assert int(a.appointments.sum()) == int(pa.compute.sum(_rows()[0]["count"]).as_py())


def _counts(t: _Tables):
    return with_list_size(practice_month_counts(practice_month_aggregate(t.appts), MEASURES.values()), t.regs)


def test_practice_month_counts_and_pooled_measures_are_the_same(both):
    duck, spark = both
    _assert_same(_frame(_counts(duck), ["month", "practice_code"]), _frame(_counts(spark), ["month", "practice_code"]))
    a = _frame(pooled(_counts(duck), MONTHS, MEASURES.values()), ["practice_code"])
    b = _frame(pooled(_counts(spark), MONTHS, MEASURES.values()), ["practice_code"])
    _assert_same(a, b)
    assert a["f2f_gp"].notna().all() and a["appts_per_1000"].notna().all()


@pytest.mark.parametrize("name", ["f2f_gp", "f2f_all", "dna_rate", "same_day_share"])
def test_standardisation_strata_are_the_same(both, name):
    duck, spark = both
    keys = ["practice_code", "hcp_type", "national_category", "time_band"]
    a = strata_counts(practice_month_aggregate(duck.appts), MEASURES[name], MONTHS).to_pandas()
    b = strata_counts(practice_month_aggregate(spark.appts), MEASURES[name], MONTHS).to_pandas()
    keys = [k for k in keys if k in a.columns]
    _assert_same(a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True))


@pytest.mark.parametrize("name", ["f2f_gp", "dna_rate", "appts_per_1000"])
def test_monthly_series_are_the_same(both, name):
    duck, spark = both
    a = _frame(monthly_series(_counts(duck), MEASURES[name]), ["practice_code", "month"])
    b = _frame(monthly_series(_counts(spark), MEASURES[name]), ["practice_code", "month"])
    _assert_same(a, b)
