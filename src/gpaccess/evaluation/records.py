"""The evaluation's input: which practice received which action type, from which month.

Services adapt the plan store's supported actions to these records (the evaluation never imports plans), or
read them from a CSV with the columns in `SUPPORT_COLUMNS` (support given outside gpaccess, or the synthetic
generator's `support.csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gpaccess.errors import InputFileError, Problem
from gpaccess.storage.periods import month_key, parse_month

ANY_SUPPORT = "any support"
SUPPORT_COLUMNS = ("practice_code", "action", "start_month")


@dataclass(frozen=True)
class SupportRecord:
    practice_code: str
    action: str  # an action type's key (plans' catalogue), e.g. "extra_sessions_locums"
    start_month: str  # YYYY-MM: the first month the support was in place


def first_starts(records: Iterable[SupportRecord], action: str | None = None) -> dict[str, str]:
    """Each practice's first start month, of one action type or (None) of any support."""
    out: dict[str, str] = {}
    for r in records:
        if action is None or r.action == action:
            out[r.practice_code] = min(out.get(r.practice_code, r.start_month), r.start_month)
    return out


def action_types(records: Iterable[SupportRecord]) -> list[str]:
    return sorted({r.action for r in records})


def read_support_csv(path: Path) -> list[SupportRecord]:
    """Support records from a CSV (practice_code, action, start_month; other columns ignored). Every bad row is
    listed at once."""
    problems: list[Problem] = []
    out: list[SupportRecord] = []
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SUPPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputFileError(
                [Problem(str(path), 1, c, f"a column {c!r} ({', '.join(SUPPORT_COLUMNS)})") for c in missing],
                f"{path} is not a support file",
            )
        for line, row in enumerate(reader, start=2):
            code = (row["practice_code"] or "").strip().upper()
            action = (row["action"] or "").strip()
            month = parse_month((row["start_month"] or "").strip())
            if not code:
                problems.append(Problem(str(path), line, "practice_code", "a practice code"))
            if not action:
                problems.append(Problem(str(path), line, "action", "an action type"))
            if month is None:
                problems.append(Problem(str(path), line, "start_month", "a month YYYY-MM", row["start_month"]))
            if code and action and month is not None:
                out.append(SupportRecord(code, action, month_key(month)))
    if problems:
        raise InputFileError(problems, f"{path}: {len(problems)} problem(s) in the support file")
    return out
