"""`gpaccess local upload` and `gpaccess local view`: an ICB's own practice-level indicators beside GPAD."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from gpaccess.cohort.local_view import LocalView


out = commands.console()
local_app = typer.Typer(
    help="Local data: an ICB's own practice-level indicators, checked against its practices and shown beside GPAD.",
    no_args_is_help=True,
)
Icb = Annotated[str, typer.Option("--icb", help="ICB code, e.g. QHM (from Mapping.csv).")]


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")


@local_app.command("upload")
def upload_command(
    ctx: typer.Context,
    icb: Icb,
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX, long or wide form.")],
    sheet: Annotated[str | None, typer.Option(help="XLSX: the sheet to read (default: the first).")] = None,
    period: Annotated[
        str | None, typer.Option(help="The period of a file without a period column, e.g. 2025-10 or 2025/26.")
    ] = None,
) -> None:
    """Upload local indicators for an ICB's practices. Every row is checked first (practice of this ICB,
    numeric value, readable period, no duplicates) and every problem is listed; nothing is stored unless the
    whole file is good. A new upload replaces the same practice, indicator and period; others stay."""
    from gpaccess.services import local as service

    c = commands.get(ctx)
    result = service.upload(c.app, principal=c.principal, icb_code=icb, path=file, sheet=sheet, period=period)
    icb = icb.upper()
    if result.status == "already uploaded":
        out.print(f"already uploaded (a no-op): {result.file} is ICB {icb}'s current local data ({result.release})")
        return
    out.print(
        f"release {result.release}: {result.rows:,} values for {result.practices} practices of ICB {icb} — "
        f"indicators {', '.join(result.indicators)}; periods {', '.join(result.periods)}"
    )


@local_app.command("view")
def view_command(
    ctx: typer.Context,
    icb: Icb,
    fmt: Annotated[str | None, typer.Option("--format", help="table (default), csv, json or xlsx (--out only)")] = None,
    part: Annotated[str, typer.Option(help="With --format csv: practices, correlations or flags.")] = "practices",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to .csv (one part), .xlsx (every part, a sheet each) or .json.")
    ] = None,
) -> None:
    """Every practice of the ICB with its national measures and local indicators side by side (practice-code
    order), Spearman correlations between indicators, and where local data tells a different story."""
    from gpaccess.publication.exports import neutralise_formulas
    from gpaccess.publication.tables import table_format, write_table, write_xlsx
    from gpaccess.services import local as service

    kind = "table" if fmt in (None, "table") and out_file is None else table_format(fmt, out_file)
    c = commands.get(ctx)
    view = service.view(c.app, principal=c.principal, icb_code=icb)
    frames = {"practices": view.table, "correlations": view.correlations, "flags": view.flags}
    if part not in frames:
        raise UserError(f"--part {part!r}: expected practices, correlations or flags")
    if out_file is not None:
        if kind == "xlsx":
            written = write_xlsx(frames, out_file)
        else:
            written = write_table(frames[part], out_file, fmt=kind, document=view_json(view))
        commands.console(stderr=True).print(f"written: {written}")
    elif kind == "csv":
        typer.echo(neutralise_formulas(frames[part]).to_csv(index=False), nl=False)
    elif kind == "json":
        typer.echo(json.dumps(view_json(view), indent=1))
    else:
        print_view(view)


def view_json(view: LocalView) -> dict[str, object]:

    def records(df: pd.DataFrame) -> object:
        return json.loads(df.to_json(orient="records"))

    return {
        "icb_code": view.icb_code,
        "window": view.window,
        "national": view.national,
        "local": view.local,
        "local_periods": view.local_periods,
        "practices": records(view.table),
        "correlations": records(view.correlations),
        "flags": records(view.flags),
    }


def _fmt(v: object) -> str:
    import pandas as pd

    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "—"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def print_view(view: LocalView) -> None:
    periods = ", ".join(f"{k} {v}" for k, v in view.local_periods.items()) or "no local data uploaded"
    out.print(f"[bold]ICB {view.icb_code}[/] · national: {view.window} · local: {periods} · practice-code order")
    t = Table("practice", "name", *view.national, *view.local)
    for row in view.table.to_dict("records"):
        t.add_row(
            str(row["practice_code"]),
            str(row["practice_name"])[:28],
            *[_fmt(row[c]) for c in [*view.national, *view.local]],
        )
    out.print(t)
    corr = Table("indicator", "indicator", "n", "Spearman ρ", "p", title="Correlations across the ICB's practices")
    for c in view.correlations.to_dict("records"):
        corr.add_row(str(c["first"]), str(c["second"]), str(c["n"]), _fmt(c["rho"]), _fmt(c["p_value"]))
    out.print(corr)
    if view.flags.empty:
        out.print("No practice where local data and GPAD sit in opposite quarters of the ICB.")
    for f in view.flags.to_dict("records"):
        out.print(f"{f['practice_code']} {f['practice_name']}: {f['message']}")
