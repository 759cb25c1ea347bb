"""GP Patient Survey practice results (tested on fixtures built to the layouts domain.md C2 documents; no
real file was available).

Up to 2023: `Practice_Code, Q3_12pct` (phone easy to get through) and `Q28_12pct` (overall experience good).
From 2024 the survey is a new series (new questionnaire, online-first), not comparable with earlier years:
every numeric column is kept under its published name, and each row carries its `series` so the two are
never mixed. No column holds the survey year: it is `--month`'s year, else the file name's (`GPPS_2023_...csv`).
"""

from __future__ import annotations

import re

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import (
    BadValueError,
    FileRead,
    Layout,
    Probe,
    ReadOptions,
    as_number,
    as_text,
    label_key,
    open_text,
    period_of_file,
    rows_of,
)
from gpaccess.ingest.schemas import publications
from gpaccess.storage.periods import year_from_filename

GPPS = Layout(
    "gpps",
    {
        "year": "int64",
        "series": "string",
        "practice_code": "string",
        "question": "string",
        "value": "float64",
    },
    ("practice_code",),
    None,
)
NEW_SERIES_FROM = 2024
# Canonical names of the pre-2024 questions kept (their published names are in sources.toml [gpps]).
PRE_2024 = ("phone_easy_pct", "overall_good_pct")


def series_of(year: int) -> str:
    return "2024 onwards" if year >= NEW_SERIES_FROM else "to 2023"


def _practice_aliases() -> set[str]:
    return {label_key(a) for a in publications()["gpps"].column("practice_code").names}


_QUESTION = re.compile(r"^q\d+_\d+pct$")  # Q3_12pct: question 3, answers 1-2, as a percentage


def detect(probe: Probe) -> bool:
    """By the header alone: a practice-code column and survey results, `Q<n>_<m>pct` (to 2023) or `….pcteval`
    (2024 onwards). A file's name never makes it a survey file."""
    keys = [label_key(h) for h in probe.header]
    results = any(_QUESTION.match(k) or ".pcteval" in k for k in keys)
    return bool(set(keys) & _practice_aliases()) and results


def read_gpps(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="gpps")
    year = period_of_file(fr, options.month_hint.year if options.month_hint else None, year_from_filename(probe.name))
    if year is None:
        fr.problems.append(
            Problem(fr.display, None, None, "the survey year in the file name (GPPS_2023...) or --month")
        )
        return fr
    series = series_of(year)
    spec = publications()["gpps"]
    aliases = {label_key(a): c.name for c in spec.columns for a in c.names}
    keys = [label_key(h) for h in probe.header]
    code_col = next(i for i, k in enumerate(keys) if aliases.get(k) == "practice_code")
    if year < NEW_SERIES_FROM:
        wanted = {i: aliases[k] for i, k in enumerate(keys) if aliases.get(k) in PRE_2024}
        if not wanted:
            fr.problems.append(
                Problem(fr.display, 1, None, "Q3_12pct or Q28_12pct (survey years up to 2023)", ",".join(probe.header))
            )
            return fr
    else:
        wanted = {i: probe.header[i].strip() for i in range(len(keys)) if i != code_col}
    seen: set[str] = set()
    with open_text(probe.path) as fh:
        rows = rows_of(fh)
        next(rows, None)
        for line, fields in rows:
            if not fields:
                continue
            fr.file_rows += 1
            if len(fields) != len(keys):
                fr.problems.append(Problem(fr.display, line, None, f"a row of {len(keys)} fields", f"{len(fields)}"))
                continue
            code = as_text(fields[code_col])
            if not code or code in seen:
                fr.problems.append(
                    Problem(
                        fr.display, line, f"{code_col + 1} ({probe.header[code_col]})", "a practice code, once", code
                    )
                )
                continue
            seen.add(code)
            for i, question in wanted.items():
                try:
                    value = as_number(fields[i])
                except BadValueError as exc:
                    if year >= NEW_SERIES_FROM:
                        continue  # text columns of the new layout (names, codes) are not results
                    fr.problems.append(Problem(fr.display, line, f"{i + 1} ({probe.header[i]})", str(exc), fields[i]))
                    continue
                fr.add(
                    GPPS,
                    str(year),
                    {"year": year, "series": series, "practice_code": code, "question": question, "value": value},
                )
    fr.expect("gpps", rows=sum(len(o.rows) for o in fr.outputs))
    return fr
