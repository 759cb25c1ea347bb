"""Republished months: what a release changes in a month already stored, and the guard against quiet damage.

A release holding practices a month already has replaces exactly those practices' rows (DESIGN "Releases"):
that is how the publisher's republication of a month, or a corrected file, comes in. A truncated or hand-cut
file comes in the same way, so each replaced practice is compared with what was stored: one that loses more
than a fifth of its appointments or of its rows refuses the whole release, unless the user says it is meant
(`--partial`). In the real republication of one month, 101 of 2,101 practices changed, by -0.05% to +7%; a
hand-cut file that cut one practice to 94 of its 297 rows was, before this guard, stored without a word.

Everything is computed in the engine, grouped by practice: only one row per practice comes into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from gpaccess.errors import InputFileError, Problem

SHRINK_LIMIT = 0.2  # a replaced practice may lose at most this share of its appointments and of its rows
_FINGERPRINT_MODULUS = 2_147_483_647  # keeps a month's sum of row hashes far inside int64
_NOT_COMPARED = ("month", "practice_code")  # the same for every row of a practice-month


@dataclass(frozen=True)
class PracticeChange:
    """One practice of a month whose rows this release revises (rows or counts differ from those stored)."""

    practice_code: str
    file: str  # the file of this release holding the practice
    appointments_before: int
    appointments_after: int
    rows_before: int
    rows_after: int

    @property
    def shrinks(self) -> bool:
        """Loses more than a fifth of its stored appointments or rows: what a cut file does, not a revision."""
        return _loses(self.appointments_before, self.appointments_after) or _loses(self.rows_before, self.rows_after)

    def describe(self) -> str:
        return (
            f"{self.practice_code}: {self.appointments_before:,} → {self.appointments_after:,} appointments, "
            f"{self.rows_before:,} → {self.rows_after:,} rows"
        )


def _loses(before: int, after: int) -> bool:
    return before - after > SHRINK_LIMIT * before


@dataclass
class MonthChange:
    """What one release changed in a month of appointments the store already held (the change report)."""

    month: str
    added: list[str] = field(default_factory=list)  # practices new to the month
    revised: list[PracticeChange] = field(default_factory=list)  # in code order
    unchanged: int = 0  # practices the release holds with exactly the rows stored
    kept: int = 0  # practices the release does not hold: they keep their rows
    appointments_before: int = 0
    appointments_after: int = 0
    rows_before: int = 0
    rows_after: int = 0

    @property
    def republished(self) -> bool:
        """The release holds practices already stored for the month (revised or not), not only new ones."""
        return bool(self.revised) or self.unchanged > 0

    def describe(self, shown: int = 10) -> list[str]:
        """The lines a user reads after the ingest."""
        what = "republished" if self.republished else "added to"
        lines = [
            f"{self.month} {what}: {len(self.added):,} practice(s) added, {len(self.revised):,} revised, "
            f"{self.unchanged:,} unchanged; {self.kept:,} not in this release keep their rows",
            f"  appointments {self.appointments_before:,} → {self.appointments_after:,} "
            f"({self.appointments_after - self.appointments_before:+,}); "
            f"rows {self.rows_before:,} → {self.rows_after:,}",
        ]
        lines += [f"  revised {c.describe()}" for c in self.revised[:shown]]
        if len(self.revised) > shown:
            lines.append(f"  … and {len(self.revised) - shown:,} more revised")
        return lines


@dataclass(frozen=True)
class MappingChange:
    """A month's mapping replaced as a whole by the one in this release."""

    month: str
    practices_before: int
    practices_after: int
    rows_before: int
    rows_after: int

    def describe(self) -> str:
        return (
            f"{self.month} mapping replaced as a whole: {self.practices_before:,} → {self.practices_after:,} "
            f"practices ({self.rows_before:,} → {self.rows_after:,} rows)"
        )


def compare_month(con: Any, month: str, stored: list[str], parts: list[tuple[Path, str]]) -> MonthChange:
    """Compare, practice by practice, the rows stored for `month` (files `stored`) with this release's parts
    ((Parquet file, the input file it came from)). A practice's rows count as unchanged when their number,
    their appointments and an order-free fingerprint of every row agree."""
    old = con.read_parquet(stored)
    new = ibis.union(*[con.read_parquet(str(path)).mutate(file=ibis.literal(name)) for path, name in parts])
    compared = [c for c in old.columns if c in new.columns and c not in _NOT_COMPARED]
    before = old.group_by("practice_code").aggregate(
        rows_before=old.count(), appointments_before=old["count"].sum(), print_before=fingerprint(old, compared).sum()
    )
    after = new.group_by("practice_code").aggregate(
        rows_after=new.count(),
        appointments_after=new["count"].sum(),
        print_after=fingerprint(new, compared).sum(),
        file=new.file.max(),  # one file per practice: parts of a month are disjoint (checks.disjoint_parts)
    )
    joined = before.outer_join(after, before.practice_code == after.practice_code).select(
        practice_code=ibis.coalesce(before.practice_code, after.practice_code),
        rows_before=before.rows_before,
        appointments_before=before.appointments_before,
        print_before=before.print_before,
        rows_after=after.rows_after,
        appointments_after=after.appointments_after,
        print_after=after.print_after,
        file=after.file,
    )
    change = MonthChange(month)
    for r in sorted(joined.to_pyarrow().to_pylist(), key=lambda r: r["practice_code"]):
        stored_rows = int(r["rows_before"] or 0)
        stored_appointments = int(r["appointments_before"] or 0)
        change.rows_before += stored_rows
        change.appointments_before += stored_appointments
        if r["rows_after"] is None:  # not in this release: keeps its rows
            change.kept += 1
            change.rows_after += stored_rows
            change.appointments_after += stored_appointments
            continue
        rows, appointments = int(r["rows_after"]), int(r["appointments_after"] or 0)
        change.rows_after += rows
        change.appointments_after += appointments
        if r["rows_before"] is None:
            change.added.append(r["practice_code"])
        elif (stored_rows, stored_appointments, r["print_before"]) == (rows, appointments, r["print_after"]):
            change.unchanged += 1
        else:
            change.revised.append(
                PracticeChange(r["practice_code"], r["file"], stored_appointments, appointments, stored_rows, rows)
            )
    return change


def fingerprint(t: ir.Table, columns: list[str]) -> ir.IntegerValue:
    """A hash of each row's values, reduced so a practice's sum of them cannot overflow: equal multisets of
    rows give equal sums whatever their order (a collision would also need equal row counts and totals)."""
    text = ibis.literal("\u241f").join([t[c].cast("string").fill_null("\u2400") for c in columns])
    return text.hash() % _FINGERPRINT_MODULUS


def partly_replaced_note(change: MonthChange, previous_release: str) -> str | None:
    """Say when a release replaced only some practices of a month that already held data: right for a
    republished region or a corrected file, but a truncated file looks the same, so the user is told."""
    if change.kept <= 0:
        return None
    held = len(change.added) + len(change.revised) + change.unchanged
    return (
        f"{change.month}: this release holds {held:,} practices; {change.kept:,} other practices keep their rows "
        f"from release {previous_release} (if this file should have held the whole month, roll it back: "
        f"gpaccess ingest --rollback {change.month})"
    )


def guard(changes: list[MonthChange], *, partial: bool) -> list[str]:
    """Refuse a release in which any replaced practice loses more than a fifth of its appointments or rows,
    listing every such practice with its figures and file; with `partial` (the user says it is meant), notes
    instead."""
    cut = [(change.month, c) for change in changes for c in change.revised if c.shrinks]
    if not cut:
        return []
    if partial:
        return [f"{month}: --partial: {c.describe()} ({c.file})" for month, c in cut]
    problems = [
        Problem(
            c.file,
            None,
            None,
            f"practice {c.practice_code} to keep at least {1 - SHRINK_LIMIT:.0%} of the appointments and rows "
            f"stored for {month}",
            f"{c.appointments_before:,} → {c.appointments_after:,} appointments, "
            f"{c.rows_before:,} → {c.rows_after:,} rows",
        )
        for month, c in cut
    ]
    raise InputFileError(
        problems,
        f"{len(cut)} practice(s) would lose more than a fifth of their stored appointments or rows (a cut or "
        "truncated file looks like this; a republication does not); nothing was stored. If it is meant, ingest "
        "the same files again with --partial",
    )
