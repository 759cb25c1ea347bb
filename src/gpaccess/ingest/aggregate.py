"""The practice-month aggregate: GPAD appointment rows summed to what every measure needs (DESIGN "The
practice-month aggregate").

Grain: month × practice × HCP type × national category × booking band: the standardisation strata are its
rows. Columns: all appointments, then one column per appointment mode and one per appointment status (one for
each value of those vocabularies), so every face-to-face definition, the DNA rate and every share are sums of
columns over rows — and a new measure over these columns needs no re-ingest. It has roughly 15× fewer rows
than the appointment rows (mode × status are columns, not rows).

It is derived data, written by ingest in the same release as the rows it sums (so a rollback takes it off with
them), as one Ibis expression over appointment rows: the same expression builds it on Spark from a lake table
of GPAD rows a platform already holds.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from gpaccess.ingest.schemas import vocabularies

if TYPE_CHECKING:
    import ibis.expr.types as ir

PUBLICATION = "gpad_practice_month"
GRAIN = ("month", "practice_code", "hcp_type", "national_category", "time_band")
# The appointment-row columns that became columns of the aggregate (one per vocabulary value).
COLUMN_DIMENSIONS = {"appt_mode": "mode", "appt_status": "status"}


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def column_for(dimension: str, value: str) -> str:
    """The aggregate's column holding appointments with `dimension` == `value` (e.g. `mode_face_to_face`)."""
    return f"{COLUMN_DIMENSIONS[dimension]}_{_slug(value)}"


@cache
def value_columns() -> dict[str, tuple[str, str]]:
    """Every value column of the aggregate: {column: (dimension, value)}, in vocabulary order."""
    vocabs = vocabularies()
    out: dict[str, tuple[str, str]] = {}
    for dimension in COLUMN_DIMENSIONS:
        for value in vocabs[dimension].canonical:
            out[column_for(dimension, value)] = (dimension, value)
    return out


def schema() -> dict[str, str]:
    """The stored schema (Ibis type names), as the manifest records it."""
    return {
        "month": "date",
        "practice_code": "string",
        "hcp_type": "string",
        "national_category": "string",
        "time_band": "string",
        "appointments": "int64",
        **dict.fromkeys(value_columns(), "int64"),
    }


def practice_month_aggregate(appointments: ir.Table) -> ir.Table:
    """The aggregate of appointment rows (`month, practice_code, hcp_type, appt_mode, national_category,
    time_band, appt_status, count`), in the store's column order."""
    t = appointments
    # Summed as float64 and cast back (exact below 2^53): DuckDB sums a BIGINT into a HUGEINT, which Ibis takes
    # for int64 and does not cast, and which Parquet then stores as a double; this way every engine writes int64.
    count = t["count"].cast("float64")
    aggs: dict[str, ir.Value] = {"appointments": count.sum()}
    for column, (dimension, value) in value_columns().items():
        aggs[column] = count.sum(where=t[dimension] == value).fill_null(0)
    out = t.group_by(list(GRAIN)).aggregate(**aggs)
    return out.select(*[out[c].cast(kind).name(c) for c, kind in schema().items()])
