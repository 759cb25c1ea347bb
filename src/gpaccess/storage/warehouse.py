"""The analytical store: Parquet per publication, period and release, read through Ibis.

DuckDB is the default engine (in-process, nothing to install). With `engine="spark"` every snapshot read runs on
Spark through Ibis's PySpark backend (`storage/spark.py`) over the same Parquet files; writes stay on DuckDB,
which parses the CSVs. Only `storage/` knows which engine runs; the layers above receive Ibis expressions.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpaccess.errors import StoreBusyError
from gpaccess.storage import manifest as mf
from gpaccess.storage import retention
from gpaccess.storage.derived import DerivedFrames
from gpaccess.storage.files import sha256_file as sha256_file  # where callers have long found it
from gpaccess.storage.snapshot import Snapshot, as_of_manifest
from gpaccess.storage.spark import SparkConfig

ENGINES = ("duckdb", "spark")

# A state a rollback takes off the stack stays readable this long after (seconds), so a reader that took its
# snapshot just before the rollback finishes with it; pinned states (stored runs) stay for good.
GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class StoreConfig:
    home: Path
    threads: int | None = None
    memory_limit: str = "2GB"
    pause_at: str | None = None  # test only: "write" or "swap"
    grace_seconds: float = GRACE_SECONDS
    clock: Callable[[], float] = time.time  # injected by tests that move time past the grace period
    engine: str = "duckdb"  # what snapshots read with: "duckdb" or "spark" (writes are always DuckDB's)
    spark: SparkConfig = field(default_factory=SparkConfig)


def _pause(config: StoreConfig, point: str) -> None:
    """Test-only pause point: announce and sleep so a test can kill a real ingest at this exact moment."""
    if config.pause_at == point:
        print(f"GPACCESS-PAUSED-AT {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


class Warehouse:
    """The store on disk: snapshots to read it, one transaction at a time to write it."""

    def __init__(self, config: StoreConfig) -> None:
        if config.engine not in ENGINES:
            raise ValueError(f"unknown engine {config.engine!r}: one of {', '.join(ENGINES)}")
        self.config = config
        self.root = config.home / "store"
        self.data_dir = self.root / "data"
        self.tmp_dir = self.root / "tmp"
        self.manifest_path = self.root / "manifest.json"
        self.derived = DerivedFrames(self.root / "derived")  # frames computed from a store state (a cache)
        self._local = threading.local()  # a DuckDB connection is not shared between threads (web workers)
        self._connections: list[Any] = []
        self._manifest_cache: tuple[tuple[int, int, int], mf.Manifest] | None = None

    # -- engine ---------------------------------------------------------------------------------------
    @property
    def reader(self) -> Any:
        """The Ibis backend snapshots read with: this thread's DuckDB connection, or the process's Spark one."""
        if self.config.engine == "spark":
            from gpaccess.storage import spark

            return spark.backend(self.config.spark)
        return self.con

    @property
    def con(self) -> Any:
        """This thread's in-memory DuckDB connection (the data itself lives in Parquet files), opened lazily.
        Writes and CSV parsing always use it, whichever engine reads."""
        con = getattr(self._local, "con", None)
        if con is None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {
                "memory_limit": self.config.memory_limit,
                "temp_directory": str(self.tmp_dir),
                "preserve_insertion_order": False,
            }
            if self.config.threads:
                kwargs["threads"] = self.config.threads
            import ibis

            con = self._local.con = ibis.duckdb.connect(**kwargs)
            self._connections.append(con)
        return con

    def forget_thread_connection(self) -> None:
        """Let go of this thread's connection as the thread ends (a server's background refresh): it is dropped
        with the last expression that uses it, rather than kept for the process's life."""
        con = getattr(self._local, "con", None)
        if con is not None:
            self._local.con = None
            self._connections[:] = [c for c in self._connections if c is not con]

    def close(self) -> None:
        """Let go of the engine connections. They are in-memory (the data lives in Parquet), so dropping them is
        enough; they are not disconnected here, because Ibis drops cached intermediate tables when their
        expressions are garbage-collected, which must still find the connection open."""
        self._connections.clear()
        self._local = threading.local()

    # -- reading --------------------------------------------------------------------------------------
    def snapshot(self, *, as_of: mf.Versions | None = None) -> Snapshot:
        """The store as it is now (the manifest read once), or as a recorded run saw it (`as_of` its versions)."""
        manifest = self._current_manifest()
        if as_of is not None:
            return Snapshot(self, as_of_manifest(manifest, as_of), as_of=True)
        return Snapshot(self, manifest)

    def _current_manifest(self) -> mf.Manifest:
        """The manifest as the file holds it now, parsed once per version of the file: a writer replaces it by
        an atomic rename (a new inode), so an unchanged (inode, size, mtime) is the same manifest. Snapshots only
        read it; writers load their own copy under the write lock."""
        try:
            st = self.manifest_path.stat()
        except FileNotFoundError:
            return mf.load(self.manifest_path)
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self._manifest_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        manifest = mf.load(self.manifest_path)
        self._manifest_cache = (key, manifest)
        return manifest

    def lake_table(self, source: str) -> Any:
        """Rows a platform already holds, outside the store, as an Ibis table on the read engine: on Spark a
        catalog table name, a Delta folder or Parquet; on DuckDB a Delta folder or a Parquet file, folder or glob."""
        if self.config.engine == "spark":
            from gpaccess.storage import spark

            return spark.read_source(self.reader, source)
        path = Path(source)
        if (path / "_delta_log").is_dir():  # a Delta table: its live files only, through delta-rs (Arrow)
            from deltalake import DeltaTable

            name = f"lake_{hashlib.sha256(source.encode()).hexdigest()[:8]}"
            self.con.con.register(name, DeltaTable(str(path)).to_pyarrow_dataset())
            return self.con.table(name)
        if path.is_dir():
            return self.con.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=False)
        return self.con.read_parquet(source)

    def manifest(self) -> mf.Manifest:
        """The manifest as it is on disk now (for status and tooling; computations read a `snapshot()`)."""
        return mf.load(self.manifest_path)

    def pin(self, name: str, snapshot: Snapshot) -> Path:
        """Keep every state `snapshot` shows readable for good (a stored run reads the store as it was)."""
        return retention.write_pin(self.root, name, snapshot.versions())

    # -- writing --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, user: str | None = None) -> Iterator[Transaction]:
        """One writer at a time; everything staged inside becomes visible at once on success, never on error."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / "write.lock"
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreBusyError(
                    f"another gpaccess process is writing to {self.root}; wait for it to finish and try again"
                ) from None
            manifest = mf.load(self.manifest_path)
            sweep = retention.plan_sweep(
                manifest,
                self.data_dir,
                retention.read_pins(self.root),
                now=self.config.clock(),
                grace_seconds=self.config.grace_seconds,
            )
            manifest.retired = sweep.keep_retired
            retention.delete_files(sweep.orphans, self.data_dir)
            tx = Transaction(self, manifest, user, changed=sweep.changes_manifest, sweep_plan=sweep)
            try:
                yield tx
            except BaseException:
                tx.discard()
                raise
            tx.commit()
            retention.delete_files(sweep.expired, self.data_dir)

    def sweep(self) -> retention.SweepPlan:
        """Run a sweep on its own (every write also sweeps first); returns what it removed."""
        with self.transaction() as tx:
            return tx.sweep_plan or retention.SweepPlan(keep_retired=[])


@dataclass
class Transaction:
    warehouse: Warehouse
    manifest: mf.Manifest
    user: str | None
    staged_dirs: list[Path] = field(default_factory=list)
    changed: bool = False
    sweep_plan: retention.SweepPlan | None = None
    notes: list[str] = field(default_factory=list)  # for the user, about what this transaction did
    _counter: int = 0

    def new_release_id(self, sources: list[mf.Source]) -> str:
        digest = hashlib.sha256("".join(sorted(s.sha256 for s in sources)).encode()).hexdigest()[:10]
        return f"r{self.manifest.generation + 1:05d}-{digest}"

    def staging_path(self, publication: str, period: str, release: str) -> Path:
        """A fresh Parquet path that nothing references until commit."""
        self._counter += 1
        folder = self.warehouse.data_dir / publication / period / release
        folder.mkdir(parents=True, exist_ok=True)
        if folder not in self.staged_dirs:
            self.staged_dirs.append(folder)
        return folder / f"part-{self._counter:03d}.parquet"

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.warehouse.data_dir))

    def ensure_publication(
        self, publication: str, schema: dict[str, str], key: list[str], measure: str | None
    ) -> mf.Publication:
        pub = self.manifest.publications.get(publication)
        if pub is None:
            pub = mf.Publication(schema=schema, key=key, measure=measure)
            self.manifest.publications[publication] = pub
        return pub

    def put(
        self,
        publication: str,
        period: str,
        release: str,
        new_files: list[Path],
        *,
        schema: dict[str, str],
        key: list[str],
        measure: str | None,
        replace_period: bool = False,
    ) -> mf.PeriodState:
        """Make `new_files` the newest rows of a period; rows of older states with other keys stay visible.

        A release holding practices already stored replaces exactly those practices' rows (a republished
        month); practices it does not hold keep their rows (a regional part of a month adds up).
        `replace_period`: `new_files` are the period's whole contents, and no older row stays visible (a
        month's mapping is republished as a whole: a practice it no longer lists is gone from it).
        """
        pub = self.ensure_publication(publication, schema, key, measure)
        con = self.warehouse.con
        new = con.read_parquet([str(f) for f in new_files])
        files = [self.rel(f) for f in new_files]
        current = pub.current(period)
        if current is not None and current.files and not replace_period:
            old = con.read_parquet([str(self.warehouse.data_dir / f) for f in current.files])
            if key:
                new_keys = new.select(*key).distinct()
                overlap = old.semi_join(new_keys, key).count().to_pyarrow().as_py()
                if overlap == 0:
                    files = current.files + files
                elif overlap < old.count().to_pyarrow().as_py():
                    remainder = self.staging_path(publication, period, release)
                    con.to_parquet(old.anti_join(new_keys, key), remainder, compression="zstd")
                    files.append(self.rel(remainder))
        state = self._summarise(publication, period, release, files, key, measure)
        pub.periods.setdefault(period, []).append(state)
        self.changed = True
        return state

    def push(
        self,
        publication: str,
        period: str,
        release: str,
        files: list[Path],
        *,
        schema: dict[str, str],
        key: list[str],
        measure: str | None,
    ) -> mf.PeriodState:
        """Push a state made of exactly `files` (no replacement by key): for derived data rebuilt state by state
        beside the stack it is derived from (`gpaccess store upgrade`)."""
        self.ensure_publication(publication, schema, key, measure)
        state = self._summarise(publication, period, release, [self.rel(f) for f in files], key, measure)
        self.manifest.publications[publication].periods.setdefault(period, []).append(state)
        self.changed = True
        return state

    def _summarise(
        self,
        publication: str,
        period: str,
        release: str,
        files: list[str],
        key: list[str],
        measure: str | None,
    ) -> mf.PeriodState:
        t = self.warehouse.con.read_parquet([str(self.warehouse.data_dir / f) for f in files])
        aggs: dict[str, Any] = {"rows": t.count()}
        if measure:
            aggs["total"] = t[measure].sum()
        if len(key) == 1:
            aggs["keys"] = t[key[0]].nunique()
        got = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
        if len(key) > 1:  # a distinct over several columns is its own relation: count it on its own
            got["keys"] = t.select(*key).distinct().count().to_pyarrow().as_py()
        total = got.get("total")
        return mf.PeriodState(
            release=release,
            files=files,
            rows=int(got["rows"]),
            total=float(total) if total is not None else None,
            keys=int(got.get("keys") or 0),
        )

    def record(self, release: mf.Release) -> None:
        self.manifest.releases.append(release)
        self.changed = True

    def pop(self, publication: str, period: str) -> mf.PeriodState:
        """Take a period's top state off its stack (rollback). It is retired, not forgotten: readers holding an
        older snapshot keep reading it through the grace period, and a pin keeps it for good."""
        stack = self.manifest.publications[publication].periods[period]
        state = stack.pop()
        self.changed = True
        if not stack:
            del self.manifest.publications[publication].periods[period]
        self.manifest.retired.append(mf.RetiredState(publication, period, state, self.warehouse.config.clock()))
        return state

    def discard(self) -> None:
        for folder in self.staged_dirs:
            shutil.rmtree(folder, ignore_errors=True)

    def commit(self) -> None:
        """Make everything staged visible in one manifest swap, after the staged files and their folders are
        on disk (a crash after the swap must never leave the manifest naming a file that was not flushed).
        Nothing changed (every file already ingested): leave the manifest untouched."""
        if not self.changed:
            return
        self._flush_staged()
        _pause(self.warehouse.config, "swap")
        self.manifest.generation += 1
        mf.save_atomically(self.manifest, self.warehouse.manifest_path)

    def _flush_staged(self) -> None:
        data_dir = self.warehouse.data_dir
        folders: set[Path] = set()
        for folder in self.staged_dirs:
            if not folder.exists():
                continue
            for f in folder.iterdir():
                if f.is_file():
                    mf.fsync_path(f)
            # The release folder and the period and publication folders above it may all be new.
            while folder != data_dir.parent and folder.is_relative_to(data_dir.parent):
                folders.add(folder)
                folder = folder.parent
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            mf.fsync_path(folder)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pause_point(config: StoreConfig, point: str) -> None:
    _pause(config, point)
