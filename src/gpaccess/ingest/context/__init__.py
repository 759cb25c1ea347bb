"""Context data: the datasets that put a practice's appointment figures in context (system baselines,
coverage, deprivation, rurality, online consultations, telephony, ODS, patient survey, workforce).

`ingest_files` routes each input here when `detect` recognises it; the rows then go through the same
warehouse transaction as GPAD (one release per call, re-ingest a no-op, rollback per period).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpaccess.errors import InputFileError, Problem
from gpaccess.ingest.context import online_consultation, telephony, xlsx
from gpaccess.ingest.context.base import FileRead, Probe, ReadOptions, is_gzip, name_disagrees
from gpaccess.ingest.context.coverage import read_coverage
from gpaccess.ingest.context.gpps import detect as detect_gpps
from gpaccess.ingest.context.gpps import read_gpps
from gpaccess.ingest.context.imd import read_imd
from gpaccess.ingest.context.ods import looks_like_epraccur, read_ods
from gpaccess.ingest.context.payments import read_payments, repair_header
from gpaccess.ingest.context.system import read_lookup, read_system
from gpaccess.ingest.context.tabular import CONTEXT_SECTIONS, best_publication
from gpaccess.ingest.context.workforce import read_workforce
from gpaccess.ingest.read import ZIP_MAGIC
from gpaccess.storage.manifest import Source
from gpaccess.storage.periods import month_from_filename

if TYPE_CHECKING:  # the engine and Arrow are loaded only to write: detecting a file needs neither
    from gpaccess.storage.warehouse import Transaction
from gpaccess.storage.files import sha256_file

Reader = Callable[[Probe, ReadOptions], FileRead]

CSV_READERS: dict[str, Reader] = {
    "gpad_system": read_system,
    "coverage": read_coverage,
    "ccg_icb_lookup": read_lookup,
    "imd": read_imd,
    "payments": read_payments,
    "gpps": read_gpps,
    "workforce": read_workforce,
}
assert set(CSV_READERS) == set(CONTEXT_SECTIONS)
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def _first_line(path: Path) -> list[str] | None:
    import csv
    import gzip

    opener: Any = gzip.open if is_gzip(path) else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline(1 << 16)
        text = first.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    return [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]


def _unreadable_excel(message: str) -> Reader:
    def read(probe: Probe, options: ReadOptions) -> FileRead:
        fr = FileRead(display=str(probe.path), kind="excel")
        fr.problems.append(Problem(str(probe.path), None, None, message, ", ".join(probe.sheets) or None))
        return fr

    return read


# Workbooks gpaccess reads, each recognised by its content (a sheet and its header), never by its name.
WORKBOOKS: tuple[tuple[str, Callable[[Probe], bool], Reader], ...] = (
    ("Cloud Based Telephony Publication Summary", telephony.detect, telephony.read_telephony),
    (
        "Submissions via Online Consultation Systems",
        online_consultation.detect,
        online_consultation.read_online_consultation,
    ),
)
WORKBOOK_LAYOUTS = (
    "'Table 2' with a header 'Month', 'GP Code', 'Submissions' (Submissions via Online Consultation Systems) or "
    "'Table 3' with a header 'Month', 'Answered' (Cloud Based Telephony Publication Summary)"
)


def _is_workbook(path: Path) -> bool:
    """An Excel workbook by its bytes: a zip holding `xl/workbook.xml`. A damaged zip counts as one only when
    it is named as a workbook (so it is refused as an unreadable workbook rather than as an unknown file)."""
    with open(path, "rb") as fh:
        if fh.read(4) != ZIP_MAGIC[0]:  # a local file header: an empty zip holds no workbook
            return False
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return path.suffix.lower() in EXCEL_SUFFIXES


def _detect_workbook(path: Path) -> tuple[Probe, Reader]:
    try:
        sheets = xlsx.sheet_names(path)
    except xlsx.WorkbookError as exc:
        return Probe(path, path.name, "xlsx", [], []), _unreadable_excel(f"a readable Excel workbook ({exc})")
    probe = Probe(path, path.name, "xlsx", [], sheets)
    found = [(title, reader) for title, sees, reader in WORKBOOKS if sees(probe)]
    if len(found) == 1:
        return probe, found[0][1]
    if found:  # pragma: no cover - no published workbook holds both tables
        both = " and ".join(title for title, _ in found)
        return probe, _unreadable_excel(f"one table gpaccess reads, not tables of both {both}")
    return probe, _unreadable_excel(f"an Excel file gpaccess reads: a sheet {WORKBOOK_LAYOUTS}")


def detect(path: Path) -> tuple[Probe, Reader] | None:
    """The context reader for `path`, or None when it is not context data (GPAD and list sizes go the
    established way, which also refuses unknown files with the list of known layouts). Everything is decided
    by the file's bytes: a workbook's sheets and headers, a CSV's header; never by its name."""
    if _is_workbook(path):
        return _detect_workbook(path)
    header = _first_line(path)
    if not header:
        return None
    probe = Probe(path, path.name, "csv", header, [])
    if looks_like_epraccur(header):
        return probe, read_ods
    if detect_gpps(probe):
        return probe, read_gpps
    name, share = best_publication(repair_header(header)[0])
    if share == 1.0 and name in CSV_READERS:
        return probe, CSV_READERS[name]
    return None


def source_of(path: Path, digest: str | None = None) -> Source:
    return Source(name=path.name, sha256=digest or sha256_file(path), bytes=path.stat().st_size)


# Readers whose rows carry their month: a name saying another month is noted, never obeyed.
CONTENT_MONTHS = frozenset({"gpad_system", "coverage", "online_consultation", "telephony"})


def read_all(detected: list[tuple[Probe, Reader]], options: ReadOptions, say: Callable[[str], None]) -> list[FileRead]:
    reads = []
    for probe, reader in detected:
        say(f"reading {probe.name}")
        fr = reader(probe, options)
        if not fr.problems and fr.file_rows == 0 and not fr.outputs:
            fr.problems.append(Problem(fr.display, None, None, "at least one data row", "no rows"))
        named = month_from_filename(probe.name)
        if fr.kind in CONTENT_MONTHS and (note := name_disagrees(named, sorted({o.period for o in fr.outputs}))):
            fr.notes.append(note)
        reads.append(fr)
    _clashes(reads)
    return reads


def _clashes(reads: list[FileRead]) -> None:
    """Two files of one release holding the same key in the same period would double-count it."""
    owner: dict[tuple[str, str, tuple[Any, ...]], str] = {}
    for fr in reads:
        if fr.problems:
            continue
        for out in fr.outputs:
            keys = {tuple(r[k] for k in out.layout.key) for r in out.rows}
            for key in keys:
                slot = (out.layout.publication, out.period, key)
                if slot in owner and owner[slot] != fr.display:
                    fr.problems.append(
                        Problem(
                            fr.display,
                            None,
                            None,
                            f"{out.layout.publication} {out.period} rows not already in {owner[slot]}",
                            "/".join(str(k) for k in key),
                        )
                    )
                    break
                owner[slot] = fr.display


def problems_of(reads: list[FileRead]) -> list[Problem]:
    return [p for fr in reads for p in fr.problems]


def write_all(
    tx: Transaction, release: str, reads: list[FileRead], say: Callable[[str], None]
) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, Path]]]]:
    """Write every output to unreferenced Parquet, then stack each period's files as its newest state."""
    import pyarrow.parquet as pq

    from gpaccess.storage.warehouse import pause_point

    parts: dict[tuple[str, str], list[Path]] = {}
    layouts = {}
    per_file: dict[str, list[tuple[str, Path]]] = {}
    for fr in reads:
        for out in fr.outputs:
            pub = out.layout.publication
            path = tx.staging_path(pub, out.period, release)
            say(f"writing {pub} {out.period}")
            pq.write_table(out.table(), path, compression="zstd")
            pause_point(tx.warehouse.config, "write")
            parts.setdefault((pub, out.period), []).append(path)
            layouts[pub] = out.layout
            per_file.setdefault(fr.display, []).append((pub, path))
    touched: dict[str, set[str]] = {}
    for (pub, period), files in sorted(parts.items()):
        lay = layouts[pub]
        tx.put(pub, period, release, files, schema=dict(lay.schema), key=list(lay.key), measure=lay.measure)
        touched.setdefault(pub, set()).add(period)
    return touched, per_file


def verify(tx: Transaction, reads: list[FileRead], per_file: dict[str, list[tuple[str, Path]]]) -> dict[str, Any]:
    """Rows and totals written must equal what each file itself said; a mismatch is a bug and stops the release."""
    import pyarrow.parquet as pq

    results: dict[str, Any] = {}
    failures = []
    for fr in reads:
        for pub, expected in fr.expected.items():
            paths = [str(p) for q, p in per_file.get(fr.display, []) if q == pub]
            stored_rows, stored_total = 0, 0.0
            if paths:
                table = pq.read_table(paths) if len(paths) > 1 else pq.read_table(paths[0])
                stored_rows = table.num_rows
                measure = next(o.layout.measure for o in fr.outputs if o.layout.publication == pub)
                if measure:
                    stored_total = float(sum(v for v in table.column(measure).to_pylist() if v is not None))
            entry: dict[str, Any] = {"file_rows": fr.file_rows, "stored_rows": stored_rows}
            ok = expected.get("rows") in (None, stored_rows) or (not expected.get("rows") and not paths)
            if expected.get("total") is not None:
                entry |= {"file_total": expected["total"], "stored_total": stored_total}
                ok = ok and abs(float(expected["total"] or 0) - stored_total) < 1e-6
            if fr.notes:
                entry["repairs"] = fr.notes
            entry["ok"] = ok
            results[f"{fr.display} -> {pub}"] = entry
            if not ok:
                failures.append(Problem(fr.display, None, None, f"stored {pub} to match the file", str(entry)))
    if failures:
        raise InputFileError(failures, "totals stored do not match the file; nothing was stored")
    return results
