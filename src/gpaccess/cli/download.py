"""`gpaccess download MONTH`: fetch a month's practice-level zip from the publisher, optionally ingest it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gpaccess.cli import commands

if TYPE_CHECKING:
    from gpaccess.ingest.download import Month


def _parse_month(value: str) -> Month:
    """The MONTH argument, parsed when the command runs (so other commands never load the HTTP client)."""
    from gpaccess.ingest.download import Month

    try:
        return Month.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'MONTH'") from exc


def download(
    ctx: typer.Context,
    month_text: Annotated[
        str,
        typer.Argument(
            metavar="MONTH",
            help="The month of data to fetch, as YYYY-MM (e.g. 2025-10 for October 2025's figures).",
            show_default=False,
        ),
    ],
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="Folder to save the zip in (default: <GPACCESS_HOME>/downloads).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    ingest: Annotated[
        bool, typer.Option("--ingest", help="Ingest the zip into the store once it is downloaded.")
    ] = False,
) -> None:
    """Download a month's practice-level GPAD zip from the publisher's publication page.

    Finds the link to Practice_Level_Crosstab_<Mon>_<YY>.zip on the month's page, downloads it and prints its path.

    If the publisher refuses scripted downloads, download the zip in a browser and run `gpaccess ingest <file>`.
    """
    from gpaccess.services import download as service

    month = _parse_month(month_text)
    c = commands.get(ctx)
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task: TaskID | None = None

        def on_progress(done: int, total: int | None) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task(month.zip_name, total=total)
            bar.update(task, completed=done, total=total)

        def on_event(message: str) -> None:
            bar.console.print(message, style="dim", highlight=False, soft_wrap=True)

        path = service.gpad_month(
            c.app, principal=c.principal, month=month, to=to, progress=on_progress, on_event=on_event
        )
    typer.echo(str(path))
    if ingest:
        ingest_downloaded(c, path, err)


def ingest_downloaded(c: commands.Context, path: Path, err: Console) -> None:
    """Ingest a file just downloaded and say what happened (one release, or already ingested)."""
    from gpaccess.services import ingest as service

    err.print(f"Ingesting {path.name}", highlight=False)
    result = service.ingest(c.app, principal=c.principal, paths=[path])
    if result.release is None:
        err.print(f"{path.name} was already ingested; the store is unchanged.", highlight=False)
    else:
        err.print(f"Ingested {path.name}: release {result.release}, {result.rows:,} rows.", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="download")(download)
