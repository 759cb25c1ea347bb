"""Settings: the one home of configuration.

Built once at the edge (the CLI entry point, later the web app factory) from `GPACCESS_*` environment variables
and passed down; nothing below the edge reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    """XDG data directory, so a real installation never writes into the source tree."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gpaccess"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GPACCESS_", extra="ignore")

    home: Path = Field(
        default_factory=_default_home,
        description="Folder holding everything gpaccess stores: the analytical store, the plan store, keys.",
    )
    engine: Literal["duckdb"] = Field(
        default="duckdb", description="Analytical engine behind Ibis (Spark joins in a later release)."
    )
    duckdb_threads: int | None = Field(
        default=None, description="Threads DuckDB may use (default: all cores).", ge=1
    )
    duckdb_memory_limit: str = Field(
        default="2GB", description="Memory DuckDB may use before spilling to disk under the store's tmp folder."
    )
    test_pause_at: Literal["write", "swap"] | None = Field(
        default=None,
        description="Test only: pause an ingest at this point so a test can kill it (proves atomicity).",
    )

    @field_validator("home")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()
