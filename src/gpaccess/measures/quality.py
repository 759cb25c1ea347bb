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


def practice_flags(r: object, window_months: int, cfg: ExclusionSettings) -> list[str]:
    """The data-quality reasons of one practice's row of window measures (empty: none)."""
    reasons = []
    patients = getattr(r, "patients", None)
    if patients is None or pd.isna(patients):
        reasons.append("no registered-patient list size for the window")
    elif patients < cfg.min_list_size:
        reasons.append(f"list size {patients:,.0f} is under {cfg.min_list_size:,.0f}")
    rate = getattr(r, "appts_per_1000", None)
    if rate is not None and not pd.isna(rate) and rate < cfg.min_appts_per_1000:
        reasons.append(f"{rate:.0f} appointments per 1,000 patients a month is under {cfg.min_appts_per_1000:.0f}")
    if rate is not None and not pd.isna(rate) and rate > cfg.max_appts_per_1000:
        reasons.append(f"{rate:.0f} appointments per 1,000 patients a month is over {cfg.max_appts_per_1000:.0f}")
    unknown = getattr(r, "unknown_mode_share", None)
    if unknown is not None and not pd.isna(unknown) and unknown > cfg.max_unknown_mode:
        reasons.append(f"Unknown mode {unknown:.0%} of appointments is over {cfg.max_unknown_mode:.0%}")
    unmapped = getattr(r, "unmapped_share", None)
    if unmapped is not None and not pd.isna(unmapped) and unmapped > cfg.max_unmapped:
        reasons.append(f"Unmapped + Inconsistent Mapping {unmapped:.0%} of appointments is over {cfg.max_unmapped:.0%}")
    months = getattr(r, "months", None)
    if cfg.require_open_whole_window and (months is None or pd.isna(months) or months < window_months):
        present = 0 if months is None or pd.isna(months) else int(months)
        reasons.append(f"in the data for {present} of the window's {window_months} months (not open throughout)")
    return reasons


def quality_flags(values: pd.DataFrame, window_months: int, cfg: ExclusionSettings) -> pd.DataFrame:
    """One row per practice of `values` (window measures): `practice_code`, `quality_flags` (list of reasons)
    and `flagged` (any reason), in practice-code order."""
    flags = [practice_flags(r, window_months, cfg) for r in values.itertuples()]
    out = pd.DataFrame({"practice_code": values.practice_code.to_numpy(), "quality_flags": flags})
    out["flagged"] = out.quality_flags.map(bool)
    return out.sort_values("practice_code").reset_index(drop=True)
