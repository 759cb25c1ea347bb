"""Rurality and dispensing: NHS Payments to General Practice (one row per practice per financial year).

The 2022-23 file's header is mislabelled in columns 3–6: it reads `CCG Code, Sub ICB NAME, Code, CCG NAME`
but holds sub-ICB code, sub-ICB name, PCN code and PCN name; the other 71 columns line up. Those four are
relabelled, nothing is shifted (DESIGN.md, Settled questions → Context files).
"""

from __future__ import annotations

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import (
    BadValueError,
    FileRead,
    Layout,
    Probe,
    ReadOptions,
    as_date,
    as_number,
    as_text,
    period_of_file,
)
from gpaccess.ingest.context.tabular import Cells, data_rows, resolve
from gpaccess.storage.periods import financial_year, financial_year_from_filename

PAYMENTS = Layout(
    "payments",
    {
        "financial_year": "string",
        "practice_code": "string",
        "practice_name": "string",
        "postcode": "string",
        "region_code": "string",
        "sub_icb_code": "string",
        "sub_icb_name": "string",
        "pcn_code": "string",
        "pcn_name": "string",
        "open_date": "date",
        "close_date": "date",
        "contract_type": "string",
        "dispensing": "boolean",
        "practice_type": "string",
        "rurality": "string",
        "registered_patients": "float64",
        "weighted_patients": "float64",
    },
    ("practice_code",),
    "registered_patients",
)

# The mislabelled 2022-23 header (positions 3–6, 1-based) and the labels its columns actually hold.
MISLABELLED = ("ccg code", "sub icb name", "code", "ccg name")
RELABELLED = ("Sub ICB Code", "Sub ICB NAME", "PCN Code", "PCN Name")


def repair_header(header: list[str]) -> tuple[list[str], bool]:
    """Relabel columns 3–6 of the 2022-23 layout; any other header is returned unchanged."""
    if tuple(h.strip().casefold() for h in header[2:6]) == MISLABELLED:
        return [*header[:2], *RELABELLED, *header[6:]], True
    return header, False


def _rurality(value: object) -> str | None:
    text = (as_text(value) or "").casefold()
    if text in ("", "missing", "unknown"):
        return None
    if text in ("urban", "rural"):
        return text.title()
    raise BadValueError("Urban, Rural or Missing")


def _yes_no(value: object) -> bool | None:
    text = (as_text(value) or "").casefold()
    if text in ("", "unknown", "missing"):
        return None
    if text in ("yes", "y"):
        return True
    if text in ("no", "n"):
        return False
    raise BadValueError("Yes, No or Unknown")


def _known(value: object) -> str | None:
    text = as_text(value)
    return None if text is None or text.casefold() in ("unknown", "missing") else text


def read_payments(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="payments")
    header, repaired = repair_header(probe.header)
    if repaired:
        fr.notes.append(
            "columns 3-6 relabelled from 'CCG Code, Sub ICB NAME, Code, CCG NAME' to "
            "'Sub ICB Code, Sub ICB NAME, PCN Code, PCN Name' (the 2022-23 header is mislabelled)"
        )
    # No column holds the financial year: --month's, else the one the file name says (`..._2022-23.csv`).
    option = financial_year(options.month_hint) if options.month_hint is not None else None
    year = period_of_file(fr, option, financial_year_from_filename(probe.name))
    if year is None:
        fr.problems.append(
            Problem(fr.display, None, None, "a financial year in the file name (e.g. _2022-23) or --month", probe.name)
        )
        return fr
    resolved = resolve("payments", header, fr)
    if resolved is None:
        return fr
    rows, total, seen = 0, 0.0, set()
    for line, raw in data_rows(probe, resolved, fr):
        cells = Cells(fr, resolved, line, raw)
        code = cells.require("practice_code", as_text, "a practice code")
        values = {
            "open_date": cells.get("open_date", as_date),
            "close_date": cells.get("close_date", as_date),
            "dispensing": cells.get("dispensing", _yes_no),
            "rurality": cells.get("rurality", _rurality),
            "registered_patients": cells.get("registered_patients", as_number),
            "weighted_patients": cells.get("weighted_patients", as_number),
        }
        if not cells.ok:
            continue
        if code in seen:
            fr.problems.append(Problem(fr.display, line, None, "one row per practice", code))
            continue
        seen.add(code)
        rows += 1
        total += values["registered_patients"] or 0
        fr.add(
            PAYMENTS,
            year,
            {
                "financial_year": year,
                "practice_code": code,
                **{
                    k: as_text(raw.get(k))
                    for k in ("practice_name", "postcode", "region_code", "sub_icb_code", "sub_icb_name")
                },
                "pcn_code": as_text(raw.get("pcn_code")),
                "pcn_name": as_text(raw.get("pcn_name")),
                "contract_type": _known(raw.get("contract_type")),
                "practice_type": _known(raw.get("practice_type")),
                **values,
            },
        )
    fr.expect("payments", rows=rows, total=total)
    return fr
