"""Data-quality exclusions (DESIGN defaults, each a setting): a practice whose figures cannot be trusted is
listed with the reason, never silently dropped, and does not count towards the eligible total."""

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


def exclusion_reasons(table: pd.DataFrame, window_months: int, cfg: ExclusionSettings) -> dict[str, list[str]]:
    """{practice code: reasons}; an empty list means eligible. `table` is the ICB's measures table."""
    out: dict[str, list[str]] = {}
    for r in table.itertuples():
        reasons = []
        if pd.isna(r.patients):
            reasons.append("no registered-patient list size for the window")
        elif r.patients < cfg.min_list_size:
            reasons.append(f"list size {r.patients:,.0f} is under {cfg.min_list_size:,.0f}")
        rate = r.appts_per_1000
        if not pd.isna(rate) and rate < cfg.min_appts_per_1000:
            reasons.append(f"{rate:.0f} appointments per 1,000 patients a month is under {cfg.min_appts_per_1000:.0f}")
        if not pd.isna(rate) and rate > cfg.max_appts_per_1000:
            reasons.append(f"{rate:.0f} appointments per 1,000 patients a month is over {cfg.max_appts_per_1000:.0f}")
        if not pd.isna(r.unknown_mode_share) and r.unknown_mode_share > cfg.max_unknown_mode:
            reasons.append(
                f"Unknown mode {r.unknown_mode_share:.0%} of appointments is over {cfg.max_unknown_mode:.0%}"
            )
        if not pd.isna(r.unmapped_share) and r.unmapped_share > cfg.max_unmapped:
            reasons.append(
                f"Unmapped + Inconsistent Mapping {r.unmapped_share:.0%} of appointments is over {cfg.max_unmapped:.0%}"
            )
        if cfg.require_open_whole_window and (pd.isna(r.months) or r.months < window_months):
            months = 0 if pd.isna(r.months) else int(r.months)
            reasons.append(f"in the data for {months} of the window's {window_months} months (not open throughout)")
        out[r.practice_code] = reasons
    return out
