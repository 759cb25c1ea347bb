"""What NHS England's national and regional teams see: aggregates only, never a named practice or cohort.

For each ICB with a stored cohort run: the cycle, how many practices were eligible and how many its latest
run supports, and how many met each criterion, every count of practices rounded to 5 and none describing
fewer than 5 practices (`publication.disclosure`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.cohort import queries
from gpaccess.publication.disclosure import practices_figure
from gpaccess.services.app import App


@dataclass(frozen=True)
class NationalSummary:
    icbs: list[dict[str, Any]]  # per ICB: code, cycle, run date, eligible, supported, per criterion
    criteria: list[str]
    total_supported: int | str
    total_icbs: int


def _criteria(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [k for k, v in value.items() if v is True or v == "met"]
    return []


def national_summary(app: App, *, principal: Principal) -> NationalSummary:
    principal.require(Permission.READ_AGGREGATES)
    with app.plan_session() as db:
        newest: dict[str, int] = {}
        for summary in queries.run_summaries(db):  # newest first; members are read for each ICB's latest only
            newest.setdefault(summary.icb_code, summary.id)
        latest: dict[str, Any] = {code: queries.run(db, icb_code=code, run_id=i) for code, i in newest.items()}
    rows = []
    names: set[str] = set()
    total = 0
    for code in sorted(latest):
        run = latest[code]
        met: Counter[str] = Counter()
        for m in run.members:
            if m.selected:
                met.update(_criteria(m.criteria_met))
        selected = sum(1 for m in run.members if m.selected)
        total += selected
        names.update(met)
        rows.append(
            {
                "icb_code": code,
                "cycle": run.cycle,
                "run_on": run.created_at.date().isoformat(),
                "eligible": practices_figure(run.eligible),
                "supported": practices_figure(selected),
                "criteria": {c: practices_figure(n) for c, n in met.items()},
            }
        )
    return NationalSummary(rows, sorted(names), practices_figure(total), len(rows))
