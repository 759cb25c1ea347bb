"""Cloud-based telephony call outcomes by practice ("Cloud Based Telephony Publication Summary", `Table 3`).

Handled: headers over two or three rows with merged count and % columns (counts are kept; shares are
derivable), Total/National rows above the data, months as Excel dates, `-` or blank where a figure was not
supplied (stored as null: missing is not zero), and `Unassigned` rows, which are phone accounts shared by
several practices: they go to `telephony_unassigned`, never to a practice. In the October and November 2025
files one practice row has its month cell overwritten by the copyright line; it keeps the table's month and
the repair is recorded with the release.
"""

from __future__ import annotations

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
    as_text,
    excel_column,
)
from gpaccess.storage.periods import month_key

SHEET = "Table 3"
MEASURES = ("inbound", "answered", "ended_in_ivr", "callback_requested", "missed", "callback_made")
_GEOGRAPHY = {
    "month": "date",
    "practice_code": "string",
    "practice_name": "string",
    "pcn_code": "string",
    "pcn_name": "string",
    "sub_icb_code": "string",
    "icb_code": "string",
    "region_code": "string",
}
TELEPHONY = Layout("telephony", {**_GEOGRAPHY, **dict.fromkeys(MEASURES, "int64")}, ("practice_code",), "inbound")
UNASSIGNED = Layout(
    "telephony_unassigned",
    {**{k: v for k, v in _GEOGRAPHY.items() if k != "practice_code"}, **dict.fromkeys(MEASURES, "int64")},
    ("sub_icb_code",),
    "inbound",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "month": ("Month",),
    "practice_code": ("GP Practice (ODS_CODE)", "GP Code", "Practice Code"),
    "practice_name": ("GP Name",),
    "pcn_code": ("PCN Code",),
    "pcn_name": ("PCN Name",),
    "sub_icb_code": ("Sub ICB Code",),
    "icb_code": ("ICB Code",),
    "region_code": ("Region Code",),
    "inbound": ("count of inbound calls | total", "inbound calls | total"),
    "answered": ("answered | total",),
    "ended_in_ivr": ("ended during the ivr stage | total",),
    "callback_requested": ("call back requested | total",),
    "missed": ("missed | total",),
    "callback_made": ("call back made | total",),
}
OPTIONAL = {"practice_name", "pcn_code", "pcn_name", "icb_code", "region_code"}


HEADER_LABELS = {"answered"}


def detect(probe: Probe) -> bool:
    """By content: a `Table 3` whose header starts 'Month' and holds 'Answered'."""
    return xlsx.has_table(probe, SHEET, HEADER_LABELS)


def read_telephony(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="telephony")
    table = xlsx.open_table(
        probe, SHEET, HEADER_LABELS, "a header row starting 'Month', with 'Answered'", COLUMNS, OPTIONAL, fr
    )
    if table is None:
        return fr
    rows, header, pos, where = table.rows, table.header, table.pos, table.where
    parsed: list[tuple[int, dict[str, Any], Any]] = []
    for r in xlsx.data_block(rows, header, pos["practice_code"], fr, where):
        fr.file_rows += 1
        values: dict[str, Any] = {}
        ok = True
        month_cell = r.cells[pos["month"]]
        for name, j in pos.items():
            if name == "month":
                continue
            cell = r.cells[j] if j < len(r.cells) else None
            try:
                values[name] = as_count(cell) if name in MEASURES else as_text(cell)
            except BadValueError as exc:
                fr.problems.append(
                    Problem(where, r.number, f"{excel_column(j)} ({header.shown[j]})", str(exc), str(cell))
                )
                ok = False
        try:
            values["month"] = as_month(month_cell)
        except BadValueError:
            values["month"] = None
        if ok:
            parsed.append((r.number, values, month_cell))
    months = {v["month"] for _, v, _ in parsed if v["month"] is not None}
    seen: dict[str, int] = {}
    totals = {"telephony": [0, 0], "telephony_unassigned": [0, 0]}
    for number, values, month_cell in parsed:
        if values["month"] is None:
            if len(months) != 1:
                col = pos["month"]
                fr.problems.append(
                    Problem(where, number, f"{excel_column(col)} ({header.shown[col]})", "a month", str(month_cell))
                )
                continue
            table_month = next(iter(months))
            values["month"] = table_month
            fr.notes.append(
                f"sheet {SHEET!r} row {number}: month cell read {str(month_cell).strip()!r}; "
                f"took the table's month {month_key(table_month)}"
            )
        code = values["practice_code"]
        if code.casefold() == xlsx.UNASSIGNED:
            layout = UNASSIGNED
            values = {k: v for k, v in values.items() if k != "practice_code"}
        else:
            layout = TELEPHONY
            if code in seen:
                fr.problems.append(Problem(where, number, None, f"one row per practice (also row {seen[code]})", code))
                continue
            seen[code] = number
        tally = totals[layout.publication]
        tally[0] += 1
        tally[1] += values["inbound"] or 0
        fr.add(layout, month_key(values["month"]), values)
    for publication, (n, total) in totals.items():
        fr.expect(publication, rows=n, total=total)
    return fr
