"""`gpaccess synth`: write deterministic synthetic national data in the real published formats."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gpaccess.errors import UserError

if TYPE_CHECKING:
    pass

out = Console()


def register(app: typer.Typer) -> None:
    app.command()(synth)


def synth(
    out_dir: Annotated[
        Path, typer.Argument(help="Folder to write gpad/, registered_patients/, context/ and truth.csv into.")
    ],
    first: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")] = "2019-01",
    last: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")] = "2025-12",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and options give the same bytes.")] = 2021,
    icbs: Annotated[
        str | None,
        typer.Option(help="Only some ICBs: a number N (the first N of a fixed order) or comma-separated codes."),
    ] = None,
    regional: Annotated[bool, typer.Option(help="Split each month into regional CSVs inside the zip.")] = False,
    zipped: Annotated[bool, typer.Option("--zip/--no-zip", help="Package as the publisher's zip.")] = True,
    republish: Annotated[
        list[str] | None, typer.Option(help="Also write this month as republished (repeatable).")
    ] = None,
    registrations: Annotated[
        bool, typer.Option(help="Also write gp-reg-pat-prac-all list sizes for each month.")
    ] = True,
    companions: Annotated[
        bool,
        typer.Option(
            help="Also write context files for the same practices under context/ (IMD, epraccur, coverage, "
            "workforce, telephony, online consultations)."
        ),
    ] = True,
) -> None:
    """Generate synthetic GPAD practice-level months (2019 onwards, in today's layout) with list sizes and
    truth.csv, the generator's true practice parameters."""
    from gpaccess.synth import generate, month_range

    try:
        months = month_range(first, last)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    choice: int | list[str] | None = None
    if icbs:
        choice = int(icbs) if icbs.strip().isdigit() else [c.strip().upper() for c in icbs.split(",") if c.strip()]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("synthetic months", total=len(months))

        def step(month: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"synthetic months (last {month})")

        result = generate(
            out_dir,
            months,
            seed=seed,
            icbs=choice,
            regional=regional,
            zipped=zipped,
            republish=republish or [],
            registrations=registrations,
            companions=companions,
            progress=step,
        )
    rows = sum(m.rows for m in result.months.values())
    out.print(
        f"Wrote {len(result.months)} month(s) for {len(result.icbs)} ICB(s), {rows:,} crosstab rows, "
        f"under {result.out_dir} (truth: {result.truth})"
        + (
            f"; {len(result.companions)} context file(s) under {result.out_dir / 'context'}"
            if result.companions
            else ""
        )
    )
