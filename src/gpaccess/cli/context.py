"""`gpaccess fingertips-download`: fetch a Fingertips indicator for GP practices, optionally ingest it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gpaccess.cli import commands
from gpaccess.ingest.context.fingertips_api import GP_PRACTICES, download_indicator
from gpaccess.ingest.load import ingest_files


def fingertips_download(
    ctx: typer.Context,
    indicator: Annotated[int, typer.Option(help="Fingertips indicator id (93553: IMD score by practice).")] = 93553,
    area_type: Annotated[int, typer.Option(help="Fingertips area type id (7: GP practices).")] = GP_PRACTICES,
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder to save in (default: <GPACCESS_HOME>/downloads).")
    ] = None,
    ingest: Annotated[bool, typer.Option("--ingest", help="Ingest the CSV once downloaded.")] = False,
) -> None:
    """Download a Fingertips indicator's CSV (from <fingertips_base_url>/all_data/csv/by_indicator_id)."""
    c = commands.get(ctx)
    s = c.settings
    dest = (to or s.home / "downloads").expanduser().resolve()
    path = download_indicator(
        s.fingertips_base_url,
        indicator,
        dest,
        area_type=area_type,
        timeout=s.download_timeout,
        retries=s.download_retries,
    )
    typer.echo(str(path))
    if ingest:
        err = Console(stderr=True)
        result = ingest_files(c.warehouse(), [path], user=c.user)
        if result.release is None:
            err.print(f"{path.name} was already ingested; the store is unchanged.", highlight=False)
        else:
            err.print(f"Ingested {path.name}: release {result.release}, {result.rows:,} rows.", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="fingertips-download")(fingertips_download)
