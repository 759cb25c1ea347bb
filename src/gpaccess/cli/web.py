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
    workers_threads: Annotated[int, typer.Option("--threads", help="Requests served at once.")] = 8,
) -> None:
    """Serve the web application and JSON API. Behind TLS in production; on loopback the cookies are sent over
    plain http too (nothing leaves the machine)."""
    import anyio.to_thread
    import uvicorn

    from gpaccess.web.app import create_app

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
    api = create_app(c.settings, home=home, secure_cookies=host not in LOOPBACK)

    @api.on_event("startup")
    async def _limit_threads() -> None:  # each thread keeps its own DuckDB connection
        anyio.to_thread.current_default_thread_limiter().total_tokens = workers_threads

    out.print(f"Serving on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


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
