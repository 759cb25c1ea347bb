"""Shared CLI plumbing: the context object and the registry of command modules.

Each command module under `gpaccess.cli` exposes `register(app)`; adding a command group is one line here.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from gpaccess.config import Settings

if TYPE_CHECKING:
    from gpaccess.measures.service import MeasureSettings
    from gpaccess.storage.warehouse import Warehouse

COMMAND_MODULES = [
    "gpaccess.cli.store",
    "gpaccess.cli.measures",
    "gpaccess.cli.cohort",
    "gpaccess.cli.download",
    "gpaccess.cli.context",
    "gpaccess.cli.synth",
    "gpaccess.cli.demo",
    "gpaccess.cli.local",
]


@dataclass
class Context:
    settings: Settings
    as_user: str | None = None

    @property
    def user(self) -> str:
        from gpaccess.storage.warehouse import acting_user

        return acting_user(self.as_user)

    def measure_settings(self) -> MeasureSettings:
        from gpaccess.measures.service import MeasureSettings

        s = self.settings
        return MeasureSettings(
            f2f_definition=s.f2f_definition,
            baseline_year=s.baseline_year,
            window_months=s.window_months,
            adjustment=s.funnel_adjustment,
        )

    def warehouse(self, home: Any = None) -> Warehouse:
        from gpaccess.storage.warehouse import StoreConfig, Warehouse

        s = self.settings
        return Warehouse(
            StoreConfig(
                home=home or s.home,
                threads=s.duckdb_threads,
                memory_limit=s.duckdb_memory_limit,
                pause_at=s.test_pause_at,
            )
        )


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
