"""`gpaccess cohort`: one ICB's support cohort with reasons, exclusions, near-misses and audited overrides."""

from __future__ import annotations

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
    fmt: Annotated[
        str | None, typer.Option("--format", help="table (default), csv, json or xlsx (xlsx only with --out).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the members to this file (.csv, .xlsx or .json).")
    ] = None,
    save: Annotated[bool, typer.Option(help="Store the run in the plan store (reproducible, audited).")] = True,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the confidential ICB report (HTML, CSV, XLSX) and the NHS England return here."),
    ] = None,
) -> None:
    """Select an ICB's support cohort and print it with its exclusions and near-misses, each with its reasons,
    and what the run stood on (criteria assessed or not, window, reference population, releases). With
    --format csv or json, standard output holds only that document; notes and paths go to standard error."""
    if ctx.invoked_subcommand:
        return
    if not icb:
        raise UserError("give --icb CODE (or a subcommand: override, revoke, reproduce, runs)")
    from gpaccess.publication.tables import table_format
    from gpaccess.services import cohort as service

    kind = "table" if fmt in (None, "table") and out_file is None else table_format(fmt, out_file)
    c = commands.get(ctx)
    run = service.run_cohort(c.app, principal=c.principal, icb_code=icb, months=months, cycle=cycle, save=save)
    result, cycle_name, run_id = run.cohort, run.cycle, run.run_id
    say = commands.console(stderr=kind != "table")  # documents and files: paths and notes on standard error
    if report is not None:
        files = service.write_outputs(c.app, principal=c.principal, result=run, folder=report)
        say.print(
            f"report: {files.report_html}\ncohort: {files.cohort_csv}, {files.cohort_xlsx}\n"
            f"NHS England return (pseudonymous, not anonymous; guarded): {files.nhse_return} "
            f"(notes: {files.nhse_notes})"
        )
    if kind == "table":
        print_cohort(result, cycle_name, run_id, run.basis.lines())
        _print_support_before(c, result, cycle_name)
        return
    document = service.cohort_document(run)
    if out_file is not None:
        written = service.write_cohort_table(run, out_file, fmt=kind)
        say.print(f"cohort members: {written}")
        for line in run.basis.lines():
            say.print(f"[yellow]note:[/] {line}", highlight=False)
        return
    for line in [*result.notes, *run.basis.lines()]:
        say.print(f"note: {line}", highlight=False)
    if kind == "csv":
        from gpaccess.publication.tables import render_csv

        typer.echo(render_csv(document["members"]), nl=False)
    else:
        from gpaccess.publication.tables import render_json

        typer.echo(render_json(document))


def print_cohort(result: Cohort, cycle: str, run_id: int | None, stood_on: list[str] = ()) -> None:  # type: ignore[assignment]
    out.print(
        f"[bold]{result.icb_code}[/] · {cycle} · {result.window} · {result.eligible} eligible practices · "
        f"cap {result.cap} ({result.settings.cap_share:.0%}) · {len(result.selected)} selected"
        + (f" · run {run_id}" if run_id else "")
    )
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}")
    if stood_on:
        out.print("[bold]What this run stood on[/]")
        for line in stood_on:
            out.print(f"  {line}", highlight=False)
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

    t = Table(
        "practice",
        "name",
        "IMD (decile 1 = most deprived)",
        "criteria met",
        "why",
        title=f"{title}: {len(rows)}",
        title_justify="left",
    )
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


runs_app = typer.Typer(help="Stored cohort runs: list them, show one, compare two.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
RunFormat = Annotated[str | None, typer.Option("--format", help="table (default), csv, json or xlsx (--out only)")]
RunOut = Annotated[Path | None, typer.Option("--out", help="Write the table to .csv, .xlsx or .json.")]


def _emit_table(
    table: pd.DataFrame, document: dict[str, object] | None, fmt: str | None, out_file: Path | None
) -> bool:
    """Write `table` (or, for JSON, `document`) to standard output or `--out`; False when the screen is asked."""
    from gpaccess.publication.tables import render_csv, render_json, table_format, write_table

    if fmt in (None, "table") and out_file is None:
        return False
    kind = table_format(fmt, out_file)
    if out_file is not None:
        commands.console(stderr=True).print(f"written: {write_table(table, out_file, fmt=kind, document=document)}")
    elif kind == "csv":
        typer.echo(render_csv(table), nl=False)
    else:
        typer.echo(render_json(document if document is not None else table))
    return True


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    icb: Annotated[str | None, typer.Option(help="Only this ICB's runs.")] = None,
    fmt: RunFormat = None,
    out_file: RunOut = None,
) -> None:
    """Every stored run you may see, newest first: ICB, cycle, when and by whom, months, counts, method."""
    from gpaccess.services import cohort_runs as service

    c = commands.get(ctx)
    table = service.list_runs(c.app, principal=c.principal, icb_code=icb)
    if _emit_table(table, None, fmt, out_file):
        return
    t = Table(
        *[
            "run",
            "ICB",
            "cycle",
            "stored",
            "by",
            "months",
            "eligible",
            "cap",
            "selected",
            "excluded",
            "capped out",
            "method",
        ],
        title=f"Stored cohort runs: {len(table)}",
        title_justify="left",
    )
    for r in table.itertuples():
        t.add_row(
            str(r.run_id),
            r.icb_code,
            r.cycle,
            r.created_at,
            r.created_by,
            r.months,
            str(r.eligible),
            str(r.cap),
            str(r.selected),
            str(r.excluded),
            str(r.capped_out),
            str(r.method_version or "—"),
        )
    out.print(t)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's id (see `gpaccess cohort runs list`).")],
    fmt: RunFormat = None,
    out_file: RunOut = None,
) -> None:
    """One stored run: what it stood on, and every practice with its outcome and reasons (practice-code order)."""
    from gpaccess.services import cohort_runs as service

    c = commands.get(ctx)
    view = service.show_run(c.app, principal=c.principal, run_id=run_id)
    document = {
        **view.summary,
        "criteria": view.criteria,
        "parameters": view.parameters,
        "data_versions": view.data_versions,
        "members": view.members,
    }
    if _emit_table(view.members, document, fmt, out_file):
        return
    s = view.summary
    out.print(
        f"[bold]run {s['run_id']}[/] · {s['icb_code']} · {s['cycle']} · stored {s['created_at']} by {s['created_by']}"
        f" · months {s['months']} · {s['eligible']} eligible · cap {s['cap']} · {s['selected']} selected"
        f" · method {s['method_version'] or '—'} · gpaccess {s['gpaccess_version'] or '—'}"
    )
    out.print(f"criteria: {', '.join(view.criteria)}")
    releases = view.data_versions.get("gpad_appointments") or {}
    if isinstance(releases, dict) and releases:
        out.print("GPAD releases: " + ", ".join(f"{k}: {v}" for k, v in sorted(releases.items())), highlight=False)
    t = Table(
        "practice", "outcome", "criteria met", "why", title="Practices (practice-code order)", title_justify="left"
    )
    for r in view.members.itertuples():
        outcome = (
            "selected" if r.selected else "excluded" if r.excluded else "capped out" if r.capped_out else "not selected"
        )
        if r.overridden != "none":
            outcome += f" (override: {r.overridden})"
        why = r.exclusion_reasons if r.excluded else r.reasons
        t.add_row(r.practice_code, outcome, r.criteria_met or "—", why)
    out.print(t)


@runs_app.command("diff")
def runs_diff(
    ctx: typer.Context,
    first: Annotated[int, typer.Argument(help="The earlier run's id.")],
    second: Annotated[int, typer.Argument(help="The later run's id (same ICB).")],
    fmt: RunFormat = None,
    out_file: RunOut = None,
) -> None:
    """What changed between two runs of one ICB: months, releases, settings and method, then each practice whose
    selection, criteria met, exclusion, capped-out state or override differs. Exit 0 either way."""
    from gpaccess.services import cohort_runs as service

    c = commands.get(ctx)
    diff = service.diff_runs(c.app, principal=c.principal, first=first, second=second)
    document = {"first": diff.first, "second": diff.second, "stood_on": diff.stood_on, "practices": diff.practices}
    if _emit_table(diff.practices, document, fmt, out_file):
        return
    out.print(f"[bold]run {first} → run {second}[/] ({diff.first['icb_code']})")
    if diff.identical:
        out.print("no differences: same months, releases, settings and outcome for every practice")
        return
    for line in diff.stood_on or ["what the runs stood on: the same"]:
        out.print(f"  {line}", highlight=False)
    t = Table(
        "practice",
        "what changed",
        f"run {first}",
        f"run {second}",
        title=f"Practices that changed: {diff.practices.practice_code.nunique()}",
        title_justify="left",
    )
    for r in diff.practices.itertuples():
        t.add_row(r.practice_code, r.change, r.first, r.second)
    out.print(t)
