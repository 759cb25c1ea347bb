"""Which practices exist in a window and where they belong (PCN, sub-ICB, ICB, region).

The crosstab has no ICB or region columns: those come from Mapping.csv (domain.md B1). A practice's attributes
are taken from the latest month of the window in which it appears; its ICB from the mapping of that month or,
failing that, from the latest mapping that places its sub-ICB location. A practice listed under two suppliers
in one month takes the supplier with the most appointments (DESIGN: Mapping).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from gpaccess.measures.membership import in_codes
from gpaccess.storage.periods import month_key
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


def practice_directory(snapshot: Snapshot, months: list[date], placements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every practice with appointments in the window, with its latest attributes and its ICB and region
    (`placements`: `sub_icb_placements(snapshot, max(months))`, when the caller has it already)."""
    pracs = snapshot.table("gpad_practices", periods=[month_key(m) for m in months]).to_pandas()
    if pracs.empty:
        return pd.DataFrame(columns=DIRECTORY_COLUMNS)
    pracs = pracs.sort_values(
        ["practice_code", "month", "appointments", "supplier"], ascending=[True, False, False, True], kind="stable"
    )
    latest = pracs.drop_duplicates("practice_code", keep="first").rename(columns={"month": "last_month"})
    geo = sub_icb_placements(snapshot, max(months)) if placements is None else placements
    out = latest.merge(geo, on="sub_icb_code", how="left")
    return out[DIRECTORY_COLUMNS].sort_values("practice_code").reset_index(drop=True)


def unrecorded_practices(
    snapshot: Snapshot, months: list[date], directory: pd.DataFrame, placements: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Practices the window's last month lists in Mapping.csv or in the list sizes but with no appointment rows
    in the window, in DIRECTORY_COLUMNS (`last_month` empty): they belong to their ICB's cohort as exclusions
    ("no appointments recorded"), never silently dropped."""
    key = month_key(max(months))
    known = set(directory.practice_code)
    frames = []
    if snapshot.has("gpad_mapping") and key in snapshot.periods("gpad_mapping"):
        m = snapshot.table("gpad_mapping", periods=[key]).to_pandas()
        frames.append(m[~in_codes(m.practice_code, known)])
    if snapshot.has("registrations") and key in snapshot.periods("registrations"):
        t = snapshot.table("registrations", periods=[key])
        regs = t.select("practice_code", "sub_icb_code").distinct().to_pandas()
        regs = regs[~in_codes(regs.practice_code, known)]
        if frames:
            regs = regs[~in_codes(regs.practice_code, frames[0].practice_code)]
        if not regs.empty:
            geo = sub_icb_placements(snapshot, max(months)) if placements is None else placements
            frames.append(regs.merge(geo, on="sub_icb_code", how="left"))
    if not frames:
        return pd.DataFrame(columns=DIRECTORY_COLUMNS)
    out = pd.concat(frames, ignore_index=True).drop_duplicates("practice_code")
    return out.reindex(columns=DIRECTORY_COLUMNS).sort_values("practice_code").reset_index(drop=True)


def unmapped_sub_icbs(snapshot: Snapshot, months: list[date]) -> pd.DataFrame:
    """Sub-ICB locations of the window's practices that no Mapping.csv places in an ICB, with how many
    practices each holds (for `gpaccess status`): their practices belong to no ICB's cohort."""
    directory = practice_directory(snapshot, months)
    lost = directory[directory.icb_code.isna()]
    grouped = lost.groupby(["sub_icb_code", "sub_icb_name"], dropna=False).practice_code.nunique()
    return grouped.rename("practices").reset_index()


def open_status(snapshot: Snapshot, months: list[date]) -> pd.DataFrame:
    """Whether each practice in the latest ODS extract (epraccur) was open throughout the window, from its open
    and close dates: `practice_code`, `open_throughout` (bool) and `open_reason` (why not, else None). Empty when
    no ODS extract is loaded; a practice the extract does not list is left to the GPAD fall-back (its presence
    in the window's months)."""
    cols = ["practice_code", "open_throughout", "open_reason"]
    if not snapshot.has("ods_practices") or not snapshot.periods("ods_practices"):
        return pd.DataFrame(columns=cols)
    t = snapshot.table("ods_practices", periods=[max(snapshot.periods("ods_practices"))])
    ods = t.select("practice_code", "open_date", "close_date").to_pandas()
    start, last = min(months), max(months)
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)  # the day after the window
    rows: list[tuple[str, bool | None, str | None]] = []
    for r in ods.itertuples():
        opened = pd.Timestamp(r.open_date).date() if pd.notna(r.open_date) else None
        closed = pd.Timestamp(r.close_date).date() if pd.notna(r.close_date) else None
        if opened is not None and opened > start:
            rows.append((r.practice_code, False, f"opened {opened:%d %b %Y} (ODS), after the window began"))
        elif closed is not None and closed < end:
            rows.append((r.practice_code, False, f"closed {closed:%d %b %Y} (ODS), before the window ended"))
        elif opened is None:
            rows.append((r.practice_code, None, None))
        else:
            rows.append((r.practice_code, True, None))
    return pd.DataFrame(rows, columns=cols).drop_duplicates("practice_code")


def sub_icb_placements(snapshot: Snapshot, until: date) -> pd.DataFrame:
    """Each sub-ICB location's ICB and region: its latest placement in the Mapping.csv of the months up to
    `until` (the earliest mapping where none is that old)."""
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
