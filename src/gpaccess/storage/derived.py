"""Frames derived from one store state, kept on disk so every process starts from them (`store/derived/`).

A command-line run is a fresh process: without this, each `gpaccess measures` or cohort run would recompute
every practice's window measures from the practice-month aggregate before reading one ICB's. A derived frame is
filed under a digest of everything it depends on (the releases it read, its window and settings, and the code
that computed it), so a changed input never finds a stale frame: an ingest, a republication or a rollback
changes the releases and so the digest. Nothing here is a source of truth — a missing, unreadable or
half-written file means "compute it" — so the sweep's rules for release files do not apply: the least recently
used entries past `ENTRIES` are removed when a new one is written, and a reader that finds its file gone
computes instead.

Writes go to a temporary file renamed into place: two processes deriving the same frame write equal content
and the last rename wins; a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ENTRIES = 64  # derived frames kept per store (a few store states × a window's frames)
SUFFIX = ".parquet"
log = logging.getLogger("gpaccess.storage.derived")


def digest(key: dict[str, Any]) -> str:
    """A stable name for what a frame depends on (JSON-serialisable; keys in any order)."""
    text = json.dumps(key, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


class DerivedFrames:
    """The derived frames of one store (`<store>/derived/`)."""

    def __init__(self, folder: Path, entries: int = ENTRIES) -> None:
        self.folder = folder
        self.entries = entries

    def path(self, key: dict[str, Any]) -> Path:
        return self.folder / f"{digest(key)}{SUFFIX}"

    def read(self, key: dict[str, Any]) -> pd.DataFrame | None:
        """The frame filed under `key`, or None when there is none (or it cannot be read: it is then derived
        again and replaced)."""
        path = self.path(key)
        try:
            frame = _read(path)
            os.utime(path)  # recently used: kept past the next prune
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged file is a cache miss, never an error the user sees
            log.warning("derived frame %s could not be read (%s): deriving it again", path.name, exc)
            return None
        return frame

    def write(self, key: dict[str, Any], frame: pd.DataFrame) -> Path | None:
        """File `frame` under `key` atomically, then drop the least recently used beyond `entries`. A store
        that cannot be written to (read-only, full) is left as it was: the frame is simply not kept."""
        path = self.path(key)
        tmp = self.folder / f".{path.stem}.{os.getpid()}.{id(frame)}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write(frame, tmp)
            os.replace(tmp, path)
        except Exception as exc:  # read-only or full disk, or a frame Parquet cannot hold: simply not kept
            log.warning("derived frame %s not kept (%s)", path.name, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return None
        self.prune()
        return path

    def get(self, key: dict[str, Any], derive: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The frame filed under `key`, derived (and kept) when there is none."""
        found = self.read(key)
        if found is not None:
            return found
        frame = derive()
        self.write(key, frame)
        return frame

    def prune(self) -> int:
        """Remove the least recently used frames beyond `entries`; returns how many went."""
        try:
            files = [(p.stat().st_mtime, p) for p in self.folder.glob(f"*{SUFFIX}")]
        except OSError:
            return 0
        removed = 0
        for _, path in sorted(files, reverse=True)[self.entries :]:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        return removed


DTYPES = b"gpaccess.dtypes"  # each column's pandas dtype, so a frame reads back exactly as it was written


def _write(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    dtypes = json.dumps({str(c): str(t) for c, t in frame.dtypes.items()}).encode()
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), DTYPES: dtypes}), path)


def _read(path: Path) -> pd.DataFrame:
    """A kept frame as it was written: list cells (a practice's data-quality reasons) come back as lists, not
    the arrays Parquet's reader gives, and each column has its written dtype (Parquet holds no second-resolution
    times, say)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read()  # one file: no dataset machinery to load
    frame = table.to_pandas()
    dtypes = json.loads((table.schema.metadata or {}).get(DTYPES, b"{}"))
    for name, kind in zip(table.schema.names, table.schema.types, strict=True):
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            frame[name] = pd.Series(table.column(name).to_pylist(), index=frame.index, dtype=object)
        elif name in dtypes and str(frame[name].dtype) != dtypes[name] and dtypes[name] != "object":
            frame[name] = frame[name].astype(dtypes[name])
    return frame
