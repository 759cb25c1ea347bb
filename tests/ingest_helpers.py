"""Test helpers for ingest: building published-style zips and fingerprinting what the store answers."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from gpaccess.storage.warehouse import Warehouse


def make_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body.read_bytes() if isinstance(body, Path) else body)
    return path


def answers(wh: Warehouse) -> dict[str, Any]:
    """Every query a reader might make, reduced to comparable values: rows per publication, month and
    practice, and the totals, from one snapshot. Two stores with equal answers are indistinguishable to
    readers."""
    out: dict[str, Any] = {"manifest_generation": wh.manifest().generation}
    snapshot = wh.snapshot()
    for pub in sorted(snapshot.manifest.publications):
        if not snapshot.has(pub):  # no period visible (all rolled back): to readers, never stored
            continue
        t = snapshot.table(pub)
        measure = snapshot.manifest.publications[pub].measure
        aggs = {"rows": t.count()}
        if measure:
            aggs["total"] = t[measure].sum()
        grouped = t.group_by(["month", "practice_code"]).aggregate(**aggs).to_pandas()
        out[pub] = sorted(
            (str(r.month), r.practice_code, int(r.rows), int(getattr(r, "total", 0) or 0)) for r in grouped.itertuples()
        )
    return out
