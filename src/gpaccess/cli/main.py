"""The Typer root. Settings are built here, once, and handed to each command through the context."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gpaccess import __version__
from gpaccess.cli import commands
from gpaccess.config import Settings
from gpaccess.errors import ConfigError, UserError

app = typer.Typer(
    name="gpaccess",
    help="Find the GP practices that most need support with patient access, fairly, without league tables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


@app.callback()
def root(
    ctx: typer.Context,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (default: the operating-system user).")
    ] = None,
) -> None:
    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        raise ConfigError(f"bad GPACCESS_* setting: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']})") from exc
    ctx.obj = commands.Context(settings=settings, as_user=as_user)


@app.command()
def version() -> None:
    """Print gpaccess's version."""
    typer.echo(__version__)


commands.register_all(app)


def run(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and the error's own exit code, no traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # a command's typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except UserError as exc:
        err.print(f"[bold red]{type(exc).__name__}[/]: {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(130)
    except _CLICK_ERRORS as exc:  # usage errors arrive here in non-standalone mode
        usage: Any = exc
        usage.show()
        sys.exit(usage.exit_code)


def _click_error_types() -> tuple[type[Exception], ...]:
    """Typer 0.29 raises its bundled click's exceptions; older Typer raises click's own. Catch both."""
    found: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException as BundledClickException

        found.append(BundledClickException)
    except ImportError:  # pragma: no cover - depends on the Typer version
        pass
    try:
        import click

        found.append(click.ClickException)
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


_CLICK_ERRORS = _click_error_types()
