"""Which practices exist in a window and where they belong (PCN, sub-ICB, ICB, region).

The crosstab has no ICB or region columns: those come from Mapping.csv (domain.md B1). A practice's attributes
are taken from the latest month of the window in which it appears; its ICB from the mapping of that month or,
failing that, from the latest mapping that places its sub-ICB location. A practice listed under two suppliers
in one month takes the supplier with the most appointments (DESIGN: Mapping).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from gpaccess.ingest.context.base import month_key
from gpaccess.storage.snapshot import Snapshot

DIRECTORY_COLUMNS = [
    "practice_code",
    "practice_name",
    "supplier",
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "sub_icb_name",
    "icb_code",
    "icb_name",
    "region_code",
    "region_name",
    "last_month",
]


def practice_directory(snapshot: Snapshot, months: list[date]) -> pd.DataFrame:
    """Every practice with appointments in the window, with its latest attributes and its ICB and region."""
    pracs = snapshot.table("gpad_practices", periods=[month_key(m) for m in months]).to_pandas()
    if pracs.empty:
        return pd.DataFrame(columns=DIRECTORY_COLUMNS)
    pracs = pracs.sort_values(
        ["practice_code", "month", "appointments", "supplier"], ascending=[True, False, False, True], kind="stable"
    )
    latest = pracs.drop_duplicates("practice_code", keep="first").rename(columns={"month": "last_month"})
    geo = _icb_by_sub_icb(snapshot, max(months))
    out = latest.merge(geo, on="sub_icb_code", how="left")
    return out[DIRECTORY_COLUMNS].sort_values("practice_code").reset_index(drop=True)


def _icb_by_sub_icb(snapshot: Snapshot, until: date) -> pd.DataFrame:
    cols = ["sub_icb_code", "icb_code", "icb_name", "region_code", "region_name"]
    if not snapshot.has("gpad_mapping"):
        return pd.DataFrame(columns=cols)
    periods = snapshot.periods("gpad_mapping")
    upto = [p for p in periods if p <= month_key(until)] or periods
    t = snapshot.table("gpad_mapping", periods=upto)
    # Each sub-ICB location's placements with the last month each was seen (small: a few hundred rows), then
    # the latest one per location; the ties of one month are broken by code, so the answer is deterministic.
    placed = t.group_by(cols).aggregate(last=t.month.max()).to_pandas()
    placed = placed.sort_values(["sub_icb_code", "last", "icb_code"], ascending=[True, False, True], kind="stable")
    return placed.drop_duplicates("sub_icb_code", keep="first")[cols]
