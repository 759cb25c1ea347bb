"""`gpaccess ingest`, `gpaccess status` and `gpaccess store upgrade`: what goes into the store, what it holds,
and bringing an installation made by an earlier gpaccess up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

if TYPE_CHECKING:
    from gpaccess.ingest.load import IngestResult

out = commands.console()


store_app = typer.Typer(help="The installation's stores: upgrade them after installing a newer gpaccess.")


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(status)
    app.add_typer(store_app, name="store")


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(help="GPAD zips or CSVs, Mapping.csv, list-size CSVs.")] = None,
    month: Annotated[
        str | None,
        typer.Option(
            help="Month (YYYY-MM) for files whose rows carry none (a loose Mapping.csv, epraccur, workforce); "
            "it wins over a file name, never over the rows' own month."
        ),
    ] = None,
    rollback_month: Annotated[
        str | None,
        typer.Option(
            "--rollback",
            help="Undo, as a whole, the latest applied release that touched this month (YYYY-MM) or period.",
        ),
    ] = None,
    publication: Annotated[
        str | None,
        typer.Option(help="With --rollback: the latest release that touched this publication in the month."),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="A practice this release replaces may lose more than a fifth of its stored appointments or rows "
            "(it is meant: a corrected file). Without it such a release is refused.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --rollback: say what it would undo.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --rollback: do not ask (needed without a terminal).")
    ] = False,
) -> None:
    """Ingest published files into the store (one call is one release), or roll a release back."""
    c = commands.get(ctx)
    if rollback_month:
        if paths:
            raise UserError("give either files to ingest or --rollback MONTH, not both")
        roll_back(c, rollback_month, publication=publication, dry_run=dry_run, yes=yes)
        return
    if not paths:
        raise UserError("name at least one file to ingest (or --rollback MONTH)")
    result = run_ingest(c, paths, month=month, partial=partial)
    print_result(result)


def roll_back(c: commands.Context, month: str, *, publication: str | None, dry_run: bool, yes: bool) -> None:
    """Show exactly what the rollback undoes; then undo it if confirmed (a terminal prompt, or --yes)."""
    import sys

    from gpaccess.services import ingest as service

    plan = service.plan_rollback(c.app, principal=c.principal, month=month, publication=publication)
    out.print("Rolling back undoes this release as a whole:")
    for line in plan.describe():
        out.print(escape(line))
    if dry_run:
        out.print("dry run: nothing was undone")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(
                "a rollback needs confirmation: run it in a terminal, or add --yes to undo the release above"
            )
        typer.confirm("Undo this release?", abort=True)
    done = service.rollback(
        c.app, principal=c.principal, month=month, publication=publication, expected=plan.release.id
    )
    out.print(f"Rolled back release {done.release.id}: {', '.join(done.publications)} ({', '.join(done.periods)})")


def run_ingest(
    c: commands.Context, paths: list[Path], month: str | None = None, *, partial: bool = False
) -> IngestResult:
    from gpaccess.services import ingest as service

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=commands.console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("ingesting", total=None)
        return service.ingest(
            c.app,
            principal=c.principal,
            paths=paths,
            month=month,
            partial=partial,
            progress=lambda m: bar.update(task, description=m),
        )


def print_result(result: IngestResult) -> None:
    skipped = [f for f in result.files if f.status == "already ingested"]
    if len(skipped) > 3:
        out.print(f"already ingested (a no-op): {len(skipped)} files, e.g. {skipped[0].name} ({skipped[0].detail})")
    for f in result.files:
        if len(skipped) > 3 and f in skipped:
            continue
        note = f" ({f.detail})" if f.detail else ""
        out.print(f"{f.status}: {f.name}{note}")
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    for change in result.republished:
        for line in change.describe():
            out.print(escape(line))
    for mapping in result.mappings:
        out.print(escape(mapping.describe()))
    if result.release:
        months = "; ".join(f"{pub} {', '.join(ms)}" for pub, ms in result.months.items())
        out.print(f"release {result.release}: {result.rows:,} rows — {months}")


def status(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    publication: Annotated[
        str | None, typer.Option("--publication", help="Only this publication (a name as `status` shows it).")
    ] = None,
) -> None:
    """What the store holds: per publication and month, rows, totals and the release they came from."""
    from gpaccess.services import ingest as service

    c = commands.get(ctx)
    info = service.status(c.app, principal=c.principal, publication=publication)
    if fmt == "json":
        typer.echo(json.dumps(info, indent=1, default=str))
        return
    if fmt != "table":
        raise UserError(f"--format {fmt!r}: expected table or json")
    out.print(f"Store: {info['store']}")
    if any(pub["periods"] for pub in info["publications"]):
        out.print(_periods_table(info))
    else:
        out.print(
            "The store is empty: run `gpaccess ingest FILE`. (The demo keeps its own store: "
            f"GPACCESS_HOME={c.settings.home / 'demo'} gpaccess status)"
        )
    if info["releases"]:
        out.print(_releases_table(info))
    for lost in info.get("unmapped_sub_icbs", []):
        out.print(
            f"Sub-ICB {lost['sub_icb_code']} ({lost['sub_icb_name']}) maps to no ICB in {lost['month']}: its "
            f"{lost['practices']} practice(s) belong to no ICB's cohort (ingest the month's Mapping.csv)"
        )


def _periods_table(info: dict[str, Any]) -> Table:
    table = Table("publication", "month", "rows", "total", "practices", "release", "replaced releases below")
    for pub in info["publications"]:
        for p in pub["periods"]:
            table.add_row(
                pub["name"],
                p["period"],
                f"{p['rows']:,}",
                "" if p["total"] is None else f"{p['total']:,.0f}",
                f"{p['keys']:,}",
                p["release"],
                str(p["history"]),
            )
    return table


def _releases_table(info: dict[str, Any]) -> Table:
    rel = Table("release", "ingested", "by", "status", "source files (sha256)")
    for r in info["releases"]:
        rel.add_row(
            r["id"],
            r["ingested_at"],
            r["user"] or "",
            r["status"],
            "\n".join(f"{s['name']} ({s['sha256'][:12]}…)" for s in r["sources"]),
        )
    return rel


@store_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the plan store to this version's schema and build any derived data the analytical store lacks
    (the practice-month aggregate of stores made before it). Safe to run again; a failure changes nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn

    from gpaccess.services import ingest as service

    c = commands.get(ctx)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=commands.console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("practice-month aggregate", total=None)
        done = service.upgrade(
            c.app,
            principal=c.principal,
            progress=lambda n, total, what: bar.update(task, completed=n, total=total, description=what),
        )
    plan = done["plan_store"]
    if plan["from"] == plan["to"]:
        out.print(f"plan store: already at revision {plan['to']}")
    else:
        out.print(f"plan store: migrated from revision {plan['from'] or 'none (new)'} to {plan['to']}")
    built = done["aggregate_built"]
    if built:
        out.print(
            f"practice-month aggregate: built {len(built)} state(s): {', '.join(built[:6])}"
            + (" ..." if len(built) > 6 else "")
        )
    else:
        out.print("practice-month aggregate: every stored month already has it")


@store_app.command("build-from-lake")
def build_from_lake(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="GPAD appointment rows a platform already holds: a Spark catalog table (lake.gpad_rows), a Delta "
            "folder or Parquet (a file, folder or glob on DuckDB)."
        ),
    ],
    month: Annotated[
        list[str] | None, typer.Option(help="Only this month (YYYY-MM); repeat for several. Default: every month.")
    ] = None,
) -> None:
    """Build the practice-month aggregate and the practice rows from a lake table of GPAD rows, as one release
    (on Spark with GPACCESS_ENGINE=spark). The rows stay in the lake; measures read what this builds."""
    from gpaccess.services import ingest as service

    c = commands.get(ctx)
    err = commands.console(stderr=True)
    result = service.build_from_lake(
        c.app, principal=c.principal, source=source, months=month, progress=lambda msg: err.print(escape(msg))
    )
    shown = ", ".join(result.months[:6]) + (" ..." if len(result.months) > 6 else "")
    if result.already:
        out.print(f"{escape(source)}: already built from these rows ({shown}); nothing changed")
        return
    out.print(
        f"release {result.release}: practice-month aggregate of {len(result.months)} month(s) ({shown}) from "
        f"{result.rows:,} rows, {result.appointments:,} appointments"
    )


@store_app.command("export-delta")
def export_delta(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Argument(help="Folder to write one Delta table per publication into.")],
    publication: Annotated[
        list[str] | None,
        typer.Option(help="Only this publication (as `gpaccess status` names it); repeat for several."),
    ] = None,
) -> None:
    """Write the store's current snapshot as Delta Lake tables (no Spark needed), with the snapshot's versions
    beside them in gpaccess_snapshot.json."""
    from gpaccess.services import ingest as service

    c = commands.get(ctx)
    result = service.export_delta(c.app, principal=c.principal, out=out_dir, publications=publication)
    for name, rows in result.tables.items():
        out.print(f"{name}: {rows:,} rows → {escape(str(result.out / name))}")
