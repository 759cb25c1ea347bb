"""Shared CLI plumbing: the context object and the registry of command modules.

Each command module under `gpaccess.cli` exposes `register(app)`; adding a command group is one line here.
Commands only parse options, call a service with the CLI's principal, and print what it returns.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from gpaccess.config import Settings

if TYPE_CHECKING:
    from gpaccess.access.principal import Principal
    from gpaccess.services.app import App

COMMAND_MODULES = [
    "gpaccess.cli.store",
    "gpaccess.cli.measures",
    "gpaccess.cli.cohort",
    "gpaccess.cli.download",
    "gpaccess.cli.context",
    "gpaccess.cli.synth",
    "gpaccess.cli.demo",
    "gpaccess.cli.local",
    "gpaccess.cli.plans",
    "gpaccess.cli.evaluate",
    "gpaccess.cli.users",
    "gpaccess.cli.web",
]


@dataclass
class Context:
    settings: Settings
    as_user: str | None = None
    _apps: dict[Path, App] = field(default_factory=dict)

    def app_at(self, home: Path | None = None) -> App:
        """The application over the installation (or over another home, such as the demo's own store)."""
        from gpaccess.services.app import App

        key = home or self.settings.home
        if key not in self._apps:
            self._apps[key] = App.from_settings(self.settings, home=home)
        return self._apps[key]

    @property
    def app(self) -> App:
        return self.app_at()

    @property
    def principal(self) -> Principal:
        """The operating-system user (or `--as USER`, recorded as unverified) over the installation's scope."""
        from gpaccess.access.principal import cli_principal

        return cli_principal(self.as_user, scope_icbs=self.settings.scope_icb_codes)

    @property
    def user(self) -> str:
        return self.principal.actor


def console(stderr: bool = False) -> Console:
    """Rich output: the terminal's width when interactive, wide enough for tables in logs and pipes."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def get(ctx: typer.Context) -> Context:
    obj = ctx.find_object(Context)
    assert obj is not None, "root callback sets the context"
    return obj


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
