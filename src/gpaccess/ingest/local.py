"""Local data on the ingest side: an ICB's own practice-level indicators, read, checked and stored.

An ICB holds figures GPAD does not: patient satisfaction surveys, complaints, telephony waits, online requests.
`upload` reads a CSV or XLSX file in long form (practice, indicator, period, value) or wide form (a practice
column and one column per indicator), checks every row against the ICB's practices and reports every problem at
once, with its row and column; nothing is stored unless the whole file is good. The rows go into the store's
`local_indicators` publication with the ICB's code as the period, so each ICB's data is its own stack: a new
upload replaces the rows with the same (practice, indicator, period) and leaves the others, and the replaced
rows are kept.

Reading a file into long rows is `ingest/local_read.py`; here they are checked and stored. Local periods come
in more forms than the store's months (quarters, financial years, days):
`storage/periods.normalise_period` reads them, beside the published months' forms.
The local view beside GPAD is `cohort/local_view.py`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpaccess.errors import InputFileError, Problem, UserError
from gpaccess.ingest.local_read import is_blank, parse_number, read_local_file
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


# -- validating -----------------------------------------------------------------------------------------------
def _code(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return "" if is_blank(raw) else str(raw).strip().upper()


def _indicator(raw: object) -> str:
    return "" if is_blank(raw) else re.sub(r"\s+", " ", str(raw).strip())


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
