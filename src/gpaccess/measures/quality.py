"""Data-quality flags: the one place that decides which practices' figures cannot be trusted for a window.

DESIGN's defaults, each a setting: list size under 1,000; under 100 or over 2,000 appointments per 1,000
patients a month; Unknown mode over 20%; Unmapped + Inconsistent Mapping over 40%; not open for the whole window.
Computed once per window for every practice in the store (`MeasureSession.quality()`), so the cohort's
exclusions, the funnel plot's marks and the comparison reference all agree on who is flagged. A flag is a
plain-English reason with the figure; an empty list means no flag. A practice whose figure is unknown (no list
size) is flagged for that, never assumed fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ExclusionSettings:
    min_list_size: float = 1000
    min_appts_per_1000: float = 100
    max_appts_per_1000: float = 2000
    max_unknown_mode: float = 0.20
    max_unmapped: float = 0.40
    require_open_whole_window: bool = True


# The flags that take a practice out of the comparison reference (DESIGN "The comparison reference"): its mode
# or category recording, or its presence, cannot be trusted. A missing or small list size, or an odd
# appointment rate, is no reason to leave it: shares need no list size.
REFERENCE_KINDS = frozenset({"unknown_mode", "unmapped", "not_open", "no_appointments"})
# A practice of the ICB (in the month's Mapping.csv or list sizes) with no appointment rows in the window.
NO_APPOINTMENTS = "no appointments recorded in the window (listed in Mapping.csv or the list sizes only)"


def practice_flags(r: object, window_months: int, cfg: ExclusionSettings) -> list[str]:
    """The data-quality reasons of one practice's row of window measures (empty: none)."""
    return [text for _, text in _flags(r, window_months, cfg)]


def _flags(r: object, window_months: int, cfg: ExclusionSettings) -> list[tuple[str, str]]:
    reasons = []
    appointments = getattr(r, "appointments", 1.0)  # a table without the column: not this flag's business
    if appointments is None or pd.isna(appointments) or appointments <= 0:
        reasons.append(("no_appointments", NO_APPOINTMENTS))
    patients = getattr(r, "patients", None)
    if patients is None or pd.isna(patients):
        reasons.append(("list_size", "no registered-patient list size for the window"))
    elif patients < cfg.min_list_size:
        reasons.append(("list_size", f"list size {patients:,.0f} is under {cfg.min_list_size:,.0f}"))
    rate = getattr(r, "appts_per_1000", None)
    if rate is not None and not pd.isna(rate) and rate < cfg.min_appts_per_1000:
        text = f"{rate:.0f} appointments per 1,000 patients a month is under {cfg.min_appts_per_1000:.0f}"
        reasons.append(("volume", text))
    if rate is not None and not pd.isna(rate) and rate > cfg.max_appts_per_1000:
        text = f"{rate:.0f} appointments per 1,000 patients a month is over {cfg.max_appts_per_1000:.0f}"
        reasons.append(("volume", text))
    unknown = getattr(r, "unknown_mode_share", None)
    if unknown is not None and not pd.isna(unknown) and unknown > cfg.max_unknown_mode:
        text = f"Unknown mode {unknown:.0%} of appointments is over {cfg.max_unknown_mode:.0%}"
        reasons.append(("unknown_mode", text))
    unmapped = getattr(r, "unmapped_share", None)
    if unmapped is not None and not pd.isna(unmapped) and unmapped > cfg.max_unmapped:
        text = f"Unmapped + Inconsistent Mapping {unmapped:.0%} of appointments is over {cfg.max_unmapped:.0%}"
        reasons.append(("unmapped", text))
    if cfg.require_open_whole_window and not (reasons and reasons[0][0] == "no_appointments"):
        closed = _not_open(r, window_months)
        if closed:
            reasons.append(("not_open", closed))
    return reasons


def _not_open(r: object, window_months: int) -> str | None:
    """Why the practice was not open throughout the window, or None. ODS open and close dates decide when they
    are known (`open_throughout`: True or False); otherwise presence in the GPAD months is the fall-back."""
    ods = getattr(r, "open_throughout", None)
    if ods is not None and not pd.isna(ods):
        if bool(ods):
            return None
        return str(getattr(r, "open_reason", None) or "not open throughout the window (ODS open and close dates)")
    months = getattr(r, "months", None)
    if months is None or pd.isna(months) or months < window_months:
        present = 0 if months is None or pd.isna(months) else int(months)
        return f"in the data for {present} of the window's {window_months} months (not open throughout)"
    return None


def quality_flags(values: pd.DataFrame, window_months: int, cfg: ExclusionSettings) -> pd.DataFrame:
    """One row per practice of `values` (window measures): `practice_code`, `quality_flags` (list of reasons),
    `flagged` (any reason) and `reference` (no flag that takes it out of the comparison reference), in
    practice-code order."""
    found = [_flags(r, window_months, cfg) for r in values.itertuples()]
    out = pd.DataFrame(
        {
            "practice_code": values.practice_code.to_numpy(),
            "quality_flags": [[text for _, text in f] for f in found],
            "reference": [not any(kind in REFERENCE_KINDS for kind, _ in f) for f in found],
        }
    )
    out["flagged"] = out.quality_flags.map(bool)
    return out.sort_values("practice_code").reset_index(drop=True)
