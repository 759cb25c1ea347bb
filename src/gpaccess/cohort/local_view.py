"""The local view: every practice's national measures and local indicators side by side, in the ICB.

`local_view` puts every practice of the ICB with its national measures and each local indicator's latest
value (practice-code order, never ranked), gives Spearman correlations between indicators across the ICB's
practices, and flags practices where local data tells a different story from GPAD. The flags use quartile
bands of the ICB's practices (`statistics/association.py`) and neutral words: a low face-to-face share is
context, not a judgement. The local rows come from `ingest/local.py`, which reads and stores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from gpaccess.ingest.local import stored_local
from gpaccess.statistics.association import MIN_PRACTICES, quarter_bands, spearman_pairs
from gpaccess.storage.periods import period_end

if TYPE_CHECKING:
    from gpaccess.measures.service import MeasureSession

NATIONAL = ("f2f_gp", "f2f_all", "appts_per_1000", "dna_rate", "telephone_share", "same_day_share")
# Short neutral names for the national share measures, for the flags' sentences.
LABELS = {
    "f2f_gp": "GP face-to-face share",
    "f2f_all": "all-staff face-to-face share",
    "telephone_share": "telephone share",
    "same_day_share": "same-day share",
    "gp_share": "GP share of appointments",
    "home_visit_share": "home-visit share",
    "video_online_share": "video and online share",
}


def different_stories(
    table: pd.DataFrame,
    national: Sequence[str],
    local: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    min_n: int = MIN_PRACTICES,
) -> pd.DataFrame:
    """Practices in opposite quarters of the ICB on a national share measure and a local indicator."""
    names = labels or {}
    rows = []
    national_bands = {n: quarter_bands(table[n], min_n=min_n).tolist() for n in national}
    local_bands = {m: quarter_bands(table[m], min_n=min_n).tolist() for m in local}
    for i, practice in enumerate(table.practice_code.tolist()):
        for n in national:
            nb = national_bands[n][i]
            for m in local:
                lb = local_bands[m][i]
                if nb is None or lb is None or nb == lb:
                    continue
                label = names.get(n, n)
                message = (
                    f"{label[:1].upper()}{label[1:]} in the {nb} of the ICB's practices while local "
                    f"{m.replace('_', ' ')} is in the {lb}: local data tells a different story"
                )
                rows.append(
                    {
                        "practice_code": practice,
                        "national_measure": n,
                        "national_value": table[n].iloc[i],
                        "national_quarter": nb,
                        "local_indicator": m,
                        "local_value": table[m].iloc[i],
                        "local_quarter": lb,
                        "message": message,
                    }
                )
    columns = [
        "practice_code",
        "national_measure",
        "national_value",
        "national_quarter",
        "local_indicator",
        "local_value",
        "local_quarter",
        "message",
    ]
    return pd.DataFrame(rows, columns=columns)


# -- the local view -------------------------------------------------------------------------------------------
@dataclass
class LocalView:
    icb_code: str
    window: str  # the national measures' window, e.g. "Aug 2025 – Oct 2025"
    national: list[str]
    local: list[str]  # the local indicators' column names in `table`
    local_periods: dict[str, str]  # local column -> the period shown (each indicator's latest)
    table: pd.DataFrame
    correlations: pd.DataFrame
    flags: pd.DataFrame


def latest_local(local: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Each indicator's latest period only, pivoted to one column per indicator (practice_code as a column)."""
    if local.empty:
        return pd.DataFrame({"practice_code": pd.Series(dtype=object)}), {}
    ends = local.period.map(lambda p: (period_end(p), p))
    latest = {ind: max(ends[local.indicator == ind]) for ind in sorted(local.indicator.unique())}
    keep = local[[ends.iloc[i] == latest[ind] for i, ind in enumerate(local.indicator)]]
    wide = keep.pivot_table(index="practice_code", columns="indicator", values="value", aggfunc="first")
    wide = wide.reindex(columns=sorted(latest)).reset_index()
    wide.columns.name = None
    return wide, {ind: latest[ind][1] for ind in sorted(latest)}


def local_view(
    session: MeasureSession,
    icb_code: str,
    national: Sequence[str] = NATIONAL,
) -> LocalView:
    """Every practice of the ICB (practice-code order) with its national measures and latest local values,
    the Spearman correlations between every pair of them, and the practices where the two tell different
    stories on a share measure that has no good direction."""
    measures = {n: session.measure(n) for n in national}
    icb = session.icb_table(icb_code)
    base = icb.reindex(columns=["practice_code", "practice_name", *national])
    wide, periods = latest_local(stored_local(session.snapshot, icb_code))
    renamed = {c: f"{c} (local)" for c in periods if c in base.columns}
    wide = wide.rename(columns=renamed)
    local_cols = [renamed.get(c, c) for c in periods]
    table = base.merge(wide, on="practice_code", how="left").sort_values("practice_code").reset_index(drop=True)
    shares = [n for n, m in measures.items() if m.kind == "share" and m.direction == "none"]
    labels = {n: LABELS.get(n, measures[n].title) for n in shares}
    flags = different_stories(table, shares, local_cols, labels=labels)
    names = table.set_index("practice_code")["practice_name"]
    flags.insert(1, "practice_name", flags.practice_code.map(names))
    shown = {renamed.get(c, c): p for c, p in periods.items()}
    flags.insert(list(flags.columns).index("local_value") + 1, "local_period", flags.local_indicator.map(shown))
    return LocalView(
        icb_code=icb_code,
        window=session.label,
        national=list(national),
        local=local_cols,
        local_periods=shown,
        table=table,
        correlations=spearman_pairs(table, [*national, *local_cols]),
        flags=flags,
    )
