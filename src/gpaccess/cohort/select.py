"""Selection: each ICB's support cohort, deterministic, capped, explained, with audited local overrides.

The cap is floor(cap share × eligible practices). When more practices meet a criterion than the cap allows,
the rule for choosing is explicit: most criteria met first, then strength of evidence (how far past the line,
in z units past the 99.8% limit), then — if the ICB chooses — deprivation, then practice code. Those left out
by the cap are listed as "capped out" (`near_miss`); eligible practices between the 95% and 99.8% limits on a
criterion, meeting none, are listed as "near the limit" (`near_limit`). Every criterion has a `status_<name>`
column (met, near the limit, not met, not assessed) and a `criterion_<name>` column that is True, False or None
(not assessed: never False). Overrides are applied last and are visible everywhere; an added practice that
takes the cohort over the cap is reported as such, never silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from gpaccess.cohort.criteria import LABELS, TITLES, Context, CriteriaSettings, CriterionStatus, Verdict, evaluate
from gpaccess.cohort.exclusions import ExclusionSettings, exclusion_reasons


@dataclass(frozen=True)
class SelectionSettings:
    cap_share: float = 0.20
    imd_use: Literal["show", "tiebreak", "weight"] = "show"
    imd_weight: float = 0.1  # "weight": evidence × (1 + w × (IMD decile distance from least deprived) / 9)
    criteria: CriteriaSettings = field(default_factory=CriteriaSettings)
    exclusions: ExclusionSettings = field(default_factory=ExclusionSettings)


@dataclass(frozen=True)
class Override:
    practice_code: str
    action: Literal["add", "remove"]
    reason: str
    by: str
    at: str


@dataclass
class Cohort:
    icb_code: str
    window: str
    months: list[str]
    cap: int
    eligible: int
    members: pd.DataFrame  # one row per practice of the ICB, in practice-code order
    settings: SelectionSettings
    notes: list[str] = field(default_factory=list)

    @property
    def selected(self) -> pd.DataFrame:
        return self.members[self.members.selected]

    @property
    def excluded(self) -> pd.DataFrame:
        return self.members[self.members.excluded]

    @property
    def near_misses(self) -> pd.DataFrame:
        """ "Capped out": met a criterion, left out by the cap (the `near_miss` column keeps that meaning)."""
        return self.members[self.members.near_miss]

    @property
    def near_limit(self) -> pd.DataFrame:
        """Eligible practices between the 95% and 99.8% limits on some criterion and meeting none."""
        return self.members[self.members.near_limit]

    def assessed(self) -> dict[str, bool]:
        """Per enabled criterion: whether it was assessed for any practice of the ICB."""
        return {
            name: bool((self.members[f"status_{name}"] != CriterionStatus.NOT_ASSESSED.value).any())
            for name in self.settings.criteria.enabled
        }


def select(
    ctx: Context,
    months: list[str],
    settings: SelectionSettings,
    *,
    icb_code: str,
    overrides: list[Override] = (),  # type: ignore[assignment]
    imd: pd.DataFrame | None = None,
) -> Cohort:
    excluded = exclusion_reasons(ctx.table, len(months), settings.exclusions, ctx.quality)
    ctx.eligible = {code for code, reasons in excluded.items() if not reasons}
    verdicts = evaluate(ctx, settings.criteria)
    members = _members(ctx.table, verdicts, excluded, imd)
    eligible = int((~members.excluded).sum())
    cap = math.floor(settings.cap_share * eligible)
    members = _apply_cap(members, cap, settings)
    members, notes = _apply_overrides(members, list(overrides), cap)
    return Cohort(
        icb_code,
        ctx.window,
        months,
        cap,
        eligible,
        members.sort_values("practice_code").reset_index(drop=True),
        settings,
        notes,
    )


def _members(
    table: pd.DataFrame,
    verdicts: dict[str, dict[str, Verdict]],
    excluded: dict[str, list[str]],
    imd: pd.DataFrame | None,
) -> pd.DataFrame:
    rows = []
    imd_by = imd.set_index("practice_code") if imd is not None and not imd.empty else None
    for r in table.itertuples():
        code = r.practice_code
        met = [name for name, v in verdicts.items() if v[code].met]
        near = [name for name, v in verdicts.items() if v[code].near]
        reasons = [f"{(TITLES if v[code].met else LABELS)[name]}: {v[code].reason}" for name, v in verdicts.items()]
        evidence = [
            v[code].evidence for name, v in verdicts.items() if v[code].met and not math.isnan(v[code].evidence)
        ]
        row = {
            "practice_code": code,
            "practice_name": r.practice_name,
            "pcn_name": getattr(r, "pcn_name", None),
            "list_size": r.patients,
            "criteria_met": met,
            "criteria_near": near,
            "reasons": reasons,
            "met_reasons": [f"{TITLES[name]}: {v[code].reason}" for name, v in verdicts.items() if v[code].met],
            "evidence": max(evidence) if evidence else (0.0 if met else float("nan")),
            "excluded": bool(excluded[code]),
            "exclusion_reasons": excluded[code],
            "imd_score": float(imd_by.loc[code, "imd_score"])
            if imd_by is not None and code in imd_by.index
            else np.nan,
            "imd_decile": imd_by.loc[code, "imd_decile"] if imd_by is not None and code in imd_by.index else np.nan,
        }
        for name, v in verdicts.items():
            status = v[code].status
            row[f"status_{name}"] = status.value
            # True (met), False (assessed, not met) or None (not assessed): never False for "not assessed".
            row[f"criterion_{name}"] = None if status is CriterionStatus.NOT_ASSESSED else v[code].met
            row[f"assessed_{name}"] = v[code].assessed
        rows.append(row)
    return pd.DataFrame(rows)


def _priority(members: pd.DataFrame, settings: SelectionSettings) -> pd.DataFrame:
    m = members.copy()
    m["n_criteria"] = m.criteria_met.map(len)
    m["priority_evidence"] = m.evidence.fillna(0.0)
    if settings.imd_use == "weight":
        decile = m.imd_decile.astype(float).fillna(10.0)  # 1 = most deprived
        m["priority_evidence"] = m.priority_evidence * (1 + settings.imd_weight * (10 - decile) / 9)
    keys = ["n_criteria", "priority_evidence"] + (["imd_score"] if settings.imd_use == "tiebreak" else [])
    asc = [False, False] + ([False] if settings.imd_use == "tiebreak" else [])
    return m.sort_values([*keys, "practice_code"], ascending=[*asc, True], na_position="last")


def _apply_cap(members: pd.DataFrame, cap: int, settings: SelectionSettings) -> pd.DataFrame:
    candidates = members[(~members.excluded) & members.criteria_met.map(bool)]
    ordered = _priority(candidates, settings)
    chosen = set(ordered.practice_code.head(cap))
    left_out = set(ordered.practice_code.iloc[cap:])
    out = members.copy()
    out["selected_by_criteria"] = out.practice_code.isin(chosen)
    out["selected"] = out.selected_by_criteria
    out["near_miss"] = out.practice_code.isin(left_out)
    out["near_miss_reason"] = np.where(
        out.near_miss, f"meets a criterion but the cap of {cap} was reached by practices with stronger evidence", ""
    )
    out["near_limit"] = (~out.excluded) & (~out.criteria_met.map(bool)) & out.criteria_near.map(bool)
    out["near_limit_reason"] = [
        "between the 95% and 99.8% limits on " + ", ".join(LABELS[n].split(" (")[0] for n in near) if flag else ""
        for flag, near in zip(out.near_limit, out.criteria_near, strict=True)
    ]
    out["overridden"] = "none"
    out["override_reason"] = None
    return out


def _apply_overrides(members: pd.DataFrame, overrides: list[Override], cap: int) -> tuple[pd.DataFrame, list[str]]:
    out = members.copy()
    notes = []
    for o in overrides:
        hit = out.practice_code == o.practice_code
        if not hit.any():
            notes.append(f"override for {o.practice_code} ignored: not a practice of this ICB in the window")
            continue
        out.loc[hit, "selected"] = o.action == "add"
        out.loc[hit, "overridden"] = "added" if o.action == "add" else "removed"
        out.loc[hit, "override_reason"] = f"{o.reason} (by {o.by}, {o.at})"
        out.loc[hit, "near_miss"] = False
        out.loc[hit, "near_limit"] = False
    n = int(out.selected.sum())
    if n > cap:
        notes.append(f"{n} practices selected against a cap of {cap}: local overrides added {n - cap} over the cap")
    return out, notes
