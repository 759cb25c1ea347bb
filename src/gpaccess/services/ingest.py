"""Putting data into the analytical store and taking releases back out, and what the store holds.

Writes need the `ingest` permission; the acting principal is recorded with each release. A failed ingest
leaves the store exactly as it was (the storage layer's one atomic swap).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.services.app import App

if TYPE_CHECKING:  # the engine loads only once the files have passed their first check
    from gpaccess.ingest.load import IngestResult
    from gpaccess.ingest.rollback import RollbackPlan


def ingest(
    app: App,
    *,
    principal: Principal,
    paths: list[Path],
    month: str | None = None,
    partial: bool = False,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest published files as one release (a no-op for files already applied). `partial` says a
    republication that cuts some practices' months by more than a fifth is meant."""
    from gpaccess.ingest.precheck import precheck

    principal.require(Permission.INGEST)
    precheck(paths)  # a wrong file is refused before the store is locked or the engine loaded

    from gpaccess.ingest.load import ingest_files

    result = ingest_files(app.warehouse, paths, user=principal.actor, month=month, partial=partial, progress=progress)
    _keep_measures(app, list(result.months), progress)
    if result.months.get("gpad_appointments"):
        _update_progress(app, principal, result.notes)
    return result


def _keep_measures(app: App, changed: list[str] | None, progress: Callable[[str], None] | None = None) -> None:
    """Every practice's default measures, kept for the next reader (`services.measures.keep_measures`), when the
    store changed something measures read (`changed`: the publications touched; None: always, as after an
    upgrade, whose new gpaccess no longer reads the frames the old one kept)."""
    from gpaccess.measures.inputs import NOT_MEASURE_INPUTS
    from gpaccess.services.measures import keep_measures

    if changed is None or set(changed) - NOT_MEASURE_INPUTS:
        keep_measures(app, progress)


def _update_progress(app: App, principal: Principal, notes: list[str]) -> None:
    """After GPAD months changed: recompute open plans' progress (never undoes the ingest or rollback)."""
    from gpaccess.services.progress import recompute_after_ingest

    if principal.can(Permission.EDIT_PLANS):
        recompute_after_ingest(app, principal=principal, warn=notes.append)


def plan_rollback(app: App, *, principal: Principal, month: str, publication: str | None = None) -> RollbackPlan:
    """What `rollback` would undo (nothing is changed)."""
    from gpaccess.ingest.rollback import rollback

    principal.require(Permission.INGEST)
    return rollback(app.warehouse, month, user=principal.actor, publication=publication, dry_run=True)


def rollback(
    app: App, *, principal: Principal, month: str, publication: str | None = None, expected: str | None = None
) -> RollbackPlan:
    """Undo the picked release as a whole; `expected` is the release the user was shown (refused if the store
    changed since so that another would be undone)."""
    from gpaccess.ingest.rollback import rollback as undo

    principal.require(Permission.INGEST)
    plan = undo(app.warehouse, month, user=principal.actor, publication=publication, expected=expected)
    _keep_measures(app, plan.publications)
    if "gpad_appointments" in plan.publications:
        _update_progress(app, principal, [])
    return plan


def status(app: App, *, principal: Principal, publication: str | None = None) -> dict[str, Any]:
    """What the store holds (publications, periods, releases): no named practice data. With `publication`
    (a name as `status` shows it, any case), only that publication and the releases that touched it."""
    from gpaccess.errors import NotFoundError
    from gpaccess.ingest.status import store_status

    snapshot = app.warehouse.snapshot()
    info = store_status(snapshot)
    info["unmapped_sub_icbs"] = unmapped_sub_icbs(snapshot)
    if publication is None:
        return info
    wanted = publication.strip().lower()
    names = [p["name"] for p in info["publications"]]
    if wanted not in names:
        raise NotFoundError(
            f"no publication {publication!r} in the store; publications: {', '.join(names) or 'none (empty store)'}"
        )
    info["publications"] = [p for p in info["publications"] if p["name"] == wanted]
    info["releases"] = [r for r in info["releases"] if wanted in (r.get("touched") or {})]
    info["publication"] = wanted
    return info


def unmapped_sub_icbs(snapshot) -> list[dict[str, Any]]:
    """Sub-ICB locations in the latest GPAD month that no Mapping.csv places in an ICB (their practices belong
    to no ICB's cohort), with their practice counts: aggregate codes only, no practice named."""
    from gpaccess.measures.practices import unmapped_sub_icbs as lost
    from gpaccess.storage.periods import parse_month

    if not snapshot.has("gpad_practices"):
        return []
    months = [m for m in (parse_month(p) for p in snapshot.periods("gpad_practices")) if m is not None]
    if not months:
        return []
    latest = max(months)
    rows = lost(snapshot, [latest]).to_dict("records")
    return [{"month": f"{latest:%Y-%m}", **r} for r in rows]


def upgrade(
    app: App, *, principal: Principal, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, Any]:
    """Bring an installation made by an earlier gpaccess up to date: the plan store's migrations, then any
    derived data the analytical store lacks (the practice-month aggregate). Safe to run again."""
    from gpaccess.ingest.upgrade import build_missing_aggregates

    principal.require(Permission.INGEST)
    before, after = app.upgrade_plan_store()
    built = build_missing_aggregates(app.warehouse, user=principal.actor, progress=progress)
    _keep_measures(app, None)
    return {"plan_store": {"from": before, "to": after}, "aggregate_built": built.built, "already": built.already}


def build_from_lake(
    app: App,
    *,
    principal: Principal,
    source: str,
    months: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Build the practice-month aggregate (and the practice rows) from a lake table of GPAD rows, as one release:
    read and aggregated on the configured engine (Spark with GPACCESS_ENGINE=spark), written to the store."""
    from gpaccess.ingest.lake import build_from_lake as build
    from gpaccess.storage.periods import require_month

    principal.require(Permission.INGEST)
    wanted = [require_month(m, "--month") for m in months] if months else None
    result = build(app.warehouse, source, user=principal.actor, months=wanted, progress=progress)
    _keep_measures(app, None, progress)
    return result


def export_delta(app: App, *, principal: Principal, out: Path, publications: list[str] | None = None) -> Any:
    """Write the store's current snapshot as Delta Lake tables under `out` (named data: an installation
    administrator's act, audited)."""
    from gpaccess.services.audit import audit_read
    from gpaccess.storage.delta import export_delta as export

    principal.require(Permission.INGEST)
    snapshot = app.warehouse.snapshot()
    result = export(snapshot, out, publications)
    audit_read(
        app,
        principal=principal,
        action="export_delta",
        icb_code=None,
        object_type="store",
        detail={"out": str(out), "tables": result.tables, "generation": snapshot.generation},
    )
    return result
