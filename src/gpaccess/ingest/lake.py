"""The practice-month aggregate built from a lake table of GPAD rows a platform already holds.

A national platform keeps every month's GPAD appointment rows in its lake (a catalog table, a Delta folder or a
folder of Parquet). Copying them into the store would double them; what the measures read is the practice-month
aggregate (`ingest/aggregate.py`), so this builds that aggregate from the lake rows with the same Ibis
expression ingest uses, on the engine that reads (Spark with GPACCESS_ENGINE=spark), and writes it with the
practice directory rows as one release of the store. CSV parsing never happens here: the lake rows are already
typed.

The rows need gpaccess's column names (`month`, `practice_code`, `hcp_type`, `appt_mode`, `national_category`,
`time_band`, `appt_status`, `count`, and the practice columns of the crosstab: `practice_name`, `supplier`,
`pcn_code`, `pcn_name`, `sub_icb_code`, `sub_icb_name`) and the vocabularies' canonical labels; anything else is
refused with every unknown value listed. A lake table has no file to hash, so the release's identity is the
table's name and, per month, its row count and appointment total: building again from unchanged rows is a
no-op, and a month whose rows changed is a new release that replaces it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pyarrow.parquet as pq

from gpaccess.errors import UserError
from gpaccess.ingest import aggregate
from gpaccess.ingest.load import APPOINTMENT_COLUMNS, PRACTICE_COLUMNS, PRACTICES, _layout
from gpaccess.ingest.schemas import vocabularies
from gpaccess.storage.manifest import Release, Source
from gpaccess.storage.periods import month_key
from gpaccess.storage.warehouse import Warehouse, now_iso

VOCABULARY_COLUMNS = ("hcp_type", "appt_mode", "national_category", "time_band", "appt_status")
REQUIRED = list(dict.fromkeys([*APPOINTMENT_COLUMNS, *PRACTICE_COLUMNS]))


class LakeTableError(UserError):
    """The lake table lacks a column gpaccess needs, or holds a value no vocabulary knows."""

    exit_code = 8  # as InputFileError: the input was refused, every problem listed


@dataclass
class LakeResult:
    source: str
    release: str | None
    months: list[str] = field(default_factory=list)
    rows: int = 0
    appointments: int = 0
    already: bool = False


def _check(t) -> None:
    missing = [c for c in REQUIRED if c not in t.columns]
    if missing:
        raise LakeTableError(
            f"the lake table has no column {', '.join(missing)}; it needs gpaccess's column names "
            f"({', '.join(REQUIRED)}) — rename them in a view over the table and build from the view"
        )
    vocabs = vocabularies()
    unknown: list[str] = []
    for column in VOCABULARY_COLUMNS:
        found = t.select(column).distinct().to_pyarrow().column(0).to_pylist()
        known = set(vocabs[column].canonical)
        bad = sorted(str(v) for v in found if v not in known)
        if bad:
            unknown.append(f"{column}: {', '.join(repr(v) for v in bad[:10])}" + (" ..." if len(bad) > 10 else ""))
    if unknown:
        raise LakeTableError(
            "the lake table holds values no vocabulary knows — "
            + "; ".join(unknown)
            + ". Map them to the canonical labels (or add a spelling in src/gpaccess/ingest/vocabularies.toml)"
        )


def build_from_lake(
    warehouse: Warehouse,
    source: str,
    *,
    user: str,
    months: list[date] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LakeResult:
    """Build the practice-month aggregate and the practice rows of `source` (every month, or `months`) as one
    release. Reading and aggregating run on the warehouse's read engine; the store is written locally."""
    say = progress or (lambda _msg: None)
    say(f"reading {source}")
    rows = warehouse.lake_table(source)
    _check(rows)
    per_month = rows.group_by("month").aggregate(rows=rows.count(), appointments=rows["count"].sum()).to_pandas()
    per_month["month"] = [m if isinstance(m, date) else m.date() for m in per_month["month"]]
    if months is not None:
        absent = sorted(set(months) - set(per_month["month"]))
        if absent:
            raise LakeTableError(f"the lake table holds no rows for {', '.join(month_key(m) for m in absent)}")
        per_month = per_month[per_month["month"].isin(months)]
    per_month = per_month.sort_values("month").reset_index(drop=True)
    result = LakeResult(source=source, release=None)
    if per_month.empty:
        raise LakeTableError(f"the lake table {source} holds no rows")
    identity = "\n".join(
        [source, *(f"{month_key(m)} {int(r)} {int(a)}" for m, r, a in per_month.itertuples(index=False))]
    )
    lake_source = Source(
        name=f"lake:{source}", sha256=hashlib.sha256(identity.encode()).hexdigest(), bytes=int(per_month.rows.sum())
    )
    result.months = [month_key(m) for m in per_month["month"]]
    result.rows = int(per_month.rows.sum())
    result.appointments = int(per_month.appointments.sum())
    with warehouse.transaction(user) as tx:
        applied = tx.manifest.applied_releases()
        if any(s.sha256 == lake_source.sha256 for r in tx.manifest.releases if r.id in applied for s in r.sources):
            result.already = True
            return result
        release = tx.new_release_id([lake_source])
        touched: dict[str, list[str]] = {}
        for m in per_month["month"]:
            period = month_key(m)
            in_month = rows.filter(rows.month == m)
            outputs = {
                aggregate.PUBLICATION: aggregate.practice_month_aggregate(in_month),
                PRACTICES: in_month.group_by(PRACTICE_COLUMNS).aggregate(appointments=in_month["count"].sum()),
            }
            for publication, expr in outputs.items():
                say(f"building {publication} {period}")
                schema, key, measure = _layout(publication)
                table = expr.select(*[expr[c].cast(t).name(c) for c, t in schema.items()]).to_pyarrow()
                path = tx.staging_path(publication, period, release)
                pq.write_table(table, path, compression="zstd", row_group_size=262_144)
                tx.put(publication, period, release, [path], schema=schema, key=key, measure=measure)
                touched.setdefault(publication, []).append(period)
        tx.record(
            Release(
                id=release,
                sources=[lake_source],
                ingested_at=now_iso(),
                touched=touched,
                rows=result.rows,
                total=float(result.appointments),
                checks={"lake": {"source": source, "months": result.months}},
                user=user,
            )
        )
        result.release = release
    return result
