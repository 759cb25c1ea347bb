"""Inverse-variance pooling and the rounding of counts, against numbers worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gpaccess.evaluation.evaluate import RETURN_COLUMNS, round_to_5
from gpaccess.evaluation.pooling import inverse_variance, pool_returns, read_returns


def test_inverse_variance_two_estimates_by_hand():
    # weights 1/0.1² = 100 and 1/0.2² = 25; pooled (100·0.1 + 25·0.3) / 125 = 0.14; se 1/√125
    p = inverse_variance([0.1, 0.3], [0.1, 0.2])
    assert p.coefficient == pytest.approx(0.14)
    assert p.std_error == pytest.approx(1 / math.sqrt(125))
    # Q = 100·0.04² + 25·0.16² = 0.8 < df = 1: no heterogeneity beyond chance
    assert p.q == pytest.approx(0.8)
    assert p.i_squared == 0.0
    assert p.lower == pytest.approx(0.14 - 1.959964 / math.sqrt(125))


def test_inverse_variance_heterogeneous_estimates():
    # 0 and 1, both se 0.1: pooled 0.5, Q = 2·100·0.25 = 50, I² = (50 - 1) / 50
    p = inverse_variance([0.0, 1.0], [0.1, 0.1])
    assert p.coefficient == pytest.approx(0.5)
    assert p.i_squared == pytest.approx(0.98)


def test_inverse_variance_refuses_a_zero_standard_error():
    with pytest.raises(ValueError, match="positive standard error"):
        inverse_variance([0.1], [0.0])


@pytest.mark.parametrize(("n", "rounded"), [(5, 5), (7, 5), (8, 10), (12, 10), (13, 15), (22, 20), (45, 45)])
def test_counts_round_to_5(n, rounded):
    assert round_to_5(n) == rounded


def _return(icb, action, practices, coefficient, se):
    return {
        "icb_code": icb,
        "outcome": "appts_per_1000",
        "unit": "% change",
        "action": action,
        "practices": practices,
        "effect": 100 * math.expm1(coefficient),
        "lower": None,
        "upper": None,
        "coefficient": coefficient,
        "std_error": se,
        "first_month": "2024-10",
        "last_month": "2025-06",
    }


def test_pool_returns_shows_types_with_20_practices_pooled(tmp_path):
    rows = [
        _return("QAA", "extra_sessions_locums", 10, 0.1, 0.1),
        _return("QBB", "extra_sessions_locums", 15, 0.3, 0.2),
        _return("QAA", "peer_support", 5, 0.0, 0.1),
        _return("QBB", "peer_support", 10, 0.2, 0.1),
    ]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=RETURN_COLUMNS).to_csv(path, index=False)
    pooled = pool_returns(read_returns([path])).set_index("action")
    es = pooled.loc["extra_sessions_locums"]
    assert es.status == "estimated" and es.practices == 25 and es.icbs == 2
    assert es.coefficient == pytest.approx(0.14)
    assert es.effect == pytest.approx(100 * math.expm1(0.14))
    assert pooled.loc["peer_support"].status == "too few practices pooled"  # 15 pooled


def test_read_returns_refuses_another_file(tmp_path):
    from gpaccess.errors import InputFileError

    path = tmp_path / "cohort.csv"
    path.write_text("pseudonym,criteria_met\nGPA-x,f2f\n")
    with pytest.raises(InputFileError, match="not an evaluation return"):
        read_returns([path])
