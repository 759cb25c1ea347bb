"""Turn one published CSV into the store's shape, or list every way it falls short.

Validation works on distinct values (a national month has ~1 million rows but only a few dozen distinct
labels), so checking every row costs one small aggregation per column; only when something is wrong do we
go back to the file to find the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from gpaccess.errors import Problem
from gpaccess.ingest.read import Member, locate
from gpaccess.ingest.schemas import READ_TYPES, ResolvedHeader, data_file_path, vocabularies
from gpaccess.storage.csvread import Reject, read_csv_declared
from gpaccess.storage.periods import parse_month

_EXPECTED_BY_REJECT = {
    "MISSING COLUMNS": "a complete row of {n} fields",
    "TOO MANY COLUMNS": "a row of {n} fields",
    "INVALID ENCODING": "UTF-8 text (re-save the file as UTF-8 CSV)",
    "INVALID UNICODE": "UTF-8 text (re-save the file as UTF-8 CSV)",
    "UNQUOTED VALUE": 'a field quoted as published ("...")',
    "LINE SIZE OVER MAXIMUM": "a line under 1 MiB",
}


@dataclass
class Loaded:
    """A CSV read and checked: its rows in the store's shape, split by month, with what the file itself said."""

    member: Member
    spec_name: str
    table: ir.Table  # normalised, all months
    raw: ir.Table  # the materialised CSV behind it, freed once written
    months: list[date]
    file_rows: int
    file_total: int | None
    problems: list[Problem] = field(default_factory=list)
    shared_rows: int = 0  # rows an earlier file of the release already holds (agreeing Mapping.csv), stored once


def load_member(con: Any, member: Member, resolved: ResolvedHeader, month_hint: date | None) -> Loaded:
    spec = resolved.spec
    names = [c or f"_unused_{i}" for i, c in enumerate(resolved.canonical)]
    types = [READ_TYPES[spec.column(c).type] if c else "VARCHAR" for c in resolved.canonical]
    raw, rejects = read_csv_declared(con, member.path, list(zip(names, types, strict=True)))
    # DuckDB reports a short row once per missing column; one problem per line and kind is what a user needs.
    firsts = {(r.line, r.error_type): r for r in reversed(rejects)}
    problems = [_reject_problem(member, resolved, r) for r in sorted(firsts.values(), key=lambda r: r.line)]
    kept = [c for c in resolved.canonical if c]

    t = raw.select(*kept)
    if spec.row_filter:
        filter_column, value = spec.row_filter
        t = t.filter(t[filter_column] == value)
    # One pass gives what the file itself says (the totals every later check is held to), how many codes and
    # counts are unusable, and the distinct labels of every category and month column to check and map.
    category_cols = [c.name for c in spec.columns if c.name in kept and c.type == "category"]
    label_cols = category_cols + ([spec.month_column] if spec.month_column in kept else [])
    code_cols = [c.name for c in spec.columns if c.name in kept and c.type == "code"]
    count_cols = [c.name for c in spec.columns if c.name in kept and c.type == "count"]
    aggs: dict[str, Any] = {"rows": t.count()}
    if spec.measure:
        aggs["total"] = t[spec.measure].sum()
    for name in code_cols:
        aggs[f"bad__{name}"] = (t[name].isnull() | (t[name] == "")).sum()
    for name in count_cols:
        aggs[f"bad__{name}"] = (t[name].isnull() | (t[name] < 0)).sum()
    for name in label_cols:
        aggs[f"seen__{name}"] = t[name].collect(distinct=True, include_null=True)
    stats = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    file_rows = int(stats["rows"])
    file_total = int(stats["total"] or 0) if spec.measure else None
    if file_rows + len(rejects) == 0:
        problems.append(Problem(member.display, 2, None, "at least one data row after the header", "no rows"))
    substitutions: dict[str, Any] = {}
    for name in category_cols:
        vocabulary = spec.column(name).vocabulary or ""
        mapping, bad = _vocabulary_mapping(stats[f"seen__{name}"] or [], vocabulary)
        problems += _located(member, resolved, name, bad, _vocab_expectation(vocabulary))
        if mapping:
            substitutions[name] = t[name].substitute(mapping)
    for name in code_cols:
        if stats[f"bad__{name}"]:
            bad_codes = _distinct_where(t, name, t[name].isnull() | (t[name].strip() == ""))
            problems += _located(member, resolved, name, bad_codes, "a practice code")
    for name in count_cols:
        if stats[f"bad__{name}"]:
            bad_counts = _distinct_where(t, name, t[name].isnull() | (t[name] < 0))
            found = {None if v is None else str(v) for v in bad_counts}
            problems += _located(member, resolved, name, found, "a whole number ≥ 0")

    months: list[date] = []
    if spec.month_column:
        month_map, bad_months = _month_mapping(stats.get(f"seen__{spec.month_column}") or [])
        problems += _located(member, resolved, spec.month_column, bad_months, "a month such as 01OCT2025 or 2025-10-01")
        substitutions[spec.month_column] = _month_expr(t[spec.month_column], month_map)
        months = sorted(set(month_map.values()))
    elif month_hint is not None:
        substitutions["month"] = ibis.literal(month_hint, type="date")
        months = [month_hint]
    else:
        problems.append(
            Problem(
                member.display,
                None,
                None,
                "a month for this file: pass --month YYYY-MM, name it like Mapping_Aug_25.csv, "
                "or ingest it inside its month's zip",
            )
        )
    if substitutions:
        t = t.mutate(**substitutions)
    order = ["month", *[c for c in kept if c != "month"]]
    t = t.select(*[c for c in order if c in t.columns])
    return Loaded(member, spec.name, t, raw, months, file_rows, file_total, problems)


def _reject_problem(member: Member, resolved: ResolvedHeader, r: Reject) -> Problem:
    header = member.header
    column = None
    if r.column and r.column in resolved.canonical:
        idx = resolved.canonical.index(r.column)
        column = f"{idx + 1} ({header[idx]})"
    template = _EXPECTED_BY_REJECT.get(r.error_type.upper())
    if template:
        expected = template.format(n=len(header))
        fields = re.search(r"Found: (\d+)", r.message)
        found = f"{fields.group(1)} fields" if fields and "COLUMNS" in r.error_type.upper() else r.message
    elif r.error_type.upper() == "CAST":
        expected = "a whole number"
        found = r.message.split("Could not convert string", 1)[-1].split(" to ", 1)[0].strip(' "') or r.message
    else:
        expected, found = "a well-formed CSV row", r.message
    return Problem(member.display, r.line, column, expected, found)


def _distinct_where(t: ir.Table, column: str, predicate: ir.BooleanValue) -> set[Any]:
    rows = t.filter(predicate).select(column).distinct().limit(100).to_pyarrow().column(0).to_pylist()
    return set(rows)


def _vocabulary_mapping(seen: list[str | None], vocabulary: str) -> tuple[dict[str, str], set[str | None]]:
    vocab = vocabularies()[vocabulary]
    mapping: dict[str, str] = {}
    bad: set[str | None] = set()
    for raw in seen:
        canonical = vocab.normalise(raw)
        if raw is None or canonical is None:
            bad.add(raw)
        elif canonical != raw:
            mapping[raw] = canonical
    return mapping, bad


def _vocab_expectation(vocabulary: str) -> str:
    vocab = vocabularies()[vocabulary]
    return (
        f"one of {', '.join(repr(v) for v in vocab.canonical)} "
        f"(a new published spelling can be added to [{vocabulary}] in {data_file_path('vocabularies.toml')})"
    )


def _month_mapping(seen: list[str | None]) -> tuple[dict[str, date], set[str | None]]:
    mapping: dict[str, date] = {}
    bad: set[str | None] = set()
    for raw in seen:
        parsed = parse_month(raw) if raw is not None else None
        if raw is None or parsed is None:
            bad.add(raw)
        else:
            mapping[raw] = parsed
    return mapping, bad


def _month_expr(column: ir.StringValue, mapping: dict[str, date]) -> ir.DateValue:
    if len(mapping) == 1:
        return ibis.literal(next(iter(mapping.values())), type="date")
    return ibis.cases(*[(column == raw, ibis.literal(d, type="date")) for raw, d in mapping.items()])


def _located(member: Member, resolved: ResolvedHeader, column: str, bad: set[Any], expected: str) -> list[Problem]:
    if not bad:
        return []
    idx = resolved.canonical.index(column)
    lines = locate(member.path, idx, bad)
    label = f"{idx + 1} ({member.header[idx]})"
    problems = []
    for value in sorted(bad, key=lambda v: (v is None, str(v))):
        for line in lines.get(value, [None]):
            problems.append(
                Problem(member.display, line, label, expected, "an empty value" if value is None else value)
            )
    return problems
