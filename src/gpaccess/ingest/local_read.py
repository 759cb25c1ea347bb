"""Reading an ICB's local-data file (CSV or XLSX) into long rows, before any check against the store.

A file comes in long form (practice, indicator, period, value) or wide form (a practice column and one column
per indicator); headers are matched through aliases, numbers may carry thousands separators, and every long
row keeps where it came from (row, columns) so that `ingest/local.py`'s checks can name the row and column of
every problem. Nothing here reads or writes the store.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpaccess.errors import InputFileError, NotFoundError, Problem, UserError
from gpaccess.ingest.context.base import excel_column

# Header aliases, compared after lower-casing and turning spaces and hyphens into underscores.
PRACTICE_ALIASES = {"practice", "practice_code", "practicecode", "gp_code", "gp_practice_code", "ods_code", "org_code"}
INDICATOR_ALIASES = {"indicator", "indicator_name", "measure", "metric"}
PERIOD_ALIASES = {"period", "month", "date", "quarter", "year", "financial_year"}
VALUE_ALIASES = {"value", "indicator_value"}
# Descriptive columns a wide file may carry beside the practice code; never read as indicators.
DESCRIPTIVE = {
    "practice_name",
    "name",
    "gp_name",
    "pcn",
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "sub_icb_name",
    "icb",
    "icb_code",
    "icb_name",
    "region_code",
    "region_name",
}

# Row metadata carried by the long frame so every problem can name its row and column.
META = ["row", "practice_column", "indicator_column", "period_column", "value_column"]
LONG_COLUMNS = ["practice_code", "indicator", "period", "value", "source", *META]


# -- numbers --------------------------------------------------------------------------------------------------
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def parse_number(raw: object) -> float | None:
    """A finite float, or None for text, blanks, booleans, NaN and infinities."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | np.integer | np.floating):
        value = float(raw)
    else:
        text = str(raw).strip()
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            value = float(text)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def is_blank(raw: object) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and not raw.strip()


# -- reading --------------------------------------------------------------------------------------------------
def _header_key(text: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(text if text is not None else "").strip().lower())


def _read_csv_rows(path: Path, name: str) -> list[tuple[int, list[Any]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            [Problem(name, line, None, "UTF-8 text (save the file as 'CSV UTF-8')", repr(data[exc.start : exc.end]))],
            f"{name} is not UTF-8; nothing was stored",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    return [(i, row) for i, row in enumerate(reader, start=1)]


def _read_xlsx_rows(path: Path, name: str, sheet: str | None) -> list[tuple[int, list[Any]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise InputFileError(
            [Problem(name, None, None, "an Excel workbook (.xlsx)", type(exc).__name__)],
            f"{name} could not be opened; nothing was stored",
        ) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise InputFileError(
                [Problem(name, None, None, f"a sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})")],
                f"{name} has no sheet {sheet!r}; nothing was stored",
            )
        return [(i, list(row)) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def read_local_file(path: Path, *, sheet: str | None = None, period: str | None = None) -> pd.DataFrame:
    """Read a local-data file into long form: one row per (practice, indicator, period, value) as written.

    Values stay as read (text or numbers) so that `validate` can say what was wrong and where; the `row` and
    `*_column` columns locate each value in the file (row 1 is the header). `period` is the period of a file
    without a period column. Problems that concern the file rather than a row (a header missing) are raised
    here; an unnamed column holding data is recorded in `attrs["problems"]` for `validate` to report.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if not path.exists():
        raise NotFoundError(f"{path}: no such file")
    if suffix in {".csv", ".txt"}:
        if sheet is not None:
            raise UserError("--sheet applies to XLSX files only")
        rows = _read_csv_rows(path, name)
    elif suffix in {".xlsx", ".xlsm"}:
        rows = _read_xlsx_rows(path, name, sheet)
    else:
        raise UserError(f"{name}: expected a .csv or .xlsx file (save older .xls workbooks as .xlsx)")
    rows = [(i, r) for i, r in rows if any(not is_blank(c) for c in r)]
    if not rows:
        raise InputFileError([Problem(name, None, None, "a header row and data rows", "an empty file")])
    header_row, header = rows[0]
    return _to_long(name, header_row, header, rows[1:], period)


def _find(keys: list[str], aliases: set[str]) -> int | None:
    found = [i for i, k in enumerate(keys) if k in aliases]
    return found[0] if found else None


def _to_long(
    name: str, header_row: int, header: list[Any], rows: list[tuple[int, list[Any]]], period: str | None
) -> pd.DataFrame:
    labels = ["" if is_blank(h) else str(h).strip() for h in header]
    keys = [_header_key(h) for h in labels]
    practice = _find(keys, PRACTICE_ALIASES)
    indicator, value = _find(keys, INDICATOR_ALIASES), _find(keys, VALUE_ALIASES)
    period_col = _find(keys, PERIOD_ALIASES)
    if practice is None:
        raise InputFileError(
            [Problem(name, header_row, None, "a practice column (practice or practice_code)", ", ".join(labels))],
            f"{name} has no practice column; nothing was stored",
        )
    if period_col is None and period is None:
        raise InputFileError(
            [Problem(name, header_row, None, "a period column (or give the file's period with --period)")],
            f"{name} has no period column; nothing was stored",
        )
    records: list[list[Any]] = []
    problems: list[Problem] = []

    def cell(row: list[Any], i: int | None) -> Any:
        return row[i] if i is not None and i < len(row) else None

    if indicator is not None and value is not None:  # long form
        for r, row in rows:
            records.append(
                [
                    cell(row, practice),
                    cell(row, indicator),
                    cell(row, period_col) if period_col is not None else period,
                    cell(row, value),
                    name,
                    r,
                    labels[practice],
                    labels[indicator],
                    labels[period_col] if period_col is not None else None,
                    labels[value],
                ]
            )
    else:  # wide form: every other column is an indicator
        skip = {practice, period_col} | {i for i, k in enumerate(keys) if k in DESCRIPTIVE}
        indicators = [i for i in range(len(labels)) if i not in skip]
        width = max([len(labels)] + [len(row) for _, row in rows])
        for i in range(len(labels), width):
            indicators.append(i)
            labels.append("")
        for i in indicators:
            if labels[i]:
                continue
            if any(not is_blank(cell(row, i)) for _, row in rows):
                problems.append(
                    Problem(name, header_row, f"column {excel_column(i)}", "an indicator name in the header", "")
                )
        named = [i for i in indicators if labels[i]]
        if not named:
            raise InputFileError(
                [Problem(name, header_row, None, "indicator columns (or long form: indicator and value)")],
                f"{name} has no indicator columns; nothing was stored",
            )
        for r, row in rows:
            for i in named:
                v = cell(row, i)
                if is_blank(v):
                    continue  # a blank cell in wide form is "no figure", not an error
                records.append(
                    [
                        cell(row, practice),
                        labels[i],
                        cell(row, period_col) if period_col is not None else period,
                        v,
                        name,
                        r,
                        labels[practice],
                        labels[i],
                        labels[period_col] if period_col is not None else None,
                        labels[i],
                    ]
                )
    frame = pd.DataFrame(records, columns=LONG_COLUMNS, dtype=object)
    frame["row"] = frame["row"].astype("int64")
    frame.attrs["problems"] = problems
    return frame
