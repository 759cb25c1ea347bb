"""`gpaccess demo`: the main job on the bundled synthetic national data, in a store of its own
(`$GPACCESS_HOME/demo`, never a real store). The pipeline is `services.main_job`; this prints it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from gpaccess.cli import commands

out = commands.console()


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    ctx: typer.Context,
    icbs: Annotated[int, typer.Option(help="How many synthetic ICBs (the national structure has 42).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2021,
    fresh: Annotated[bool, typer.Option(help="Delete the demo store first.")] = False,
) -> None:
    """Run the main job on synthetic data: generate, ingest, measure, compare; print where the outputs are."""
    from gpaccess.cli.store import print_result
    from gpaccess.services.main_job import DEMO_EFFECT, LATER_MONTHS, run_main_job

    c = commands.get(ctx)
    home = c.settings.home / "demo"
    app = c.app_at(home)
    with Progress(console=commands.console(stderr=True), transient=True) as bar:
        task = bar.add_task("synthetic national data", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=what)

        result = run_main_job(
            app, principal=c.principal, icbs=icbs, seed=seed, fresh=fresh, say=bar.console.print, progress=progress
        )
    for ingested in result.ingests:
        print_result(ingested)
    if result.summary is not None:
        _print_summary(result.summary)
    for r in result.icbs:
        out.print(
            f"{r.icb_code}: {r.selected} selected of {r.eligible} eligible (cap {r.cap}), {r.excluded} excluded, "
            f"{r.capped_out} near-misses → {r.report.name}, return {r.nhse_return.name}; {r.plans} plans"
        )
    outputs = result.outputs
    out.print(f"\nDone in {result.seconds:.0f} s. Outputs are in [bold]{outputs}[/]:")
    out.print(f"  {outputs / 'icb_summary.csv'}  per-ICB summary")
    out.print(f"  {outputs}/<ICB>/cohort_report.html  confidential ICB report: cohort, reasons, exclusions, charts")
    out.print(f"  {outputs}/<ICB>/cohort.csv, measures.csv  every practice's row (practice-code order)")
    out.print(f"  {outputs}/<ICB>/funnel_f2f_gp.html|png|csv  fair comparison of GP face-to-face share")
    out.print(f"  {outputs}/nhse_returns/<ICB>.csv  pseudonymised return for NHS England (passed the guard)")
    out.print(
        f"  {outputs}/<ICB>/support_packs/<practice>_support_pack.html|pdf  each cohort practice's support pack "
        f"(plans drawn up from the suggestions; {result.pack_seconds:.0f} s)"
    )
    out.print(
        f"  {outputs}/<ICB>/what_worked/what_worked.html|csv, evaluation_return_<ICB>.csv  what worked: planned "
        f"practices against matched comparison practices, on {len(LATER_MONTHS)} later months simulated with "
        f"+{DEMO_EFFECT:.0%} appointments from each plan's start"
    )
    for r in result.icbs:
        if r.what_worked is not None:
            out.print(f"    {r.what_worked}")
    if result.national_what_worked is not None:
        out.print(f"  {result.national_what_worked}  national what worked, pooled from the ICBs' returns")
    out.print(f"  (later months and evaluation: {result.later_cpu_seconds:.0f} CPU s)")
    out.print(f"  store: {home / 'store'}  (see it with: GPACCESS_HOME={home} gpaccess status)")


def _print_summary(summary) -> None:
    t = Table(
        "ICB",
        "name",
        "window",
        "practices",
        "appointments",
        "GP face-to-face",
        "all-staff face-to-face",
        title="Per-ICB summary (face-to-face is context: no target, no ranking)",
    )
    for r in summary.itertuples():
        t.add_row(
            str(r.icb_code),
            str(r.icb_name),
            r.window,
            f"{r.practices:,}",
            f"{r.appointments:,.0f}",
            f"{r.f2f_gp:.1%}",
            f"{r.f2f_all:.1%}",
        )
    out.print(t)
