"""Selection rules on small hand-made inputs: the cap, the ordering rule, near-misses, exclusions, overrides,
deprivation as tie-breaker or weight, and the criteria's reasons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohort_helpers import comparison, measures
from gpaccess.cohort.criteria import Context, CriteriaSettings
from gpaccess.cohort.exclusions import ExclusionSettings, exclusion_reasons
from gpaccess.cohort.select import Override, SelectionSettings, select

F2F_ONLY = CriteriaSettings(enabled=("f2f_gp_low",))


def run(table, beyond, settings=None, overrides=(), imd=None):
    ctx = Context(table=table, f2f=comparison(table.practice_code, beyond), window="Aug 2025 – Oct 2025")
    return select(
        ctx,
        ["2025-08", "2025-09", "2025-10"],
        settings or SelectionSettings(criteria=F2F_ONLY),
        icb_code="QXX",
        overrides=list(overrides),
        imd=imd,
    )


def test_cap_is_floor_of_twenty_percent_of_eligible_and_strongest_evidence_wins():
    table = measures(12)
    # 6 practices beyond the limit, evidence 0.5..3.0; 12 eligible → cap floor(2.4) = 2.
    beyond = [-2, -2, -2, -2, -2, -2, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    cohort = run(table, beyond)
    assert cohort.cap == math.floor(0.2 * 12) == 2
    assert list(cohort.selected.practice_code) == ["P00010", "P00011"]
    assert list(cohort.near_misses.practice_code) == ["P00006", "P00007", "P00008", "P00009"]
    assert all("cap of 2" in r for r in cohort.near_misses.near_miss_reason)
    assert list(cohort.members.practice_code) == sorted(cohort.members.practice_code)  # code order, not evidence


def test_excluded_practices_are_listed_with_reasons_and_not_eligible():
    table = measures(10, unknown_mode_share=[0.3] + [0.02] * 9, patients=[800.0] + [8000.0] * 9)
    cohort = run(table, [5] + [-2] * 9)
    assert cohort.eligible == 9 and cohort.cap == 1
    row = cohort.excluded.iloc[0]
    assert row.practice_code == "P00000" and not row.selected
    assert any("Unknown mode 30%" in r for r in row.exclusion_reasons)
    assert any("list size 800 is under 1,000" in r for r in row.exclusion_reasons)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("appts_per_1000", 90.0, "under 100"),
        ("appts_per_1000", 2100.0, "over 2000"),
        ("unmapped_share", 0.45, "Inconsistent Mapping 45%"),
        ("months", 2, "2 of the window's 3 months"),
        ("patients", np.nan, "no registered-patient list size"),
    ],
)
def test_each_exclusion_rule(field, value, fragment):
    table = measures(1)
    table[field] = value
    [reasons] = exclusion_reasons(table, 3, ExclusionSettings()).values()
    assert any(fragment in r for r in reasons), reasons


def test_overrides_add_and_remove_and_an_addition_over_the_cap_is_noted():
    table = measures(10)
    beyond = [-2] * 8 + [1.0, 2.0]
    add = Override("P00000", "add", "new telephony system", "lead", "2025-11-01 09:00")
    remove = Override("P00009", "remove", "already in GPIP", "lead", "2025-11-01 09:05")
    cohort = run(table, beyond, overrides=[add, remove])
    members = cohort.members.set_index("practice_code")
    assert members.loc["P00000", "selected"] and members.loc["P00000", "overridden"] == "added"
    assert not members.loc["P00009", "selected"] and members.loc["P00009", "overridden"] == "removed"
    assert "already in GPIP (by lead" in members.loc["P00009", "override_reason"]
    over = run(table, beyond, overrides=[add])
    assert len(over.selected) == 3 > over.cap == 2
    assert over.notes == ["3 practices selected against a cap of 2: local overrides added 1 over the cap"]


def test_deprivation_breaks_ties_only_when_asked():
    table = measures(5)
    beyond = [1.0, 1.0, -2, -2, -2]  # two equal candidates, cap 1
    imd = pd.DataFrame(
        {"practice_code": table.practice_code, "imd_score": [10.0, 40.0, 5, 5, 5], "imd_decile": [8, 2, 9, 9, 9]}
    )
    shown = run(table, beyond, imd=imd)
    assert list(shown.selected.practice_code) == ["P00000"]  # code order when deprivation is only shown
    tiebreak = run(table, beyond, SelectionSettings(criteria=F2F_ONLY, imd_use="tiebreak"), imd=imd)
    assert list(tiebreak.selected.practice_code) == ["P00001"]  # more deprived first
    assert tiebreak.members.set_index("practice_code").loc["P00001", "imd_decile"] == 2


def test_deprivation_as_weight_can_reorder_close_evidence():
    table = measures(5)
    imd = pd.DataFrame(
        {"practice_code": table.practice_code, "imd_score": [10.0, 40.0, 5, 5, 5], "imd_decile": [10, 1, 9, 9, 9]}
    )
    beyond = [1.05, 1.0, -2, -2, -2]
    weighted = run(table, beyond, SelectionSettings(criteria=F2F_ONLY, imd_use="weight"), imd=imd)
    # 1.05 × (1 + 0.1 × 0/9) = 1.05 against 1.0 × (1 + 0.1 × 9/9) = 1.10
    assert list(weighted.selected.practice_code) == ["P00001"]


def test_selection_is_deterministic():
    table = measures(30)
    beyond = np.linspace(-2, 2, 30)
    assert run(table, beyond).selected.equals(run(table, beyond).selected)


def test_no_face_to_face_at_all_gives_the_strongest_finite_evidence():
    table = measures(5)
    cohort = run(table, [np.inf, 1.0, -2, -2, -2])
    members = cohort.members.set_index("practice_code")
    assert members.loc["P00000", "evidence"] == 99.0  # storable (the plan store refuses non-finite numbers)
    assert list(cohort.selected.practice_code) == ["P00000"]


def test_shrunk_method_states_the_credible_interval():
    table = measures(5)
    settings = SelectionSettings(criteria=CriteriaSettings(enabled=("f2f_gp_low",), f2f_method="shrunk"))
    cohort = run(table, [-2] * 5, settings)
    # shrunk upper 0.59 < expected 0.60 for every practice: credibly lower than expected
    assert cohort.members.criterion_f2f_gp_low.all()
    assert "shrunk estimate 55% (50%–59%)" in cohort.members.met_reasons.iloc[0][0]
