"""General Practice Workforce, practice level (tested on fixtures built to the layout domain.md C3 documents;
no real file was available). "NA" means not supplied and is stored as null, never zero. No column holds the
month: it is `--month`, else the file name's (`..._2025-10.csv`, `..._Oct_25.csv`, `... October 2025 ...`).
"""

from __future__ import annotations

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import (
    FileRead,
    Layout,
    Probe,
    ReadOptions,
    as_number,
    as_text,
    period_of_file,
)
from gpaccess.ingest.context.tabular import Cells, data_rows, resolve
from gpaccess.storage.periods import month_from_filename, month_key

FTE = ("gp_fte", "gp_extgl_fte", "nurses_fte", "dpc_fte", "admin_fte", "locum_trn_fte")
WORKFORCE = Layout(
    "workforce",
    {"month": "date", "practice_code": "string", "total_patients": "float64", **dict.fromkeys(FTE, "float64")},
    ("practice_code",),
    "total_patients",
)


def read_workforce(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="workforce")
    month = period_of_file(fr, options.month_hint, month_from_filename(probe.name), month_key)
    if month is None:
        fr.problems.append(Problem(fr.display, None, None, "the month in the file name (e.g. _2025-10) or --month"))
        return fr
    resolved = resolve("workforce", probe.header, fr)
    if resolved is None:
        return fr
    seen: set[str] = set()
    total = 0.0
    for line, raw in data_rows(probe, resolved, fr):
        cells = Cells(fr, resolved, line, raw)
        code = cells.require("practice_code", as_text, "a practice code")
        values = {name: cells.get(name, as_number) for name in ("total_patients", *FTE)}
        if not cells.ok:
            continue
        if code in seen:
            fr.problems.append(Problem(fr.display, line, None, "one row per practice", code))
            continue
        seen.add(code)
        total += values["total_patients"] or 0
        fr.add(WORKFORCE, month_key(month), {"month": month, "practice_code": code, **values})
    fr.expect("workforce", rows=len(seen), total=total)
    return fr
