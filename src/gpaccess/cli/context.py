"""`gpaccess fingertips-download`: fetch a Fingertips indicator for GP practices, optionally ingest it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gpaccess.cli import commands


def fingertips_download(
    ctx: typer.Context,
    indicator: Annotated[int, typer.Option(help="Fingertips indicator id (93553: IMD score by practice).")] = 93553,
    area_type: Annotated[
        int, typer.Option(help="Fingertips area type id (7: GP practices).")
    ] = 7,  # fingertips_api.GP_PRACTICES
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder to save in (default: <GPACCESS_HOME>/downloads).")
    ] = None,
    ingest: Annotated[bool, typer.Option("--ingest", help="Ingest the CSV once downloaded.")] = False,
) -> None:
    """Download a Fingertips indicator's CSV (from <fingertips_base_url>/all_data/csv/by_indicator_id)."""
    from gpaccess.cli.download import ingest_downloaded
    from gpaccess.services import download as service

    c = commands.get(ctx)
    path = service.fingertips_indicator(c.app, principal=c.principal, indicator=indicator, area_type=area_type, to=to)
    typer.echo(str(path))
    if ingest:
        err = Console(stderr=True)
        ingest_downloaded(c, path, err)


def register(app: typer.Typer) -> None:
    app.command(name="fingertips-download")(fingertips_download)
    app.command(name="baseline")(baseline)


def baseline(
    ctx: typer.Context,
    icb: Annotated[str, typer.Option(help="ICB code; its CCGs / sub-ICB locations are shown.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Each system's face-to-face share and appointments against the same month of the baseline year (2019 by
    default; system-level GPAD), with coverage beside it where the coverage table is loaded. Context, not a
    target."""
    from gpaccess.services.context import system_baseline

    c = commands.get(ctx)
    rows = system_baseline(c.app, principal=c.principal, icb_code=icb)
    year = c.settings.baseline_year
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    out = commands.console()
    table = Table(
        "system",
        "month",
        "appointments",
        "F2F share",
        f"{year} F2F share",
        "GP F2F",
        f"{year} GP F2F",
        "per 1,000",
        "coverage",
        title=f"{icb.upper()}: system-level figures against the same month of {year}",
    )
    pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
    for r in rows:
        b = r["baseline"] or {}
        cov = r["coverage"]
        cov_text = "—" if not cov else f"{cov.get('coverage', 0):.0%}" + (" (low)" if cov.get("warning") else "")
        table.add_row(
            r["system_code"],
            r["month"],
            f"{r['appointments']:,}",
            pct(r["f2f_share"]),
            pct(b.get("f2f_share")),
            pct(r["gp_f2f_share"]),
            pct(b.get("gp_f2f_share")),
            "—" if r["per_1000_patients"] is None else f"{r['per_1000_patients']:.0f}",
            cov_text,
        )
    out.print(table)
