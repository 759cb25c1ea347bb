"""The application: settings mapped once to each layer's settings, the analytical store and the plan store.

Built by the CLI (per command) or the web application factory (once) from `Settings`, and passed to every
service function. The plan store's migrations are not run on every command: a new, empty database is created
at head; an older one is refused with the command that upgrades it (`gpaccess store upgrade`), so an
upgrade is a deliberate step (and on PostgreSQL one a DBA can schedule).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpaccess.config import Settings
from gpaccess.errors import UserError

if TYPE_CHECKING:  # imported when first used: a command that refuses a file early never loads the engines
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from gpaccess.access.audit_sqlite import AuditAppender
    from gpaccess.storage.warehouse import Warehouse

PLAN_STORE_FILENAME = "plans.sqlite3"
log = logging.getLogger("gpaccess.services")
RETRY_AFTER = 60.0  # seconds before a server tries again to compute a generation whose measures failed


class PlanStoreOutOfDateError(UserError):
    """The plan store was made by an earlier gpaccess: `gpaccess store upgrade` migrates it."""

    exit_code = 10


def head_revision() -> str:
    from gpaccess.storage.revision import HEAD_REVISION

    return HEAD_REVISION


def _freeze_long_lived() -> None:
    """Move everything alive now (a generation's shared measures: hundreds of thousands of objects) out of the
    cyclic collector's view. Each full collection walked them all, about 7% of a server's CPU under load; the
    frames are freed by reference counting when a later generation replaces them, and only objects caught in
    reference cycles of a superseded generation stay (a server is restarted long before that matters)."""
    import gc

    gc.freeze()


@dataclass
class App:
    settings: Settings
    home: Path
    plan_store_url: str
    _engine: Engine | None = field(default=None, repr=False)
    _sessions: Any = field(default=None, repr=False)  # the plan store's session factory, for `_engine`
    _checked: bool = False
    # A long-running server (the web application) computes every practice's directory entry and window measures
    # once per store generation and shares them (plain data frames) with every request: each request still gets
    # its own session (engine connections belong to one thread), pre-filled with them. While the store's new
    # generation is being computed, requests keep reading the previous one (a consistent snapshot, as before).
    reuse_sessions: bool = False
    shared_series: tuple[str, ...] = ()  # measures whose series and SPC points are read for every practice too
    _shared: Any = field(default=None, repr=False)
    _computing: bool = field(default=False, repr=False)
    _failed_generation: int | None = field(default=None, repr=False)  # retried after RETRY_AFTER seconds
    _failed_at: float | None = field(default=None, repr=False)
    _stale_since: float | None = field(default=None, repr=False)  # when a newer generation was first seen
    _lock: Any = field(default_factory=threading.Condition, repr=False)
    _appender: Any = field(default=None, repr=False)  # the SQLite plan store's audit appender, once made

    @classmethod
    def from_settings(cls, settings: Settings, *, home: Path | None = None) -> App:
        """`home` overrides the settings' home (the demo keeps its own store under `<home>/demo`)."""
        root = home or settings.home
        url = settings.plan_store_url if home is None else f"sqlite:///{root / PLAN_STORE_FILENAME}"
        return cls(settings=settings, home=root, plan_store_url=url)

    # -- the analytical store ------------------------------------------------------------------------
    @cached_property
    def warehouse(self) -> Warehouse:
        from gpaccess.storage.spark import SparkConfig
        from gpaccess.storage.warehouse import StoreConfig, Warehouse

        s = self.settings
        return Warehouse(
            StoreConfig(
                home=self.home,
                threads=s.duckdb_threads,
                memory_limit=s.duckdb_memory_limit,
                pause_at=s.test_pause_at,
                engine=s.engine,
                spark=SparkConfig(master=s.spark_master, driver_memory=s.spark_driver_memory),
            )
        )

    def reused_session(self, build: Any) -> Any:
        """A measure session for this request sharing the computed measures of the store's latest generation
        (`build(snapshot)` makes a session). The first generation is computed by the first request, the others
        waiting for it; a later generation whose measure inputs changed (an ingest) is computed by a background
        thread while every request keeps reading the previous one, so no request waits for it; one that changed
        nothing measures read (a local upload) reuses the measures over the new snapshot at once.

        Reading a superseded generation is bounded: its files are swept a grace period after they were replaced
        (`StoreConfig.grace_seconds`), so once the new measures have been missing for half of it (a failing or
        very slow refresh) requests compute them in the foreground, and wait, rather than read files that may go.
        """
        from gpaccess.measures.inputs import measure_inputs

        snapshot = self.warehouse.snapshot()
        now = time.monotonic()
        with self._lock:
            shared = self._shared
            newer = shared is not None and snapshot.generation > shared.snapshot.generation
            stale = shared is None or (newer and measure_inputs(shared.snapshot) != measure_inputs(snapshot))
            if stale and shared is not None:
                self._stale_since = self._stale_since or now
                too_old = now - self._stale_since > self.warehouse.config.grace_seconds / 2
                failed_lately = (
                    self._failed_generation == snapshot.generation
                    and self._failed_at is not None
                    and now - self._failed_at < RETRY_AFTER
                )
                if too_old:
                    shared = None  # below: wait for the refresh under way, or compute here
                elif not self._computing and not failed_lately:
                    self._computing = True
                    threading.Thread(target=self._refresh, args=(build, snapshot), daemon=True).start()
            while shared is None and self._computing:
                self._lock.wait()
                shared = self._shared if self._stale_since is None else None
            if shared is None:
                self._computing = True
        if shared is None:
            self._refresh(build, snapshot, in_request=True)
            shared = self._shared
        if stale and shared.snapshot.generation >= snapshot.generation:
            stale = False  # computed meanwhile (here or by another thread): read it
        # The request's own snapshot where the shared measures hold for it (the same generation, or a later one
        # that changed nothing they read, e.g. a local upload, so the uploader sees it at once); the shared
        # measures' own while the new ones are computed (or theirs if they are newer than this request's).
        own = not stale and snapshot.generation >= shared.snapshot.generation
        return build(snapshot if own else shared.snapshot).sharing(shared)

    def _refresh(self, build: Any, snapshot: Any, *, in_request: bool = False) -> None:
        try:
            session = build(snapshot)
            session.warm(self.shared_series)
            if self.shared_series:  # and every practice's SPC points of them, before the first page asks
                from gpaccess.publication.figures import warm_spc

                warm_spc(session, self.shared_series)
            with self._lock:
                current = self._shared
                if current is None or current.snapshot.generation <= snapshot.generation:  # never go back
                    self._shared = session
                    self._stale_since = None
            _freeze_long_lived()
        except Exception:
            log.exception("computing the measures of store generation %s failed", snapshot.generation)
            with self._lock:
                self._failed_generation, self._failed_at = snapshot.generation, time.monotonic()
            if in_request or self._shared is None:
                raise  # the request that computed them answers with the error
            # Otherwise the previous generation's measures keep serving; retried after RETRY_AFTER seconds.
        finally:
            with self._lock:
                self._computing = False
                self._lock.notify_all()
            if not in_request:
                self.warehouse.forget_thread_connection()  # this thread ends: its DuckDB connection with it

    # -- settings for each layer (the one mapping) ------------------------------------------------------
    def measure_settings(self):
        from gpaccess.measures.service import MeasureSettings

        s = self.settings
        return MeasureSettings(
            f2f_definition=s.f2f_definition,
            baseline_year=s.baseline_year,
            window_months=s.window_months,
            adjustment=s.funnel_adjustment,
            quality=self.exclusion_settings(),
        )

    def exclusion_settings(self):
        from gpaccess.measures.quality import ExclusionSettings

        s = self.settings
        return ExclusionSettings(
            min_list_size=s.exclude_list_size_under,
            min_appts_per_1000=s.exclude_rate_under,
            max_appts_per_1000=s.exclude_rate_over,
            max_unknown_mode=s.exclude_unknown_mode_over,
            max_unmapped=s.exclude_unmapped_over,
        )

    def selection_settings(self):
        from gpaccess.cohort.criteria import CriteriaSettings
        from gpaccess.cohort.select import SelectionSettings

        s = self.settings
        return SelectionSettings(
            cap_share=s.cohort_cap_share,
            imd_use=s.cohort_imd_use,
            criteria=CriteriaSettings(
                f2f_method=s.cohort_f2f_method,
                f2f_level=s.cohort_f2f_level,
                baseline_threshold=s.cohort_baseline_threshold,
                local_deprivation=s.cohort_local_deprivation,
            ),
            exclusions=self.exclusion_settings(),
        )

    # -- the plan store --------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from gpaccess.storage import db

            self._engine = db.make_engine(self.plan_store_url)
        return self._engine

    def ensure_plan_store(self) -> None:
        """Create a new plan store at the latest revision; refuse one at an older revision (upgrade first)."""
        if self._checked:
            return
        from sqlalchemy import inspect

        from gpaccess.storage import db

        current = db.recorded_revision(self.engine)
        if current is None:
            if inspect(self.engine).get_table_names():
                raise PlanStoreOutOfDateError(
                    f"the plan store at {self._where()} holds tables but no migration record: it is not a "
                    "gpaccess plan store (set GPACCESS_DATABASE_URL to another database)"
                )
            db.upgrade(self.engine)
        elif current != head_revision():
            raise PlanStoreOutOfDateError(
                f"the plan store at {self._where()} is at revision {current}, this gpaccess needs "
                f"{head_revision()}: run `gpaccess store upgrade` (back it up first if it is PostgreSQL)"
            )
        self._checked = True

    def upgrade_plan_store(self) -> tuple[str | None, str]:
        """Migrate the plan store to the latest revision: (revision before, revision after)."""
        from gpaccess.storage import db

        before = db.current_revision(self.engine)
        db.upgrade(self.engine)
        self._checked = True
        return before, head_revision()

    @contextlib.contextmanager
    def plan_session(self) -> Iterator[Session]:
        """A plan-store session in one transaction, committed on success."""
        from gpaccess.storage import db

        self.ensure_plan_store()
        if self._sessions is None:  # made once with the engine (and dropped with it): every request opens sessions
            self._sessions = db.make_session_factory(self.engine)
        with self._sessions.begin() as session:
            yield session

    def audit_appender(self) -> AuditAppender | None:
        """The appender for a SQLite file plan store (one kept connection, group commits: a server's requests
        share it), or None for PostgreSQL and in-memory stores, whose events go through SQLAlchemy."""
        if self._appender is None:
            from gpaccess.access.audit_sqlite import AuditAppender, sqlite_file

            path = sqlite_file(self.plan_store_url)
            if path is None:
                return None
            with self._lock:
                if self._appender is None:
                    self._appender = AuditAppender(path)
        return self._appender

    def _where(self) -> str:
        return self.plan_store_url.split("@")[-1]

    def close(self) -> None:
        if "warehouse" in self.__dict__:
            self.warehouse.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._sessions = None
        if self._appender is not None:
            self._appender.close()
            self._appender = None
