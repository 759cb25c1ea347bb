"""System-level GPAD: the older CCG-level monthly files and the later sub-ICB files (daily, summed to months),
stored as `gpad_system` keyed by the system code within each month; and the CCG → ICB lookup.

CCG files (Mar 2019 – Aug 2021) are the only public 2019 appointments, so they are each system's
pre-pandemic baseline. CCG codes map to ICBs through `ccg_icb_lookup`, and to sub-ICB locations only where the
code is the same (DESIGN.md, Settled questions → Baseline).
"""

from __future__ import annotations

from typing import Any

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import FileRead, Layout, Probe, ReadOptions, as_count, as_month, as_text
from gpaccess.ingest.context.tabular import Cells, data_rows, resolve
from gpaccess.ingest.schemas import data_file_path, vocabularies
from gpaccess.storage.periods import month_key

SYSTEM = Layout(
    "gpad_system",
    {
        "month": "date",
        "system_code": "string",
        "system_level": "string",  # "ccg" (files to Sep 2022) or "sub_icb"
        "system_name": "string",
        "parent_ons_code": "string",  # STP (CCG files) or ICB (sub-ICB files) ONS code
        "region_ons_code": "string",
        "hcp_type": "string",
        "appt_mode": "string",
        "appt_status": "string",
        "time_band": "string",
        "count": "int64",
    },
    ("system_code",),
    "count",
)
LOOKUP = Layout("ccg_icb_lookup", {"ccg_code": "string", "icb_code": "string", "icb_name": "string"}, ("ccg_code",))
LOOKUP_PERIOD = "all"  # a lookup has no period of its own: a newer copy replaces codes it lists

_CATEGORIES = ("appt_status", "hcp_type", "appt_mode", "time_band")


def read_system(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="gpad_system")
    resolved = resolve("gpad_system", probe.header, fr)
    if resolved is None:
        return fr
    code_header = probe.header[resolved.index["system_code"]].upper()
    level = "ccg" if code_header.startswith("CCG") else "sub_icb"
    vocabs = vocabularies()
    cache: dict[tuple[str, str], str | None] = {}
    groups: dict[tuple[Any, ...], int] = {}
    names: dict[str, tuple[Any, ...]] = {}
    total = 0
    months: dict[str, object] = {}
    for line, raw in data_rows(probe, resolved, fr):
        cells = Cells(fr, resolved, line, raw)
        code = cells.require("system_code", as_text, "a CCG or sub-ICB code")
        month = months.get(raw["month"]) or cells.get("month", as_month)
        months.setdefault(raw["month"], month)
        count = cells.require("count", as_count, "a whole number ≥ 0")
        labels: list[str | None] = []
        for name in _CATEGORIES:
            if name not in raw:
                labels.append(None)
                continue
            col = resolved.spec.column(name)
            ck = (name, raw[name])
            if ck not in cache:
                cache[ck] = vocabs[col.vocabulary or ""].normalise(raw[name])
            canonical = cache[ck]
            if canonical is None:
                i = resolved.index[name]
                vocab = vocabs[col.vocabulary or ""]
                fr.problems.append(
                    Problem(
                        fr.display,
                        line,
                        f"{i + 1} ({probe.header[i]})",
                        f"one of {', '.join(repr(v) for v in vocab.canonical)} (a new published spelling can be "
                        f"added to [{vocab.name}] in {data_file_path('vocabularies.toml')})",
                        raw[name],
                    )
                )
                cells.ok = False
            labels.append(canonical)
        if not cells.ok:
            continue
        total += count
        key = (month, code, *labels)
        groups[key] = groups.get(key, 0) + count
        if code not in names:
            names[code] = tuple(as_text(raw.get(c)) for c in ("system_name", "stp_ons_code", "region_ons_code"))
    for (month, code, status, hcp, mode, band), count in groups.items():
        name, parent, region = names[code]
        fr.add(
            SYSTEM,
            month_key(month),
            {
                "month": month,
                "system_code": code,
                "system_level": level,
                "system_name": name,
                "parent_ons_code": parent,
                "region_ons_code": region,
                "hcp_type": hcp,
                "appt_mode": mode,
                "appt_status": status,
                "time_band": band,
                "count": count,
            },
        )
    fr.expect("gpad_system", total=total)
    return fr


def read_lookup(probe: Probe, options: ReadOptions) -> FileRead:
    fr = FileRead(display=str(probe.path), kind="ccg_icb_lookup")
    resolved = resolve("ccg_icb_lookup", probe.header, fr)
    if resolved is None:
        return fr
    seen: dict[str, int] = {}
    for line, raw in data_rows(probe, resolved, fr):
        cells = Cells(fr, resolved, line, raw)
        ccg = cells.require("ccg_code", as_text, "a CCG code")
        icb = cells.require("icb_code", as_text, "an ICB code")
        if not cells.ok:
            continue
        if ccg in seen:
            fr.problems.append(
                Problem(fr.display, line, "1 (CCG Code)", f"each CCG once (also on line {seen[ccg]})", ccg)
            )
            continue
        seen[ccg] = line
        fr.add(LOOKUP, LOOKUP_PERIOD, {"ccg_code": ccg, "icb_code": icb, "icb_name": as_text(raw.get("icb_name"))})
    fr.expect("ccg_icb_lookup", rows=len(seen))
    return fr
