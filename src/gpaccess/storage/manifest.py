"""The manifest: the single file that says which Parquet files make up the store right now.

Every write puts new Parquet files in fresh folders that nothing references, then replaces `manifest.json` in
one `os.replace` (atomic on POSIX). A reader loads the manifest once (a `Snapshot`), so it sees the store either
wholly before or wholly after an ingest, and a process killed mid-ingest leaves only unreferenced files, which
the next writer sweeps away. Spark can read the same manifest and files (docs/deployment.md, "Reading a
snapshot from Spark directly").

Each (publication, period) keeps a stack of states, newest last: the top is visible, the ones below are the
replaced rows that `rollback` restores. A state a rollback takes off the stack is not forgotten: it moves to
`retired` with the time it stopped being visible, so a reader still holding an older snapshot keeps reading it
for the grace period, and a stored cohort run that pinned it can read the store as it was (`as_of`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1 (the first release) had no retired states; it is read as format 2

# {publication: {period: release id}}: what a snapshot shows, as a cohort run records it.
Versions = dict[str, dict[str, str]]


@dataclass
class PeriodState:
    """The visible contents of one period of one publication after one release."""

    release: str
    files: list[str]  # relative to the store's data folder
    rows: int
    total: float | None  # sum of the publication's measure column (appointments, patients), for checks
    keys: int  # distinct key values (practices) in the period


@dataclass
class Publication:
    schema: dict[str, str]
    key: list[str]
    measure: str | None
    periods: dict[str, list[PeriodState]] = field(default_factory=dict)

    def current(self, period: str) -> PeriodState | None:
        stack = self.periods.get(period)
        return stack[-1] if stack else None


@dataclass
class RetiredState:
    """A state a rollback took off its stack: kept (with its files) while a grace period runs or a pin holds it."""

    publication: str
    period: str
    state: PeriodState
    retired_at: float  # seconds since the epoch, from the store's clock


@dataclass
class Source:
    name: str
    sha256: str
    bytes: int


@dataclass
class Release:
    """One ingest call: what came in, what it touched, and the checks it passed (the `ingests` table)."""

    id: str
    sources: list[Source]
    ingested_at: str
    touched: dict[str, list[str]]  # publication -> periods
    rows: int
    total: float | None
    checks: dict[str, Any]
    status: str = "applied"  # "applied" or "rolled back" (stores of the first format may say "partly rolled back")
    user: str | None = None


@dataclass
class Manifest:
    generation: int = 0
    publications: dict[str, Publication] = field(default_factory=dict)
    releases: list[Release] = field(default_factory=list)
    retired: list[RetiredState] = field(default_factory=list)

    def referenced_files(self) -> set[str]:
        """Files of every state on a stack (visible or restorable by rollback)."""
        return {
            f
            for pub in self.publications.values()
            for stack in pub.periods.values()
            for state in stack
            for f in state.files
        }

    def release(self, release_id: str) -> Release:
        for r in self.releases:
            if r.id == release_id:
                return r
        raise KeyError(release_id)

    def applied_releases(self) -> set[str]:
        return {s.release for pub in self.publications.values() for st in pub.periods.values() for s in st}

    def versions(self) -> Versions:
        """The release on top of every non-empty (publication, period): exactly what a reader sees."""
        return {
            name: {period: stack[-1].release for period, stack in sorted(pub.periods.items()) if stack}
            for name, pub in sorted(self.publications.items())
            if any(pub.periods.values())
        }

    def find_state(self, publication: str, period: str, release: str) -> PeriodState | None:
        """The state a release gave a period, whether still on its stack or retired by a rollback."""
        pub = self.publications.get(publication)
        for state in pub.periods.get(period, []) if pub else []:
            if state.release == release:
                return state
        for r in self.retired:
            if (r.publication, r.period, r.state.release) == (publication, period, release):
                return r.state
        return None


def _publication_from_dict(d: dict[str, Any]) -> Publication:
    periods = {p: [PeriodState(**s) for s in stack] for p, stack in d["periods"].items()}
    return Publication(schema=d["schema"], key=d["key"], measure=d["measure"], periods=periods)


def _release_from_dict(d: dict[str, Any]) -> Release:
    return Release(**{**d, "sources": [Source(**s) for s in d["sources"]]})


def _retired_from_dict(d: dict[str, Any]) -> RetiredState:
    return RetiredState(**{**d, "state": PeriodState(**d["state"])})


class ManifestFormatError(RuntimeError):
    """The manifest was written by a newer gpaccess (or is not a gpaccess manifest)."""


def load(path: Path) -> Manifest:
    if not path.exists():
        return Manifest()
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") not in READABLE_FORMATS:
        raise ManifestFormatError(
            f"{path}: manifest format {raw.get('format')} is not one this gpaccess reads ({READABLE_FORMATS}); "
            "upgrade gpaccess"
        )
    return Manifest(
        generation=raw["generation"],
        publications={k: _publication_from_dict(v) for k, v in raw["publications"].items()},
        releases=[_release_from_dict(r) for r in raw["releases"]],
        retired=[_retired_from_dict(r) for r in raw.get("retired", [])],
    )


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_atomically(manifest: Manifest, path: Path) -> None:
    """Write beside the target, flush to disk, then rename over it: readers see old or new, never half."""
    body = {"format": FORMAT, **asdict(manifest)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)
