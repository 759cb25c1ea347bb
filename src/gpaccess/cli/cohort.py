"""`gpaccess cohort`: one ICB's support cohort with reasons, exclusions, near-misses and audited overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.cli.measures import Months
from gpaccess.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from gpaccess.cohort.select import Cohort, SelectionSettings
    from gpaccess.measures.service import MeasureSession

out = commands.console()
app = typer.Typer(help="Each ICB's support cohort (up to 20% of its practices), with reasons.", no_args_is_help=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="cohort")


def selection_settings(c: commands.Context) -> SelectionSettings:
    from gpaccess.cohort.criteria import CriteriaSettings
    from gpaccess.cohort.exclusions import ExclusionSettings
    from gpaccess.cohort.select import SelectionSettings

    s = c.settings
    return SelectionSettings(
        cap_share=s.cohort_cap_share,
        imd_use=s.cohort_imd_use,
        criteria=CriteriaSettings(
            f2f_method=s.cohort_f2f_method, f2f_level=s.cohort_f2f_level, baseline_threshold=s.cohort_baseline_threshold
        ),
        exclusions=ExclusionSettings(
            min_list_size=s.exclude_list_size_under,
            min_appts_per_1000=s.exclude_rate_under,
            max_appts_per_1000=s.exclude_rate_over,
            max_unknown_mode=s.exclude_unknown_mode_over,
            max_unmapped=s.exclude_unmapped_over,
        ),
    )


def plan_store(c: commands.Context):
    from gpaccess.storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(c.settings.plan_store_url)
    upgrade(engine)
    return make_session_factory(engine)


def run_cohort(
    c: commands.Context,
    icb: str,
    months: list[str] | None,
    cycle: str | None,
    home=None,
    save: bool = True,
    session: MeasureSession | None = None,
) -> tuple[Cohort, str, int | None]:
    """Select, and store the run. Pass the caller's `session` to reuse its measures (one scan for many ICBs)."""
    from gpaccess.cli.measures import session_for
    from gpaccess.cohort.run import build_cohort, default_cycle, ensure_cycle, overrides_from_store, record

    if session is None:
        session = session_for(c, months) if home is None else _session_at(c, home)
    cycle_name = cycle or default_cycle(session.months)
    factory = plan_store(c) if home is None else _plan_store_at(c, home)
    with factory.begin() as db:
        overrides = overrides_from_store(db, icb, cycle_name)
        cohort = build_cohort(session, icb, selection_settings(c), overrides)
        run_id = None
        if save:
            ensure_cycle(db, cycle_name, session.months, c.user)
            run_id = record(db, cohort, cycle_name, session.snapshot, user=c.user)
    return cohort, cycle_name, run_id


def _session_at(c: commands.Context, home):
    from gpaccess.measures.service import MeasureSession

    return MeasureSession(c.warehouse(home).snapshot(), c.measure_settings())


def _plan_store_at(c: commands.Context, home):
    from gpaccess.storage.db import make_engine, make_session_factory, upgrade

    engine = make_engine(f"sqlite:///{home}/plans.sqlite3")
    upgrade(engine)
    return make_session_factory(engine)


@app.callback(invoke_without_command=True)
def cohort(
    ctx: typer.Context,
    icb: Annotated[str | None, typer.Option(help="ICB code, e.g. QSL.")] = None,
    months: Months = None,
    cycle: Annotated[str | None, typer.Option(help="Support cycle (default: the winter after the window).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    save: Annotated[bool, typer.Option(help="Store the run in the plan store (reproducible, audited).")] = True,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the confidential ICB report (HTML, CSV) and the NHS England return here."),
    ] = None,
) -> None:
    """Select an ICB's support cohort and print it with its exclusions and near-misses, each with its reasons."""
    if ctx.invoked_subcommand:
        return
    if not icb:
        raise UserError("give --icb CODE (or a subcommand: override, revoke)")
    c = commands.get(ctx)
    from gpaccess.cli.measures import session_for

    session = session_for(c, months)
    result, cycle_name, run_id = run_cohort(c, icb, months, cycle, save=save, session=session)
    if report is not None:
        write_outputs(c, session, result, cycle_name, run_id, report)
    members = result.members
    if fmt == "csv":
        from gpaccess.publication.exports import neutralise_formulas

        lists = ("criteria_met", "reasons", "met_reasons", "exclusion_reasons")
        flat = members.assign(**{k: members[k].map("; ".join) for k in lists})
        typer.echo(neutralise_formulas(flat).to_csv(index=False), nl=False)
    elif fmt == "json":
        body = {
            "icb_code": icb,
            "cycle": cycle_name,
            "run_id": run_id,
            "window": result.window,
            "cap": result.cap,
            "eligible": result.eligible,
            "notes": result.notes,
            "members": json.loads(members.to_json(orient="records")),
        }
        typer.echo(json.dumps(body, indent=1))
    elif fmt == "table":
        print_cohort(result, cycle_name, run_id)
    else:
        raise UserError(f"--format {fmt!r}: expected table, csv or json")


def write_outputs(
    c: commands.Context, session: MeasureSession, result: Cohort, cycle: str, run_id: int | None, folder: Path
) -> None:
    """The confidential report (names practices: stays in the ICB) and the pseudonymised return (may leave)."""
    from gpaccess.access.pseudonym import load_or_create_key
    from gpaccess.cohort.local_view import local_view
    from gpaccess.publication.icb_report import write_icb_report
    from gpaccess.publication.nhse_return import build_return, write_return

    files = write_icb_report(
        session,
        result,
        folder,
        cycle=cycle,
        run_id=run_id,
        local_view=local_view(session, result.icb_code),
    )
    frame = build_return(
        result.members,
        icb_code=result.icb_code,
        cycle=cycle,
        key=load_or_create_key(c.settings.home, result.icb_code),
        criteria=list(result.settings.criteria.enabled),
    )
    directory = session.directory()
    returned = write_return(
        frame,
        folder / f"nhse_return_{result.icb_code}.csv",
        known_codes=set(directory.practice_code),
        known_names=set(directory.practice_name.dropna()),
    )
    out.print(f"report: {files.html}\ncohort CSV: {files.csv}\nNHS England return (pseudonymised, guarded): {returned}")


def print_cohort(result: Cohort, cycle: str, run_id: int | None) -> None:
    out.print(
        f"[bold]{result.icb_code}[/] · {cycle} · {result.window} · {result.eligible} eligible practices · "
        f"cap {result.cap} ({result.settings.cap_share:.0%}) · {len(result.selected)} selected"
        + (f" · run {run_id}" if run_id else "")
    )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}")
    _section("Selected for support (practice-code order)", result.selected, "met_reasons")
    _section("Near-misses (meet a criterion; left out by the cap)", result.near_misses, "met_reasons")
    _section("Excluded for data quality (not counted as eligible)", result.excluded, "exclusion_reasons")


def _section(title: str, rows: pd.DataFrame, reasons: str) -> None:
    import pandas as pd

    t = Table("practice", "name", "IMD", "criteria met", "why", title=f"{title}: {len(rows)}", title_justify="left")
    for r in rows.itertuples():
        why = list(getattr(r, reasons))
        if r.overridden != "none":
            why = [f"LOCAL OVERRIDE ({r.overridden}): {r.override_reason}", *why]
        imd = "—" if pd.isna(r.imd_score) else f"{r.imd_score:.1f} (decile {int(r.imd_decile)})"
        t.add_row(r.practice_code, str(r.practice_name)[:30], imd, ", ".join(r.criteria_met) or "—", "\n".join(why))
    out.print(t)


@app.command()
def override(
    ctx: typer.Context,
    icb: Annotated[str, typer.Option(help="ICB code.")],
    practice: Annotated[str, typer.Option(help="Practice code.")],
    action: Annotated[str, typer.Option(help="add or remove")],
    reason: Annotated[str, typer.Option(help="Why (required; shown in every output).")],
    cycle: Annotated[str | None, typer.Option(help="Support cycle (default: the current window's).")] = None,
) -> None:
    """Add a practice to, or remove it from, the ICB's cohort: recorded with reason, user and time."""
    from gpaccess.cli.measures import session_for
    from gpaccess.cohort import commands as cohort_commands
    from gpaccess.cohort.run import default_cycle, ensure_cycle
    from gpaccess.cohort.schemas import OverrideAction

    c = commands.get(ctx)
    if action not in ("add", "remove"):
        raise UserError(f"--action {action!r}: expected add or remove")
    session = session_for(c, None)
    members = set(session.icb_practices(icb).practice_code)
    if practice.strip().upper() not in members:
        raise UserError(f"practice {practice!r} is not one of ICB {icb}'s practices in {session.label}")
    cycle_name = cycle or default_cycle(session.months)
    with plan_store(c).begin() as db:
        ensure_cycle(db, cycle_name, session.months, c.user)
        oid = cohort_commands.add_override(
            db,
            icb_code=icb,
            cycle=cycle_name,
            practice_code=practice,
            action=OverrideAction(action),
            reason=reason,
            user=c.user,
        )
    out.print(f"override {oid}: {action} {practice} for {icb}, {cycle_name} — recorded by {c.user}")


@app.command()
def revoke(
    ctx: typer.Context,
    icb: Annotated[str, typer.Option(help="ICB code.")],
    override_id: Annotated[int, typer.Option("--id", help="The override's id (printed when it was made).")],
    reason: Annotated[str | None, typer.Option(help="Why it is withdrawn (recorded in the audit log).")] = None,
) -> None:
    """Withdraw a local override; the cohort goes back to what the criteria say (recorded and audited)."""
    from gpaccess.cohort import commands as cohort_commands

    c = commands.get(ctx)
    with plan_store(c).begin() as db:
        cohort_commands.revoke_override(db, icb_code=icb, override_id=override_id, reason=reason, user=c.user)
    out.print(f"override {override_id} for {icb} revoked by {c.user}")
