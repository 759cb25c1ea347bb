"""ODS `epraccur`: the reference list of prescribing settings, kept for GP practices (setting 4) only.

The file has no header, 27 quoted columns and dates as YYYYMMDD. Its month is the extract's, which no column
holds: `--month`, else the file name (`epraccur_2025-05.csv`).
"""

from __future__ import annotations

import re

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import (
    BadValueError,
    FileRead,
    Layout,
    Probe,
    ReadOptions,
    as_date,
    as_text,
    open_text,
    period_of_file,
    rows_of,
)
from gpaccess.storage.periods import month_from_filename, month_key

WIDTH = 27
GP_PRACTICE_SETTING = "4"
STATUSES = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}
# 0-based positions of the columns kept (ODS standard layout; PROVENANCE.md section 5).
POSITIONS = {
    "practice_code": 0,
    "name": 1,
    "national_grouping": 2,
    "icb_code": 3,
    "postcode": 9,
    "open_date": 10,
    "close_date": 11,
    "status": 12,
    "org_subtype": 13,
    "commissioner_code": 14,
    "join_date": 15,
    "left_date": 16,
    "phone": 17,
    "provider_purchaser": 23,
    "prescribing_setting": 25,
}
_DATES = ("open_date", "close_date", "join_date", "left_date")
_CODE = re.compile(r"^[A-Z0-9]{3,8}$")

ODS = Layout(
    "ods_practices",
    {
        "extract_month": "date",
        **{name: ("date" if name in _DATES else "string") for name in POSITIONS},
    },
    ("practice_code",),
    None,
)


def _ods_date(value: str) -> object:
    text = value.strip()
    if text and not (len(text) == 8 and text.isdigit()):
        raise BadValueError("a date as YYYYMMDD")
    return as_date(text)


def looks_like_epraccur(header: list[str]) -> bool:
    """The first line of a header-less epraccur: 27 fields, an organisation code first and a numeric
    prescribing setting in column 26."""
    return len(header) == WIDTH and bool(_CODE.match(header[0].strip())) and header[25].strip().isdigit()


def read_ods(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="ods_practices")
    month = period_of_file(fr, options.month_hint, month_from_filename(probe.name), month_key)
    if month is None:
        fr.problems.append(
            Problem(fr.display, None, None, "the extract month in the file name (epraccur_2025-05.csv) or --month")
        )
        return fr
    kept = 0
    with open_text(probe.path) as fh:
        for line, fields in rows_of(fh):
            if not fields:
                continue
            fr.file_rows += 1
            if len(fields) != WIDTH:
                fr.problems.append(Problem(fr.display, line, None, f"a row of {WIDTH} fields", f"{len(fields)} fields"))
                continue
            if fields[POSITIONS["prescribing_setting"]].strip() != GP_PRACTICE_SETTING:
                continue
            row: dict[str, object] = {"extract_month": month}
            ok = True
            for name, pos in POSITIONS.items():
                try:
                    row[name] = _ods_date(fields[pos]) if name in _DATES else as_text(fields[pos])
                except BadValueError as exc:
                    fr.problems.append(Problem(fr.display, line, f"{pos + 1} ({name})", str(exc), fields[pos]))
                    ok = False
            if row["status"] not in STATUSES:
                fr.problems.append(
                    Problem(fr.display, line, "13 (status)", "a status A, C, D or P", fields[POSITIONS["status"]])
                )
                ok = False
            if not row["practice_code"]:
                fr.problems.append(Problem(fr.display, line, "1 (code)", "a practice code", "an empty value"))
                ok = False
            if ok:
                kept += 1
                fr.add(ODS, month_key(month), row)
    fr.expect("ods_practices", rows=kept)
    return fr
