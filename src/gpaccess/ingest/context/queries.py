"""Read API over the context data, for the measures layer to join by practice code and month.

Ibis expressions only (no SQL strings); only small results come into Python.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis

from gpaccess.storage.periods import financial_year, month_key, require_month
from gpaccess.storage.snapshot import Snapshot

DEFAULT_COVERAGE_WARNING = 0.9


def _fields(row: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in drop}


def _rows(t) -> list[dict[str, Any]]:
    return t.to_pyarrow().to_pylist()


def _latest_at_or_before(periods: list[str], wanted: str) -> str | None:
    earlier = [p for p in periods if p <= wanted]
    return max(earlier) if earlier else None


def practice_context(snapshot: Snapshot, practice_code: str, month: str | date) -> list[dict[str, Any]]:
    """Everything stored about one practice around one month: [{source, period, fields}].

    Monthly sources (online consultations, telephony, workforce) give that month; yearly ones the latest
    period at or before it (IMD year, payments financial year, GPPS survey year); ODS the latest extract at or
    before it. Telephony `Unassigned` accounts are never attributed to a practice, so they never appear here.
    """
    when = require_month(month)
    key, year = month_key(when), str(when.year)
    out: list[dict[str, Any]] = []
    pick = {
        "online_consultation": lambda ps: key if key in ps else None,
        "telephony": lambda ps: key if key in ps else None,
        "workforce": lambda ps: key if key in ps else None,
        "ods_practices": lambda ps: _latest_at_or_before(ps, key),
        "imd": lambda ps: _latest_at_or_before(ps, year),
        "gpps": lambda ps: _latest_at_or_before(ps, year),
        "payments": lambda ps: _latest_at_or_before(ps, financial_year(when)),
    }
    for source, choose in pick.items():
        if not snapshot.has(source):
            continue
        period = choose(snapshot.periods(source))
        if period is None:
            continue
        t = snapshot.table(source, periods=[period])
        rows = _rows(t.filter(t.practice_code == practice_code))
        if source == "gpps" and rows:
            fields = {"series": rows[0]["series"], **{r["question"]: r["value"] for r in rows}}
            out.append({"source": source, "period": period, "fields": fields})
        elif source == "imd" and rows:
            deciles = _rows(imd_deciles(snapshot, int(period)).filter(lambda d: d.practice_code == practice_code))
            fields = _fields(rows[0], ("practice_code", "imd_decile"))  # a decile stored by older versions: stale
            fields["imd_decile"] = deciles[0]["decile"] if deciles else None
            out.append({"source": source, "period": period, "fields": fields})
        else:
            out += [{"source": source, "period": period, "fields": _fields(r, ("practice_code",))} for r in rows]
    return out


def imd_deciles(snapshot: Snapshot, year: int | None = None):
    """Each scored practice's IMD decile among every practice the store scores for the same IMD year, for one
    year or (`year=None`) every stored year, each on its own: the one decile computation in gpaccess.

    1 = the most deprived tenth (the highest scores). Practices with equal scores share a decile, that of the
    first of them: decile = ⌊10 × (practices of the year with a higher score) ÷ (practices scored that year)⌋ + 1.
    Computed when read, never stored, so a later file for the year (which replaces the practices it lists)
    moves every practice's decile consistently."""
    t = snapshot.table("imd", periods=None if year is None else [str(year)])
    t = t.filter(t.imd_score.notnull())
    higher = ibis.rank().over(ibis.window(group_by=t.year, order_by=ibis.desc(t.imd_score)))  # 0-based, ties min
    scored = t.imd_score.count().over(ibis.window(group_by=t.year))
    return t.select("year", "practice_code", "imd_score", decile=(higher * 10 // scored + 1).cast("int64"))


def latest_imd(snapshot: Snapshot):
    """Each practice's IMD score and decile (as `imd_deciles`) from the latest IMD year that scores it."""
    d = imd_deciles(snapshot)
    # A join with each practice's latest year rather than a filter on a window: the same on every engine
    # (Ibis's PySpark backend cannot resolve a filter against a window over a windowed relation).
    latest = d.group_by("practice_code").aggregate(latest_year=d.year.max())
    d = d.inner_join(latest, [d.practice_code == latest.practice_code, d.year == latest.latest_year])
    return d.select("practice_code", "year", "imd_score", imd_decile=d.decile)


def coverage_for(
    snapshot: Snapshot, sub_icb_code: str, month: str | date, *, warn_below: float = DEFAULT_COVERAGE_WARNING
) -> dict[str, Any] | None:
    """Coverage of one sub-ICB in one month, with a warning when it is below `warn_below` (the
    `coverage_warning_threshold` setting); None when the store holds no coverage row for it."""
    key = month_key(require_month(month))
    if not snapshot.has("coverage") or key not in snapshot.periods("coverage"):
        return None
    t = snapshot.table("coverage", periods=[key])
    rows = _rows(t.filter(t.sub_icb_code == sub_icb_code))
    if not rows:
        return None
    row = rows[0]
    share = row["coverage"]
    warning = None
    if share is None or share < warn_below:
        shown = "unknown" if share is None else f"{share:.1%}"
        warning = (
            f"GPAD covers {shown} of patients registered at open practices in {sub_icb_code} for {key} "
            f"(below {warn_below:.0%}): its appointment figures undercount"
        )
    return {**_fields(row), "month": key, "warning": warning}


def practices_open_for_window(snapshot: Snapshot, start: date, end: date, *, extract: str | None = None):
    """GP practices (ODS setting 4) open for the whole window [start, end], by the latest ODS extract (or
    `extract`, YYYY-MM): opened on or before `start` and not closed before `end`."""
    periods = snapshot.periods("ods_practices")
    chosen = extract or (max(periods) if periods else None)
    t = snapshot.table("ods_practices", periods=[chosen] if chosen else [])
    return t.filter(
        t.open_date.notnull() & (t.open_date <= start) & (t.close_date.isnull() | (t.close_date >= end))
    ).select("practice_code", "name", "icb_code", "commissioner_code", "open_date", "close_date", "status")


def system_icb_map(snapshot: Snapshot):
    """Each system code (CCG or sub-ICB) of `gpad_system` with its ICB: CCGs through `ccg_icb_lookup`;
    sub-ICB locations through the lookup only where the code is the same as a former CCG's."""
    systems = snapshot.table("gpad_system").select("system_code", "system_level").distinct()
    lookup = snapshot.table("ccg_icb_lookup").select("ccg_code", "icb_code", "icb_name")
    return systems.left_join(lookup, systems.system_code == lookup.ccg_code).select(
        "system_code", "system_level", "icb_code", "icb_name"
    )
