"""The practice-month aggregate built from a lake table of GPAD rows (`ingest/lake.py`), on DuckDB: the same
aggregate ingest wrote from the CSV, one release, a no-op the second time, refusals that name the problem.
The same on Spark is in tests/integration/test_spark_engine.py."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gpaccess.ingest.lake import LakeTableError, build_from_lake
from gpaccess.ingest.load import ingest_files
from gpaccess.storage.warehouse import StoreConfig, Warehouse

KEYS = ["month", "practice_code", "hcp_type", "national_category", "time_band"]


@pytest.fixture
def lake(warehouse, gpad_fixtures, tmp_path):
    """The July 2024 fixture ingested as usual, and its rows written as a lake table (a folder of Parquet)."""
    ingest_files(warehouse, [gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv"], user="tester")
    snap = warehouse.snapshot()
    appts = snap.table("gpad_appointments")
    pracs = snap.table("gpad_practices").drop("appointments", "supplier")
    folder = tmp_path / "lake" / "gpad_rows"
    folder.mkdir(parents=True)
    pq.write_table(appts.join(pracs, ["month", "practice_code"]).to_pyarrow(), folder / "part-0.parquet")
    return folder


def _aggregate(wh: Warehouse) -> pd.DataFrame:
    return wh.snapshot().table("gpad_practice_month").to_pandas().sort_values(KEYS).reset_index(drop=True)


def test_lake_aggregate_equals_the_one_ingest_wrote(warehouse, lake, tmp_path):
    national = Warehouse(StoreConfig(home=tmp_path / "national"))
    result = build_from_lake(national, str(lake), user="tester")
    assert result.months == ["2024-07"] and result.release is not None
    built, ingested = _aggregate(national), _aggregate(warehouse)
    assert len(built) > 0
    pd.testing.assert_frame_equal(built, ingested)
    practices = national.snapshot().table("gpad_practices").to_pandas()
    assert set(practices.practice_code) == set(ingested.practice_code)
    assert int(practices.appointments.sum()) == int(ingested.appointments.sum()) == result.appointments
    again = build_from_lake(national, str(lake), user="tester")
    assert again.already and again.release is None
    assert national.snapshot().generation == 1  # the second build wrote nothing


def test_lake_table_missing_a_column_is_refused_naming_it(lake, tmp_path):
    rows = pq.read_table(lake / "part-0.parquet").drop_columns(["time_band"])
    bad = tmp_path / "bad"
    bad.mkdir()
    pq.write_table(rows, bad / "part-0.parquet")
    with pytest.raises(LakeTableError, match="no column time_band"):
        build_from_lake(Warehouse(StoreConfig(home=tmp_path / "n")), str(bad), user="tester")


def test_lake_table_month_it_does_not_hold_is_refused(lake, tmp_path):
    from datetime import date

    with pytest.raises(LakeTableError, match="no rows for 2019-01"):
        build_from_lake(
            Warehouse(StoreConfig(home=tmp_path / "n")), str(lake), user="tester", months=[date(2019, 1, 1)]
        )


def test_store_refuses_an_unknown_engine(tmp_path):
    with pytest.raises(ValueError, match="unknown engine 'flink'"):
        Warehouse(StoreConfig(home=tmp_path, engine="flink"))


def test_lake_aggregate_from_a_delta_table_reads_its_live_rows_only(warehouse, lake, tmp_path):
    """A Delta folder holds files an overwrite removed; only the live ones are the table."""
    from deltalake import write_deltalake

    rows = pq.read_table(lake / "part-0.parquet")
    delta = tmp_path / "delta"
    write_deltalake(str(delta), rows.slice(0, 10), mode="overwrite")  # a first version, then replaced
    write_deltalake(str(delta), rows, mode="overwrite")
    national = Warehouse(StoreConfig(home=tmp_path / "national"))
    result = build_from_lake(national, str(delta), user="tester")
    assert result.rows == rows.num_rows
    pd.testing.assert_frame_equal(_aggregate(national), _aggregate(warehouse))
