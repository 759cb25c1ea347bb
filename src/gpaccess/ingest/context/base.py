"""What every context reader hands back to `ingest_files`: rows already in the store's shape, per publication
and period, plus every problem found (with file, row and column) and the file's own counts for the checks.

Context files are small (thousands of rows, not millions), so readers validate row by row in Python, which
locates each bad value exactly; the rows then go through the same warehouse transaction as GPAD.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gpaccess.errors import Problem
from gpaccess.storage.periods import month_key, parse_month


# Store types (Ibis names, as the manifest records them) and the Arrow type each is written as.
def arrow_type(kind: str):
    """The Arrow type a store type is written as (pyarrow is loaded only when rows are written)."""
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "date": pa.date32(),
        "boolean": pa.bool_(),
    }[kind]


# Cell contents that mean "no value published" (never zero): suppressed, not applicable, not collected.
MISSING_MARKERS = frozenset({"", "-", "*", "NA", "N/A", "NULL", "..", ".", "X", "Z"})


@dataclass(frozen=True)
class Layout:
    """A stored publication: column types, the key that replaces rows within a period, the summed measure."""

    publication: str
    schema: dict[str, str]
    key: tuple[str, ...]
    measure: str | None = None


@dataclass
class Output:
    layout: Layout
    period: str
    rows: list[dict[str, Any]]

    def table(self) -> Any:
        import pyarrow as pa

        schema = pa.schema([(name, arrow_type(t)) for name, t in self.layout.schema.items()])
        columns = {name: [r.get(name) for r in self.rows] for name in self.layout.schema}
        return pa.table(columns, schema=schema)


@dataclass
class FileRead:
    """One input file read and checked."""

    display: str
    kind: str  # which reader: "gpad_system", "coverage", ...
    outputs: list[Output] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    file_rows: int = 0  # data rows the file holds (before any filtering or aggregation)
    # What the file itself says each publication should receive: publication -> {"rows": n, "total": x}
    expected: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # repairs made (a relabelled header, a clobbered cell)

    def add(self, layout: Layout, period: str, row: dict[str, Any]) -> None:
        for out in self.outputs:
            if out.layout.publication == layout.publication and out.period == period:
                out.rows.append(row)
                return
        self.outputs.append(Output(layout, period, [row]))

    def expect(self, publication: str, rows: int | None = None, total: float | None = None) -> None:
        entry = self.expected.setdefault(publication, {"rows": None, "total": None})
        if rows is not None:
            entry["rows"] = int(entry["rows"] or 0) + rows
        if total is not None:
            entry["total"] = float(entry["total"] or 0) + total


@dataclass(frozen=True)
class Probe:
    """What detection may look at without reading a whole file."""

    path: Path
    name: str
    kind: str  # "csv" or "xlsx"
    header: list[str]  # the first line of a CSV, parsed; empty for xlsx
    sheets: list[str]  # sheet names of a workbook; empty for CSV


Reader = Callable[[Probe, "ReadOptions"], FileRead]


@dataclass(frozen=True)
class ReadOptions:
    month_hint: date | None = None


# -- opening ----------------------------------------------------------------------------------------------
def open_text(path: Path) -> Any:
    """A text handle on a CSV, gzip-compressed or not by its bytes (not its name, so detection and reading
    agree); a BOM is dropped, CRLF kept for the csv module."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


# -- names ------------------------------------------------------------------------------------------------
_FOOTNOTE = re.compile(r"\[[^\]]*\]")


def label_key(label: object) -> str:
    """Comparison key for a published column name: footnote markers ([7], [2, 3]), case and runs of white
    space (including line breaks inside a cell) do not distinguish names."""
    text = _FOOTNOTE.sub(" ", str(label or ""))
    return re.sub(r"\s+", " ", text).strip().casefold()


def column_label(index: int, header: str) -> str:
    return f"{index + 1} ({header})"


def excel_column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


# -- values -----------------------------------------------------------------------------------------------
class BadValueError(ValueError):
    """A cell that does not hold what its column needs; the message says what was expected."""


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().upper() in MISSING_MARKERS


def as_text(value: object) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"\s+", " ", str(value)).strip()


def as_number(value: object) -> float | None:
    """A published number, or None where the publisher wrote nothing (missing is not zero)."""
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise BadValueError("a number")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise BadValueError("a number (or blank where not published)") from None


def as_count(value: object) -> int | None:
    number = as_number(value)
    if number is None:
        return None
    if number < 0 or not float(number).is_integer():
        raise BadValueError("a whole number ≥ 0 (or blank where not published)")
    return int(number)


def as_month(value: object) -> date:
    """The month a cell names (any form `periods.parse_month` reads: 01MAR2024, MAR2019, 2025-10-01, 20250401,
    an Excel date cell or serial number); a cell naming none is a BadValueError, located by the caller."""
    month = parse_month(value)
    if month is None:
        raise BadValueError("a month such as 01MAR2024, MAR2019, 2025-10-01 or an Excel date")
    return month


def as_date(value: object) -> date | None:
    """A day: YYYYMMDD (ODS), dd/mm/yyyy (payments), ISO, or an Excel date; blank is None."""
    if is_missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y%m%d", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise BadValueError("a date as YYYYMMDD, dd/mm/yyyy or YYYY-MM-DD")


def period_of_file(fr: FileRead, option: Any, named: Any, show: Callable[[Any], str] = str) -> Any:
    """The period of a file whose content says none (ODS, workforce, GPPS, payments): the one `--month` gives,
    else the one its name says (None: neither). When both are given and differ, `--month` wins and a note says
    so: a name is only a fall-back."""
    if option is None:
        return named
    if named is not None and named != option:
        fr.notes.append(period_note(show(option), "--month says", f"the {show(named)} its name says"))
    return option


def period_note(stored: str, because: str, instead: str) -> str:
    """The one wording of every "stored under this period, not that one" note a user reads."""
    return f"stored under {stored} as {because}, not {instead}"


def name_disagrees(named: date | None, months: list[str]) -> str | None:
    """A note when a file's name says a month its rows do not hold: the rows' months are what is stored (the
    name of a renamed or mislabelled file never decides), and the user is told."""
    if named is None or not months or month_key(named) in months:
        return None
    return period_note(", ".join(months), "its rows say", f"the {month_key(named)} its name says")


def rows_of(handle: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a CSV, the header being line 1."""
    import csv

    reader = csv.reader(handle)
    for fields in reader:
        yield reader.line_num, fields
