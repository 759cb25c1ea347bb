"""Tables as files and documents: CSV, XLSX and JSON, with formulas neutralised (DESIGN "Table outputs").

A command that prints a table writes it to standard output (CSV or JSON: text) or to `--out FILE` (any of the
three; XLSX, being binary, only to a file). The format is `--format` or else the file's extension. Text cells a
spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``) are neutralised: in CSV with a leading
apostrophe (`exports.neutralise_formulas`), in XLSX by storing them as text cells marked "quote prefix", which
a spreadsheet shows exactly as written and never evaluates, even when the cell is edited.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpaccess.errors import UserError
from gpaccess.publication.exports import FORMULA_PREFIXES, neutralise_formulas, write_csv

FORMATS = ("csv", "xlsx", "json")
TEXT_FORMATS = ("csv", "json")
MAX_COLUMN_WIDTH = 60


def table_format(fmt: str | None, path: Path | None, *, allowed: Sequence[str] = FORMATS) -> str:
    """The format asked for: `--format` if given, else the file's extension; refused if unknown, and a binary
    format refused on standard output."""
    if fmt:
        chosen = fmt.strip().lower()
    elif path is not None and path.suffix:
        chosen = path.suffix.lstrip(".").lower()
    else:
        chosen = "csv"
    if chosen not in allowed:
        where = f"the file {path.name}" if path is not None and not fmt else f"--format {fmt!r}"
        raise UserError(f"{where}: expected one of {', '.join(allowed)}")
    if path is None and chosen not in TEXT_FORMATS:
        raise UserError(f"--format {chosen} is a binary format: write it to a file with --out FILE.{chosen}")
    return chosen


def _plain(value: Any, *, join: bool = True) -> Any:
    """A cell as JSON and XLSX take it: numpy scalars unwrapped, missing values None, lists joined (XLSX) or
    kept (JSON)."""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(str(v) for v in value) if join else [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dictionaries (missing values null, dates ISO)."""
    out = []
    for row in df.itertuples(index=False, name=None):
        item = {}
        for col, value in zip(df.columns, row, strict=True):
            v = _plain(value, join=False)
            item[str(col)] = v.isoformat() if isinstance(v, datetime | date) else v
        out.append(item)
    return out


def render_json(body: Mapping[str, Any] | pd.DataFrame) -> str:
    """A JSON document: a table as its list of records, or a mapping (whose frames become records)."""
    if isinstance(body, pd.DataFrame):
        return json.dumps(records(body), indent=1, ensure_ascii=False)
    doc = {k: records(v) if isinstance(v, pd.DataFrame) else v for k, v in body.items()}
    return json.dumps(doc, indent=1, ensure_ascii=False, default=str)


def render_csv(df: pd.DataFrame) -> str:
    flat = df.map(lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v)
    return str(neutralise_formulas(flat).to_csv(index=False))


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame], path: Path, *, notes: Sequence[str] = (), notes_title: str = "Notes"
) -> Path:
    """A workbook with one sheet per table (and, when given, a first sheet of notes), formulas neutralised,
    header row frozen and bold; written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    if notes:
        sheet = book.create_sheet(notes_title[:31])
        for line in notes:
            _put(sheet.cell(row=sheet.max_row + (1 if sheet.max_row > 1 or sheet["A1"].value else 0), column=1), line)
        sheet.column_dimensions["A"].width = 120
    for name, df in sheets.items():
        sheet = book.create_sheet(name[:31])
        for j, col in enumerate(df.columns, start=1):
            _put(sheet.cell(row=1, column=j), str(col)).font = Font(bold=True)
        for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
            for j, value in enumerate(row, start=1):
                _put(sheet.cell(row=i, column=j), _plain(value))
        sheet.freeze_panes = "A2"
        for j, col in enumerate(df.columns, start=1):
            longest = max([len(str(col)), *(len(str(v)) for v in df.iloc[:200, j - 1])], default=8)
            sheet.column_dimensions[sheet.cell(row=1, column=j).column_letter].width = min(
                longest + 2, MAX_COLUMN_WIDTH
            )
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        book.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _put(cell, value: Any):
    """Set a cell; text that a spreadsheet would evaluate is stored as text with a quote prefix."""
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        cell.quotePrefix = True
    return cell


def write_table(
    df: pd.DataFrame,
    path: Path,
    *,
    fmt: str | None = None,
    sheet: str = "data",
    notes: Sequence[str] = (),
    document: Mapping[str, Any] | None = None,
) -> Path:
    """Write a table to `path` as CSV, XLSX or JSON (format from `fmt` or the extension). JSON writes
    `document` when given (a mapping whose frames become records), else the table's records; XLSX puts
    `notes` on a first sheet."""
    chosen = table_format(fmt, path)
    if chosen == "csv":
        flat = df.map(lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v)
        return write_csv(flat, path)
    if chosen == "xlsx":
        return write_xlsx({sheet: df}, path, notes=notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(render_json(document if document is not None else df) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
