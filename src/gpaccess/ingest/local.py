"""Local data on the ingest side: an ICB's own practice-level indicators, read, checked and stored.

An ICB holds figures GPAD does not: patient satisfaction surveys, complaints, telephony waits, online requests.
`upload` reads a CSV or XLSX file in long form (practice, indicator, period, value) or wide form (a practice
column and one column per indicator), checks every row against the ICB's practices and reports every problem at
once, with its row and column; nothing is stored unless the whole file is good. The rows go into the store's
`local_indicators` publication with the ICB's code as the period, so each ICB's data is its own stack: a new
upload replaces the rows with the same (practice, indicator, period) and leaves the others, and the replaced
rows are kept.

Local periods come in more forms than the store's months (quarters, financial years, days):
`storage/periods.normalise_period` reads them, beside the published months' forms.
The local view beside GPAD is `cohort/local_view.py`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpaccess.errors import InputFileError, NotFoundError, Problem, UserError
from gpaccess.ingest.context.base import excel_column
from gpaccess.storage.manifest import Release, Source
from gpaccess.storage.periods import monthly_rate, normalise_period, period_end, period_months
from gpaccess.storage.snapshot import Snapshot
from gpaccess.storage.warehouse import Warehouse, now_iso, sha256_file

PUBLICATION = "local_indicators"
KEY = ["practice_code", "indicator", "period"]
SCHEMA: dict[str, str] = {
    "icb_code": "string",
    "practice_code": "string",
    "indicator": "string",
    "period": "string",
    "value": "float64",
    "source": "string",
    "uploaded_at": "string",
    "uploaded_by": "string",
}
ARROW_SCHEMA = pa.schema([(name, pa.float64() if kind == "float64" else pa.string()) for name, kind in SCHEMA.items()])
PERIOD_EXAMPLES = "a period such as 2025-10, 2025-10-01, Oct 2025, 2025/26, 2025-Q3 or 2025"
# The indicators the cohort's local rules read by default (cohort.criteria.CriteriaSettings): rates per 1,000
# patients a month. Their values are bounded at upload, and a quarterly or yearly figure (per 1,000 patients in
# the quarter or year) is divided by its months, so the store holds a monthly rate for every period.
RATE_INDICATORS = ("nhs111_in_hours_per_1000", "ae_attendances_per_1000")
RATE_BOUNDS = (0.0, 1000.0)  # per 1,000 patients a month (DESIGN "Cohort rules")

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


def _blank(raw: object) -> bool:
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
    rows = [(i, r) for i, r in rows if any(not _blank(c) for c in r)]
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
    labels = ["" if _blank(h) else str(h).strip() for h in header]
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
            if any(not _blank(cell(row, i)) for _, row in rows):
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
                if _blank(v):
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


# -- validating -----------------------------------------------------------------------------------------------
def _code(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return "" if _blank(raw) else str(raw).strip().upper()


def _indicator(raw: object) -> str:
    return "" if _blank(raw) else re.sub(r"\s+", " ", str(raw).strip())


def validate(
    long_df: pd.DataFrame,
    *,
    icb_code: str,
    icb_practices: set[str],
    file: str,
    practice_icbs: Mapping[str, str] | None = None,
    rate_indicators: Collection[str] = RATE_INDICATORS,
) -> list[Problem]:
    """Every problem in the file, in row order, each with its row (the header is row 1) and column.

    `practice_icbs` (practice code -> ICB code, e.g. the store's practice directory) lets a problem say which
    ICB a practice belongs to when it is not one of `icb_practices`. A value of one of `rate_indicators` must be
    a rate per 1,000 patients a month within RATE_BOUNDS once a quarterly or yearly figure is divided by its
    months: a negative or implausible rate is refused with its row and column.
    """
    others = practice_icbs or {}
    found: dict[tuple[int | None, str | None, str], Problem] = {}

    def add(row: int | None, column: str | None, expected: str, got: str | None) -> None:
        found.setdefault((row, column, expected), Problem(file, row, column, expected, got))

    for p in long_df.attrs.get("problems", []):
        add(p.line, p.column, p.expected, p.found)
    first_seen: dict[tuple[str, str, str], int] = {}
    for rec in long_df.to_dict("records"):
        row = int(rec["row"])
        practice = _code(rec["practice_code"])
        if not practice:
            add(row, rec["practice_column"], "a practice code", "")
        elif practice not in icb_practices:
            other = others.get(practice)
            if other and other != icb_code:
                add(
                    row,
                    rec["practice_column"],
                    f"a practice of ICB {icb_code}",
                    f"{practice}, a practice of ICB {other}",
                )
            else:
                add(
                    row,
                    rec["practice_column"],
                    f"a practice of ICB {icb_code} known to the store's GPAD data",
                    practice,
                )
        indicator = _indicator(rec["indicator"])
        if not indicator:
            add(row, rec["indicator_column"], "an indicator name", "")
        number = parse_number(rec["value"])
        if number is None:
            add(row, rec["value_column"], "a finite number", "" if rec["value"] is None else str(rec["value"]))
        period = normalise_period(rec["period"])
        if number is not None and period is not None and indicator in rate_indicators:
            low, high = RATE_BOUNDS
            monthly = monthly_rate(number, period)
            if not low <= monthly <= high:
                per = "" if period_months(period) == 1 else f" ({number:g} over {period_months(period)} months)"
                add(
                    row,
                    rec["value_column"],
                    f"a rate per 1,000 patients a month from {low:,.0f} to {high:,.0f}"
                    " (a quarterly or yearly figure is divided by its months)",
                    f"{monthly:g}{per}",
                )
        if period is None:
            add(row, rec["period_column"], PERIOD_EXAMPLES, "" if rec["period"] is None else str(rec["period"]))
        if practice and indicator and period:
            key = (practice, indicator, period)
            if key in first_seen:
                add(
                    row,
                    rec["value_column"],
                    "one value per practice, indicator and period",
                    f"{practice}, {indicator}, {period} again (first at row {first_seen[key]})",
                )
            else:
                first_seen[key] = row
    return sorted(found.values(), key=lambda p: p.line or 0)


def to_store_frame(
    long_df: pd.DataFrame,
    *,
    icb_code: str,
    uploaded_at: str,
    user: str,
    rate_indicators: Collection[str] = RATE_INDICATORS,
) -> pd.DataFrame:
    """The validated long frame in the store's columns and types; rate indicators as monthly rates."""
    indicators = [_indicator(v) for v in long_df["indicator"]]
    periods = [normalise_period(v) for v in long_df["period"]]
    numbers = [parse_number(v) for v in long_df["value"]]
    values = [
        monthly_rate(float(v), str(p)) if ind in rate_indicators and v is not None and p is not None else v
        for ind, p, v in zip(indicators, periods, numbers, strict=True)
    ]
    out = pd.DataFrame(
        {
            "icb_code": icb_code,
            "practice_code": [_code(v) for v in long_df["practice_code"]],
            "indicator": indicators,
            "period": periods,
            "value": np.array(values, dtype="float64"),
            "source": [str(v) for v in long_df["source"]],
            "uploaded_at": uploaded_at,
            "uploaded_by": user,
        },
        index=range(len(long_df)),
    )
    return out.sort_values(KEY).reset_index(drop=True)


# -- uploading ------------------------------------------------------------------------------------------------
@dataclass
class UploadResult:
    file: str
    sha256: str
    status: str  # "uploaded" or "already uploaded"
    release: str | None
    icb_code: str
    rows: int = 0
    practices: int = 0
    indicators: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)


def upload(
    warehouse: Warehouse,
    path: Path,
    *,
    icb_code: str,
    icb_practices: set[str],
    user: str,
    practice_icbs: Mapping[str, str] | None = None,
    sheet: str | None = None,
    period: str | None = None,
    rate_indicators: Collection[str] = RATE_INDICATORS,
) -> UploadResult:
    """Validate the whole file against the ICB's practices, then store it as one release, or store nothing.

    Uploading the file whose rows are the ICB's current state again is a no-op; uploading an older file again
    re-applies it (its rows replace those that replaced them).
    """
    path = Path(path)
    if period is not None and normalise_period(period) is None:
        raise UserError(f"--period {period!r}: expected {PERIOD_EXAMPLES}")
    long_df = read_local_file(path, sheet=sheet, period=period)
    problems = validate(
        long_df,
        icb_code=icb_code,
        icb_practices=icb_practices,
        file=path.name,
        practice_icbs=practice_icbs,
        rate_indicators=rate_indicators,
    )
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) in {path.name}; nothing was stored")
    if long_df.empty:
        raise InputFileError([Problem(path.name, None, None, "at least one value")], f"{path.name} holds no values")
    digest = sha256_file(path)
    with warehouse.transaction(user=user) as tx:
        pub = tx.manifest.publications.get(PUBLICATION)
        current = pub.current(icb_code) if pub else None
        if current is not None and _release_of_file(tx.manifest.releases, current.release, digest):
            return UploadResult(path.name, digest, "already uploaded", current.release, icb_code)
        source = Source(name=path.name, sha256=digest, bytes=path.stat().st_size)
        release = tx.new_release_id([source])
        frame = to_store_frame(
            long_df, icb_code=icb_code, uploaded_at=now_iso(), user=user, rate_indicators=rate_indicators
        )
        target = tx.staging_path(PUBLICATION, icb_code, release)
        pq.write_table(
            pa.Table.from_pandas(frame, schema=ARROW_SCHEMA, preserve_index=False), target, compression="zstd"
        )
        tx.put(PUBLICATION, icb_code, release, [target], schema=SCHEMA, key=KEY, measure=None)
        indicators = sorted(frame.indicator.unique())
        periods = sorted(frame.period.unique(), key=lambda p: (period_end(p), p))
        tx.record(
            Release(
                id=release,
                sources=[source],
                ingested_at=now_iso(),
                touched={PUBLICATION: [icb_code]},
                rows=len(frame),
                total=None,
                checks={"icb_code": icb_code, "indicators": indicators, "periods": periods},
                user=user,
            )
        )
    return UploadResult(
        path.name,
        digest,
        "uploaded",
        release,
        icb_code,
        rows=len(frame),
        practices=int(frame.practice_code.nunique()),
        indicators=indicators,
        periods=periods,
    )


def _release_of_file(releases: Iterable[Release], release_id: str, digest: str) -> bool:
    return any(r.id == release_id and any(s.sha256 == digest for s in r.sources) for r in releases)


def stored_local(snapshot: Snapshot, icb_code: str) -> pd.DataFrame:
    """The ICB's visible local rows (empty with the store's columns when it has none)."""
    if icb_code not in snapshot.periods(PUBLICATION):
        return pd.DataFrame(
            {name: pd.Series(dtype="float64" if kind == "float64" else object) for name, kind in SCHEMA.items()}
        )
    t = snapshot.table(PUBLICATION, periods=[icb_code])
    df = t.filter(t.icb_code == icb_code).to_pandas()
    return df.sort_values(KEY).reset_index(drop=True)
