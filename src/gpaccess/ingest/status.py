"""What the store holds, for `gpaccess status` (and later the web app): plain data, no formatting."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gpaccess.storage.snapshot import Snapshot


def store_status(snapshot: Snapshot) -> dict[str, Any]:
    manifest = snapshot.manifest
    pubs = []
    for name, pub in sorted(manifest.publications.items()):
        periods = [
            {
                "period": period,
                "rows": stack[-1].rows,
                "total": stack[-1].total,
                "keys": stack[-1].keys,
                "release": stack[-1].release,
                "history": len(stack) - 1,
                "releases": [s.release for s in stack],
            }
            for period, stack in sorted(pub.periods.items())
            if stack
        ]
        pubs.append({"name": name, "measure": pub.measure, "periods": periods})
    return {
        "store": str(snapshot.root),
        "generation": manifest.generation,
        "publications": pubs,
        "releases": [asdict(r) for r in manifest.releases],
    }


def ingests_table(snapshot: Snapshot) -> Any:
    """The `ingests` table (DESIGN data model): one row per source file of each release, with the publication
    months it touched, its rows, when, by whom, its status and whether its totals checks passed. It lives in the
    manifest, so it changes in the same atomic swap as the data it describes."""
    import ibis

    rows = []
    for r in snapshot.manifest.releases:
        months = sorted({m for periods in r.touched.values() for m in periods})
        for s in r.sources:
            rows.append(
                {
                    "file_sha256": s.sha256,
                    "file_name": s.name,
                    "release": r.id,
                    "publications": ",".join(sorted(r.touched)),
                    "months": ",".join(months),
                    "rows": r.rows,
                    "ingested_at": r.ingested_at,
                    "ingested_by": r.user or "",
                    "status": r.status,
                    "checks_passed": all(bool(c.get("ok", True)) for c in r.checks.values() if isinstance(c, dict)),
                }
            )
    schema = {
        "file_sha256": "string",
        "file_name": "string",
        "release": "string",
        "publications": "string",
        "months": "string",
        "rows": "int64",
        "ingested_at": "string",
        "ingested_by": "string",
        "status": "string",
        "checks_passed": "boolean",
    }
    return ibis.memtable(rows or {k: [] for k in schema}, schema=ibis.schema(schema))
