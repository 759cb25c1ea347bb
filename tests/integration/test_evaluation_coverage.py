"""The estimator against the generator's truth over 20 seeds: the 95% interval of the national estimate (pooled
from each ICB's aggregate return, as NHS England would pool them) covers the injected effect in at least 17,
and, for an action type injected with no effect, covers zero in at least 17.

Each seed draws its own practices, support and appointments from the synthetic generator with effects
(`synth.effects.supported_panel`: the appointments and list sizes the generated files hold, summed in memory, so
20 seeds fit in minutes); the end-to-end run from written files through ingest and `gpaccess evaluate` is
tests/functional/test_cli_evaluate.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gpaccess.evaluation.evaluate import Outcome, evaluate_icb
from gpaccess.evaluation.pooling import pool_returns
from gpaccess.evaluation.records import SupportRecord
from gpaccess.synth import month_range
from gpaccess.synth.effects import ActionEffect, supported_panel

SEEDS = range(1, 21)
EFFECT = 0.06  # +6% appointments per 1,000 patients from the start month
ACTIONS = [ActionEffect("extra_sessions_locums", EFFECT, 25), ActionEffect("care_navigation", 0.0, 20)]
STARTS = ["2025-02", "2025-03", "2025-04"]
MONTHS = month_range("2024-10", "2025-06")
OUTCOME = Outcome("appts_per_1000", "Appointments per 1,000 registered patients per month", "rate_per_1000")


def national_estimates(seed: int) -> pd.DataFrame:
    sp = supported_panel(MONTHS, actions=ACTIONS, start_months=STARTS, seed=seed, icbs=3)
    assert len(sp.supports) >= 100 and len({r.start_month for r in sp.supports}) == 3
    panel = sp.panel.assign(value=sp.panel.appointments * 1000.0 / sp.panel.patients)
    records = [SupportRecord(r.practice_code, r.action, r.start_month) for r in sp.supports]
    returns = [
        evaluate_icb(panel, sp.directory, records, icb, OUTCOME).return_rows()
        for icb in sorted(sp.directory.icb_code.unique())
    ]
    return pool_returns(pd.concat(returns, ignore_index=True)).set_index("action")


@pytest.mark.slow
def test_interval_covers_the_injected_effect_and_zero_where_none():
    truth = math.log1p(EFFECT)
    covered_effect, covered_zero, estimates = 0, 0, []
    for seed in SEEDS:
        pooled = national_estimates(seed)
        es, cn = pooled.loc["extra_sessions_locums"], pooled.loc["care_navigation"]
        covered_effect += es.coefficient - 1.96 * es.std_error <= truth <= es.coefficient + 1.96 * es.std_error
        covered_zero += cn.coefficient - 1.96 * cn.std_error <= 0.0 <= cn.coefficient + 1.96 * cn.std_error
        estimates.append(es.coefficient)
    print(f"covered the effect {covered_effect}/20, zero {covered_zero}/20; mean estimate {sum(estimates) / 20:.4f}")
    assert covered_effect >= 17
    assert covered_zero >= 17
    assert abs(sum(estimates) / len(estimates) - truth) < 0.01  # no material bias
