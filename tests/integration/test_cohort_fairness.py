"""Fairness against the generator's truth (cohort issue, item 8; DESIGN 'Face-to-face criterion').

The synthetic generator records each practice's own face-to-face propensity, net of appointment mix, supplier
and practice recording artefacts and noise. "Truly low" practices are the lowest fifth on that propensity.
The fair selection (observed ÷ expected for the practice's appointment mix, below the 95% funnel limit with
overdispersion, strongest evidence first, capped per ICB) must find them with precision at least 0.10 higher
than ranking raw GP face-to-face shares for the same number of practices per ICB, and must not over-select
small practices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpaccess.cohort.criteria import Context, CriteriaSettings
from gpaccess.cohort.select import SelectionSettings, select
from gpaccess.measures.service import MeasureSession, MeasureSettings
from gpaccess.storage.warehouse import StoreConfig, Warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def selections(synthetic_store):
    home, out = synthetic_store
    session = MeasureSession(Warehouse(StoreConfig(home=home)).snapshot(), MeasureSettings())
    truth = pd.read_csv(out.truth)
    directory = session.directory()
    truth = truth[truth.practice_code.isin(directory.practice_code)]
    truly_low = set(truth.practice_code[truth.true_f2f_logit <= truth.true_f2f_logit.quantile(0.2)])
    settings = SelectionSettings(criteria=CriteriaSettings(enabled=("f2f_gp_low",)))
    fair, raw = [], []
    for icb in sorted(directory.icb_code.dropna().unique()):
        table = session.icb_table(icb)
        ctx = Context(table=table, f2f=session.comparison("f2f_gp"), window=session.label)
        cohort = select(ctx, [f"{m:%Y-%m}" for m in session.months], settings, icb_code=icb)
        chosen = list(cohort.selected.practice_code)
        eligible = cohort.members[~cohort.members.excluded].merge(
            table[["practice_code", "f2f_gp"]], on="practice_code"
        )
        fair += chosen
        raw += list(eligible.sort_values(["f2f_gp", "practice_code"]).practice_code.head(len(chosen)))
    sizes = truth.set_index("practice_code").list_size_ref
    return {"fair": fair, "raw": raw, "low": truly_low, "sizes": sizes}


def precision(chosen, truly_low):
    return float(np.mean([p in truly_low for p in chosen]))


def test_fair_selection_is_clearly_more_precise_than_raw_ranking(selections):
    fair, raw, low = selections["fair"], selections["raw"], selections["low"]
    assert len(fair) == len(raw) >= 50  # enough selected practices for the comparison to mean something
    gap = precision(fair, low) - precision(raw, low)
    print(f"precision: fair {precision(fair, low):.3f}, raw {precision(raw, low):.3f}, gap {gap:.3f}, n={len(fair)}")
    assert gap >= 0.10


def test_small_practices_are_not_over_selected(selections):
    sizes = selections["sizes"]
    small = set(sizes[sizes <= sizes.quantile(0.25)].index)
    share_selected = float(np.mean([p in small for p in selections["fair"]]))
    print(f"smallest quarter of practices: {share_selected:.3f} of the fair selection")
    assert share_selected <= 0.25 + 0.05
