"""The engine fixture: spec tests write small text tables and run the measures' Ibis expressions on every
engine gpaccess supports: DuckDB, and Spark in local mode (one session for the whole test run, started on first
use; its tests are marked slow). On Spark a table is written to Parquet and read back through the store's own
Spark reader (`storage/spark.py`), the path every snapshot read takes with GPACCESS_ENGINE=spark."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

DEFAULTS = {
    "hcp_type": "GP",
    "appt_mode": "Face-to-Face",
    "national_category": "General Consultation Routine",
    "time_band": "Same Day",
    "appt_status": "Attended",
    "supplier": "EMIS",
}
INTS = {"count", "patients"}


def parse_table(text: str) -> pa.Table:
    """`col | col` header then rows; `month` as YYYY-MM; missing appointment columns take DEFAULTS."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    header = [h.strip() for h in lines[0].split("|")]
    rows = [[c.strip() for c in ln.split("|")] for ln in lines[1:]]
    cols: dict[str, list[object]] = {h: [] for h in header}
    for row in rows:
        assert len(row) == len(header), row
        for h, v in zip(header, row, strict=True):
            if h == "month":
                y, m = v.split("-")
                cols[h].append(date(int(y), int(m), 1))
            elif h in INTS:
                cols[h].append(int(v))
            else:
                cols[h].append(v)
    if "count" in cols:
        for h, default in DEFAULTS.items():
            cols.setdefault(h, [default] * len(rows))
    return pa.table(cols)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self) -> None:
        self.con = ibis.duckdb.connect()
        self._n = 0

    def table(self, text: str):
        return self.load(parse_table(text))

    def load(self, rows: pa.Table):
        self._n += 1
        name = f"t{self._n}"
        self.con.create_table(name, rows)
        return self.con.table(name)


class SparkEngine:
    name = "spark"

    def __init__(self, folder) -> None:
        from gpaccess.storage import spark

        self._spark = spark
        self.con = spark.backend()
        self.folder = folder
        self._n = 0

    def table(self, text: str):
        return self.load(parse_table(text))

    def load(self, rows: pa.Table):
        self._n += 1
        path = self.folder / f"t{self._n}.parquet"
        pq.write_table(rows, path)
        return self._spark.read_parquet(self.con, [str(path)], f"t{self._n}")


ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.slow)]


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    if request.param == "duckdb":
        eng = DuckDBEngine()
        yield eng
        eng.con.disconnect()
    else:
        yield SparkEngine(tmp_path)


@pytest.fixture(scope="module")
def duckdb_and_spark(tmp_path_factory):
    """One DuckDB and one Spark engine side by side, for tests that compare the two on the same rows."""
    duck = DuckDBEngine()
    yield duck, SparkEngine(tmp_path_factory.mktemp("spark"))
    duck.con.disconnect()
