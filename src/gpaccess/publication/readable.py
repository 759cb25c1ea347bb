"""Numbers and names as a reader sees them: formatted figures (never ``1.77e+03`` or a raw decimal) and
readable names for measures and local indicators. One home for the report's and the console's wording."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gpaccess.cohort.local_view import LABELS

# Words in indicator names that read better written out.
_WORDS = {
    "nhs111": "NHS 111",
    "111": "NHS 111",
    "ae": "A&E",
    "gp": "GP",
    "f2f": "face-to-face",
    "dna": "did-not-attend",
    "per": "per",
    "1000": "1,000",
    "appts": "appointments",
    "imd": "IMD",
    "pcn": "PCN",
    "pct": "(%)",
}
KNOWN = {
    "nhs111_in_hours_per_1000": "NHS 111 in-hours contacts per 1,000 patients",
    "ae_attendances_per_1000": "A&E attendances per 1,000 patients",
    "appts_per_1000": "appointments per 1,000 patients a month",
    "dna_rate": "did-not-attend rate",
    "practice_code": "practice code",
    "practice_name": "practice name",
    "n": "practices (n)",
    "p_value": "p-value",
}


def readable_name(column: str, titles: Mapping[str, str] | None = None) -> str:
    """A measure's or indicator's name in words: a known title, else its words written out ("(local)" kept)."""
    name = str(column)
    suffix = ""
    if name.endswith(" (local)"):
        name, suffix = name[: -len(" (local)")], " (local)"
    if titles and name in titles:
        return titles[name] + suffix
    if name in LABELS:
        return LABELS[name] + suffix
    if name in KNOWN:
        return KNOWN[name] + suffix
    words = [_WORDS.get(w.lower(), w) for w in re.split(r"[_\s]+", name) if w]
    text = " ".join(words)
    return (text[:1].upper() + text[1:] if text else name) + suffix


def format_number(value: Any, kind: str = "number") -> str:
    """A figure for a reader: share → "41.2%", ratio → "0.85", count or rate → "1,770" (one decimal below 100),
    correlation → "0.42"; missing → "—"."""
    if value is None or value is pd.NA:
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v) or math.isinf(v):
        return "—"
    if kind == "share":
        return f"{v:.1%}"
    if kind in ("ratio", "correlation"):
        return f"{v:.2f}" if round(v, 2) != 0 else "0.00"  # never "-0.00"
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "p_value":
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"


def formatted(frame: pd.DataFrame, kinds: Mapping[str, str], titles: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of `frame` as text for a reader: each column formatted by its kind (`kinds`, default "number"
    for numeric columns), headers readable."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        series = frame[col]
        kind = kinds.get(str(col))
        name = readable_name(str(col), titles)
        header = name[:1].upper() + name[1:]
        if kind == "text" or (kind is None and not pd.api.types.is_numeric_dtype(series.dtype)):
            out[header] = series.map(lambda v: "—" if v is None or v != v else str(v))
            continue
        out[header] = series.map(lambda v, k=kind or "number": format_number(v, k))
    return out
