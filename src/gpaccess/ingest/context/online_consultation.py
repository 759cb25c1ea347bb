"""Online consultation submissions by practice and month ("Submissions via Online Consultation Systems in
General Practice", renamed "... via OC Systems ..." from April 2025): `Table 2`, one row per practice.

Handled: the header on the 4th non-empty row, footnote markers in names (`Submissions [7]`, `[7. 11]`), the
month as an Excel date, `Participation` only from August 2024 (and `*` where not published), upper-case text
in later files (supplier names are stored upper-case throughout). The rate per 1,000 patients is the
publisher's own, over its own patient count.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gpaccess.errors import Problem
from gpaccess.ingest.context import xlsx
from gpaccess.ingest.context.base import (
    BadValueError,
    FileRead,
    Layout,
    Probe,
    ReadOptions,
    as_count,
    as_month,
    as_number,
    as_text,
    excel_column,
    is_missing,
)
from gpaccess.storage.periods import month_key

SHEET = "Table 2"
OC = Layout(
    "online_consultation",
    {
        "month": "date",
        "practice_code": "string",
        "practice_name": "string",
        "pcn_code": "string",
        "sub_icb_code": "string",
        "icb_code": "string",
        "region_code": "string",
        "supplier": "string",
        "submissions": "int64",
        "clinical_submissions": "int64",
        "administrative_submissions": "int64",
        "other_submissions": "int64",
        "registered_patients": "int64",
        "rate_per_1000": "float64",
        "participation": "boolean",
    },
    ("practice_code",),
    "submissions",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "month": ("Month",),
    "practice_code": ("GP Code",),
    "practice_name": ("GP Name",),
    "pcn_code": ("PCN Code",),
    "sub_icb_code": ("Sub ICB Code",),
    "icb_code": ("ICB Code",),
    "region_code": ("Region Code",),
    "supplier": ("Supplier",),
    "submissions": ("Submissions",),
    "clinical_submissions": ("Clinical Submissions",),
    "administrative_submissions": ("Administrative Submissions",),
    "other_submissions": ("Other/Unknown Type Submissions",),
    "registered_patients": ("Registered Patient Count",),
    "rate_per_1000": ("Rate per 1,000 Registered Patients",),
    "participation": ("Participation",),
}
OPTIONAL = {"participation", "practice_name", "pcn_code", "icb_code", "region_code", "supplier"}
COUNTS = ("submissions", "clinical_submissions", "administrative_submissions", "other_submissions")


HEADER_LABELS = {"gp code", "submissions"}


def detect(probe: Probe) -> bool:
    """By content: a `Table 2` whose header starts 'Month' and holds 'GP Code' and 'Submissions'."""
    return xlsx.has_table(probe, SHEET, HEADER_LABELS)


def _participation(value: Any) -> bool | None:
    if is_missing(value):
        return None
    number = as_number(value)
    if number in (0.0, 1.0):
        return number == 1.0
    raise BadValueError("1, 0 or * (not published)")


def read_online_consultation(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="online_consultation")
    table = xlsx.open_table(
        probe,
        SHEET,
        HEADER_LABELS,
        "a header row starting 'Month', with 'GP Code' and 'Submissions'",
        COLUMNS,
        OPTIONAL,
        fr,
    )
    if table is None:
        return fr
    rows, header, pos, where = table.rows, table.header, table.pos, table.where
    seen: dict[str, int] = {}
    total = 0
    for r in xlsx.data_block(rows, header, pos["practice_code"], fr, where):
        fr.file_rows += 1
        values: dict[str, Any] = {}
        ok = True
        converters = {
            "month": as_month,
            **dict.fromkeys((*COUNTS, "registered_patients"), as_count),
            "rate_per_1000": as_number,
            "participation": _participation,
        }
        for name, j in pos.items():
            cell = r.cells[j] if j < len(r.cells) else None
            try:
                values[name] = converters.get(name, as_text)(cell)
            except BadValueError as exc:
                fr.problems.append(
                    Problem(where, r.number, f"{excel_column(j)} ({header.shown[j]})", str(exc), str(cell))
                )
                ok = False
        code = values["practice_code"]
        if code in seen:
            fr.problems.append(Problem(where, r.number, None, f"one row per practice (also row {seen[code]})", code))
            ok = False
        if not ok:
            continue
        seen[code] = r.number
        month: date = values["month"]
        if values.get("supplier"):
            values["supplier"] = values["supplier"].upper()
        total += values["submissions"] or 0
        fr.add(OC, month_key(month), {**values, "participation": values.get("participation")})
    fr.expect("online_consultation", rows=len(seen), total=total)
    return fr
