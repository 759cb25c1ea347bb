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

    from gpaccess.cohort.select import Cohort

out = commands.console()
app = typer.Typer(help="Each ICB's support cohort (up to 20% of its practices), with reasons.", no_args_is_help=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="cohort")


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
    from gpaccess.services import cohort as service

    c = commands.get(ctx)
    run = service.run_cohort(c.app, principal=c.principal, icb_code=icb, months=months, cycle=cycle, save=save)
    result, cycle_name, run_id = run.cohort, run.cycle, run.run_id
    if report is not None:
        files = service.write_outputs(c.app, principal=c.principal, result=run, folder=report)
        say = commands.console(stderr=fmt != "table")
        say.print(
            f"report: {files.report_html}\ncohort CSV: {files.cohort_csv}\n"
            f"NHS England return (pseudonymised, guarded): {files.nhse_return}"
        )
    members = result.members
    if fmt == "csv":
        from gpaccess.publication.exports import neutralise_formulas

        lists = ("criteria_met", "reasons", "met_reasons", "exclusion_reasons")
        flat = members.assign(**{k: members[k].map("; ".join) for k in lists})
        typer.echo(neutralise_formulas(flat).to_csv(index=False), nl=False)
    elif fmt == "json":
        body = {
            "icb_code": result.icb_code,
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
        _print_support_before(c, result, cycle_name)
    else:
        raise UserError(f"--format {fmt!r}: expected table, csv or json")


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


def _print_support_before(c: commands.Context, result: Cohort, cycle: str) -> None:
    """Which of the selected practices were supported in earlier cycles, and with what (plans' history)."""
    from gpaccess.services.plans import support_history

    history = support_history(c.app, principal=c.principal, icb_code=result.icb_code, before=cycle).by_practice
    before = [(code, history[code]) for code in result.selected.practice_code if code in history]
    if before:
        out.print(f"Supported in earlier cycles ({len(before)} of the selected practices):")
        for code, actions in before:
            out.print(f"  {code}: " + "; ".join(actions))


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
    from gpaccess.services import cohort as service

    c = commands.get(ctx)
    oid, cycle_name = service.add_override(
        c.app, principal=c.principal, icb_code=icb, practice_code=practice, action=action, reason=reason, cycle=cycle
    )
    out.print(f"override {oid}: {action} {practice.upper()} for {icb.upper()}, {cycle_name} — recorded by {c.user}")


@app.command()
def revoke(
    ctx: typer.Context,
    icb: Annotated[str, typer.Option(help="ICB code.")],
    override_id: Annotated[int, typer.Option("--id", help="The override's id (printed when it was made).")],
    reason: Annotated[str | None, typer.Option(help="Why it is withdrawn (recorded in the audit log).")] = None,
) -> None:
    """Withdraw a local override; the cohort goes back to what the criteria say (recorded and audited)."""
    from gpaccess.services import cohort as service

    c = commands.get(ctx)
    service.revoke_override(c.app, principal=c.principal, icb_code=icb, override_id=override_id, reason=reason)
    out.print(f"override {override_id} for {icb.upper()} revoked by {c.user}")


@app.command()
def reproduce(
    ctx: typer.Context,
    run_id: Annotated[
        int, typer.Argument(help="The run's id (printed when it was stored; runs are numbered globally).")
    ],
) -> None:
    """Recompute a stored run from the store as it was for that run and compare every member, reason and
    figure: exit 0 when identical, 1 with the differences otherwise."""
    from gpaccess.services import cohort as service

    c = commands.get(ctx)
    result = service.reproduce_run(c.app, principal=c.principal, run_id=run_id)
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}")
    if result.identical:
        out.print(f"run {run_id} reproduces exactly: every member, reason and figure is identical")
        return
    out.print(f"run {run_id} does not reproduce: {len(result.differences)} difference(s)")
    for line in result.differences[:200]:
        out.print(f"  {line}", highlight=False)
    if len(result.differences) > 200:
        out.print(f"  ... and {len(result.differences) - 200} more")
    raise typer.Exit(1)
