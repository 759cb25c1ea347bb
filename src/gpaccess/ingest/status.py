"""What the store holds, for `gpaccess status` (and later the web app): plain data, no formatting."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gpaccess.storage.warehouse import Warehouse


def store_status(warehouse: Warehouse) -> dict[str, Any]:
    manifest = warehouse.manifest()
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
        "store": str(warehouse.root),
        "generation": manifest.generation,
        "publications": pubs,
        "releases": [asdict(r) for r in manifest.releases],
    }
