"""One practice's profile as a person reads it: GPAD measures beside telephony, online consultation, workforce,
deprivation and ODS, each section with its source and period, every figure formatted.

Built from what `services.measures.practice_measures` gathers (the practice's window measures and each context
source's row); no measure is ranked or judged here: face-to-face share is context, with no good direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gpaccess.publication.readable import format_number


@dataclass(frozen=True)
class Section:
    title: str
    source: str  # where the figures come from, with the period
    items: list[tuple[str, str]] = field(default_factory=list)  # (label, formatted value)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "source": self.source, "items": dict(self.items)}


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _share(part: Any, whole: Any) -> str:
    p, w = _num(part), _num(whole)
    return format_number(p / w, "share") if p is not None and w else "—"


def _per_1000(value: Any, patients: Any) -> str:
    v, n = _num(value), _num(patients)
    return format_number(v * 1000 / n) if v is not None and n else "—"


GPAD_ITEMS = (
    ("f2f_gp", "GP face-to-face share", "share"),
    ("f2f_all", "All-staff face-to-face share", "share"),
    ("telephone_share", "Telephone share", "share"),
    ("video_online_share", "Video and online share", "share"),
    ("home_visit_share", "Home-visit share", "share"),
    ("unknown_mode_share", "Mode not recorded (Unknown)", "share"),
    ("same_day_share", "Booked the same day", "share"),
    ("dna_rate", "Did not attend", "share"),
    ("appts_per_1000", "Appointments per 1,000 patients a month", "number"),
    ("appts_vs_baseline", "Appointments ÷ the same months of the baseline year", "ratio"),
)


def _gpad(row: pd.Series, window: str, definition: str) -> Section:
    items = [("List size", format_number(row.get("patients"), "count"))]
    for name, label, kind in GPAD_ITEMS:
        if name in row.index:
            items.append((label, format_number(row.get(name), kind)))
    if "appointments" in row.index:
        items.append(("Appointments in the window", format_number(row.get("appointments"), "count")))
    return Section("Appointments (GPAD)", f"GP appointments data, {window}; face-to-face = {definition}", items)


def _telephony(f: Mapping[str, Any], patients: Any) -> list[tuple[str, str]]:
    inbound = f.get("inbound")
    return [
        ("Inbound calls", format_number(inbound, "count")),
        ("Inbound calls per 1,000 patients", _per_1000(inbound, patients)),
        ("Answered", f"{format_number(f.get('answered'), 'count')} ({_share(f.get('answered'), inbound)})"),
        ("Missed", f"{format_number(f.get('missed'), 'count')} ({_share(f.get('missed'), inbound)})"),
        ("Ended in the phone menu (IVR)", format_number(f.get("ended_in_ivr"), "count")),
        ("Callbacks requested / made", f"{format_number(f.get('callback_requested'), 'count')} / "
         f"{format_number(f.get('callback_made'), 'count')}"),
    ]  # fmt: skip


def _online(f: Mapping[str, Any], patients: Any) -> list[tuple[str, str]]:
    total = f.get("submissions")
    rate = f.get("rate_per_1000")
    return [
        ("Online consultation submissions", format_number(total, "count")),
        ("Submissions per 1,000 patients", format_number(rate) if _num(rate) is not None
         else _per_1000(total, patients)),
        ("Clinical", f"{format_number(f.get('clinical_submissions'), 'count')} "
         f"({_share(f.get('clinical_submissions'), total)})"),
        ("Administrative", f"{format_number(f.get('administrative_submissions'), 'count')} "
         f"({_share(f.get('administrative_submissions'), total)})"),
        ("Takes part in the collection", "yes" if f.get("participation") in (True, "True", "true", 1) else "no"),
    ]  # fmt: skip


def _workforce(f: Mapping[str, Any], patients: Any) -> list[tuple[str, str]]:
    out = []
    for key, label in (
        ("gp_fte", "GPs (full-time equivalent)"),
        ("nurses_fte", "Nurses (FTE)"),
        ("dpc_fte", "Direct patient care staff (FTE)"),
        ("admin_fte", "Admin and non-clinical staff (FTE)"),
    ):
        if key in f:
            v = _num(f.get(key))
            out.append((label, "—" if v is None else f"{v:,.1f}"))
    gp, n = _num(f.get("gp_fte")), _num(patients or f.get("total_patients"))
    if gp is not None and n:
        out.append(("Patients per GP (FTE)", format_number(n / gp, "count") if gp else "—"))
    return out


def _imd(f: Mapping[str, Any], _patients: Any) -> list[tuple[str, str]]:
    decile = _num(f.get("imd_decile"))
    where = ""
    if decile is not None:
        where = " (1 = most deprived tenth, 10 = least deprived)"
    return [
        ("IMD 2019 score", "—" if _num(f.get("imd_score")) is None
         else f"{float(f['imd_score']):.1f} (higher = more deprived)"),
        ("IMD decile", ("—" if decile is None else f"{int(decile)}") + where),
    ]  # fmt: skip


def _ods(f: Mapping[str, Any], _patients: Any) -> list[tuple[str, str]]:
    status = {"A": "active", "C": "closed", "D": "dormant", "P": "proposed"}.get(str(f.get("status")), f.get("status"))
    return [
        ("Open since", str(f.get("open_date") or "—")),
        ("Closed", str(f.get("close_date") or "—")),
        ("Status (ODS)", str(status or "—")),
        ("Postcode", str(f.get("postcode") or "—")),
    ]


SECTIONS: dict[str, tuple[str, Callable[[Mapping[str, Any], Any], list[tuple[str, str]]]]] = {
    "telephony": ("Telephony (cloud-based telephony data)", _telephony),
    "online_consultation": ("Online consultation", _online),
    "workforce": ("Workforce", _workforce),
    "imd": ("Deprivation", _imd),
    "ods_practices": ("Organisation (ODS)", _ods),
}
SKIP = {"month", "practice_code", "practice_name", "pcn_code", "pcn_name", "sub_icb_code", "icb_code", "region_code"}


def practice_profile(
    row: pd.Series,
    *,
    window: str,
    definition: str,
    context: list[dict[str, Any]],
    coverage: Mapping[str, Any] | None = None,
) -> list[Section]:
    """The practice's profile: GPAD first, then each context source that covers it (its own period)."""
    patients = row.get("patients")
    head = Section(
        f"{row.get('practice_code')} {row.get('practice_name') or ''}".strip(),
        "practice directory (Mapping.csv)",
        [
            ("PCN", str(row.get("pcn_name") or row.get("pcn_code") or "—")),
            ("Sub-ICB location", str(row.get("sub_icb_code") or "—")),
            ("ICB", f"{row.get('icb_name') or ''} ({row.get('icb_code') or '—'})".strip()),
        ],
    )
    sections = [head, _gpad(row, window, definition)]
    for item in context:
        source, period, fields = item["source"], item["period"], item["fields"]
        if source in SECTIONS:
            title, build = SECTIONS[source]
            sections.append(Section(title, f"{source}, {period}", build(fields, patients)))
        else:  # a source without a dedicated layout: its fields, formatted
            items = [(k.replace("_", " "), _plain(v)) for k, v in fields.items() if k not in SKIP and v is not None]
            sections.append(Section(source.replace("_", " ").capitalize(), f"{source}, {period}", items))
    if coverage:
        share = _num(coverage.get("coverage"))
        sections.append(
            Section(
                "Coverage of the sub-ICB's appointments data",
                f"coverage, {coverage.get('month')}",
                [
                    ("Practices included / open",
                     f"{coverage.get('included_practices')} / {coverage.get('open_practices')}"),
                    ("Coverage", "—" if share is None else format_number(share, "share")),
                    *([("Warning", str(coverage["warning"]))] if coverage.get("warning") else []),
                ],
            )
        )  # fmt: skip
    return sections


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = _num(value)
    if v is not None and not isinstance(value, str):
        return format_number(v, "count") if float(v).is_integer() else format_number(v)
    return str(value)
