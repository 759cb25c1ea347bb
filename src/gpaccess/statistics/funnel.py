"""Funnel plots with overdispersion (Spiegelhalter 2005): compare practices without ranking them.

A funnel plot draws each unit's value against its size with control limits that narrow as size grows.
A unit outside the limits differs from the target by more than chance alone explains; everything inside
is indistinguishable, which is why gpaccess shows funnels and never ranks (Spiegelhalter, Stat Med
2005; 24:1185).

Two kinds of value are built in, each on a working scale where it is roughly normal, and `scale_funnel` takes
any value whose standard error is known (the face-to-face comparison's log-odds shift, `casemix.log_odds_shift`,
whose binomial error fits shares of 0.5-0.8 better than the Poisson 1/√E below):

* proportions r/n against a target θ0, on the natural scale with the binomial standard error
  s = √(θ0(1−θ0)/n) (Spiegelhalter 2005, and domain.md D1);
* indirectly standardised ratios O/E against 1, on the log scale, Y = log(O/E) with s = 1/√E. This is
  FunnelPlotR's default "SHMI" transform for `data_type = "SR"`. We chose log over its alternative
  square-root ("CQC") transform because the log limits back-transform exactly (exp), stay positive and
  are symmetric in the ratio (a halving is as far from 1 as a doubling); FunnelPlotR's CQC branch draws
  1 ± z·√(s² + τ²) without squaring back, so its limits are not on the ratio's scale.

Real practices vary more than binomial or Poisson noise allows (overdispersion), so unadjusted limits
flag too many. Following Spiegelhalter (Qual Saf Health Care 2005; 14:347):

    z_i   = (Y_i − θ0) / s_i                          unadjusted z-score on the working scale
    z_W   = z winsorised at the 10th and 90th percentiles (so outliers cannot widen limits past themselves)
    φ     = Σ z_W² / I                                overdispersion factor
    multiplicative:  θ0 ± z·s_i·√φ                    (only when φ > 1)
    additive:        θ0 ± z·√(s_i² + τ²),  τ² = max(0, (Iφ − (I−1)) / (Σw − Σw²/Σw)),  w_i = 1/s_i²

The additive (random-effects) model is preferred: limits barely move for small units and level off for
large ones, so a big practice is not flagged for a difference smaller than the real spread between
practices. Winsorising follows Spiegelhalter and FunnelPlotR's PR/CQC branches; FunnelPlotR's SHMI
branch truncates instead, which we do not copy (the brief and the paper winsorise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
Adjustment = Literal["none", "multiplicative", "additive"]
Kind = Literal["proportion", "ratio"]

Z95 = 1.959964  # two-sided 95%
Z998 = 3.090232  # two-sided 99.8%
WINSORISE = 0.1  # fraction winsorised in each tail
_LEVELS = {0.95: Z95, 0.998: Z998}


@dataclass(frozen=True)
class Overdispersion:
    """The overdispersion factor φ and between-unit variance τ² (working scale), from I units."""

    phi: float
    tau2: float
    n_units: int


@dataclass(frozen=True)
class Funnel:
    """Each unit's value, z-scores and limits at 95% and 99.8% under one adjustment."""

    kind: Kind
    value: FloatArray  # r/n or O/E; NaN where the unit has no size
    size: FloatArray  # n or E: the funnel's x axis
    target: float  # θ0 (proportion) or 1 (ratio), on the value's own scale
    z: FloatArray  # unadjusted z-score on the working scale
    z_adjusted: FloatArray  # z-score against the adjusted limits: ±1.96 at the 95% limits
    overdispersion: Overdispersion
    adjustment: Adjustment
    lower95: FloatArray
    upper95: FloatArray
    lower998: FloatArray
    upper998: FloatArray


@dataclass(frozen=True)
class LimitCurves:
    """Limits over a grid of sizes, for drawing the funnel."""

    size: FloatArray
    lower95: FloatArray
    upper95: FloatArray
    lower998: FloatArray
    upper998: FloatArray


@dataclass(frozen=True)
class Classification:
    """Where each unit sits against the limits at one level, and how far beyond them in z units.

    `beyond_lower` is how far the adjusted z-score lies past the lower limit (−z_adjusted − z_level):
    positive outside, negative inside. The cohort uses it as "strength of evidence" for a share lower
    than expected. `beyond_upper` is the mirror image.
    """

    level: float
    position: NDArray[np.str_]  # "below", "within", "above" or "no data"
    beyond_lower: FloatArray
    beyond_upper: FloatArray


@dataclass(frozen=True)
class _Scale:
    """How a kind of value maps to its working scale and back."""

    centre: float
    to_value: Callable[[FloatArray], FloatArray]
    bounds: tuple[float, float]


def proportion_funnel(
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    target: float | None = None,
    adjustment: Adjustment = "additive",
    trim: float = WINSORISE,
    reference: ArrayLike | None = None,
) -> Funnel:
    """Funnel for proportions r/n; the target defaults to the pooled proportion Σr/Σn (of the reference units).

    `reference` (a boolean per unit) names the units the target, φ and τ² are fitted on (DESIGN: practices
    without a data-quality flag); every unit is then placed against those limits."""
    r, n = _as_float(numerator), _as_float(denominator)
    _check_same_shape(r, n)
    if np.any((r < 0) | (r > n)):
        raise ValueError("numerators must lie between 0 and their denominators")
    ref = _reference(reference, r.shape)
    theta0 = float(r[ref].sum() / n[ref].sum()) if target is None else float(target)
    if not 0 < theta0 < 1:
        raise ValueError(f"target proportion must lie strictly between 0 and 1; got {theta0}")
    value = _safe_divide(r, n)
    s = _safe_sqrt_over(theta0 * (1 - theta0), n)
    return _build("proportion", value, n, value, s, _proportion_scale(theta0), adjustment, trim, ref)


def ratio_funnel(
    observed: ArrayLike,
    expected: ArrayLike,
    *,
    adjustment: Adjustment = "additive",
    trim: float = WINSORISE,
    reference: ArrayLike | None = None,
) -> Funnel:
    """Funnel for indirectly standardised ratios O/E against 1, on the log scale (s = 1/√E: Poisson counts).

    `reference` (a boolean per unit) names the units φ and τ² are fitted on; every unit is placed against them.

    A unit with O = 0 has log(O/E) = −∞: it lies below every limit, and for estimating φ it counts at
    the lower winsorising bound, which is what winsorising does to any value below that bound.
    """
    o, e = _as_float(observed), _as_float(expected)
    _check_same_shape(o, e)
    value = _safe_divide(o, e)
    with np.errstate(divide="ignore"):
        y = np.log(value)
    s = _safe_sqrt_over(1.0, e)
    return _build("ratio", value, e, y, s, _RATIO_SCALE, adjustment, trim, _reference(reference, o.shape))


def estimate_overdispersion(z: ArrayLike, s: ArrayLike, *, trim: float = WINSORISE) -> Overdispersion:
    """φ from winsorised z-scores and τ² by the method of moments (DerSimonian-Laird form).

    Units whose z or s is NaN (no size) are left out. Percentiles use linear interpolation, as R's
    default `quantile` (type 7) in FunnelPlotR and numpy's default do.
    """
    z_all, s_all = _as_float(z), _as_float(s)
    used = ~np.isnan(z_all) & np.isfinite(s_all) & (s_all > 0)
    z_used, w = z_all[used], 1.0 / s_all[used] ** 2
    units = int(z_used.size)
    if units < 2:
        return Overdispersion(phi=float("nan"), tau2=0.0, n_units=units)
    phi = float(np.mean(_winsorise(z_used, trim) ** 2))
    return Overdispersion(phi=phi, tau2=_tau2(phi, units, w), n_units=units)


def limit_curves(funnel: Funnel, sizes: ArrayLike | None = None, *, points: int = 200) -> LimitCurves:
    """Limits of `funnel` (same target, φ, τ² and adjustment) over a grid of sizes, for plotting.

    Without `sizes`, a geometric grid spans the smallest to the largest unit size.
    """
    grid = _default_grid(funnel.size, points) if sizes is None else _as_float(sizes)
    scale = _proportion_scale(funnel.target) if funnel.kind == "proportion" else _RATIO_SCALE
    s = (
        _safe_sqrt_over(funnel.target * (1 - funnel.target), grid)
        if funnel.kind == "proportion"
        else _safe_sqrt_over(1.0, grid)
    )
    width = _width(s, funnel.overdispersion, funnel.adjustment)
    return LimitCurves(grid, *_limits(width, scale))


def classify(funnel: Funnel, level: float = 0.95) -> Classification:
    """Place each unit below, within or above the limits at `level` (0.95 or 0.998).

    A unit exactly on a limit is within it (as FunnelPlotR's outlier rule: value ≤ upper and
    ≥ lower). The distances use the adjusted z-score, so they agree with the limits drawn.
    """
    z_level = _z_for(level)
    lower, upper = (funnel.lower95, funnel.upper95) if level == 0.95 else (funnel.lower998, funnel.upper998)
    missing = np.isnan(funnel.value)
    position = np.full(funnel.value.shape, "within", dtype="<U7")
    position[funnel.value < lower] = "below"
    position[funnel.value > upper] = "above"
    position[missing] = "no data"
    return Classification(
        level=level,
        position=position,
        beyond_lower=-funnel.z_adjusted - z_level,
        beyond_upper=funnel.z_adjusted - z_level,
    )


@dataclass(frozen=True)
class ScaleFunnel:
    """Units compared on a working scale where each value y has a known standard error s (for example a
    log-odds shift, `casemix.log_odds_shift`): the same overdispersion and limits as `Funnel`, with the limits
    left on the working scale for the caller to map back (they may depend on more than the unit's size)."""

    y: FloatArray
    s: FloatArray
    centre: float
    z: FloatArray  # (y − centre) / s
    z_adjusted: FloatArray  # (y − centre) / width: ±1.96 at the 95% limits
    width: FloatArray  # √(s² + τ²) (additive), s·√φ (multiplicative) or s
    overdispersion: Overdispersion
    adjustment: Adjustment


def scale_funnel(
    y: ArrayLike,
    s: ArrayLike,
    *,
    centre: float = 0.0,
    reference: ArrayLike | None = None,
    dispersion_centre: float | None = None,
    adjustment: Adjustment = "additive",
    trim: float = WINSORISE,
) -> ScaleFunnel:
    """Compare values y (standard errors s) with `centre` on their working scale.

    φ and τ² come from the `reference` units' z-scores around `dispersion_centre` (default: `centre`): a
    comparison whose question is "below its own baseline" (centre 0) can take its spread from how the reference
    practices vary around the national change (dispersion centre = the national log ratio). A unit with
    y = ±∞ sits past every limit; NaN means no data."""
    _check_adjustment(adjustment)
    yy, ss = _as_float(y), _as_float(s)
    if yy.shape != ss.shape or yy.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of one length; got shapes {yy.shape} and {ss.shape}")
    ref = _reference(reference, yy.shape)
    spread_at = centre if dispersion_centre is None else dispersion_centre
    with np.errstate(invalid="ignore", divide="ignore"):
        z_spread = (yy - spread_at) / ss
        z = (yy - centre) / ss
    overdispersion = estimate_overdispersion(z_spread[ref], ss[ref], trim=trim)
    width = _width(ss, overdispersion, adjustment)
    with np.errstate(invalid="ignore"):
        z_adjusted = (yy - centre) / width
    return ScaleFunnel(yy, ss, float(centre), z, z_adjusted, width, overdispersion, adjustment)


def positions(z_adjusted: ArrayLike, level: float) -> NDArray[np.str_]:
    """ "below", "within", "above" or "no data" for adjusted z-scores at `level` (0.95 or 0.998); a unit exactly
    on a limit is within it."""
    za = _as_float(z_adjusted)
    z_level = _z_for(level)
    out = np.full(za.shape, "within", dtype="<U7")
    out[za < -z_level] = "below"
    out[za > z_level] = "above"
    out[np.isnan(za)] = "no data"
    return out


def _reference(reference: ArrayLike | None, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    if reference is None:
        return np.ones(shape, dtype=bool)
    ref = np.atleast_1d(np.asarray(reference, dtype=bool))
    if ref.shape != shape:
        raise ValueError(f"reference must hold one flag per unit: shape {ref.shape}, expected {shape}")
    return ref


def _build(
    kind: Kind,
    value: FloatArray,
    size: FloatArray,
    y: FloatArray,
    s: FloatArray,
    scale: _Scale,
    adjustment: Adjustment,
    trim: float,
    reference: NDArray[np.bool_],
) -> Funnel:
    _check_adjustment(adjustment)
    with np.errstate(invalid="ignore"):
        z = (y - scale.centre) / s
    overdispersion = estimate_overdispersion(z[reference], s[reference], trim=trim)
    width = _width(s, overdispersion, adjustment)
    with np.errstate(invalid="ignore"):
        z_adjusted = (y - scale.centre) / width
    lower95, upper95, lower998, upper998 = _limits(width, scale)
    return Funnel(
        kind=kind,
        value=value,
        size=size,
        target=float(scale.to_value(np.array(scale.centre))),
        z=z,
        z_adjusted=z_adjusted,
        overdispersion=overdispersion,
        adjustment=adjustment,
        lower95=lower95,
        upper95=upper95,
        lower998=lower998,
        upper998=upper998,
    )


def _width(s: FloatArray, od: Overdispersion, adjustment: Adjustment) -> FloatArray:
    """Standard error on the working scale under the chosen adjustment."""
    if adjustment == "multiplicative" and od.phi > 1:
        return s * np.sqrt(od.phi)
    if adjustment == "additive":
        return np.sqrt(s**2 + od.tau2)
    return s


def _limits(width: FloatArray, scale: _Scale) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    low, high = scale.bounds
    out = []
    for z in (Z95, Z998):
        out.append(np.clip(scale.to_value(scale.centre - z * width), low, high))
        out.append(np.clip(scale.to_value(scale.centre + z * width), low, high))
    return out[0], out[1], out[2], out[3]


def _winsorise(z: FloatArray, trim: float) -> FloatArray:
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must lie in [0, 0.5); got {trim}")
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError("no unit has a finite z-score")
    # ±∞ (a ratio with O = 0) sorts beyond every finite value; stand it in at the extreme finite value so
    # the interpolated percentile stays finite, then clipping puts it at the winsorising bound.
    stand_in = np.clip(z, finite.min(), finite.max())
    low, high = np.quantile(stand_in, [trim, 1 - trim])
    return np.clip(z, low, high)


def _tau2(phi: float, units: int, w: FloatArray) -> float:
    if units * phi <= units - 1:
        return 0.0
    sw = float(w.sum())
    return max(0.0, (units * phi - (units - 1)) / (sw - float((w**2).sum()) / sw))


def _proportion_scale(theta0: float) -> _Scale:
    return _Scale(centre=theta0, to_value=lambda y: np.asarray(y, dtype=np.float64), bounds=(0.0, 1.0))


_RATIO_SCALE = _Scale(centre=0.0, to_value=lambda y: np.exp(y), bounds=(0.0, np.inf))


def _default_grid(size: FloatArray, points: int) -> FloatArray:
    positive = size[size > 0]
    if positive.size == 0:
        raise ValueError("no unit has a positive size to span a grid")
    return np.geomspace(positive.min(), positive.max(), points)


def _z_for(level: float) -> float:
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {sorted(_LEVELS)}; got {level}")
    return _LEVELS[level]


def _check_adjustment(adjustment: str) -> None:
    if adjustment not in ("none", "multiplicative", "additive"):
        raise ValueError(f"adjustment must be 'none', 'multiplicative' or 'additive'; got {adjustment!r}")


def _as_float(values: ArrayLike) -> FloatArray:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _check_same_shape(a: FloatArray, b: FloatArray) -> None:
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of one length; got shapes {a.shape} and {b.shape}")
    if np.any(a < 0) or np.any(b < 0) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("counts and sizes must be finite and non-negative")


def _safe_divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _safe_sqrt_over(variance_at_one: float, size: FloatArray) -> FloatArray:
    """√(variance_at_one / size), NaN where size is not positive."""
    out = np.full(size.shape, np.nan)
    np.divide(variance_at_one, size, out=out, where=size > 0)
    return np.sqrt(out)


__all__ = [
    "WINSORISE",
    "Z95",
    "Z998",
    "Adjustment",
    "Classification",
    "Funnel",
    "LimitCurves",
    "Overdispersion",
    "ScaleFunnel",
    "classify",
    "estimate_overdispersion",
    "limit_curves",
    "positions",
    "proportion_funnel",
    "ratio_funnel",
    "scale_funnel",
]
