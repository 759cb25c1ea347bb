"""GPACCESS_ENGINE=spark end to end, on the synthetic store: the CLI prints the same measures table as on DuckDB,
a cohort selects the same practices, the practice-month aggregate built on Spark from a lake table of GPAD rows
equals the one ingest wrote, and a snapshot exported to Delta Lake reads back row for row. Spark runs in local
mode (one session per test process, listening on loopback only)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpaccess.storage.warehouse import StoreConfig, Warehouse

pytestmark = pytest.mark.slow


def gpaccess(home: Path, *args: str, engine: str = "duckdb") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")}
    env |= {"GPACCESS_HOME": str(home), "GPACCESS_ENGINE": engine, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run([sys.executable, "-m", "gpaccess", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _icb(home: Path) -> str:
    from gpaccess.measures.service import MeasureSession

    d = MeasureSession(Warehouse(StoreConfig(home=home)).snapshot()).directory()
    return sorted(d.icb_code.dropna().unique())[0]


def _same_csv(a: str, b: str) -> None:
    ra, rb = list(csv.reader(io.StringIO(a))), list(csv.reader(io.StringIO(b)))
    assert ra[0] == rb[0]  # the same columns, in the same order
    assert len(ra) == len(rb) > 10
    compared = 0
    for x_row, y_row in zip(ra[1:], rb[1:], strict=True):
        for col, x, y in zip(ra[0], x_row, y_row, strict=True):
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                assert x == y, (col, x, y)
                continue
            assert fx == pytest.approx(fy, rel=1e-9, abs=0), (col, x, y)
            compared += 1
    assert compared > 100


def test_the_cli_prints_the_same_measures_table_on_spark_as_on_duckdb(own_synthetic_home):
    home = own_synthetic_home
    icb = _icb(home)
    duck = gpaccess(home, "measures", "--icb", icb, "--format", "csv")
    spark = gpaccess(home, "measures", "--icb", icb, "--format", "csv", engine="spark")
    _same_csv(duck, spark)


def test_a_cohort_on_spark_selects_the_same_practices(own_synthetic_home):
    import json

    home = own_synthetic_home
    icb = _icb(home)
    duck = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json"))
    spark = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json", engine="spark"))
    pick = lambda run: sorted((m["practice_code"], m["selected"]) for m in run["members"])  # noqa: E731
    assert pick(duck) == pick(spark)
    assert (duck["eligible"], duck["cap"]) == (spark["eligible"], spark["cap"])


def _lake(home: Path, folder: Path) -> tuple[Path, list[str]]:
    """A lake table of GPAD rows: the store's appointment rows with the practice columns beside them, as a
    platform holds the published crosstab, written as a folder of Parquet."""
    wh = Warehouse(StoreConfig(home=home))
    snap = wh.snapshot()
    months = snap.periods("gpad_appointments")[-2:]
    appts = snap.table("gpad_appointments", months)
    pracs = snap.table("gpad_practices", months).drop("appointments", "supplier")
    rows = appts.join(pracs, ["month", "practice_code"]).to_pyarrow()
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    pq.write_table(rows, folder / "part-0.parquet")
    wh.close()
    return folder, months


def _stored_aggregate(home: Path, months: list[str], engine: str = "duckdb") -> pd.DataFrame:
    wh = Warehouse(StoreConfig(home=home, engine=engine))
    df = wh.snapshot().table("gpad_practice_month", months).to_pandas()
    df["month"] = pd.to_datetime(df["month"]).dt.date
    keys = ["month", "practice_code", "hcp_type", "national_category", "time_band"]
    return df.sort_values(keys).reset_index(drop=True)


def test_the_aggregate_built_on_spark_from_a_lake_table_equals_the_ingested_one(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    lake, months = _lake(home, tmp_path / "lake" / "gpad_rows")
    ingested = _stored_aggregate(home, months)

    fresh = tmp_path / "national"  # a platform's installation: no CSV ingested, only the lake's rows
    out = gpaccess(fresh, "store", "build-from-lake", str(lake), engine="spark")
    assert "practice-month aggregate of 2 month(s)" in out
    built = _stored_aggregate(fresh, months, engine="spark")
    assert list(built.columns) == list(ingested.columns)
    assert len(built) == len(ingested)
    counts = [c for c in built.columns if c not in ("month", "practice_code", "hcp_type", "national_category",
                                                     "time_band")]  # fmt: skip
    assert built.drop(columns=counts).equals(ingested.drop(columns=counts))
    assert (built[counts].to_numpy(dtype=np.int64) == ingested[counts].to_numpy(dtype=np.int64)).all()
    # Building again from unchanged rows changes nothing; the measures run on what was built.
    again = gpaccess(fresh, "store", "build-from-lake", str(lake), engine="spark")
    assert "already built" in again


def test_a_lake_table_with_an_unknown_label_is_refused_with_the_value(tmp_path, own_synthetic_home):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gpaccess.ingest.lake import LakeTableError, build_from_lake

    lake, _ = _lake(own_synthetic_home, tmp_path / "lake")
    rows = pq.read_table(lake / "part-0.parquet")
    modes = rows["appt_mode"].to_pylist()
    modes[0] = "Carrier Pigeon"
    bad = tmp_path / "bad"
    bad.mkdir()
    pq.write_table(rows.set_column(rows.schema.get_field_index("appt_mode"), "appt_mode", pa.array(modes)),
                   bad / "part-0.parquet")  # fmt: skip
    wh = Warehouse(StoreConfig(home=tmp_path / "home", engine="spark"))
    with pytest.raises(LakeTableError, match="'Carrier Pigeon'"):
        build_from_lake(wh, str(bad), user="tester")
    assert not (tmp_path / "home" / "store" / "manifest.json").exists()  # nothing was written


def test_a_snapshot_exported_to_delta_reads_back_row_for_row(own_synthetic_home, tmp_path):
    import json

    from deltalake import DeltaTable

    home = own_synthetic_home
    out = gpaccess(home, "store", "export-delta", str(tmp_path / "delta"), "--publication", "gpad_practice_month",
                   "--publication", "registrations")  # fmt: skip
    assert "gpad_practice_month" in out
    snap = Warehouse(StoreConfig(home=home)).snapshot()
    for name in ("gpad_practice_month", "registrations"):
        delta = DeltaTable(str(tmp_path / "delta" / name)).to_pyarrow_table()
        stored = snap.table(name).to_pyarrow()
        assert delta.num_rows == stored.num_rows > 0
        measure = "appointments" if name == "gpad_practice_month" else "patients"
        assert sum(delta[measure].to_pylist()) == sum(stored[measure].to_pylist())
    record = json.loads((tmp_path / "delta" / "gpaccess_snapshot.json").read_text())
    assert record["versions"] == snap.versions()


def test_spark_reads_files_that_disagree_on_a_count_column_type(tmp_path):
    """Aggregates written before the counts were stored as int64 hold doubles; a store can mix both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gpaccess.storage import spark

    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(pa.table({"practice_code": ["A", "B"], "appointments": pa.array([3.0, 4.0])}), old)
    pq.write_table(pa.table({"practice_code": ["C"], "appointments": pa.array([5], pa.int64()), "extra": [1]}), new)
    t = spark.read_parquet(spark.backend(), [str(old), str(new)], "mixed")
    df = t.to_pandas().sort_values("practice_code")
    assert df.appointments.tolist() == [3.0, 4.0, 5.0]
    assert df.extra.isna().tolist() == [True, True, False]
