"""The manifest: the single file that says which Parquet files make up the store right now.

Every write puts new Parquet files in fresh folders that nothing references, then replaces `manifest.json` in
one `os.replace` (atomic on POSIX). A reader loads the manifest once per query, so it sees the store either
wholly before or wholly after an ingest, and a process killed mid-ingest leaves only unreferenced files,
which the next writer sweeps away. Spark can read the same manifest and files later.

Each (publication, period) keeps a stack of states, newest last: the top is visible, the ones below are the
replaced rows that `rollback` restores.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1


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
    status: str = "applied"  # "applied" or "rolled back"
    user: str | None = None


@dataclass
class Manifest:
    generation: int = 0
    publications: dict[str, Publication] = field(default_factory=dict)
    releases: list[Release] = field(default_factory=list)

    def referenced_files(self) -> set[str]:
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


def _publication_from_dict(d: dict[str, Any]) -> Publication:
    periods = {p: [PeriodState(**s) for s in stack] for p, stack in d["periods"].items()}
    return Publication(schema=d["schema"], key=d["key"], measure=d["measure"], periods=periods)


def _release_from_dict(d: dict[str, Any]) -> Release:
    return Release(**{**d, "sources": [Source(**s) for s in d["sources"]]})


def load(path: Path) -> Manifest:
    if not path.exists():
        return Manifest()
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise RuntimeError(f"{path}: manifest format {raw.get('format')} is not {FORMAT}")
    return Manifest(
        generation=raw["generation"],
        publications={k: _publication_from_dict(v) for k, v in raw["publications"].items()},
        releases=[_release_from_dict(r) for r in raw["releases"]],
    )


def save_atomically(manifest: Manifest, path: Path) -> None:
    """Write beside the target, flush to disk, then rename over it: readers see old or new, never half."""
    body = {"format": FORMAT, **asdict(manifest)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
