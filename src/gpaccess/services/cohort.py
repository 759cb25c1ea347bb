"""Cohort runs and their outputs, overrides, and reproduction of a stored run.

A run reads one snapshot, pins it (so every file it read stays while the run is stored) and records its
versions, settings and the gpaccess and method versions; `reproduce_run` recomputes it from the store as of
those versions with the overrides that were in force when it ran, and lists every difference.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.cohort import commands as cohort_commands
from gpaccess.cohort import queries
from gpaccess.cohort.reproduce import Reproduction, differences, settings_from_parameters
from gpaccess.cohort.run import (
    METHOD_VERSION,
    build_cohort,
    default_cycle,
    ensure_cycle,
    member_rows,
    overrides_from_store,
    record,
)
from gpaccess.cohort.schemas import OverrideAction, OverrideOut, RunOut, RunSummaryOut
from gpaccess.cohort.select import Cohort
from gpaccess.errors import NotFoundError, UserError
from gpaccess.measures.service import MeasureSession
from gpaccess.publication.basis import RunBasis, run_basis
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read
from gpaccess.services.measures import measure_session
from gpaccess.storage import retention
from gpaccess.storage.periods import parse_months


@dataclass(frozen=True)
class CohortRunResult:
    cohort: Cohort
    cycle: str
    run_id: int | None
    session: MeasureSession  # the snapshot and measures the run read (for its report)
    basis: RunBasis  # what the run stood on: criteria assessed or not, window, reference, releases


def run_cohort(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    months: list[str] | None = None,
    cycle: str | None = None,
    save: bool = True,
    session: MeasureSession | None = None,
) -> CohortRunResult:
    """Select an ICB's support cohort and (unless `save` is False) store the run. Pass `session` to reuse its
    measures across ICBs (one scan for many)."""
    code = principal.require_icb(icb_code)
    if save:
        principal.require(Permission.RUN_COHORT)
    s = session or measure_session(app, months=months)
    cycle_name = cycle or default_cycle(s.months)
    settings = app.selection_settings()
    with app.plan_session() as db:
        overrides = overrides_from_store(db, code, cycle_name)
    cohort = build_cohort(s, code, settings, overrides)
    run_id = None
    if save:
        pin = f"cohort-run-{uuid.uuid4().hex[:16]}"
        app.warehouse.pin(pin, s.snapshot)
        try:
            with app.plan_session() as db:
                ensure_cycle(db, cycle_name, s.months, principal.actor)
                run_id = record(db, cohort, cycle_name, s.snapshot, measures=s.settings, pin=pin, user=principal.actor)
        except BaseException:
            retention.remove_pin(app.warehouse.root, pin)
            raise
    else:
        audit_read(app, principal=principal, action="cohort.previewed", icb_code=code, detail={"cycle": cycle_name})
    return CohortRunResult(cohort, cycle_name, run_id, s, run_basis(s, cohort))


@dataclass(frozen=True)
class CohortOutputs:
    report_html: Path
    cohort_csv: Path
    nhse_return: Path
    nhse_notes: Path
    cohort_xlsx: Path


def write_outputs(app: App, *, principal: Principal, result: CohortRunResult, folder: Path) -> CohortOutputs:
    """The confidential ICB report (names practices: it stays in the ICB) and the pseudonymised return."""
    from gpaccess.cohort.local_view import local_view
    from gpaccess.publication.icb_report import write_icb_report
    from gpaccess.services.returns import write_nhse_return

    code = principal.require_icb(result.cohort.icb_code)
    files = write_icb_report(
        result.session,
        result.cohort,
        folder,
        cycle=result.cycle,
        run_id=result.run_id,
        local_view=local_view(result.session, code),
        basis=result.basis,
    )
    returned, notes = write_nhse_return(
        app, principal=principal, result=result, path=folder / f"nhse_return_{code}.csv"
    )
    audit_read(
        app,
        principal=principal,
        action="cohort.report_written",
        icb_code=code,
        object_type="cohort_run",
        object_id=result.run_id,
        detail={"folder": str(folder)},
    )
    return CohortOutputs(files.html, files.csv, returned, notes, files.xlsx)


def add_override(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    practice_code: str,
    action: str,
    reason: str,
    cycle: str | None = None,
) -> tuple[int, str]:
    """Add a practice to, or remove it from, the ICB's cohort for a cycle, with its reason: (override id, cycle)."""
    code = principal.require_icb(icb_code)
    principal.require(Permission.OVERRIDE)
    if action not in ("add", "remove"):
        raise UserError(f"--action {action!r}: expected add or remove")
    s = measure_session(app)
    practice = practice_code.strip().upper()
    if practice not in set(s.icb_practices(code).practice_code):
        raise UserError(f"practice {practice!r} is not one of ICB {code}'s practices in {s.label}")
    cycle_name = cycle or default_cycle(s.months)
    with app.plan_session() as db:
        ensure_cycle(db, cycle_name, s.months, principal.actor)
        oid = cohort_commands.add_override(
            db,
            icb_code=code,
            cycle=cycle_name,
            practice_code=practice,
            action=OverrideAction(action),
            reason=reason,
            user=principal.actor,
        )
    return oid, cycle_name


def revoke_override(
    app: App, *, principal: Principal, icb_code: str, override_id: int, reason: str | None = None
) -> None:
    code = principal.require_icb(icb_code)
    principal.require(Permission.OVERRIDE)
    with app.plan_session() as db:
        cohort_commands.revoke_override(db, icb_code=code, override_id=override_id, reason=reason, user=principal.actor)


def reproduce_run(app: App, *, principal: Principal, run_id: int) -> Reproduction:
    """Recompute a stored run from the store as of its versions, with its settings and the overrides in force
    when it ran, and compare every member, reason and figure."""
    with app.plan_session() as db:
        stored = queries.run_by_id(db, run_id)
    try:
        code = principal.require_icb(stored.icb_code)
    except NotFoundError:
        raise NotFoundError(f"no cohort run {run_id}") from None  # another ICB's run: answered as a missing one
    selection, measures, notes = settings_from_parameters(stored.parameters)
    result = Reproduction(run_id=run_id, notes=notes)
    if stored.method_version is None:
        result.notes.insert(0, "the run was stored by a gpaccess that did not record its method version")
    elif stored.method_version != METHOD_VERSION:
        result.notes.insert(
            0,
            f"the cohort method changed since the run (method version {stored.method_version} then, "
            f"{METHOD_VERSION} now): differences may come from the method, not the data",
        )
    snapshot = app.warehouse.snapshot(as_of={k: dict(v) for k, v in stored.data_versions.items()})  # type: ignore[arg-type]
    session = MeasureSession(snapshot, measures or app.measure_settings(), months=parse_months(stored.data_months))
    with app.plan_session() as db:
        overrides = overrides_from_store(db, code, stored.cycle, at=stored.created_at)
    again = build_cohort(session, code, selection, overrides)
    result.differences = differences(stored, again, [m.model_dump() for m in member_rows(again)])
    audit_read(
        app,
        principal=principal,
        action="cohort_run.reproduced",
        icb_code=code,
        object_type="cohort_run",
        object_id=run_id,
        detail={"identical": result.identical, "differences": len(result.differences)},
    )
    return result


def cohort_document(result: CohortRunResult) -> dict[str, object]:
    """The run as one document (JSON, and the members for CSV/XLSX): every criterion per practice as met, not
    met or not assessed, and what the run stood on."""
    from gpaccess.publication.assessment import outward_members

    c = result.cohort
    return {
        "icb_code": c.icb_code,
        "cycle": result.cycle,
        "run_id": result.run_id,
        "window": c.window,
        "cap": c.cap,
        "eligible": c.eligible,
        "notes": c.notes,
        "stood_on": result.basis.as_dict(),
        "members": outward_members(c.members, c.settings.criteria.enabled, join_lists=False),
    }


def write_cohort_table(result: CohortRunResult, path: Path, *, fmt: str | None = None) -> Path:
    """The run's members as CSV, XLSX (with a first sheet saying what the run stood on) or JSON (the whole
    document), formulas neutralised."""
    from gpaccess.publication.tables import write_table

    document = cohort_document(result)
    return write_table(
        document["members"],
        path,
        fmt=fmt,
        sheet="cohort",
        notes=result.basis.lines(),
        document=document,
    )


@dataclass(frozen=True)
class StoredCohort:
    """What the ICB dashboard shows: the latest stored run (never recomputed here) and the overrides in force."""

    icb_code: str
    run: RunOut | None
    overrides: list[OverrideOut]
    runs: list[RunSummaryOut]  # every stored run, newest first, without members


def stored_cohort(app: App, *, principal: Principal, icb_code: str) -> StoredCohort:
    """The ICB's latest stored cohort run with its members and reasons, its overrides in force for that run's
    cycle, and every stored run (newest first); recomputed only by `run_cohort`."""
    code = principal.require_icb(icb_code)
    with app.plan_session() as db:
        all_runs = queries.run_summaries(db, icb_codes={code})
        latest = queries.run(db, icb_code=code, run_id=all_runs[0].id) if all_runs else None
        overrides = queries.active_overrides(db, icb_code=code, cycle=latest.cycle) if latest else []
    audit_read(
        app,
        principal=principal,
        action="cohort_run.read",
        icb_code=code,
        object_type="cohort_run",
        object_id=latest.id if latest else None,
    )
    return StoredCohort(code, latest, overrides, all_runs)
