"""Indirect standardisation: what share would a practice have if it behaved like the nation?

A practice that books mostly nurse appointments, or many same-day appointments, will have a different
face-to-face share from one that does not, for reasons that say nothing about how it treats patients.
Indirect standardisation answers "given this practice's own appointment mix, what would we expect?":
apply the national rate of each stratum (HCP type × national category × booking band for GPAD; the
functions are generic) to the practice's own count in that stratum, and add up.

    rate_s = Σ_p r[p, s] / Σ_p n[p, s]          (national rate; a stratum with Σ n = 0 contributes nothing)
    E_p    = Σ_s n[p, s] · rate_s               (expected count)
    e_p    = E_p / N_p                          (expected share, N_p = Σ_s n[p, s])
    O_p/E_p                                     (observed / expected ratio)

With national rates, Σ_p E_p = Σ_p O_p exactly: the nation is its own reference.

The caller usually holds long data from the engine (one row per practice and stratum), so
`standardise_long` accumulates with `np.bincount` and never builds the dense practice × stratum matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class Standardised:
    """Per-practice results of indirect standardisation (arrays indexed by practice)."""

    observed: FloatArray
    expected: FloatArray
    denominator: FloatArray
    reference_rate: FloatArray  # per stratum

    @property
    def observed_share(self) -> FloatArray:
        """O_p / N_p; NaN for a practice with no denominator."""
        return _divide(self.observed, self.denominator)

    @property
    def expected_share(self) -> FloatArray:
        """E_p / N_p; NaN for a practice with no denominator."""
        return _divide(self.expected, self.denominator)

    @property
    def ratio(self) -> FloatArray:
        """O_p / E_p; NaN where nothing was expected."""
        return _divide(self.observed, self.expected)


def national_rates(denominator: ArrayLike, numerator: ArrayLike) -> FloatArray:
    """Rate per stratum pooled over practices from a practice × stratum matrix.

    A stratum nobody uses has rate 0, so it adds nothing to any expected count (rather than NaN,
    which would poison every sum).
    """
    n, r = _wide_inputs(denominator, numerator)
    return _pooled_rate(n.sum(axis=0), r.sum(axis=0))


def standardise(
    denominator: ArrayLike,
    numerator: ArrayLike,
    reference_rate: ArrayLike | None = None,
) -> Standardised:
    """Indirectly standardise a practice × stratum matrix of denominators n and numerators r.

    `reference_rate` replaces the national rates when the comparison is against an external standard
    (for example a previous year's rates); otherwise the rates come from the same data.
    """
    n, r = _wide_inputs(denominator, numerator)
    rate = _reference_or_pooled(reference_rate, n.sum(axis=0), r.sum(axis=0))
    return Standardised(
        observed=r.sum(axis=1),
        expected=n @ rate,
        denominator=n.sum(axis=1),
        reference_rate=rate,
    )


def reference_rates(
    stratum: ArrayLike, denominator: ArrayLike, numerator: ArrayLike, reference: ArrayLike, n_strata: int
) -> FloatArray:
    """Stratum rates pooled over the reference rows only (`reference`: a boolean per row), falling back to every
    row's pooled rate for a stratum no reference row uses, so every practice gets an expected count."""
    s = _indices(stratum)
    n, r = _counts(denominator), _counts(numerator)
    keep = np.asarray(reference, dtype=bool)
    _check_long_shapes(s, n, r, keep)
    ref_n, ref_r = _sum_by(s[keep], n[keep], n_strata), _sum_by(s[keep], r[keep], n_strata)
    all_rate = _pooled_rate(_sum_by(s, n, n_strata), _sum_by(s, r, n_strata))
    return np.where(ref_n > 0, _pooled_rate(ref_n, ref_r), all_rate)


def standardise_long(
    practice: ArrayLike,
    stratum: ArrayLike,
    denominator: ArrayLike,
    numerator: ArrayLike,
    *,
    n_practices: int | None = None,
    n_strata: int | None = None,
    reference_rate: ArrayLike | None = None,
) -> Standardised:
    """Indirectly standardise long-form rows (practice index, stratum index, n, r).

    Indices are 0-based integers (the caller factorises codes). Repeated (practice, stratum) pairs add
    up. Results are indexed 0..n_practices-1; a practice index with no rows gets zeros (and NaN shares).
    Cost is O(rows): two passes of `np.bincount`, fast enough for 6,300 practices × 300 strata.
    """
    p, s = _indices(practice), _indices(stratum)
    n, r = _counts(denominator), _counts(numerator)
    _check_long_shapes(p, s, n, r)
    _check_numerator_within_denominator(n, r)
    n_p = _size(p, n_practices, "n_practices")
    n_s = _size(s, n_strata, "n_strata")
    rate = _reference_or_pooled(reference_rate, _sum_by(s, n, n_s), _sum_by(s, r, n_s))
    return Standardised(
        observed=_sum_by(p, r, n_p),
        expected=_sum_by(p, n * rate[s], n_p),
        denominator=_sum_by(p, n, n_p),
        reference_rate=rate,
    )


def _sum_by(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sum `weights` into `size` bins by `index` (np.bincount, always as floats)."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def _pooled_rate(pooled_denominator: FloatArray, pooled_numerator: FloatArray) -> FloatArray:
    rate = np.zeros_like(pooled_denominator, dtype=np.float64)
    used = pooled_denominator > 0
    rate[used] = pooled_numerator[used] / pooled_denominator[used]
    return rate


def _reference_or_pooled(reference_rate: ArrayLike | None, pooled_n: FloatArray, pooled_r: FloatArray) -> FloatArray:
    if reference_rate is None:
        return _pooled_rate(pooled_n, pooled_r)
    rate = np.asarray(reference_rate, dtype=np.float64)
    if rate.shape != pooled_n.shape:
        raise ValueError(f"reference_rate has shape {rate.shape}; expected one rate per stratum {pooled_n.shape}")
    if not np.all(np.isfinite(rate)) or np.any((rate < 0) | (rate > 1)):
        raise ValueError("reference_rate must hold finite rates between 0 and 1")
    return rate


def _wide_inputs(denominator: ArrayLike, numerator: ArrayLike) -> tuple[FloatArray, FloatArray]:
    n, r = _counts(denominator), _counts(numerator)
    if n.ndim != 2 or n.shape != r.shape:
        raise ValueError(
            f"denominator and numerator must be practice × stratum matrices of one shape; got {n.shape} and {r.shape}"
        )
    _check_numerator_within_denominator(n, r)
    return n, r


def _counts(values: ArrayLike) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("counts must be finite and non-negative")
    return a


def _indices(values: ArrayLike) -> IntArray:
    a = np.asarray(values)
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise ValueError("practice and stratum indices must be 1-D arrays of integers")
    if a.size and a.min() < 0:
        raise ValueError("practice and stratum indices must be non-negative")
    return a.astype(np.intp)


def _check_long_shapes(*arrays: NDArray[np.generic]) -> None:
    lengths = {a.shape for a in arrays}
    if len(lengths) != 1 or arrays[0].ndim != 1:
        raise ValueError(f"long-form columns must be 1-D and of one length; got shapes {sorted(lengths)}")


def _check_numerator_within_denominator(n: FloatArray, r: FloatArray) -> None:
    if np.any(r > n):
        raise ValueError("a numerator exceeds its denominator")


def _size(index: IntArray, given: int | None, name: str) -> int:
    needed = int(index.max()) + 1 if index.size else 0
    if given is None:
        return needed
    if given < needed:
        raise ValueError(f"{name}={given} but the data hold index {needed - 1}")
    return given


def _divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


@dataclass(frozen=True)
class LogOddsShift:
    """Each practice's log-odds shift from the reference rates of its own strata, with its standard error."""

    shift: FloatArray  # δ_p: NaN for a practice with no denominator
    standard_error: FloatArray  # 1/√(Σ_s n[p,s] q[p,s] (1 − q[p,s])) at the fitted δ_p (binomial information)


def log_odds_shift(
    practice: ArrayLike,
    stratum: ArrayLike,
    denominator: ArrayLike,
    numerator: ArrayLike,
    reference_rate: ArrayLike,
    *,
    n_practices: int | None = None,
    tolerance: float = 1e-10,
) -> LogOddsShift:
    """Indirect standardisation on the log-odds scale: the one shift δ_p that, added to the logit of every
    stratum's reference rate, makes the practice's expected count equal its observed count:

        Σ_s n[p,s] · expit(logit(rate_s) + δ_p) = O_p

    This is the maximum-likelihood estimate of δ_p in a logistic model with the strata as fixed offsets, so its
    binomial standard error is 1/√(Σ_s n q (1 − q)). Unlike log(O/E), a given δ means the same change in the
    odds whatever the practice's mix: a practice whose strata have shares near 1 cannot fall far on the ratio
    scale, however different it is. A practice with O = 0 or O = N has no finite δ; it is fitted at half an
    appointment from the edge (the usual continuity correction), so it lies far past any limit but stays
    finite. Reference rates of exactly 0 or 1 are kept 10⁻⁶ inside the interval.
    """
    p, s = _indices(practice), _indices(stratum)
    n, r = _counts(denominator), _counts(numerator)
    _check_long_shapes(p, s, n, r)
    _check_numerator_within_denominator(n, r)
    rate = np.clip(np.asarray(reference_rate, dtype=np.float64), 1e-6, 1 - 1e-6)
    if s.size and int(s.max()) >= rate.size:
        raise ValueError(f"stratum index {int(s.max())} has no reference rate ({rate.size} given)")
    n_p = _size(p, n_practices, "n_practices")
    offset = np.log(rate / (1 - rate))[s]
    total = _sum_by(p, n, n_p)
    observed = np.clip(_sum_by(p, r, n_p), 0.5, np.maximum(total - 0.5, 0.5))
    shift = np.zeros(n_p)
    for _ in range(100):
        q = _expit(offset + shift[p])
        gap = observed - _sum_by(p, n * q, n_p)
        slope = np.maximum(_sum_by(p, n * q * (1 - q), n_p), 1e-12)
        step = np.clip(gap / slope, -1.0, 1.0)  # Newton, each step bounded: the function is monotone in δ
        shift += step
        if np.max(np.abs(step), initial=0.0) < tolerance:
            break
    q = _expit(offset + shift[p])
    info = _sum_by(p, n * q * (1 - q), n_p)
    has = total > 0
    return LogOddsShift(
        shift=np.where(has, shift, np.nan),
        standard_error=np.where(has & (info > 0), 1 / np.sqrt(np.where(info > 0, info, 1.0)), np.nan),
    )


def share_at_shift(
    practice: ArrayLike,
    stratum: ArrayLike,
    denominator: ArrayLike,
    reference_rate: ArrayLike,
    shift: ArrayLike,
    *,
    n_practices: int | None = None,
) -> FloatArray:
    """Each practice's share if every stratum's reference log-odds moved by its `shift` (per practice):
    Σ_s n · expit(logit(rate_s) + shift_p) / N_p. How a limit on the log-odds scale reads as a share."""
    p, s = _indices(practice), _indices(stratum)
    n = _counts(denominator)
    rate = np.clip(np.asarray(reference_rate, dtype=np.float64), 1e-6, 1 - 1e-6)
    n_p = _size(p, n_practices, "n_practices")
    d = np.asarray(shift, dtype=np.float64)
    q = _expit(np.log(rate / (1 - rate))[s] + np.nan_to_num(d)[p])
    out = _divide(_sum_by(p, n * q, n_p), _sum_by(p, n, n_p))
    return np.where(np.isnan(d), np.nan, out)


def _expit(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


__all__ = [
    "LogOddsShift",
    "Standardised",
    "log_odds_shift",
    "national_rates",
    "share_at_shift",
    "standardise",
    "standardise_long",
]
