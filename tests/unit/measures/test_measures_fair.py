"""Funnels for shares other than face-to-face (`fair._proportion`): the DNA rate is compared with the pooled
national proportion, with Spiegelhalter's limits θ₀ ± z·√(θ₀(1−θ₀)/n) (worked by hand below)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from gpaccess.measures.definitions import get_measure
from gpaccess.measures.fair import compare

MONTHS = [date(2025, 10, 1)]


def values() -> pd.DataFrame:
    # DNA ÷ appointments with a known status, per practice; Z has no known status at all.
    return pd.DataFrame(
        {
            "practice_code": ["A", "B", "C", "D", "Z"],
            "dna_rate__num": [40, 30, 5, 200, 0],
            "dna_rate__den": [1000, 500, 400, 2000, 0],
        }
    )


def test_dna_rate_funnel_against_the_pooled_proportion_with_hand_worked_limits():
    comp = compare(None, values(), get_measure("dna_rate"), MONTHS, adjustment="none")
    t = comp.table.set_index("practice_code")
    assert comp.kind == "proportion"
    theta = (40 + 30 + 5 + 200) / (1000 + 500 + 400 + 2000)  # 275 / 3900
    assert comp.target == pytest.approx(theta, rel=1e-12)
    assert "Z" not in t.index  # no denominator: not compared, never a 0% share
    for code, n, r in [("A", 1000, 40), ("B", 500, 30), ("C", 400, 5), ("D", 2000, 200)]:
        s = math.sqrt(theta * (1 - theta) / n)
        assert t.loc[code, "value"] == pytest.approx(r / n, rel=1e-12)
        assert t.loc[code, "expected"] == pytest.approx(n * theta, rel=1e-12)
        assert t.loc[code, "lower95"] == pytest.approx(theta - 1.959964 * s, rel=1e-6)
        assert t.loc[code, "upper998"] == pytest.approx(theta + 3.090232 * s, rel=1e-6)
    # C: 1.25% against 7.05% with n = 400 is far below; D: 10% with n = 2,000 is far above.
    assert t.loc["C", "position998"] == "below" and bool(t.loc["C", "beyond_lower998"])
    assert t.loc["D", "position998"] == "above"
    assert t.loc["B", "position95"] == "within"  # 6% with n = 500: lower 95% limit 4.8%
    assert t.loc["A", "position95"] == "below"  # 4% with n = 1,000: lower 95% limit 5.5%


def test_overdispersion_widens_the_limits_of_every_practice():
    plain = compare(None, values(), get_measure("dna_rate"), MONTHS, adjustment="none").table
    wide = compare(None, values(), get_measure("dna_rate"), MONTHS, adjustment="additive").table
    assert (wide.upper95 - wide.lower95 >= plain.upper95 - plain.lower95 - 1e-15).all()
    assert (wide.upper95 - wide.lower95 > plain.upper95 - plain.lower95).any()
