"""`gpaccess serve` (the web application) and `gpaccess publish` (the public practice-level publication)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gpaccess.cli import commands

out = commands.console()
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(publish)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option(help="Serve the demo store (`gpaccess demo`) with one demo user per role.")
    ] = False,
    workers_threads: Annotated[int, typer.Option("--threads", help="Requests each process serves at once.")] = 8,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (default: one per CPU, up to 4). Each computes and keeps its own copy of the "
            "store's measures, so memory grows with them; one process uses one CPU for Python."
        ),
    ] = 0,
) -> None:
    """Serve the web application and JSON API. Behind TLS in production; on loopback the cookies are sent over
    plain http too (nothing leaves the machine)."""
    import os

    import uvicorn

    from gpaccess.web import app as web_app

    c = commands.get(ctx)
    home = c.settings.home / "demo" if demo else None
    if demo:
        from gpaccess.services.demo_users import ensure_demo_users

        if not (c.settings.home / "demo" / "store" / "manifest.json").exists():
            raise typer.BadParameter(
                "no demo store yet: run `gpaccess demo` (or `make demo`) first", param_hint="--demo"
            )
        users = ensure_demo_users(c.app_at(home), principal=c.principal)
        out.print("Demo users (passwords are new each start):")
        for u in users:
            out.print(f"  {u.username:<16} {u.password}  {u.role} ({u.scope})")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes = workers or min(4, cpus)  # the CPUs this process may use, not the machine's
    options = web_app.ServeOptions(home=home, secure_cookies=host not in LOOPBACK, threads=workers_threads)
    out.print(f"Serving on http://{host}:{port}/ with {processes} process(es) (Ctrl-C stops)")
    if processes == 1:
        uvicorn.run(web_app.create_served_app(c.settings, options), host=host, port=port, log_level="warning",
                    access_log=False)  # fmt: skip
        return
    web_app.prepare_for_processes(c.settings, options)  # the plan store and session key, made once, here
    os.environ.pop("GPACCESS_SERVE_HOME", None)  # only what this command sets reaches the workers
    os.environ.update(options.to_environment())
    uvicorn.run(
        "gpaccess.web.app:app_from_environment", factory=True, workers=processes, host=host, port=port,
        log_level="warning", access_log=False,
    )  # fmt: skip


def publish(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the publication into.")] = Path("public"),
    months: Annotated[
        list[str] | None, typer.Option("--months", help="Window, e.g. 2025-08..2025-10 (default: latest 3).")
    ] = None,
    formats: Annotated[str, typer.Option(help="Comma-separated: csv, xlsx, html.")] = "csv,xlsx,html",
) -> None:
    """Write the public practice-level publication: every practice in code order with its access measures,
    intervals and area context; no rank, no cohort; small numbers withheld; checked by the guard."""
    from gpaccess.services.publish import publish as write

    c = commands.get(ctx)
    wanted = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    for path in write(c.app, principal=c.principal, folder=out_dir, months=months, formats=wanted):
        out.print(f"wrote {path}")
