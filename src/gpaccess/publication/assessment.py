"""Each criterion's status for a practice, as every output writes it: met, not met, or not assessed.

The cohort's members carry, for each criterion, whether it was met (`criterion_<name>`, a boolean) and whether
it could be judged at all (`assessed_<name>`). A boolean alone would write a criterion without data as
``False``, which reads as "judged and not met". Every file and document that leaves the cohort (the NHS
England return, cohort.csv, JSON, XLSX, the report) therefore writes one of three words instead, from here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from gpaccess.cohort.criteria import CriterionStatus

LIST_COLUMNS = ("criteria_met", "reasons", "met_reasons", "exclusion_reasons")


# The words outward files use: the cohort's own statuses, with "near the limit" written as "not met" (the near
# list is the ICB's confidential view; an outward file says only whether a criterion was met).
OUTWARD = (CriterionStatus.MET, CriterionStatus.NOT_MET, CriterionStatus.NOT_ASSESSED)


def status_of(met: object, assessed: object = True) -> CriterionStatus:
    """One criterion's status; `assessed` False (or missing) wins over `met`, since nothing was judged."""
    if assessed is None or (isinstance(assessed, float) and pd.isna(assessed)) or not bool(assessed):
        return CriterionStatus.NOT_ASSESSED
    if met is None or (isinstance(met, float) and pd.isna(met)):
        return CriterionStatus.NOT_ASSESSED
    return CriterionStatus.MET if bool(met) else CriterionStatus.NOT_MET


def criterion_names(members: pd.DataFrame) -> list[str]:
    """The criteria a cohort's members were judged on, in the members' column order."""
    return [str(c)[len("criterion_") :] for c in members.columns if str(c).startswith("criterion_")]


def statuses(members: pd.DataFrame, name: str) -> pd.Series:
    """The status text of criterion `name` for every member (``not assessed`` where there were no data)."""
    met = members.get(f"criterion_{name}", pd.Series(None, index=members.index, dtype=object))
    assessed = members.get(f"assessed_{name}", pd.Series(True, index=members.index))
    return pd.Series(
        [str(status_of(m, a)) for m, a in zip(met, assessed, strict=True)], index=members.index, dtype=object
    )


def outward_members(
    members: pd.DataFrame, names: Iterable[str] | None = None, *, join_lists: bool = True
) -> pd.DataFrame:
    """The members as files carry them: one `criterion_<name>` text column per criterion (met / not met /
    not assessed, the `assessed_<name>` columns folded in) and, unless `join_lists` is False (JSON keeps
    lists), list columns joined with "; "."""
    out = members.copy()
    for name in list(names) if names is not None else criterion_names(members):
        out[f"criterion_{name}"] = statuses(members, name)
        out = out.drop(columns=[f"assessed_{name}"], errors="ignore")
    for col in LIST_COLUMNS if join_lists else ():
        if col in out.columns:
            out[col] = out[col].map(lambda v: "; ".join(v) if isinstance(v, list | tuple) else v)
    return out


def assessed_summary(members: pd.DataFrame, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """How many practices each criterion was met, not met and not assessed for (eligible practices only)."""
    eligible = members[~members["excluded"]] if "excluded" in members.columns else members
    out: dict[str, dict[str, int]] = {}
    for name in names:
        counts = statuses(eligible, name).value_counts()
        out[name] = {str(s): int(counts.get(str(s), 0)) for s in OUTWARD}
    return out
