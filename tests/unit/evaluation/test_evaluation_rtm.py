"""Regression to the mean, shown and allowed for: practices chosen because their figure was lowest before
support rise afterwards with no support at all; their matched comparators show most of that rise, and the
estimate's interval includes no change."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpaccess.evaluation.evaluate import ESTIMATED, Outcome, evaluate_icb
from gpaccess.evaluation.records import SupportRecord

MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]


def test_chosen_for_a_low_figure_they_rise_without_support():
    rng = np.random.default_rng(3)
    n = 400
    # each practice's own level (appointments per 1,000 around 450) plus month-to-month noise; no effect at all
    y = rng.normal(np.log(450), 0.15, n)[:, None] + rng.normal(0, 0.08, (n, len(MONTHS)))
    codes = [f"A{i:05d}" for i in range(n)]
    chosen = np.argsort(y[:, :4].mean(axis=1))[:40]  # the lowest 40 over the four months before support
    support = [SupportRecord(codes[i], "care_navigation", "2025-05") for i in chosen]
    panel = pd.DataFrame(
        [(codes[i], m, float(np.exp(y[i, j])), 5000) for i in range(n) for j, m in enumerate(MONTHS)],
        columns=["practice_code", "month", "value", "patients"],
    )
    directory = pd.DataFrame({"practice_code": codes, "icb_code": "QAA", "region_code": "Y1", "supplier": "EMIS"})
    outcome = Outcome("appts_per_1000", "Appointments per 1,000 registered patients per month", "rate_per_1000")
    e = evaluate_icb(panel, directory, support, "QAA", outcome).estimates[1]
    assert e.action == "care_navigation" and e.status == ESTIMATED
    assert e.supported_change > 1.0  # a rise of over 1% with no support: regression to the mean
    assert e.comparison_change > 0.5 * e.supported_change  # the comparators, chosen alike, show most of it
    assert e.lower < 0 < e.upper  # and the estimate finds no clear effect
