"""Read a published CSV into the engine with its dialect and column types declared, never sniffed.

DuckDB's sniffer can miss the quoting of names with commas when the first quoted name is far into a national
file (domain.md B1), so the dialect is stated. Rows the reader cannot parse (a row cut short, a bad number,
bytes that are not UTF-8) are collected with their line and column instead of stopping at the first, so the
user sees every problem at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis.expr.types as ir


@dataclass(frozen=True)
class Reject:
    line: int
    column: str | None
    error_type: str
    message: str
    csv_line: str


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_csv_declared(
    con: Any, path: Path, columns: list[tuple[str, str]], *, materialise: bool = True
) -> tuple[ir.Table, list[Reject]]:
    """Load `path` (header on line 1) with `columns` = [(name, duckdb type)] in file order.

    Returns the table (materialised in memory once, so later passes don't re-parse the CSV) and the
    rejected rows with their 1-based line numbers (the header is line 1).
    """
    raw = con.con  # the engine's own connection: reading files is the storage layer's job
    name = f"csv_{uuid.uuid4().hex[:12]}"
    cols = "{" + ", ".join(f"{_sql_str(n)}: {_sql_str(t)}" for n, t in columns) + "}"
    rejects_table, rejects_scan = f"{name}_rej", f"{name}_scan"
    source = (
        f"read_csv({_sql_str(str(path))}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {cols}, auto_detect = false, null_padding = false, strict_mode = true, "
        f"store_rejects = true, rejects_table = {_sql_str(rejects_table)}, "
        f"rejects_scan = {_sql_str(rejects_scan)}, max_line_size = 1048576, compression = 'none')"
    )
    kind = "TEMP TABLE" if materialise else "TEMP VIEW"
    raw.execute(f"CREATE {kind} {name} AS SELECT * FROM {source}")
    if not materialise:
        raw.execute(f"SELECT count(*) FROM {name}").fetchall()
    rows = raw.execute(
        f"SELECT line, column_name, error_type, error_message, csv_line FROM {rejects_table} ORDER BY line LIMIT 1000"
    ).fetchall()
    raw.execute(f"DROP TABLE IF EXISTS {rejects_table}")
    raw.execute(f"DROP TABLE IF EXISTS {rejects_scan}")
    rejects = [Reject(int(r[0]), r[1], str(r[2]), str(r[3]), str(r[4] or "")) for r in rows]
    return con.table(name), rejects


def drop(con: Any, raw: ir.Table) -> None:
    """Free a materialised CSV (the table `read_csv_declared` returned) once its rows are written to Parquet."""
    name = raw.get_name()
    con.con.execute(f"DROP TABLE IF EXISTS {name}")
    con.con.execute(f"DROP VIEW IF EXISTS {name}")
