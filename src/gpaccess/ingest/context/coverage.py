"""GPAD coverage: how much of each sub-ICB's registered population the appointment data covers, by month.

Coverage = patients registered at included practices ÷ patients registered at open practices (domain.md B7).
"""

from __future__ import annotations

from gpaccess.ingest.context.base import FileRead, Layout, Probe, ReadOptions, as_count, as_month, as_text
from gpaccess.ingest.context.tabular import Cells, data_rows, resolve
from gpaccess.storage.periods import month_key

COVERAGE = Layout(
    "coverage",
    {
        "month": "date",
        "sub_icb_code": "string",
        "icb_ons_code": "string",
        "region_ons_code": "string",
        "included_practices": "int64",
        "open_practices": "int64",
        "included_patients": "int64",
        "open_patients": "int64",
        "coverage": "float64",
    },
    ("sub_icb_code",),
    "included_patients",
)


def read_coverage(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="coverage")
    resolved = resolve("coverage", probe.header, fr)
    if resolved is None:
        return fr
    rows = total = 0
    for line, raw in data_rows(probe, resolved, fr):
        cells = Cells(fr, resolved, line, raw)
        code = cells.require("sub_icb_code", as_text, "a sub-ICB code")
        month = cells.get("month", as_month)
        counts = {
            name: cells.require(name, as_count, "a whole number ≥ 0")
            for name in ("included_practices", "open_practices", "included_patients", "open_patients")
        }
        if not cells.ok:
            continue
        rows += 1
        total += counts["included_patients"]
        open_patients = counts["open_patients"]
        fr.add(
            COVERAGE,
            month_key(month),
            {
                "month": month,
                "sub_icb_code": code,
                "icb_ons_code": as_text(raw.get("icb_ons_code")),
                "region_ons_code": as_text(raw.get("region_ons_code")),
                **counts,
                "coverage": counts["included_patients"] / open_patients if open_patients else None,
            },
        )
    fr.expect("coverage", rows=rows, total=total)
    return fr
