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
FACE_TO_FACE = ("Face-to-Face", "Home Visit")  # DESIGN.md default numerator; Unknown mode excluded below


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
            fields = _fields(rows[0], ("practice_code",))
            fields["imd_decile_all_stored"] = deciles[0]["decile"] if deciles else None
            out.append({"source": source, "period": period, "fields": fields})
        else:
            out += [{"source": source, "period": period, "fields": _fields(r, ("practice_code",))} for r in rows]
    return out


def imd_deciles(snapshot: Snapshot, year: int):
    """IMD deciles across every practice stored for `year` (1 = most deprived, i.e. highest score)."""
    t = snapshot.table("imd", periods=[str(year)])
    t = t.filter(t.imd_score.notnull())
    return t.select(
        "practice_code",
        "imd_score",
        decile=(ibis.ntile(10).over(order_by=ibis.desc(t.imd_score)) + 1),
    )


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


def system_baseline(snapshot: Snapshot, icb_code: str) -> list[dict[str, Any]]:
    """For each system (CCG or sub-ICB location) of an ICB and each month after 2019: appointments, the
    face-to-face share (Face-to-Face + Home Visit ÷ appointments with a known mode; all staff and GP only),
    and appointments per 1,000 registered patients, beside the same calendar month of 2019.

    Patients come from the `registrations` publication summed by sub-ICB/CCG code for that month; where the
    store holds none for a month (there is no public 2019 list-size file here) the rate is None with a note:
    unavailable, never zero and never guessed.
    """
    codes = system_icb_map(snapshot)
    mine = codes.filter(codes.icb_code == icb_code).system_code
    t = snapshot.table("gpad_system")
    t = t.filter(t.system_code.isin(mine))
    known = t.appt_mode != "Unknown"
    f2f = t.appt_mode.isin(FACE_TO_FACE)
    gp = t.hcp_type == "GP"
    monthly = t.group_by(["system_code", "system_name", "month"]).aggregate(
        appointments=t["count"].sum(),
        known_mode=known.ifelse(t["count"], 0).sum(),
        f2f=f2f.ifelse(t["count"], 0).sum(),
        gp_known_mode=(known & gp).ifelse(t["count"], 0).sum(),
        gp_f2f=(f2f & gp).ifelse(t["count"], 0).sum(),
    )
    rows = _rows(monthly.order_by(["system_code", "month"]))
    patients = _system_patients(snapshot)
    by_key = {(r["system_code"], r["month"]): r for r in rows}
    out = []
    for r in rows:
        if r["month"].year == 2019:
            continue
        base = by_key.get((r["system_code"], r["month"].replace(year=2019)))
        entry = _summary(r, patients)
        entry["baseline"] = _summary(base, patients) if base else None
        if base is None:
            entry["note"] = "no 2019 month stored for this system: baseline unavailable"
        out.append(entry)
    return out


def _summary(r: dict[str, Any], patients: dict[tuple[str, date], int]) -> dict[str, Any]:
    n = patients.get((r["system_code"], r["month"]))
    return {
        "system_code": r["system_code"],
        "system_name": r["system_name"],
        "month": f"{r['month']:%Y-%m}",
        "appointments": r["appointments"],
        "f2f_share": r["f2f"] / r["known_mode"] if r["known_mode"] else None,
        "gp_f2f_share": r["gp_f2f"] / r["gp_known_mode"] if r["gp_known_mode"] else None,
        "patients": n,
        "per_1000_patients": r["appointments"] * 1000 / n if n else None,
        "per_1000_note": None if n else "list size unavailable for this month",
    }


def _system_patients(snapshot: Snapshot) -> dict[tuple[str, date], int]:
    if not snapshot.has("registrations"):
        return {}
    t = snapshot.table("registrations")
    if "sub_icb_code" not in t.columns:
        return {}
    t = t.filter(t.sex == "ALL") if "sex" in t.columns else t
    g = t.group_by(["sub_icb_code", "month"]).aggregate(patients=t.patients.sum())
    return {(r["sub_icb_code"], r["month"]): int(r["patients"]) for r in _rows(g)}
