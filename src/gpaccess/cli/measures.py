"""`gpaccess measures`, `gpaccess funnel`, `gpaccess spc`: access measures and fair comparison for an ICB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from gpaccess.measures.service import MeasureSession
    from gpaccess.publication.figures import Figure

out = commands.console()

Months = Annotated[
    list[str] | None, typer.Option("--months", help="Months as YYYY-MM (repeat, comma-separate or a range A:B).")
]
SHOWN = [
    "f2f_gp",
    "f2f_all",
    "telephone_share",
    "unknown_mode_share",
    "appts_per_1000",
    "appts_vs_baseline",
    "dna_rate",
]


def register(app: typer.Typer) -> None:
    app.command()(measures)
    app.command()(funnel)
    app.command()(spc)
    app.command()(icbs)


def measures(
    ctx: typer.Context,
    icb: Annotated[str | None, typer.Option(help="ICB code, e.g. QSL (from Mapping.csv; see `gpaccess icbs`).")] = None,
    practice: Annotated[str | None, typer.Option(help="One practice's profile: measures beside its context.")] = None,
    months: Months = None,
    by: Annotated[
        str | None, typer.Option("--by", help="month: one row per practice, measure and month (for trends).")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="table (default), csv, json or xlsx (--out only)")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the table to a .csv, .xlsx or .json file.")
    ] = None,
) -> None:
    """Every access measure for an ICB's practices over a window (default: the latest 3 months), in practice-code
    order, or one practice's profile. Face-to-face share has no target and no good direction: it is context,
    never a score. With --format csv or json, standard output holds only that document."""
    from gpaccess.publication.tables import table_format
    from gpaccess.services import measures as service

    c = commands.get(ctx)
    if bool(icb) == bool(practice):
        raise UserError("give exactly one of --icb CODE or --practice CODE")
    if by not in (None, "month"):
        raise UserError(f"--by {by!r}: expected month")
    if by and not icb:
        raise UserError("--by month needs --icb CODE")
    kind = "table" if fmt in (None, "table") and out_file is None else table_format(fmt, out_file)
    if by == "month":
        long, s = service.icb_monthly(c.app, principal=c.principal, icb_code=icb or "", months=months)
        if kind == "table":
            kind = "csv"  # a long table is for a spreadsheet or a script, not the screen
        body: dict[str, object] = {"window": s.label, "by": "month", "rows": long}
        _emit(long, body, kind, out_file, sheet="by month")
        return
    if icb:
        result = service.icb_measures(c.app, principal=c.principal, icb_code=icb, months=months)
        table, s = result.table, result.session
        window, definition, meta = result.window, result.definition, result.measures
        profile = None
    else:
        one = service.practice_measures(c.app, principal=c.principal, practice_code=practice or "", months=months)
        table, s = one.row.to_frame().T, one.session
        window, definition, meta = one.window, one.definition, one.measures
        profile = service.practice_profile(one)
    if kind == "table":
        if profile is not None:
            _print_profile(profile)
        else:
            _print_table(table, s, definition)
        return
    body = {
        "window": window,
        "face_to_face_definition": definition,
        "measures": {n: {k: v for k, v in m.items() if k != "kind"} for n, m in meta.items()},
        "practices": table,
    }
    if profile is not None:
        body["profile"] = [section.as_dict() for section in profile]
    _emit(table, body, kind, out_file, sheet="measures")


def _emit(table: pd.DataFrame, body: dict[str, object] | None, kind: str, out_file: Path | None, *, sheet: str) -> None:
    """A table to standard output (CSV, JSON: nothing else on it) or to a file (path said on standard error)."""
    from gpaccess.publication.tables import render_csv, render_json, write_table

    if out_file is not None:
        path = write_table(table, out_file, fmt=kind, sheet=sheet, document=body)
        commands.console(stderr=True).print(f"written: {path}")
    elif kind == "csv":
        typer.echo(render_csv(table), nl=False)
    else:
        typer.echo(render_json(table if body is None else body))


def _print_profile(sections) -> None:
    for i, section in enumerate(sections):
        t = Table(show_header=False, box=None, pad_edge=False)
        t.add_column(style="bold", min_width=34)
        t.add_column()
        for label, value in section.items:
            t.add_row(label, value)
        out.print(f"{'' if i == 0 else chr(10)}[bold underline]{section.title}[/]  [dim]{section.source}[/]")
        out.print(t)


def _print_table(table: pd.DataFrame, s: MeasureSession, definition: str) -> None:
    import pandas as pd

    from gpaccess.cli.text_table import box_table

    out.print(f"[bold]{s.label}[/] · face-to-face = {definition} · no target, no ranking; practice-code order")
    kinds = {n: s.measure(n).kind for n in SHOWN}
    rows = []
    for row in table.itertuples():
        cells = []
        for n in SHOWN:
            v = getattr(row, n)
            kind = kinds[n]
            cells.append(
                "—"
                if pd.isna(v)
                else (f"{v:.0f}" if kind == "rate_per_1000" else f"{v:.2f}" if kind == "baseline_ratio" else f"{v:.1%}")
            )
        size = "—" if pd.isna(row.patients) else f"{row.patients:,.0f}"
        rows.append([row.practice_code, str(row.practice_name)[:28].rstrip(), size, *cells])
    typer.echo(box_table(["practice", "name", "list size", *[s.measure(n).name for n in SHOWN]], rows), nl=False)


def funnel(
    ctx: typer.Context,
    icb: Annotated[str, typer.Option(help="ICB code whose practices are drawn.")],
    measure: Annotated[str, typer.Option(help="A share measure, e.g. f2f_gp, f2f_all, dna_rate.")] = "f2f_gp",
    out_file: Annotated[Path, typer.Option("--out", help="Chart file: .html (interactive), .png or .svg.")] = Path(
        "funnel.html"
    ),
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Also write the data behind the chart (.csv, .xlsx or .json): z, limits, shrunk share."
        ),
    ] = None,
    months: Months = None,
) -> None:
    """A funnel plot of an ICB's practices with 95% and 99.8% limits (overdispersion-adjusted). Face-to-face
    shares are compared with what each practice's own appointment mix would predict. No ranks anywhere."""
    from gpaccess.services import measures as service

    c = commands.get(ctx)
    figure = service.funnel(c.app, principal=c.principal, icb_code=icb, measure=measure, months=months)
    write_figure(figure, "funnel plot", out_file, data)


def spc(
    ctx: typer.Context,
    practice: Annotated[str, typer.Option(help="Practice code.")],
    measure: Annotated[str, typer.Option(help="A measure, e.g. f2f_gp or appts_per_1000.")] = "f2f_gp",
    out_file: Annotated[Path, typer.Option("--out", help="Chart file: .html, .png or .svg.")] = Path("spc.html"),
    data: Annotated[
        Path | None, typer.Option("--data", help="Also write the data behind the chart (.csv, .xlsx or .json).")
    ] = None,
) -> None:
    """A Making Data Count XmR chart of one practice's measure over every stored month."""
    from gpaccess.services import measures as service

    c = commands.get(ctx)
    write_figure(
        service.spc(c.app, principal=c.principal, practice_code=practice, measure=measure), "SPC chart", out_file, data
    )


def write_figure(fig: Figure, what: str, out_file: Path, data: Path | None) -> None:
    """Save a chart (and, if asked, the data behind it) and say where."""
    from gpaccess.publication.charts.common import save_chart, write_chart_data

    out.print(f"{what}: {save_chart(fig.chart, out_file)}")
    if data:
        out.print(f"chart data: {write_chart_data(fig.data, data)}")


def icbs(
    ctx: typer.Context,
    fmt: Annotated[str | None, typer.Option("--format", help="table (default), csv, json or xlsx (--out only)")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the list to .csv, .xlsx or .json.")] = None,
) -> None:
    """The ICBs in the store (from the latest months' Mapping.csv) that you may see: code, name and practices."""
    from gpaccess.publication.tables import table_format
    from gpaccess.services import measures as service

    c = commands.get(ctx)
    kind = "table" if fmt in (None, "table") and out_file is None else table_format(fmt, out_file)
    table = service.icbs(c.app, principal=c.principal)
    if kind != "table":
        _emit(table, None, kind, out_file, sheet="icbs")  # JSON: the list of ICBs itself
        return
    t = Table("ICB", "name", "practices", title="ICBs in the store (code order)", title_justify="left")
    for r in table.itertuples():
        t.add_row(str(r.icb_code), str(r.icb_name), f"{r.practices:,}")
    out.print(t)
