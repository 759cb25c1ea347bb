"""The system-level baseline: each CCG's or sub-ICB location's appointments and face-to-face share against the
same calendar month of the baseline year, from the system-level GPAD files (the only public 2019 appointments).

It honours the same settings as the practice measures: the face-to-face definition
(`GPACCESS_F2F_DEFINITION`, applied to all staff and to GPs through the `f2f_all` and `f2f_gp` measures) and the
baseline year (`GPACCESS_BASELINE_YEAR`). System codes map to ICBs through the CCG→ICB lookup
(`ingest.context.queries.system_icb_map`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gpaccess.ingest.context.queries import system_icb_map
from gpaccess.measures.compute import merge_conditions
from gpaccess.measures.definitions import Condition, load_measures
from gpaccess.storage.snapshot import Snapshot


def _where(t, cond: Condition | None):
    if cond is None:  # a condition nothing can meet
        return t["count"] < 0
    expr = t["count"] >= 0
    for column, values in cond.items():
        expr = expr & t[column].isin(list(values))
    return expr


def system_baseline(
    snapshot: Snapshot, icb_code: str, *, f2f_definition: str, baseline_year: int = 2019
) -> list[dict[str, Any]]:
    """For each system of an ICB and each month outside the baseline year: appointments, the face-to-face share
    (all staff and GP only, by the configured definition) and appointments per 1,000 registered patients,
    beside the same calendar month of the baseline year.

    Patients come from `registrations` summed by sub-ICB/CCG code for that month; where the store holds none
    (there is no public 2019 list-size file here) the rate is None with a note: unavailable, never zero and
    never guessed."""
    measures = load_measures(f2f_definition)
    codes = system_icb_map(snapshot)
    mine = codes.filter(codes.icb_code == icb_code).system_code
    t = snapshot.table("gpad_system")
    t = t.filter(t.system_code.isin(mine))
    sums = {}
    for label, m in (("all", measures["f2f_all"]), ("gp", measures["f2f_gp"])):
        num = merge_conditions(m.filter, m.numerator, m.denominator)
        den = merge_conditions(m.filter, m.denominator)
        sums[f"{label}_f2f"] = t["count"].sum(where=_where(t, num)).fill_null(0)
        sums[f"{label}_den"] = t["count"].sum(where=_where(t, den)).fill_null(0)
    monthly = t.group_by(["system_code", "system_name", "month"]).aggregate(appointments=t["count"].sum(), **sums)
    rows = monthly.order_by(["system_code", "month"]).to_pyarrow().to_pylist()
    patients = _system_patients(snapshot)
    by_key = {(r["system_code"], r["month"]): r for r in rows}
    out = []
    for r in rows:
        if r["month"].year == baseline_year:
            continue
        base = by_key.get((r["system_code"], r["month"].replace(year=baseline_year)))
        entry = _summary(r, patients)
        entry["definition"] = measures["f2f_all"].definition
        entry["baseline"] = _summary(base, patients) if base else None
        if base is None:
            entry["note"] = f"no {baseline_year} month stored for this system: baseline unavailable"
        out.append(entry)
    return out


def _summary(r: dict[str, Any], patients: dict[tuple[str, date], int]) -> dict[str, Any]:
    n = patients.get((r["system_code"], r["month"]))
    return {
        "system_code": r["system_code"],
        "system_name": r["system_name"],
        "month": f"{r['month']:%Y-%m}",
        "appointments": r["appointments"],
        "f2f_share": r["all_f2f"] / r["all_den"] if r["all_den"] else None,
        "gp_f2f_share": r["gp_f2f"] / r["gp_den"] if r["gp_den"] else None,
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
    return {(r["sub_icb_code"], r["month"]): int(r["patients"]) for r in g.to_pyarrow().to_pylist()}
