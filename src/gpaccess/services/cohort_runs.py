"""Stored cohort runs as an analyst browses them: list, show one, and compare two (`gpaccess cohort runs`).

Every read is scoped (another ICB's run is answered exactly as a missing one) and audited. A comparison says
what changed between two runs of the same ICB: what they stood on (months, releases, settings, method) and, per
practice, selection, criteria met, exclusion, capped-out and override — in practice-code order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gpaccess.access.principal import Principal
from gpaccess.cohort import queries
from gpaccess.cohort.criteria import TITLES
from gpaccess.cohort.schemas import RunOut
from gpaccess.errors import NotFoundError, UserError
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read

RUN_COLUMNS = [
    "run_id",
    "icb_code",
    "cycle",
    "created_at",
    "created_by",
    "months",
    "eligible",
    "cap",
    "selected",
    "excluded",
    "capped_out",
    "overridden",
    "status",
    "method_version",
    "gpaccess_version",
]
# Reasons the criteria give when their data are missing without saying "not assessed" in so many words.
NO_DATA_REASONS = frozenset({"no GP appointments with a known mode in the window"})
MEMBER_COLUMNS = [
    "practice_code",
    "selected",
    "criteria_met",
    "excluded",
    "exclusion_reasons",
    "capped_out",
    "overridden",
    "override_reason",
    "reasons",
]


def _months(run: RunOut) -> str:
    months = sorted(run.data_months)
    if not months:
        return ""
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]} ({len(months)} months)"


def _summary(run: RunOut) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "icb_code": run.icb_code,
        "cycle": run.cycle,
        "created_at": run.created_at.strftime("%Y-%m-%d %H:%M"),
        "created_by": run.created_by,
        "months": _months(run),
        "eligible": run.eligible,
        "cap": run.cap,
        "selected": sum(m.selected for m in run.members),
        "excluded": sum(m.excluded for m in run.members),
        "capped_out": sum(m.near_miss for m in run.members),
        "overridden": sum(str(m.overridden.value) != "none" for m in run.members),
        "status": str(run.status.value),
        "method_version": run.method_version,
        "gpaccess_version": run.gpaccess_version,
    }


def _scoped(app: App, principal: Principal, run_id: int) -> RunOut:
    missing = NotFoundError(f"no cohort run {run_id} (list the runs you can see: `gpaccess cohort runs list`)")
    try:
        with app.plan_session() as db:
            run = queries.run_by_id(db, run_id)
        principal.require_icb(run.icb_code)  # another ICB's run is answered exactly as a missing one
    except NotFoundError:
        raise missing from None
    return run


def list_runs(app: App, *, principal: Principal, icb_code: str | None = None) -> pd.DataFrame:
    """The stored runs the principal may see (one ICB's when given), newest first."""
    codes = {principal.require_icb(icb_code)} if icb_code else None
    with app.plan_session() as db:
        runs = queries.runs(db, icb_codes=codes)
    runs = [r for r in runs if principal.sees_icb(r.icb_code)]
    audit_read(app, principal=principal, action="cohort_runs.listed", icb_code=icb_code and icb_code.upper())
    return pd.DataFrame([_summary(r) for r in runs], columns=RUN_COLUMNS)


@dataclass(frozen=True)
class RunView:
    summary: dict[str, Any]
    criteria: list[str]
    parameters: dict[str, Any]
    data_versions: dict[str, Any]
    members: pd.DataFrame  # one row per practice, practice-code order


def stored_status(name: str, criteria_met: list[str], reasons: list[str]) -> str:
    """A stored member's status on one criterion: met when recorded as met; otherwise read from the reason the
    run stored for that criterion ("not assessed" when it says so, else "not met"), and "not recorded" when the
    run stored no reason for it (never guessed as not met)."""
    if name in criteria_met:
        return "met"
    title = TITLES.get(name)
    reason = next((r for r in reasons if title and r.startswith(title + ": ")), None)
    if reason is None:
        return "not recorded"
    text = reason[len(title or "") + 2 :]
    return "not assessed" if text.startswith("not assessed") or text in NO_DATA_REASONS else "not met"


def _member_frame(run: RunOut) -> pd.DataFrame:
    criteria = run.criteria if isinstance(run.criteria, list) else []
    rows = [
        {
            "practice_code": m.practice_code,
            "selected": m.selected,
            "criteria_met": "; ".join(map(str, m.criteria_met))
            if isinstance(m.criteria_met, list)
            else str(m.criteria_met),
            "excluded": m.excluded,
            "exclusion_reasons": "; ".join(m.exclusion_reasons),
            "capped_out": m.near_miss,
            "overridden": str(m.overridden.value),
            "override_reason": m.override_reason,
            "reasons": "; ".join(m.reasons),
            **{
                f"criterion_{c}": stored_status(
                    str(c), [str(x) for x in m.criteria_met] if isinstance(m.criteria_met, list) else [], m.reasons
                )
                for c in criteria
            },
        }
        for m in run.members
    ]
    columns = [*MEMBER_COLUMNS, *(f"criterion_{c}" for c in criteria)]
    return pd.DataFrame(rows, columns=columns).sort_values("practice_code").reset_index(drop=True)


def show_run(app: App, *, principal: Principal, run_id: int) -> RunView:
    """One stored run: what it stood on and every practice with its outcome and reasons."""
    run = _scoped(app, principal, run_id)
    audit_read(
        app,
        principal=principal,
        action="cohort_run.read",
        icb_code=run.icb_code,
        object_type="cohort_run",
        object_id=run_id,
    )
    criteria = [str(c) for c in run.criteria] if isinstance(run.criteria, list) else [str(run.criteria)]
    return RunView(_summary(run), criteria, dict(run.parameters), dict(run.data_versions), _member_frame(run))


@dataclass
class RunDiff:
    first: dict[str, Any]
    second: dict[str, Any]
    stood_on: list[str] = field(default_factory=list)  # what changed in what the runs read and how
    practices: pd.DataFrame = field(default_factory=pd.DataFrame)  # practice_code, change, first, second

    @property
    def identical(self) -> bool:
        return not self.stood_on and self.practices.empty


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value else "none"


def diff_runs(app: App, *, principal: Principal, first: int, second: int) -> RunDiff:
    """What changed from run `first` to run `second` (both of one ICB): months, releases, settings, method and
    versions, then each practice whose selection, criteria met, exclusion, capped-out state or override differs."""
    a, b = _scoped(app, principal, first), _scoped(app, principal, second)
    if a.icb_code != b.icb_code:
        raise UserError(
            f"runs {first} and {second} are of different ICBs ({a.icb_code}, {b.icb_code}): compare runs of one ICB"
        )
    out = RunDiff(_summary(a), _summary(b))
    for key in ("cycle", "months", "eligible", "cap", "method_version", "gpaccess_version"):
        if out.first[key] != out.second[key]:
            out.stood_on.append(f"{key}: {out.first[key]} → {out.second[key]}")
    va, vb = _flat(a.data_versions), _flat(b.data_versions)
    changed = sorted(k for k in set(va) | set(vb) if va.get(k) != vb.get(k))
    for k in changed:
        out.stood_on.append(f"release of {k}: {va.get(k) or 'none'} → {vb.get(k) or 'none'}")
    pa, pb = _flat(a.parameters), _flat(b.parameters)
    for k in sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k)):
        out.stood_on.append(f"setting {k}: {pa.get(k)!r} → {pb.get(k)!r}")
    ma = _member_frame(a).set_index("practice_code")
    mb = _member_frame(b).set_index("practice_code")
    rows = []
    for code in sorted(set(ma.index) | set(mb.index)):
        if code not in mb.index:
            rows.append({"practice_code": code, "change": "only in the first run", "first": "", "second": ""})
            continue
        if code not in ma.index:
            rows.append({"practice_code": code, "change": "only in the second run", "first": "", "second": ""})
            continue
        for col in ("selected", "criteria_met", "excluded", "capped_out", "overridden"):
            x, y = ma.at[code, col], mb.at[code, col]
            if x != y:
                rows.append({"practice_code": code, "change": col, "first": _word(x), "second": _word(y)})
    out.practices = pd.DataFrame(rows, columns=["practice_code", "change", "first", "second"])
    audit_read(
        app,
        principal=principal,
        action="cohort_runs.compared",
        icb_code=a.icb_code,
        object_type="cohort_run",
        object_id=first,
        detail={"with": second, "changes": len(out.practices)},
    )
    return out
