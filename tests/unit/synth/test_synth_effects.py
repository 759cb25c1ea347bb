"""Injected support effects: only the chosen practices change, from their start month, by the stated factor."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from gpaccess.synth.effects import ActionEffect, generate_supported, supported_panel

MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
STARTS = ["2025-03", "2025-04"]


def _panel(effect):
    sp = supported_panel(
        MONTHS, actions=[ActionEffect("extra_sessions_locums", effect, 12)], start_months=STARTS, seed=5, icbs=1
    )
    return sp, sp.panel.set_index(["practice_code", "month"]).sort_index()


@pytest.mark.slow
def test_effect_changes_only_supported_practice_months_by_its_factor():
    sp, with_effect = _panel(0.5)
    _, without = _panel(0.0)
    starts = {r.practice_code: r.start_month for r in sp.supports}
    assert len(starts) == 12 and set(starts.values()) <= set(STARTS)
    codes = with_effect.index.get_level_values(0)
    months = with_effect.index.get_level_values(1)
    treated = np.array([c in starts and m >= starts[c] for c, m in zip(codes, months, strict=True)])
    # everything else is exactly as without effects (the effect draws from a generator of its own)
    assert (with_effect.appointments[~treated] == without.appointments[~treated]).all()
    assert (with_effect.patients == without.patients).all()
    ratio = with_effect.appointments[treated].sum() / without.appointments[treated].sum()
    assert ratio == pytest.approx(1.5, abs=0.01)


def test_generate_supported_writes_support_csv(tmp_path):
    out, supports = generate_supported(
        tmp_path,
        ["2025-02", "2025-03"],
        actions=[ActionEffect("extra_sessions_locums", 0.06, 5), ActionEffect("care_navigation", 0.0, 4)],
        start_months=["2025-03"],
        seed=5,
        icbs=1,
        companions=False,
    )
    with (tmp_path / "support.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(supports) == 9
    assert {r["action"] for r in rows} == {"extra_sessions_locums", "care_navigation"}
    assert all(r["icb_code"] == out.icbs[0] and r["start_month"] == "2025-03" for r in rows)
    assert len({r["practice_code"] for r in rows}) == 9  # one action type each
