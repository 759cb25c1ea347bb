"""A snapshot: the manifest as read once, and every read of the store through it.

Everything a command or request computes comes from one snapshot (DESIGN "Snapshots and retention"), so a
measure or cohort run never mixes releases while an ingest swaps the manifest: `has`, `periods` and `table`
answer from the manifest the snapshot holds, never from the file on disk. What a run records are the
snapshot's `versions()`; `Warehouse.snapshot(as_of=versions)` reads the store as it was for that run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpaccess.errors import NotFoundError
from gpaccess.storage.manifest import Manifest, PeriodState, Publication, Versions

if TYPE_CHECKING:  # Ibis loads with the first table read: a reader of kept frames (storage/derived.py) never needs it
    import ibis.expr.types as ir

    from gpaccess.storage.warehouse import Warehouse


class StateGoneError(NotFoundError):
    """A recorded run names rows the store no longer holds (never pinned, and swept)."""


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the store: one manifest, read once. Never mutate `manifest`."""

    warehouse: Warehouse
    manifest: Manifest
    as_of: bool = False  # True: rebuilt from a recorded run's versions, not the store's current state

    @property
    def generation(self) -> int:
        return self.manifest.generation

    @property
    def root(self) -> Path:
        return self.warehouse.root

    @property
    def con(self) -> Any:
        """The Ibis backend this snapshot reads with (DuckDB, or Spark with `GPACCESS_ENGINE=spark`)."""
        return self.warehouse.reader

    @property
    def engine(self) -> str:
        return self.warehouse.config.engine

    def has(self, publication: str) -> bool:
        pub = self.manifest.publications.get(publication)
        return bool(pub and any(pub.periods.values()))

    def periods(self, publication: str) -> list[str]:
        pub = self.manifest.publications.get(publication)
        return sorted(p for p, stack in (pub.periods.items() if pub else []) if stack)

    def state(self, publication: str, period: str) -> PeriodState | None:
        pub = self.manifest.publications.get(publication)
        return pub.current(period) if pub else None

    def versions(self) -> Versions:
        return self.manifest.versions()

    def files(self, publication: str, periods: list[str] | None = None) -> list[str]:
        """Absolute paths of the visible Parquet files of a publication (optionally some periods only)."""
        pub = self.manifest.publications.get(publication)
        if pub is None:
            return []
        wanted = set(periods) if periods is not None else None
        return [
            str(self.warehouse.data_dir / f)
            for period, stack in sorted(pub.periods.items())
            if stack and (wanted is None or period in wanted)
            for f in stack[-1].files
        ]

    def table(self, publication: str, periods: list[str] | None = None, *, as_of: Versions | None = None) -> ir.Table:
        """The visible rows of a publication (optionally some periods only) as an Ibis table.

        `as_of` reads the rows a recorded run saw instead (its `versions`), whatever has happened since."""
        if as_of is not None:
            return self.warehouse.snapshot(as_of=as_of).table(publication, periods)
        pub = self.manifest.publications.get(publication)
        if pub is None:
            raise NotFoundError(
                f"the store at {self.root} holds no {publication} data yet: run `gpaccess ingest` first"
            )
        files = self.files(publication, periods)
        if not files:  # no rows (e.g. every period rolled back): an empty table of the stored types
            import ibis

            return ibis.memtable(ibis.schema(pub.schema).to_pyarrow().empty_table())
        return self._read(files, publication)

    def _read(self, files: list[str], name: str) -> ir.Table:
        if self.engine == "spark":
            from gpaccess.storage import spark

            return spark.read_parquet(self.con, files, name)
        return self.con.read_parquet(files, table_name=f"{name}_{uuid.uuid4().hex[:8]}", union_by_name=True)

    def release_table(self, release: str, publication: str, period: str) -> ir.Table:
        """Rows of one release's state (on the stack or retired), for audits and tests."""
        state = self.manifest.find_state(publication, period, release)
        if state is None:
            raise NotFoundError(f"release {release} holds no {publication} rows for {period}")
        return self._read([str(self.warehouse.data_dir / f) for f in state.files], publication)


def as_of_manifest(current: Manifest, versions: Versions) -> Manifest:
    """A manifest showing exactly `versions`: each recorded (publication, period) at its recorded release, taken
    from its stack or from the retired states; periods the record does not name are not visible."""
    publications: dict[str, Publication] = {}
    missing = []
    for name, periods in versions.items():
        pub = current.publications.get(name)
        view = Publication(
            schema=dict(pub.schema) if pub else {},
            key=list(pub.key) if pub else [],
            measure=pub.measure if pub else None,
        )
        for period, release in periods.items():
            state = current.find_state(name, period, release)
            if state is None:
                missing.append(f"{name} {period} (release {release})")
            else:
                view.periods[period] = [state]
        publications[name] = view
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise StateGoneError(
            f"the store no longer holds rows this record read: {shown}. They were not pinned and have been "
            "swept (rows a stored cohort run read are pinned from this version on)"
        )
    return Manifest(generation=current.generation, publications=publications, releases=current.releases, retired=[])
