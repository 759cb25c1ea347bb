"""Files that leave gpaccess for a spreadsheet: neutralise anything a spreadsheet would run as a formula.

A cell such as ``=HYPERLINK("http://evil", "x")`` or ``@SUM(A1)`` in a CSV opened in Excel or LibreOffice is
executed, not shown (CSV/formula injection, OWASP). Every export therefore prefixes text cells that start
with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage return, which some spreadsheets strip before
evaluating) with an apostrophe, which spreadsheets read as "this is text". Numbers are left alone: a
negative number is a number, not a formula, and stays numeric in the file (DESIGN.md, "Exports neutralise
spreadsheet formulas").
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """`'`-prefix a text value that a spreadsheet would evaluate; return anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` in which every text cell (and column name) is safe to open in a spreadsheet.

    Only columns that can hold text are touched; numeric, boolean and datetime columns are returned as
    they were, so a negative number stays a number.
    """
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            out[column] = series.map(neutralise_cell, na_action="ignore")
        elif isinstance(series.dtype, pd.CategoricalDtype):
            out[column] = series.cat.rename_categories([neutralise_cell(c) for c in series.cat.categories])
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write `df` as UTF-8 CSV without the index, formulas neutralised; atomic (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = neutralise_formulas(df)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"  # plain open(): the umask applies
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            safe.to_csv(handle, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
