"""Export a snapshot to Delta Lake tables, for platforms that want Delta rather than the store's Parquet.

One Delta table per publication (`<out>/<publication>/`), holding the snapshot's visible rows, partitioned by
month where the publication has one; beside them `gpaccess_snapshot.json` records the snapshot's generation
and versions (the release on top of every period), so a table can be traced to the store it came from. Written
with the `deltalake` package (delta-rs) through Arrow: no Spark or JVM is needed to write. Each export
overwrites the tables as a new Delta version, so a platform reading them keeps Delta's own history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gpaccess.errors import ConfigError, UserError
from gpaccess.storage.snapshot import Snapshot

SNAPSHOT_FILE = "gpaccess_snapshot.json"


class DeltaUnavailableError(ConfigError):
    """Delta export without the deltalake package installed."""


@dataclass
class DeltaExport:
    out: Path
    tables: dict[str, int] = field(default_factory=dict)  # publication -> rows written


def export_delta(snapshot: Snapshot, out: Path, publications: list[str] | None = None) -> DeltaExport:
    try:
        from deltalake import write_deltalake
    except ImportError:
        raise DeltaUnavailableError(
            "exporting to Delta Lake needs the deltalake package: install gpaccess with the spark extra "
            "(pip install 'gpaccess[spark]')"
        ) from None
    names = publications or sorted(p for p in snapshot.manifest.publications if snapshot.has(p))
    unknown = [p for p in names if not snapshot.has(p)]
    if unknown:
        held = ", ".join(sorted(p for p in snapshot.manifest.publications if snapshot.has(p)))
        raise UserError(f"the store holds no rows of {', '.join(unknown)}; it holds: {held or 'nothing yet'}")
    out.mkdir(parents=True, exist_ok=True)
    result = DeltaExport(out=out)
    for name in names:
        files = snapshot.files(name)
        # Files written by older releases may lack a newer column: read them by name, missing ones as null.
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
        dataset = ds.dataset(files, schema=schema, format="parquet")
        partition = ["month"] if "month" in schema.names else None
        write_deltalake(
            str(out / name),
            dataset.scanner().to_reader(),
            mode="overwrite",
            partition_by=partition,
            schema_mode="overwrite",
        )
        states = [snapshot.state(name, p) for p in snapshot.periods(name)]
        result.tables[name] = sum(s.rows for s in states if s is not None)
    record = {"generation": snapshot.generation, "versions": snapshot.versions(), "tables": result.tables}
    (out / SNAPSHOT_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return result
