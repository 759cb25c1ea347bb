"""The analytical store: Parquet per publication, period and release, read through Ibis.

DuckDB is the default engine (in-process, nothing to install); the files and manifest are engine-neutral so
Spark can read them later. Only this module and `csvread` know which engine runs; the layers above receive
Ibis expressions.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from gpaccess.errors import NotFoundError, StoreBusyError
from gpaccess.storage import manifest as mf

# Files nothing references are swept by the next writer once they are this old: long enough that a reader
# which loaded the previous manifest has finished with them.
ORPHAN_GRACE_SECONDS = 600


@dataclass(frozen=True)
class StoreConfig:
    home: Path
    threads: int | None = None
    memory_limit: str = "2GB"
    pause_at: str | None = None  # test only: "write" or "swap"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _pause(config: StoreConfig, point: str) -> None:
    """Test-only pause point: announce and sleep so a test can kill a real ingest at this exact moment."""
    if config.pause_at == point:
        print(f"GPACCESS-PAUSED-AT {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


class Warehouse:
    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.root = config.home / "store"
        self.data_dir = self.root / "data"
        self.tmp_dir = self.root / "tmp"
        self.manifest_path = self.root / "manifest.json"
        self._con: Any = None

    # -- engine ---------------------------------------------------------------------------------------
    @property
    def con(self) -> Any:
        """A lazily opened in-memory DuckDB connection (the data itself lives in Parquet files)."""
        if self._con is None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            kwargs: dict[str, Any] = {
                "memory_limit": self.config.memory_limit,
                "temp_directory": str(self.tmp_dir),
                "preserve_insertion_order": False,
            }
            if self.config.threads:
                kwargs["threads"] = self.config.threads
            self._con = ibis.duckdb.connect(**kwargs)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.disconnect()
            self._con = None

    # -- reading --------------------------------------------------------------------------------------
    def manifest(self) -> mf.Manifest:
        return mf.load(self.manifest_path)

    def has(self, publication: str) -> bool:
        pub = self.manifest().publications.get(publication)
        return bool(pub and any(pub.periods.values()))

    def periods(self, publication: str) -> list[str]:
        pub = self.manifest().publications.get(publication)
        return sorted(p for p, stack in (pub.periods.items() if pub else []) if stack)

    def table(self, publication: str, periods: list[str] | None = None) -> ir.Table:
        """The visible rows of a publication (optionally some periods only) as an Ibis table."""
        manifest = self.manifest()
        pub = manifest.publications.get(publication)
        if pub is None:
            raise NotFoundError(
                f"the store at {self.root} holds no {publication} data yet: run `gpaccess ingest` first"
            )
        wanted = set(periods) if periods is not None else None
        files = [
            str(self.data_dir / f)
            for period, stack in sorted(pub.periods.items())
            if stack and (wanted is None or period in wanted)
            for f in stack[-1].files
        ]
        if not files:
            return ibis.memtable(_empty_frame(pub.schema), schema=ibis.schema(pub.schema))
        return self.con.read_parquet(files, table_name=f"{publication}_{uuid.uuid4().hex[:8]}")

    def release_table(self, release: str, publication: str, period: str) -> ir.Table:
        """Rows of one release's state (current or replaced), for audits and tests."""
        pub = self.manifest().publications[publication]
        for state in pub.periods.get(period, []):
            if state.release == release:
                return self.con.read_parquet([str(self.data_dir / f) for f in state.files])
        raise NotFoundError(f"release {release} holds no {publication} rows for {period}")

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
            manifest = self.manifest()
            self._sweep_orphans(manifest)
            tx = Transaction(self, manifest, user)
            try:
                yield tx
            except BaseException:
                tx.discard()
                raise
            tx.commit()

    def _sweep_orphans(self, manifest: mf.Manifest) -> None:
        """Delete release folders that no manifest references (left by a killed or failed write)."""
        if not self.data_dir.exists():
            return
        referenced = {str(Path(f).parent) for f in manifest.referenced_files()}
        now = time.time()
        for pub_dir in self.data_dir.iterdir():
            for period_dir in pub_dir.iterdir() if pub_dir.is_dir() else []:
                for release_dir in period_dir.iterdir() if period_dir.is_dir() else []:
                    rel = str(release_dir.relative_to(self.data_dir))
                    if rel not in referenced and now - release_dir.stat().st_mtime > ORPHAN_GRACE_SECONDS:
                        shutil.rmtree(release_dir, ignore_errors=True)


@dataclass
class Transaction:
    warehouse: Warehouse
    manifest: mf.Manifest
    user: str | None
    staged_dirs: list[Path] = field(default_factory=list)
    changed: bool = False
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
    ) -> mf.PeriodState:
        """Make `new_files` the newest rows of a period; rows of older states with other keys stay visible.

        A release holding practices already stored replaces exactly those practices' rows (a republished
        month); practices it does not hold keep their rows (a regional part of a month adds up).
        """
        pub = self.ensure_publication(publication, schema, key, measure)
        con = self.warehouse.con
        new = con.read_parquet([str(f) for f in new_files])
        files = [self.rel(f) for f in new_files]
        current = pub.current(period)
        if current is not None and current.files:
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
        stack = self.manifest.publications[publication].periods[period]
        state = stack.pop()
        self.changed = True
        if not stack:
            del self.manifest.publications[publication].periods[period]
        return state

    def discard(self) -> None:
        for folder in self.staged_dirs:
            shutil.rmtree(folder, ignore_errors=True)

    def commit(self) -> None:
        """Nothing changed (every file already ingested): leave the manifest untouched."""
        if not self.changed:
            return
        _pause(self.warehouse.config, "swap")
        self.manifest.generation += 1
        mf.save_atomically(self.manifest, self.warehouse.manifest_path)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def acting_user(explicit: str | None = None) -> str:
    """The CLI's acting user: `--as USER` when given, else the operating-system user."""
    if explicit:
        return explicit
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - non-POSIX
        return os.environ.get("USER", "unknown")


def pause_point(config: StoreConfig, point: str) -> None:
    _pause(config, point)


def _empty_frame(schema: dict[str, str]) -> dict[str, list[Any]]:
    return {name: [] for name in schema}
