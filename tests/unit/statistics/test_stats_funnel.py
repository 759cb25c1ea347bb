"""Funnel limits and overdispersion against hand arithmetic, FunnelPlotR and clinical-qikit.

References:
* FunnelPlotR, nhs-r-community/FunnelPlotR at commit 9020d4972873d863e10b8a16555975f0e322adfc:
  tests/testthat/test-classes_methods.R (φ for a six-unit standardised-ratio example) and
  R/calculate_limits.R (the SHMI log-scale limits exp(±z·√(1/E + τ²))).
* clinical-qikit 0.5.0 (PyPI), `qikit.spc.limits.funnel_dispersion`, run once in a separate venv: it
  computes φ and τ² for proportions on the natural scale with 10% winsorising, as we do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpaccess.statistics.funnel import (
    Z95,
    Z998,
    classify,
    estimate_overdispersion,
    limit_curves,
    proportion_funnel,
    ratio_funnel,
)

# Hand example: θ0 = 0.5, n = 100, 100, 400 → s = 0.05, 0.05, 0.025; values 0.6, 0.4, 0.5 → z = 2, −2, 0.
HAND_R = [60, 40, 200]
HAND_N = [100, 100, 400]


def test_funnel_proportion_unadjusted_limits_by_hand() -> None:
    # θ0 ± z·√(θ0(1−θ0)/n) = 0.5 ± z·0.05 at n = 100
    f = proportion_funnel(HAND_R, HAND_N, target=0.5, adjustment="none")
    assert f.lower95[0] == pytest.approx(0.5 - 1.959964 * 0.05)
    assert f.upper95[0] == pytest.approx(0.5 + 1.959964 * 0.05)
    assert f.lower998[0] == pytest.approx(0.5 - 3.090232 * 0.05)
    assert f.upper998[0] == pytest.approx(0.5 + 3.090232 * 0.05)
    np.testing.assert_allclose(f.z, [2.0, -2.0, 0.0])
    np.testing.assert_allclose(f.z_adjusted, f.z)


def test_funnel_overdispersion_by_hand_without_winsorising() -> None:
    # φ = (4 + 4 + 0)/3 = 8/3; Iφ − (I−1) = 8 − 2 = 6;
    # w = 400, 400, 1600: Σw = 2400, Σw² = 2,880,000, Σw²/Σw = 1200 → τ² = 6 / (2400 − 1200) = 0.005
    f = proportion_funnel(HAND_R, HAND_N, target=0.5, adjustment="additive", trim=0.0)
    assert f.overdispersion.phi == pytest.approx(8 / 3)
    assert f.overdispersion.tau2 == pytest.approx(0.005)
    # additive limits at n = 100: 0.5 ± z·√(0.0025 + 0.005)
    assert f.lower95[0] == pytest.approx(0.5 - Z95 * math.sqrt(0.0075))
    assert f.upper998[0] == pytest.approx(0.5 + Z998 * math.sqrt(0.0075))
    assert f.z_adjusted[0] == pytest.approx(0.1 / math.sqrt(0.0075))


def test_funnel_multiplicative_by_hand() -> None:
    # limits widened by √φ = √(8/3): 0.5 ± z·0.05·√(8/3) at n = 100
    f = proportion_funnel(HAND_R, HAND_N, target=0.5, adjustment="multiplicative", trim=0.0)
    assert f.upper95[0] == pytest.approx(0.5 + Z95 * 0.05 * math.sqrt(8 / 3))
    assert f.z_adjusted[0] == pytest.approx(2 / math.sqrt(8 / 3))


def test_funnel_winsorising_by_hand() -> None:
    # 10th and 90th percentiles of (−2, 0, 2) by linear interpolation: −2 + 0.2·2 = −1.6 and 1.6,
    # so z_W = (1.6, −1.6, 0) and φ = 2·1.6²/3 = 1.70667
    od = estimate_overdispersion([2.0, -2.0, 0.0], [0.05, 0.05, 0.025])
    assert od.phi == pytest.approx(2 * 1.6**2 / 3)
    assert od.n_units == 3


def test_funnel_multiplicative_never_narrows() -> None:
    # z = ±0.01/√(0.25/1000) = ±0.632 and 0, winsorised to ±0.506: φ ≈ 0.17 < 1, so the multiplicative
    # limits stay the unadjusted ones
    f = proportion_funnel([510, 490, 500], [1000, 1000, 1000], target=0.5, adjustment="multiplicative")
    assert f.overdispersion.phi < 1
    assert f.overdispersion.tau2 == 0
    unadjusted = proportion_funnel([510, 490, 500], [1000, 1000, 1000], target=0.5, adjustment="none")
    np.testing.assert_allclose(f.upper95, unadjusted.upper95)


# FunnelPlotR test-classes_methods.R: num = O, denom = E; funnel_plot(...) with the default SHMI method
# gives phi = 2.948033. Its SHMI branch truncates rather than winsorises, but with six units
# floor(rank·10/7) runs 1..8, strictly inside (0, 9), so no unit is truncated and φ is the plain mean of
# z² = E·log(O/E)². Winsorising at 0 reproduces it.
FPR_O = [100, 150, 180, 80, 120, 225]
FPR_E = [108, 112, 165, 95, 100, 220]


def test_funnel_ratio_phi_matches_funnelplotr() -> None:
    f = ratio_funnel(FPR_O, FPR_E, trim=0.0)
    assert round(f.overdispersion.phi, 6) == 2.948033


def test_funnel_ratio_limits_follow_funnelplotr_shmi_formula() -> None:
    # R/calculate_limits.R, SHMI branch: exp(±1.959964·√(1/E + τ²)) and exp(±3.090232·√(1/E + τ²))
    f = ratio_funnel(FPR_O, FPR_E, trim=0.0)
    tau2 = f.overdispersion.tau2
    e = np.array(FPR_E, dtype=float)
    np.testing.assert_allclose(f.lower95, np.exp(-1.959964 * np.sqrt(1 / e + tau2)))
    np.testing.assert_allclose(f.upper998, np.exp(3.090232 * np.sqrt(1 / e + tau2)))
    # τ² by hand from the FunnelPlotR φ: (6·2.948033 − 5) / (Σw − Σw²/Σw), w = E
    expected_tau2 = (6 * f.overdispersion.phi - 5) / (e.sum() - (e**2).sum() / e.sum())
    assert tau2 == pytest.approx(expected_tau2)


def test_funnel_ratio_unadjusted_limits_by_hand() -> None:
    # E = 100: s = 1/√100 = 0.1 → exp(±1.959964·0.1) = exp(±0.1959964) = 0.822015, 1.216523
    f = ratio_funnel([100, 50, 200], [100, 50, 200], adjustment="none")
    assert f.lower95[0] == pytest.approx(math.exp(-0.1959964))
    assert f.upper95[0] == pytest.approx(math.exp(0.1959964))
    assert f.lower95[0] == pytest.approx(0.822015, abs=1e-6)
    assert f.upper95[0] == pytest.approx(1.216523, abs=1e-6)
    assert f.target == 1.0


# clinical-qikit 0.5.0: funnel_dispersion(cl, r/n, n, mask, "binomial") on these twelve units gave
# (φ, τ²) = (1.9657112780784105, 0.000207986109396722) with cl = pooled Σr/Σn, and
# (2.9299267752459337, 0.0004008550896619577) with cl = 0.55.
QIKIT_N = [120, 340, 560, 800, 1000, 1500, 2100, 2600, 3200, 4000, 250, 900]
QIKIT_R = [70, 190, 300, 470, 540, 860, 1150, 1500, 1700, 2300, 160, 480]


def test_funnel_phi_and_tau2_match_clinical_qikit_pooled_target() -> None:
    f = proportion_funnel(QIKIT_R, QIKIT_N)
    assert f.target == pytest.approx(0.5595854922279793)
    assert f.overdispersion.phi == pytest.approx(1.9657112780784105, rel=1e-12)
    assert f.overdispersion.tau2 == pytest.approx(0.000207986109396722, rel=1e-10)


def test_funnel_phi_and_tau2_match_clinical_qikit_given_target() -> None:
    f = proportion_funnel(QIKIT_R, QIKIT_N, target=0.55)
    assert f.overdispersion.phi == pytest.approx(2.9299267752459337, rel=1e-12)
    assert f.overdispersion.tau2 == pytest.approx(0.0004008550896619577, rel=1e-10)


def test_funnel_classify_on_the_limit_is_within() -> None:
    # n = 100, θ0 = 0.5, no adjustment: a value equal to the 95% upper limit is within (FunnelPlotR's
    # outlier rule: value ≤ upper and ≥ lower); just above it is above
    f = proportion_funnel(HAND_R, HAND_N, target=0.5, adjustment="none")
    on_limit = f.__class__(**{**f.__dict__, "value": np.array([f.upper95[0], 0.4, 0.5])})
    assert list(classify(on_limit).position) == ["within", "below", "within"]
    # 0.4 at n=100: z = −2, 0.040036 beyond the lower 95% limit and 1.090232 inside the 99.8% limit
    c95, c998 = classify(f, 0.95), classify(f, 0.998)
    assert c95.beyond_lower[1] == pytest.approx(2 - 1.959964)
    assert c998.beyond_lower[1] == pytest.approx(2 - 3.090232)
    assert list(c998.position) == ["within", "within", "within"]
    assert c95.beyond_upper[0] == pytest.approx(2 - 1.959964)


def test_funnel_zero_observed_ratio_is_below_and_phi_stays_finite() -> None:
    o = [0, 95, 100, 105, 110, 90, 98, 102, 97, 103, 99]
    e = [50] + [100] * 10
    f = ratio_funnel(o, e)
    assert np.isfinite(f.overdispersion.phi)
    c = classify(f)
    assert c.position[0] == "below"
    assert c.beyond_lower[0] == np.inf


def test_funnel_unit_without_size_has_no_data() -> None:
    f = proportion_funnel([5, 10, 0], [10, 20, 0], target=0.5)
    assert classify(f).position[2] == "no data"
    assert f.overdispersion.n_units == 2


def test_funnel_limit_curves_reproduce_unit_limits() -> None:
    f = proportion_funnel(QIKIT_R, QIKIT_N)
    curves = limit_curves(f, QIKIT_N)
    np.testing.assert_allclose(curves.lower95, f.lower95)
    np.testing.assert_allclose(curves.upper998, f.upper998)
    grid = limit_curves(ratio_funnel(FPR_O, FPR_E), points=50)
    assert grid.size[0] == pytest.approx(95) and grid.size[-1] == pytest.approx(220)
    assert np.all(np.diff(grid.upper95) < 0)


def test_funnel_proportion_limits_are_clipped_to_zero_one() -> None:
    f = proportion_funnel([1, 1], [2, 3], target=0.5, adjustment="none")
    assert f.lower998.min() >= 0 and f.upper998.max() <= 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: proportion_funnel([5], [4]), "between 0"),
        (lambda: proportion_funnel([0, 0], [4, 4]), "strictly between"),
        (lambda: proportion_funnel([1, 2], [4]), "one length"),
        (lambda: proportion_funnel([1, 2], [4, 4], adjustment="both"), "adjustment"),  # type: ignore[arg-type]
        (lambda: classify(proportion_funnel([1, 2], [4, 4]), 0.9), "level"),
        (lambda: estimate_overdispersion([1.0, 2.0], [1.0, 1.0], trim=0.5), "trim"),
        (lambda: ratio_funnel([-1], [2]), "non-negative"),
    ],
)
def test_funnel_refuses_bad_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_funnel_single_unit_has_no_overdispersion_estimate() -> None:
    f = proportion_funnel([3], [10], target=0.5)
    assert math.isnan(f.overdispersion.phi)
    assert f.overdispersion.tau2 == 0


def test_funnel_refuses_what_cannot_be_estimated_or_drawn() -> None:
    with pytest.raises(ValueError, match="finite z-score"):
        ratio_funnel([0, 0], [5, 6])  # every log(O/E) is −∞: no spread to estimate
    f = proportion_funnel([0, 0], [0, 0], target=0.5)
    with pytest.raises(ValueError, match="positive size"):
        limit_curves(f)
