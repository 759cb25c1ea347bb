"""Bring a store written by an earlier gpaccess up to date: derived data it lacks is built from what it holds.

Today that is the practice-month aggregate (`ingest/aggregate.py`). A store from before it has appointment
rows but no aggregate; `gpaccess store upgrade` builds one state of the aggregate for every state of the
appointments' stack, with the same release ids and in the same order, so the aggregate rolls back with the
rows it sums exactly as if ingest had written it. One transaction: a failure leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gpaccess.ingest import aggregate
from gpaccess.ingest.load import APPOINTMENTS
from gpaccess.storage.warehouse import Warehouse

Progress = Callable[[int, int, str], None]


@dataclass
class UpgradeResult:
    built: list[str] = field(default_factory=list)  # "2025-10 (release r00002-…)" per aggregate state built
    already: int = 0  # appointment periods that already had their aggregate


def missing_aggregate_periods(manifest) -> list[str]:
    appts = manifest.publications.get(APPOINTMENTS)
    agg = manifest.publications.get(aggregate.PUBLICATION)
    have = {p for p, stack in agg.periods.items() if stack} if agg else set()
    return sorted(p for p, stack in (appts.periods.items() if appts else []) if stack and p not in have)


def build_missing_aggregates(warehouse: Warehouse, *, user: str, progress: Progress | None = None) -> UpgradeResult:
    """Build the practice-month aggregate for every stored month that lacks it (every state of its stack)."""
    say = progress or (lambda _done, _total, _what: None)
    result = UpgradeResult()
    with warehouse.transaction(user=user) as tx:
        todo = missing_aggregate_periods(tx.manifest)
        appts = tx.manifest.publications.get(APPOINTMENTS)
        result.already = len(appts.periods) - len(todo) if appts else 0
        steps = [(period, state) for period in todo for state in appts.periods[period]] if appts else []
        con = warehouse.con
        for done, (period, state) in enumerate(steps):
            say(done, len(steps), f"{period} (release {state.release})")
            rows = con.read_parquet([str(warehouse.data_dir / f) for f in state.files])
            path = tx.staging_path(aggregate.PUBLICATION, period, state.release)
            con.to_parquet(aggregate.practice_month_aggregate(rows), path, compression="zstd")
            tx.push(
                aggregate.PUBLICATION,
                period,
                state.release,
                [path],
                schema=aggregate.schema(),
                key=["practice_code"],
                measure="appointments",
            )
            release = tx.manifest.release(state.release)
            touched = release.touched.setdefault(aggregate.PUBLICATION, [])
            if period not in touched:
                touched.append(period)
                touched.sort()
            result.built.append(f"{period} (release {state.release})")
        say(len(steps), len(steps), "done")
    return result
