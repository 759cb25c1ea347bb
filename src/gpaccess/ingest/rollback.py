"""Rollback: undo one release as a whole (DESIGN "Rollback").

A release is one ingest call. Undoing it takes every state it wrote off its stack — every publication and
every period, derived ones (the practice-month aggregate, the practice list) included — so the store answers
exactly as it did before that call. The release is picked by a month (the latest applied release that touched
it) and optionally a publication; it is refused, naming the later release, when a later applied release
changed any publication-period the picked one wrote (its rows sit on top: undo that one first).

`plan_rollback` says exactly what would be undone without touching anything (`--dry-run` shows it); the
retired states stay readable for the grace period and for good where a stored run pinned them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpaccess.errors import ConflictError, NotFoundError
from gpaccess.storage.manifest import Manifest, Release
from gpaccess.storage.periods import period_option
from gpaccess.storage.warehouse import Warehouse

UNDONE = "rolled back"


@dataclass(frozen=True)
class RollbackPlan:
    """What undoing one release takes off the store."""

    release: Release
    states: list[tuple[str, str, int]] = field(default_factory=list)  # (publication, period, rows)

    @property
    def publications(self) -> list[str]:
        return sorted({pub for pub, _, _ in self.states})

    @property
    def periods(self) -> list[str]:
        return sorted({period for _, period, _ in self.states})

    @property
    def rows(self) -> int:
        return sum(rows for _, _, rows in self.states)

    def describe(self) -> list[str]:
        """The lines a user reads before anything is undone."""
        r = self.release
        lines = [f"release {r.id}, ingested {r.ingested_at} by {r.user or 'unknown'}"]
        lines += [f"  source file: {s.name} (sha256 {s.sha256[:12]}…, {s.bytes:,} bytes)" for s in r.sources]
        for pub, period, rows in self.states:
            lines.append(f"  {pub} {period}: {rows:,} rows")
        lines.append(
            f"  in all: {len(self.publications)} publication(s), {len(self.periods)} period(s), {self.rows:,} rows"
        )
        return lines


def _applied(release: Release) -> bool:
    # "partly rolled back" is how the first store format marked a release undone for one publication only.
    return release.status in ("applied", "partly rolled back")


def plan_rollback(manifest: Manifest, month: str, *, publication: str | None = None) -> RollbackPlan:
    """The release `--rollback MONTH [--publication P]` would undo, and every state it would take off."""
    key = period_option(month)
    order = {r.id: i for i, r in enumerate(manifest.releases)}
    pubs = [publication] if publication else sorted(manifest.publications)
    candidates = []
    for pub in pubs:
        stack = manifest.publications[pub].periods.get(key, []) if pub in manifest.publications else []
        candidates += [s.release for s in stack if s.release in order and _applied(manifest.release(s.release))]
    if not candidates:
        where = f" in {publication}" if publication else ""
        known = ", ".join(sorted(manifest.publications)) or "none"
        raise NotFoundError(
            f"nothing to roll back for {key}{where}: no applied release wrote it"
            + ("" if not publication or publication in manifest.publications else f" (publications: {known})")
        )
    picked = manifest.release(max(candidates, key=order.__getitem__))
    states = []
    blockers: dict[str, list[str]] = {}
    for pub, periods in sorted(picked.touched.items()):
        p = manifest.publications.get(pub)
        for period in periods:
            stack = p.periods.get(period, []) if p else []
            mine = next((s for s in stack if s.release == picked.id), None)
            if mine is None:
                continue  # already taken off (a first-format partial rollback)
            top = stack[-1]
            if top.release != picked.id:
                blockers.setdefault(top.release, []).append(f"{pub} {period}")
            states.append((pub, period, mine.rows))
    if blockers:
        later = ", ".join(f"{rid} (which changed {'; '.join(where)})" for rid, where in blockers.items())
        raise ConflictError(
            f"release {picked.id} cannot be rolled back on its own: a later release changed what it wrote: "
            f"{later}. Roll that release back first."
        )
    return RollbackPlan(picked, states)


def rollback(
    warehouse: Warehouse,
    month: str,
    *,
    user: str,
    publication: str | None = None,
    dry_run: bool = False,
    expected: str | None = None,
) -> RollbackPlan:
    """Undo the picked release as a whole (or, with `dry_run`, only say what that would do).

    `expected` is the release the user was shown: if another ingest changed the store since, so that a
    different release would now be undone, nothing is undone."""
    if dry_run:
        return plan_rollback(warehouse.snapshot().manifest, month, publication=publication)
    with warehouse.transaction(user=user) as tx:
        plan = plan_rollback(tx.manifest, month, publication=publication)
        if expected is not None and plan.release.id != expected:
            raise ConflictError(
                f"the store changed since the rollback was shown: it would now undo {plan.release.id}, not "
                f"{expected}; nothing was undone (run the rollback again to see what it would do)"
            )
        for pub, period, _ in plan.states:
            tx.pop(pub, period)
        tx.manifest.release(plan.release.id).status = UNDONE
        return plan
