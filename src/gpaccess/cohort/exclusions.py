"""Data-quality exclusions: a practice whose figures cannot be trusted is listed with the reason, never silently
dropped, and does not count towards the eligible total. The flags themselves are decided once, in
`measures/quality.py`, so the cohort, the funnel plot and the comparison agree on who is flagged."""

from __future__ import annotations

import pandas as pd

from gpaccess.measures.quality import NO_APPOINTMENTS, ExclusionSettings, quality_flags

__all__ = ["ExclusionSettings", "exclusion_reasons"]


def exclusion_reasons(
    table: pd.DataFrame, window_months: int, cfg: ExclusionSettings, flags: pd.DataFrame | None = None
) -> dict[str, list[str]]:
    """{practice code: reasons} for every practice of `table` (the ICB's measures table); an empty list means
    eligible. `flags` are the session's flags for the window (`MeasureSession.quality`); without them they are
    worked out from `table` by the same rules."""
    if flags is None:
        flags = quality_flags(table, window_months, cfg)
    by_code = dict(zip(flags.practice_code, flags.quality_flags, strict=True))
    return {code: list(by_code.get(code, [NO_APPOINTMENTS])) for code in table.practice_code}
