"""Which Parquet files the store keeps, and pins that keep a recorded run's data readable.

A file stays while anything can still read it:
- a state on a stack references it (visible now, or restorable by rollback);
- a retired state references it and a pin names that state (a stored cohort run reads the store as it was);
- a retired state references it and it stopped being visible less than the grace period ago (a reader that
  took its snapshot before the rollback may still be reading it). The time is the one recorded in the
  manifest when the state was retired, never a folder's modification time.
Everything else goes: retired states past their grace, and files no manifest ever referenced (left by a
killed write; no snapshot can name them).

Pins are small JSON files under `store/pins/`, one per pinned snapshot, written atomically without the write
lock (so recording a run never waits for an ingest). A pin lists the snapshot's versions
({publication: {period: release}}). A pin that cannot be read keeps every retired state: the sweep never
deletes what it cannot prove unneeded.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gpaccess.storage.manifest import Manifest, RetiredState, Versions, fsync_path

PIN_SUFFIX = ".json"
_PIN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def pins_dir(root: Path) -> Path:
    return root / "pins"


def write_pin(root: Path, name: str, versions: Versions) -> Path:
    """Pin a snapshot's versions under `name` (letters, digits, `_.-`); replaces a pin of the same name."""
    if not _PIN_NAME.match(name):
        raise ValueError(f"pin name {name!r}: letters, digits, '_', '.' or '-' only")
    folder = pins_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{PIN_SUFFIX}"
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"versions": versions}, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(folder)
    return path


def remove_pin(root: Path, name: str) -> bool:
    path = pins_dir(root) / f"{name}{PIN_SUFFIX}"
    if path.exists():
        path.unlink()
        return True
    return False


@dataclass(frozen=True)
class Pins:
    states: frozenset[tuple[str, str, str]]  # (publication, period, release)
    unreadable: tuple[str, ...] = ()  # pins that could not be parsed: keep everything retired


def read_pins(root: Path) -> Pins:
    states: set[tuple[str, str, str]] = set()
    bad: list[str] = []
    folder = pins_dir(root)
    for path in sorted(folder.glob(f"*{PIN_SUFFIX}")) if folder.exists() else []:
        try:
            versions = json.loads(path.read_text(encoding="utf-8"))["versions"]
            for pub, periods in versions.items():
                for period, release in periods.items():
                    states.add((str(pub), str(period), str(release)))
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            bad.append(path.name)
    return Pins(frozenset(states), tuple(bad))


@dataclass
class SweepPlan:
    keep_retired: list[RetiredState]
    dropped: list[RetiredState] = field(default_factory=list)  # retired states whose files may go
    expired: list[Path] = field(default_factory=list)  # files of dropped states: deleted after the swap
    orphans: list[Path] = field(default_factory=list)  # files no manifest names: deleted before any write

    @property
    def changes_manifest(self) -> bool:
        return bool(self.dropped)

    @property
    def delete(self) -> list[Path]:
        return sorted(self.expired + self.orphans)


def plan_sweep(manifest: Manifest, data_dir: Path, pins: Pins, *, now: float, grace_seconds: float) -> SweepPlan:
    """Decide what a sweep removes; nothing is deleted here (the transaction deletes after its swap)."""
    keep, dropped = [], []
    for r in manifest.retired:
        pinned = (r.publication, r.period, r.state.release) in pins.states
        if pinned or pins.unreadable or now - r.retired_at < grace_seconds:
            keep.append(r)
        else:
            dropped.append(r)
    wanted = manifest.referenced_files() | {f for r in keep for f in r.state.files}
    named = wanted | {f for r in dropped for f in r.state.files}
    plan = SweepPlan(keep_retired=keep, dropped=dropped)
    if data_dir.exists():
        for path in sorted(data_dir.rglob("*")):
            rel = str(path.relative_to(data_dir)) if path.is_file() else None
            if rel is None or rel in wanted:
                continue
            (plan.expired if rel in named else plan.orphans).append(path)
    return plan


def delete_files(paths: list[Path], data_dir: Path) -> int:
    """Remove files and any folders they leave empty; returns how many files went.

    Orphans go before a transaction writes anything (a write after a killed one may reuse its release
    folder); files of expired states go after the swap that stops naming them."""
    removed = 0
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    for folder in sorted({p.parent for p in paths}, key=lambda p: len(p.parts), reverse=True):
        while folder != data_dir and folder.is_relative_to(data_dir):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
    return removed
