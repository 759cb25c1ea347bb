"""Deprivation: OHID Fingertips indicator 93553 (IMD score of each practice's registered population).

Two file shapes are read: the standard Fingertips export (the API's CSV; England and parent rows are dropped,
only `Area Type` GP rows kept) and the short `IndicatorID, Year, AreaCode, AreaName, IsAreaCurrent, Value`
layout. Only scores are stored: deciles are computed when read, across every practice the store scores for
the year (`queries.imd_deciles`), so they never depend on which file brought which practices.
"""

from __future__ import annotations

from typing import Any

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import FileRead, Layout, Probe, ReadOptions, as_number, as_text
from gpaccess.ingest.context.tabular import Cells, data_rows, resolve

INDICATOR = "93553"
PRACTICE_AREA_TYPES = {"gp", "gps"}  # the export says "GP"; some API versions say "GPs"

IMD = Layout(
    "imd",
    {
        "year": "int64",
        "practice_code": "string",
        "practice_name": "string",
        "imd_score": "float64",
        "is_current": "boolean",
        "source": "string",
    },
    ("practice_code",),  # a later file for the same year replaces those practices' rows
    None,
)


def read_imd(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="imd")
    resolved = resolve("imd", probe.header, fr)
    if resolved is None:
        return fr
    source = "fingertips" if "area_type" in resolved.index else "fingertips_timeseries"
    by_year: dict[int, dict[str, dict[str, Any]]] = {}
    kept = 0
    for line, raw in data_rows(probe, resolved, fr):
        if "area_type" in raw and raw["area_type"].strip().casefold() not in PRACTICE_AREA_TYPES:
            continue  # England and parent-area rows of the standard export
        cells = Cells(fr, resolved, line, raw)
        if raw["indicator_id"].strip() != INDICATOR:
            i = resolved.index["indicator_id"]
            fr.problems.append(
                Problem(fr.display, line, f"{i + 1} ({probe.header[i]})", f"indicator {INDICATOR}", raw["indicator_id"])
            )
            continue
        code = cells.require("area_code", as_text, "a practice code")
        score = cells.get("value", as_number)
        year_text = (raw.get("year") or "").strip()[:4]
        if not year_text.isdigit():
            i = resolved.index["year"]
            fr.problems.append(Problem(fr.display, line, f"{i + 1} ({probe.header[i]})", "a year", raw.get("year")))
            continue
        if not cells.ok:
            continue
        year = int(year_text)
        rows = by_year.setdefault(year, {})
        if code in rows:
            fr.problems.append(
                Problem(
                    fr.display, line, None, f"one row per practice and year (also on line {rows[code]['_line']})", code
                )
            )
            continue
        current = raw.get("is_current")
        rows[code] = {
            "_line": line,
            "year": year,
            "practice_code": code,
            "practice_name": as_text(raw.get("area_name")),
            "imd_score": score,
            "is_current": None if current is None else current.strip() == "1",
            "source": source,
        }
        kept += 1
    for year, rows in by_year.items():
        for r in rows.values():
            r.pop("_line")
            fr.add(IMD, str(year), r)
    fr.expect("imd", rows=kept)
    return fr
