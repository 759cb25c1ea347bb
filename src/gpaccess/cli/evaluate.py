"""`gpaccess evaluate`: what worked, an ICB's support against matched comparison practices; `gpaccess evaluate
pool`: the national version from ICBs' aggregate returns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

out = commands.console()
app = typer.Typer(help="What worked: supported practices against matched comparison practices.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="evaluate")


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:+.1f}"


@app.callback(invoke_without_command=True)
def evaluate(
    ctx: typer.Context,
    icb: Annotated[str | None, typer.Option(help="ICB code, e.g. QSL.")] = None,
    support: Annotated[
        Path | None,
        typer.Option(help="Support recorded outside gpaccess: a CSV with practice_code, action, start_month."),
    ] = None,
    outcome: Annotated[
        str, typer.Option(help="The measure to evaluate: appts_per_1000 (default) or a share such as f2f_gp.")
    ] = "appts_per_1000",
    report: Annotated[
        Path | None,
        typer.Option(help="Write the ICB's what_worked.html and .csv and its aggregate return here."),
    ] = None,
) -> None:
    """Estimate, for any support and each action type, the change for patients where practices were supported,
    against similar practices that were not (staggered starts handled; 95% intervals)."""
    if ctx.invoked_subcommand:
        return
    if not icb:
        raise UserError("give --icb CODE (or the subcommand: pool RETURN.csv ...)")
    from gpaccess.services import evaluation as service

    c = commands.get(ctx)
    run = service.evaluate(
        c.app, principal=c.principal, icb_code=icb, support_file=support, outcome=outcome, folder=report
    )
    ev = run.evaluation
    table = Table(
        title=f"What worked in {ev.icb_code}: {ev.outcome.title} ({ev.outcome.unit}), {ev.months[0]} to {ev.months[-1]}"
    )
    for col in (
        "support",
        "practices",
        "in estimate",
        "comparators",
        "effect (95% interval)",
        "own change",
        "comparison change",
    ):
        table.add_column(col)
    for e in ev.estimates:
        shown = e.status == "estimated"
        table.add_row(
            e.action,
            str(e.practices),
            str(e.matched),
            str(e.comparators),
            f"{_num(e.effect)} ({_num(e.lower)} to {_num(e.upper)})" if shown else f"{e.status}: {e.note}",
            _num(e.supported_change) if shown else "—",
            _num(e.comparison_change) if shown else "—",
        )
    out.print(table)
    for line in ev.limitations:
        out.print(f"· {line}")
    if run.report_html is not None:
        out.print(
            f"report: {run.report_html}\nCSV: {run.report_csv}\naggregate return (guarded): {run.aggregate_return}"
        )


@app.command()
def pool(
    ctx: typer.Context,
    returns: Annotated[list[Path], typer.Argument(help="ICBs' evaluation_return_<ICB>.csv files.")],
    report: Annotated[Path | None, typer.Option(help="Write national_what_worked.html and .csv here.")] = None,
) -> None:
    """The national what worked: ICBs' aggregate returns pooled by inverse variance; no practice named."""
    from gpaccess.services import evaluation as service

    c = commands.get(ctx)
    run = service.pool_national(c.app, principal=c.principal, returns=returns, folder=report)
    table = Table(title=f"What worked, pooled from {len(run.icbs)} ICB return(s)")
    for col in ("support", "outcome", "ICBs", "practices", "effect (95% interval)", "I²"):
        table.add_column(col)
    for r in run.pooled.to_dict(orient="records"):
        shown = r["status"] == "estimated"
        table.add_row(
            str(r["action"]),
            f"{r['outcome']} ({r['unit']})",
            str(r["icbs"]),
            str(r["practices"]),
            f"{_num(r['effect'])} ({_num(r['lower'])} to {_num(r['upper'])})" if shown else str(r["status"]),
            f"{r['i_squared']:.0%}" if shown else "—",
        )
    out.print(table)
    if run.report_html is not None:
        out.print(f"report: {run.report_html}\nCSV (guarded): {run.report_csv}")
