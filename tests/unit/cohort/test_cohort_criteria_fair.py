"""The fair rules on hand-made inputs: statuses (met, near the limit, not met, not assessed), the one evidence
scale, the baseline rule beyond the 99.8% limit of a national funnel, and the local rules' overdispersed
funnel with its "not assessed" threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohort_helpers import comparison, measures
from gpaccess.cohort.criteria import Context, CriteriaSettings, CriterionStatus, local_funnel
from gpaccess.cohort.select import SelectionSettings, select
from gpaccess.measures.fair import baseline_comparison
from gpaccess.statistics.funnel import Z95, Z998

MONTHS = ["2025-08", "2025-09", "2025-10"]


def _select(table, criteria, **ctx):
    context = Context(table=table, f2f=comparison(table.practice_code, [-2.0] * len(table)), window="w", **ctx)
    return select(context, MONTHS, SelectionSettings(criteria=criteria), icb_code="QXX")


def test_f2f_statuses_near_the_limit_and_evidence_past_the_998_limit():
    table = measures(10)
    # distance past the 99.8% limit: 0.5 met; -0.5 between the limits (95% limit 1.13 further in); -2 within
    beyond = [0.5, -0.5] + [-2.0] * 8
    ctx = Context(table=table, f2f=comparison(table.practice_code, beyond), window="w")
    cohort = select(ctx, MONTHS, SelectionSettings(criteria=CriteriaSettings(enabled=("f2f_gp_low",))), icb_code="Q")
    m = cohort.members.set_index("practice_code")
    assert m.loc["P00000", "status_f2f_gp_low"] == "met" and m.loc["P00000", "evidence"] == pytest.approx(0.5)
    assert m.loc["P00001", "status_f2f_gp_low"] == "near the limit" and m.loc["P00001", "near_limit"]
    assert not m.loc["P00001", "criterion_f2f_gp_low"] and m.loc["P00002", "status_f2f_gp_low"] == "not met"
    assert list(cohort.near_limit.practice_code) == ["P00001"]
    # a practice within its limits is never described as lower than expected
    assert all("lower than expected" not in r for r in m.loc["P00002", "reasons"])
    assert "lower than expected" in m.loc["P00000", "met_reasons"][0]


def test_f2f_reason_of_a_flagged_practice_adds_its_mode_mix_context():
    table = measures(10, video_online_share=[0.40] + [0.05] * 9, unknown_mode_share=[0.08] + [0.02] * 9)
    ctx = Context(table=table, f2f=comparison(table.practice_code, [1.0] + [-2.0] * 9), window="w")
    cohort = select(ctx, MONTHS, SelectionSettings(criteria=CriteriaSettings(enabled=("f2f_gp_low",))), icb_code="Q")
    reason = cohort.members.set_index("practice_code").loc["P00000", "met_reasons"][0]
    assert "video/online 40%" in reason and "online-triage" in reason and "Unknown mode 8.0%" in reason


def _baseline_table(observed, baseline_rate=500.0, patient_months=24000.0):
    observed = np.asarray(observed, dtype=float)
    return measures(
        len(observed),
        appts_vs_baseline=observed / (baseline_rate * patient_months / 1000),
        baseline_rate=baseline_rate,
        appts_per_1000=observed / (patient_months / 1000),
        rate__num=observed,
        rate__den=patient_months,
    )


def test_baseline_comparison_is_centred_on_the_target_with_the_national_spread():
    # 12,000 expected at the baseline rate for everyone; the nation grew by about 10%.
    observed = np.array([13200, 12600, 13800, 13000, 13500, 12900, 14000, 13100, 6000, 9000], dtype=float)
    table = _baseline_table(observed)
    comp = baseline_comparison(table, target=1.0).set_index("practice_code")
    y, s = np.log(observed / 12000), 1 / np.sqrt(12000.0)
    # φ from z-scores around the pooled log ratio, winsorised at the 10th and 90th percentiles (worked here)
    z = (y - np.log(observed.sum() / (12000 * len(observed)))) / s
    zw = np.clip(z, *np.quantile(z, [0.1, 0.9]))
    phi = np.mean(zw**2)
    w = np.full(len(y), 1 / s**2)
    tau2 = (len(y) * phi - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum())
    za = y / np.sqrt(s**2 + tau2)
    assert comp.z.to_numpy() == pytest.approx(za, rel=1e-9)
    assert comp.beyond_lower998.to_numpy() == pytest.approx(-za - Z998, rel=1e-9)
    assert comp.lower998.iloc[0] == pytest.approx(np.exp(-Z998 * np.sqrt(s**2 + tau2)))


def test_baseline_rule_is_met_only_beyond_the_998_limit_not_on_a_ratio_below_one():
    table = _baseline_table([10000, 11000, 12000, 13000])
    national = pd.DataFrame(
        {
            "practice_code": table.practice_code,
            "ratio": [0.55, 0.75, 0.90, 1.08],
            "lower95": 0.8,
            "lower998": 0.7,
            "z": [-4.0, -2.5, -0.8, 0.6],
        }
    )
    national["beyond_lower95"] = -national.z - Z95
    national["beyond_lower998"] = -national.z - Z998
    cohort = _select(table, CriteriaSettings(enabled=("appointments_below_baseline",)), baseline=national)
    m = cohort.members.set_index("practice_code")
    status = m.status_appointments_below_baseline
    assert list(status) == ["met", "near the limit", "not met", "not met"]
    assert m.loc["P00000", "evidence"] == pytest.approx(4.0 - Z998)
    assert (
        "90% of the same months" in m.loc["P00002", "reasons"][0]
        and "within the funnel limits" in m.loc["P00002", "reasons"][0]
    )
    assert "not below its baseline" in m.loc["P00003", "reasons"][0]


def test_baseline_not_loaded_is_not_assessed_never_false():
    table = measures(5)
    cohort = _select(table, CriteriaSettings(enabled=("appointments_below_baseline",)))
    assert (cohort.members.status_appointments_below_baseline == "not assessed").all()
    assert cohort.members.criterion_appointments_below_baseline.isna().all()  # None, never False
    assert cohort.assessed() == {"appointments_below_baseline": False}


def _local(table, values, indicator="nhs111_in_hours_per_1000", period="2025-10"):
    return pd.DataFrame(
        {"practice_code": table.practice_code, "indicator": indicator, "period": period, "value": values}
    )


def test_local_funnel_against_the_icbs_pooled_rate_with_poisson_counts():
    rate = np.array([10.0, 11, 12, 9, 10.5, 11.5, 9.5, 10, 12.5, 30])
    patients = np.full(10, 10000.0)
    fit = local_funnel(rate, patients, months=3, reference=np.ones(10, bool))
    observed = rate * 10 * 3  # per 1,000 a month × 10 thousand patients × 3 months
    pooled = observed.sum() / (10 * 3 * 10)
    assert fit.expected_rate == pytest.approx(np.full(10, pooled))
    expected = pooled * 30
    y, s = np.log(observed / expected), 1 / np.sqrt(expected)
    z = y / s
    zw = np.clip(z, *np.quantile(z, [0.1, 0.9]))
    w = np.full(10, 1 / s**2)
    tau2 = max(0.0, (10 * np.mean(zw**2) - 9) / (w.sum() - (w**2).sum() / w.sum()))
    assert fit.z_adjusted == pytest.approx(y / np.sqrt(s**2 + tau2), rel=1e-9)
    assert fit.z_adjusted[-1] > Z998 > fit.z_adjusted[:-1].max()


def test_local_rule_flags_a_clearly_high_practice_and_no_fixed_fifth():
    table = measures(20, patients=10000.0)
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(12, 0.6, 20), 1)
    values[7] = 30.0
    cohort = _select(table, CriteriaSettings(enabled=("high_111_use",)), local=_local(table, values))
    m = cohort.members.set_index("practice_code")
    assert list(m.index[m.status_high_111_use == "met"]) == ["P00007"]  # one, not a fifth of the ICB
    assert "above the upper 99.8% funnel limit" in m.loc["P00007", "met_reasons"][0]
    assert m.loc["P00007", "evidence"] > 0


def test_local_criterion_not_assessed_unless_half_and_ten_have_a_value():
    table = measures(30, patients=10000.0)
    values = np.full(30, np.nan)
    values[:14] = 12.0  # 14 of 30 eligible: fewer than half
    cohort = _select(
        table,
        CriteriaSettings(enabled=("high_ae_use",)),
        local=_local(table, values, "ae_attendances_per_1000").dropna(),
    )
    assert (cohort.members.status_high_ae_use == CriterionStatus.NOT_ASSESSED.value).all()
    assert "14 of its 30 eligible practices" in cohort.members.reasons.iloc[0][0]
    small = measures(12, patients=10000.0)
    values = np.full(12, 12.0)
    values[:3] = np.nan  # 9 of 12: over half, but fewer than 10
    local = _local(small, values).dropna()
    cohort = _select(small, CriteriaSettings(enabled=("high_111_use",)), local=local)
    assert (cohort.members.status_high_111_use == "not assessed").all()
    values[2] = 12.0  # 10 of 12: assessed; the practices without a figure are not assessed one by one
    cohort = _select(small, CriteriaSettings(enabled=("high_111_use",)), local=_local(small, values).dropna())
    assert list(cohort.members.status_high_111_use[:2]) == ["not assessed", "not assessed"]
    assert set(cohort.members.status_high_111_use[2:]) <= {"not met", "near the limit", "met"}


def test_deprivation_adjustment_explains_a_rate_that_follows_imd():
    table = measures(20, patients=10000.0)
    imd = np.linspace(5, 50, 20)
    values = np.round(20 * np.exp(0.02 * (imd - 25)), 2)
    values[-1] *= 1.4  # the most deprived practice: high, but partly for its deprivation
    local = _local(table, values, "ae_attendances_per_1000")
    imd_frame = pd.DataFrame({"practice_code": table.practice_code, "imd_score": imd})
    plain = _select(table, CriteriaSettings(enabled=("high_ae_use",)), local=local, imd=imd_frame)
    adjusted = _select(
        table, CriteriaSettings(enabled=("high_ae_use",), local_deprivation=True), local=local, imd=imd_frame
    )
    # the ICB's spread is mostly deprivation: against the pooled rate the outlier is only near the limit; against
    # what its deprivation predicts (a higher expectation, but a far tighter spread) it stands out
    assert plain.members.status_high_ae_use.iloc[-1] == "near the limit"
    assert (plain.members.status_high_ae_use.iloc[:-1] == "not met").all()
    assert adjusted.members.status_high_ae_use.iloc[-1] == "met"
    reason = adjusted.members.met_reasons.iloc[-1][0]
    assert "expected 36.0 for its deprivation" in reason and "higher than its deprivation predicts" in reason
    assert "expected 22.5 across the ICB's practices" in plain.members.reasons.iloc[-1][0]
