"""Settings: the one home of configuration.

Built once at the edge (the CLI entry point, the web app factory) from `GPACCESS_*` environment variables with
`Settings.from_env(environ)`, and passed down; nothing below the edge reads the environment. `Settings(...)`
with arguments is the same settings without the environment (what tests build).

A plain pydantic model with its own small environment reader, rather than pydantic-settings: every command
builds it, and pydantic-settings alone took a third of the command line's start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "GPACCESS_"


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """XDG data directory, so a real installation never writes into the source tree."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gpaccess"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(
        default_factory=default_home,
        description="Folder holding everything gpaccess stores: the analytical store, the plan store, keys.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description=(
            "Engine the measures, the fair comparison and the cohort read the store with: duckdb (in-process) "
            "or spark (Ibis's PySpark backend over the same Parquet; needs the spark extra and Java). "
            "Ingest always writes with DuckDB (docs/deployment.md)."
        ),
    )
    spark_master: str = Field(
        default="local[2]",
        description=(
            "Spark master for GPACCESS_ENGINE=spark when no Spark session is active (on Databricks or Synapse "
            "the platform's own session is used and this is ignored)."
        ),
    )
    spark_driver_memory: str = Field(default="2g", description="Driver memory of a local Spark session.")
    duckdb_threads: int | None = Field(default=None, description="Threads DuckDB may use (default: all cores).", ge=1)
    duckdb_memory_limit: str = Field(
        default="2GB",
        description="Memory DuckDB may use before spilling to disk under the store's tmp folder.",
    )
    publisher_base_url: str = Field(
        default=(
            "https://digital.nhs.uk/data-and-information/publications/statistical/appointments-in-general-practice"
        ),
        description=(
            "Address of the publisher's 'Appointments in General Practice' series; `gpaccess download` "
            "reads the month's page at <this>/<monthname>-<yyyy> (e.g. .../october-2025) to find the "
            "practice-level zip."
        ),
    )
    download_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description=(
            "Times `gpaccess download` retries after a connection error, a timeout, a cut-off transfer, "
            "HTTP 5xx or 429 (waiting 1, 2, 4 ... seconds, or as long as the server's Retry-After asks). "
            "Never on 403 or 404."
        ),
    )
    download_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds `gpaccess download` waits to connect, or for the next bytes, before giving up.",
    )
    fingertips_base_url: str = Field(
        default="https://fingertips.phe.org.uk/api",
        description=(
            "Address of the OHID Fingertips API; `gpaccess fingertips-download` reads "
            "<this>/all_data/csv/by_indicator_id?indicator_ids=<id>&child_area_type_id=<type>."
        ),
    )
    coverage_warning_threshold: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description=(
            "GPAD coverage (patients at practices included ÷ patients at open practices, by sub-ICB and month) "
            "below which a system's appointment figures carry a low-coverage warning."
        ),
    )
    scope_icbs: str | None = Field(
        default=None,
        description=(
            "ICB codes (comma-separated) whose named practice data this installation's command line may read; "
            "default: every ICB in the store (one installation per ICB). The web application scopes each "
            "user by their own ICB or practice instead."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the plan store (cohort runs, overrides, plans, users, the audit log), e.g. "
            "postgresql+psycopg://user@host:5432/gpaccess. Default: the SQLite file <home>/plans.sqlite3."
        ),
    )
    f2f_definition: Literal["f2f_home_over_known", "f2f_over_known", "f2f_home_over_all", "f2f_over_all"] = Field(
        default="f2f_home_over_known",
        description="Face-to-face share definition (measures/face_to_face.toml); every output states the one used.",
    )
    baseline_year: int = Field(default=2019, description="Pre-pandemic baseline year for appointment volumes.")
    window_months: int = Field(default=3, ge=1, le=24, description="Months in the default measures window.")
    funnel_adjustment: Literal["additive", "multiplicative", "none"] = Field(
        default="additive", description="Overdispersion adjustment of funnel limits (Spiegelhalter 2005)."
    )
    cohort_cap_share: float = Field(default=0.20, gt=0, le=1, description="Cohort cap: floor(share × eligible).")
    cohort_f2f_method: Literal["funnel", "shrunk"] = Field(
        default="funnel", description="Face-to-face rule: O/E below the funnel limit, or shrunk estimate."
    )
    cohort_f2f_level: float = Field(
        default=0.998, description="Funnel limit beyond which the face-to-face rule is met: 0.998 or 0.95."
    )
    cohort_baseline_threshold: float = Field(
        default=1.0, description="Baseline rule's target: this share of the baseline year's appointments per 1,000."
    )
    cohort_local_deprivation: bool = Field(
        default=False, description="Local rules: compare with a deprivation-adjusted expectation (Poisson on IMD)."
    )
    cohort_imd_use: Literal["show", "tiebreak", "weight"] = Field(
        default="show", description="Deprivation: shown only, a tie-breaker, or a weighting of evidence."
    )
    exclude_list_size_under: float = Field(default=1000, description="Exclusion: list size under this.")
    exclude_rate_under: float = Field(default=100, description="Exclusion: appointments per 1,000 a month under this.")
    exclude_rate_over: float = Field(default=2000, description="Exclusion: appointments per 1,000 a month over this.")
    exclude_unknown_mode_over: float = Field(default=0.20, description="Exclusion: Unknown-mode share over this.")
    exclude_unmapped_over: float = Field(
        default=0.40, description="Exclusion: Unmapped + Inconsistent Mapping share over this."
    )
    test_pause_at: Literal["write", "swap"] | None = Field(
        default=None,
        description="Test only: pause an ingest at this point so a test can kill it (proves atomicity).",
    )

    @field_validator("cohort_f2f_level")
    @classmethod
    def _funnel_level(cls, v: float) -> float:
        if v not in (0.95, 0.998):
            raise ValueError("cohort_f2f_level must be 0.95 or 0.998 (the funnel's two limits)")
        return v

    @field_validator("home", mode="before")
    @classmethod
    def _not_empty(cls, v: object) -> object:
        """`GPACCESS_HOME=` (set but empty) would otherwise mean the current folder: a store and a plan store
        written wherever the command happens to run."""
        if isinstance(v, str) and not v.strip():
            raise ValueError("GPACCESS_HOME is empty: unset it for the default folder, or name a folder")
        return v

    @field_validator("home")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every setting named `GPACCESS_<NAME>` in `environ` (default: the process's environment), the rest at
        their defaults; values are read as pydantic reads them (`"0.998"` → 0.998), and a bad one is refused."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            name: env[f"{ENV_PREFIX}{name.upper()}"]
            for name in cls.model_fields
            if f"{ENV_PREFIX}{name.upper()}" in env
        }
        values.setdefault("home", default_home(env))
        return cls.model_validate(values)

    @property
    def scope_icb_codes(self) -> list[str] | None:
        """`scope_icbs` as a list of upper-case codes (None: every ICB)."""
        if not self.scope_icbs:
            return None
        return [c.strip().upper() for c in self.scope_icbs.split(",") if c.strip()]

    @property
    def plan_store_url(self) -> str:
        """The plan store's effective URL: `database_url` if set, else the SQLite file under `home`."""
        return self.database_url or f"sqlite:///{self.home / 'plans.sqlite3'}"

    @field_validator("publisher_base_url", "fingertips_base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not v.startswith(("https://", "http://")):
            raise ValueError("the address must start with https:// (or http://)")
        return v
