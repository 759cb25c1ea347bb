"""The engine fixture: spec tests write small text tables and run the measures' Ibis expressions on every
engine gpaccess supports. DuckDB always runs; Spark joins here (a second param) in the national-scale issue."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
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
        self._n += 1
        name = f"t{self._n}"
        self.con.create_table(name, parse_table(text))
        return self.con.table(name)


@pytest.fixture(params=["duckdb"])
def engine(request):
    if request.param == "duckdb":
        eng = DuckDBEngine()
        yield eng
        eng.con.disconnect()
