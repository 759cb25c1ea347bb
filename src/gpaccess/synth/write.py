"""The published file formats: bytes exactly as the publisher writes them (domain.md B1, C1).

Crosstab and Mapping.csv: UTF-8 without BOM, CRLF, minimal quoting (only names containing a comma or a quote
are quoted). Registrations: the current `gp-reg-pat-prac-all` layout with ISO dates, LF as in the copies kept
in data/real. Zips are deterministic (fixed member dates and attributes), so the same inputs give the same
bytes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gpaccess.synth import vocab
from gpaccess.synth.model import CELL_BAND, CELL_CAT, CELL_HCP, N_CELL, N_MODE, Rows
from gpaccess.synth.structure import SUPPLIERS, Structure

CRLF = "\r\n"
ZIP_LEVEL = 1  # fast deflate: a national month in about a second, still ~8x smaller


def csv_field(value: str) -> str:
    """Minimal quoting, as published: quote only when the value holds a comma, a quote or a line break."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _line(fields: list[str] | tuple[str, ...], eol: str = CRLF) -> str:
    return ",".join(csv_field(f) for f in fields) + eol


_MIDDLE = pa.array(
    [
        _line(
            (
                vocab.HCP_TYPES[CELL_HCP[c]],
                vocab.APPT_MODES[m],
                vocab.NATIONAL_CATEGORIES[CELL_CAT[c]],
                vocab.BOOKING_BANDS[CELL_BAND[c]],
            ),
            eol=",",
        )
        for c in range(N_CELL)
        for m in range(N_MODE)
    ],
    pa.large_string(),
)
_STATUS = pa.array(["," + s + CRLF for s in vocab.APPT_STATUSES], pa.large_string())


def order_rows(s: Structure, rows: Rows) -> Rows:
    """Rows in practice-code order, then supplier, HCP type, category, band, mode, status."""
    rank = np.empty(s.n_practices, np.int64)
    rank[np.argsort(np.array(s.code))] = np.arange(s.n_practices)
    key = (((rank[rows.practice] * 16 + rows.supplier) * N_CELL + rows.cell) * N_MODE + rows.mode) * 3 + rows.status
    return rows.take(np.argsort(key, kind="stable"))


def practice_fields(s: Structure, p: int, supplier: int, t: int) -> list[str]:
    """GP_CODE .. SUB_ICB_LOCATION_NAME for practice p under `supplier` in month t."""
    pcn = int(np.where(t >= s.pcn_change_t[p], s.pcn1[p], s.pcn0[p]))
    sub = int(s.pcn_sub[pcn])
    return [
        s.code[p],
        s.name[p],
        SUPPLIERS[supplier],
        s.pcn_code[pcn],
        s.pcn_name[pcn],
        s.sub_code[sub],
        s.sub_name[sub],
    ]


def crosstab_csv(s: Structure, rows: Rows, month: str) -> bytes:
    """The practice-level crosstab for `rows` (already ordered), header included."""
    t = vocab.month_index(month)
    header = ",".join(vocab.CROSSTAB_COLUMNS) + CRLF
    if len(rows.count) == 0:
        return header.encode()
    pair = rows.practice * 16 + rows.supplier
    uniq, inv = np.unique(pair, return_inverse=True)
    date = vocab.crosstab_date(month)
    prefixes = pa.array(
        [_line([date, *practice_fields(s, int(k // 16), int(k % 16), t)], eol=",") for k in uniq],
        pa.large_string(),
    )
    body = pc.binary_join_element_wise(
        prefixes.take(pa.array(inv)),
        _MIDDLE.take(pa.array(rows.cell * N_MODE + rows.mode)),
        pc.cast(pa.array(rows.count), pa.large_string()),
        _STATUS.take(pa.array(rows.status)),
        pa.scalar("", pa.large_string()),
    )
    offsets = np.frombuffer(body.buffers()[1], np.int64)[body.offset : body.offset + len(body) + 1]
    data = body.buffers()[2]
    return b"".join([header.encode(), memoryview(data)[int(offsets[0]) : int(offsets[-1])]])


def mapping_csv(s: Structure, pairs: list[tuple[int, int]], t: int) -> bytes:
    """Mapping.csv: one row per (practice, supplier) of the month, in practice-code order."""
    out = [",".join(vocab.MAPPING_COLUMNS) + CRLF]
    for p, sup in sorted(pairs, key=lambda ps: (s.code[ps[0]], ps[1])):
        f = practice_fields(s, p, sup, t)
        sub = s.sub_code.index(f[5])
        icb = int(s.sub_icb[sub])
        reg = int(s.icb_region[icb])
        out.append(_line([*f, s.icb_code[icb], s.icb_name[icb], s.region_code[reg], s.region_name[reg]]))
    return "".join(out).encode()


def registrations_csv(s: Structure, idx: np.ndarray, sizes: np.ndarray, month: str) -> bytes:
    """gp-reg-pat-prac-all for the month: TYPE=GP, SEX=ALL, AGE=ALL, one row per open practice."""
    t = vocab.month_index(month)
    subs = s.sub_at(t)
    date = f"{month}-01"
    recs = sorted((s.sub_code[subs[p]], s.code[p], int(p), int(n)) for p, n in zip(idx, sizes, strict=True))
    out = [",".join(vocab.REGISTRATION_COLUMNS) + "\n"]
    for sub_code, code, p, n in recs:
        sub = int(subs[p])
        fields = ["GP_PRAC_PAT_LIST", date, "GP", sub_code, s.sub_ons[sub], code, s.postcode[p], "ALL", "ALL"]
        out.append(_line([*fields, str(n)], eol="\n"))
    return "".join(out).encode()


def publication_time(month: str) -> tuple[int, int, int, int, int, int]:
    """A fixed member date for the zip: the 13th of the following month, 09:30 (as the Oct 2025 zip)."""
    y, m = vocab.parse_month(month)
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return (max(y, 1980), m, 13, 9, 30, 0)


def write_zip(path: Path, members: list[tuple[str, bytes]], month: str) -> None:
    """A deterministic zip (same members -> same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=publication_time(month))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
    tmp.replace(path)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def table_csv(columns: dict[str, list[str]]) -> bytes:
    """A small LF CSV (truth.csv) from string columns."""
    names = list(columns)
    buf = io.StringIO()
    buf.write(_line(names, eol="\n"))
    for i in range(len(columns[names[0]]) if names else 0):
        buf.write(_line([columns[c][i] for c in names], eol="\n"))
    return buf.getvalue().encode()
