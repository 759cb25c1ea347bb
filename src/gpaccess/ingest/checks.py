"""Checks after each load: what was stored must add up to what the file said, and parts of a month must not
overlap. Results are logged with the release (the `ingests` table), so `status` can show them later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis

from gpaccess.errors import InputFileError, Problem
from gpaccess.ingest.normalise import Loaded
from gpaccess.ingest.republication import fingerprint
from gpaccess.storage.warehouse import Transaction

# The publication column holding each stored publication's total, where it has one.
_TOTAL_COLUMN = {
    "gpad_appointments": "count",
    "gpad_practices": "appointments",
    "gpad_practice_month": "appointments",
    "registrations": "patients",
}
_ROW_FOR_ROW = {"gpad_appointments", "gpad_mapping", "registrations"}


def verify(tx: Transaction, by_item: list[tuple[Loaded, str, list[Path]]]) -> dict[str, Any]:
    """Compare rows and totals written with the file's own; a mismatch is a bug, so it stops the release."""
    con = tx.warehouse.con
    results: dict[str, Any] = {}
    failures = []
    for item, publication, paths in by_item:
        t = con.read_parquet([str(p) for p in paths])
        total_col = _TOTAL_COLUMN.get(publication)
        got = t.aggregate(rows=t.count(), **({"total": t[total_col].sum()} if total_col else {}))
        stored = got.to_pyarrow().to_pylist()[0]
        entry: dict[str, Any] = {"file_rows": item.file_rows, "stored_rows": int(stored["rows"])}
        if item.shared_rows:
            entry["shared_with_an_earlier_file"] = item.shared_rows
        ok = publication not in _ROW_FOR_ROW or entry["file_rows"] - item.shared_rows == entry["stored_rows"]
        if total_col:
            entry |= {"file_total": item.file_total, "stored_total": int(stored["total"] or 0)}
            ok = ok and entry["file_total"] == entry["stored_total"]
        entry["ok"] = ok
        results[f"{item.member.display} -> {publication}"] = entry
        if not ok:
            failures.append(
                Problem(item.member.display, None, None, f"stored {publication} to match the file", str(entry))
            )
    if failures:
        raise InputFileError(failures, "totals stored do not match the file; nothing was stored")
    return results


def disjoint_parts(
    tx: Transaction, parts: dict[tuple[str, str], list[Path]], owners: dict[tuple[str, str], list[Loaded]]
) -> None:
    """Regional files of one month hold disjoint practices; the same practice twice would double-count it."""
    con = tx.warehouse.con
    problems = []
    for (publication, period), paths in parts.items():
        if len(paths) < 2 or publication != "gpad_appointments":
            continue
        seen: dict[str, str] = {}
        for path, item in zip(paths, owners[(publication, period)], strict=True):
            codes = con.read_parquet(str(path)).select("practice_code").distinct().to_pyarrow().column(0).to_pylist()
            clash = [c for c in codes if c in seen]
            if clash:
                problems.append(
                    Problem(
                        item.member.display,
                        None,
                        "GP_CODE",
                        f"practices not already in {seen[clash[0]]} for {period} (regional parts are disjoint)",
                        ", ".join(sorted(clash)[:5]) + (" ..." if len(clash) > 5 else ""),
                    )
                )
            seen.update(dict.fromkeys(codes, item.member.display))
    if problems:
        raise InputFileError(
            problems, "the same practice-month appears in two files of one release; nothing was stored"
        )


def union_mappings(tx: Transaction, period: str, release: str, paths: list[Path], items: list[Loaded]) -> list[Path]:
    """Several Mapping.csv of one release for one month make one mapping: their union. They must agree about
    every practice they share (the same rows), else the release is refused naming both files; a practice they
    agree on is stored once (dropped from the later parts, which are rewritten). Returns the parts to store."""
    con = tx.warehouse.con
    tables = [con.read_parquet(str(p)) for p in paths]
    columns = [c for c in tables[0].columns if c != "month"]
    t = ibis.union(*[tb.mutate(part=ibis.literal(i)) for i, tb in enumerate(tables)])
    per = t.group_by(["practice_code", "part"]).aggregate(rows=t.count(), print=fingerprint(t, columns).sum())
    shared = per.group_by("practice_code").aggregate(
        parts=per.count(),
        versions=(per.rows.cast("string") + ":" + per.print.cast("string")).nunique(),
        first=per.part.min(),
        last=per.part.max(),
    )
    shared = shared.filter(shared.parts > 1)
    clashes = shared.filter(shared.versions > 1).order_by("practice_code").limit(100).to_pyarrow().to_pylist()
    if clashes:
        problems = [
            Problem(
                items[r["last"]].member.display,
                None,
                "GP_CODE",
                f"the same rows for practice {r['practice_code']} as {items[r['first']].member.display} "
                f"(the Mapping.csv files of one release for {period} must agree)",
                r["practice_code"],
            )
            for r in clashes
        ]
        raise InputFileError(problems, "Mapping.csv files of one release disagree about a practice; nothing was stored")
    repeated = per.join(shared, "practice_code").filter(lambda j: j.part > j.first)
    dropped = {
        r["part"]: r["n"] for r in repeated.group_by("part").aggregate(n=repeated.rows.sum()).to_pyarrow().to_pylist()
    }
    out = list(paths)
    for i, n in dropped.items():
        earlier = ibis.union(*[tables[j].select("practice_code") for j in range(i)]).distinct()
        out[i] = tx.staging_path("gpad_mapping", period, release)
        con.to_parquet(tables[i].anti_join(earlier, "practice_code"), out[i], compression="zstd")
        items[i].shared_rows = int(n)
    return out
