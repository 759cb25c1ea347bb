"""Small frames in the charts' data contract, built from the statistics layer so the limits are real ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpaccess.publication.charts.funnel import FunnelMeta
from gpaccess.publication.charts.spc import SpcMeta
from gpaccess.statistics.funnel import classify, limit_curves, proportion_funnel
from gpaccess.statistics.spc import xmr


def funnel_frames(n_practices: int = 40, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Practices with face-to-face-like shares: spread beyond binomial noise, a few clearly off the target."""
    rng = np.random.default_rng(seed)
    n = rng.integers(400, 9000, n_practices).astype(float)
    p = np.clip(rng.normal(0.62, 0.05, n_practices), 0.05, 0.95)
    p[:3] = [0.40, 0.50, 0.82]
    r = rng.binomial(n.astype(int), p).astype(float)
    funnel = proportion_funnel(r, n, adjustment="additive")
    position = classify(funnel, 0.95).position
    codes = [f"Y{10000 + 37 * i:05d}" for i in range(n_practices)]
    points = pd.DataFrame(
        {
            "practice_code": codes,
            "practice_name": [f"Practice {i} Surgery" for i in range(n_practices)],
            "numerator": r,
            "denominator": n,
            "value": funnel.value,
            "size": funnel.size,
            "expected": np.full(n_practices, funnel.target),
            "lower95": funnel.lower95,
            "upper95": funnel.upper95,
            "lower998": funnel.lower998,
            "upper998": funnel.upper998,
            "position": position,
        }
    )
    c = limit_curves(funnel, points=120)
    curves = pd.DataFrame(
        {"size": c.size, "lower95": c.lower95, "upper95": c.upper95, "lower998": c.lower998, "upper998": c.upper998}
    )
    return points, curves


def funnel_meta(direction: str = "none", **overrides: object) -> FunnelMeta:
    fields: dict[str, object] = {
        "title": "Face-to-face share of GP appointments, Aug–Oct 2025",
        "measure_name": "Face-to-face share",
        "y_label": "Face-to-face share",
        "x_label": "GP appointments with a known mode",
        "target": 0.62,
        "value_format": "percent",
        "definition": "Face-to-face share = (Face-to-Face + Home Visit) ÷ appointments with a known mode; "
        "GP appointments only",
        "window": "Aug–Oct 2025",
        "adjustment": "additive overdispersion (Spiegelhalter 2005)",
        "direction": direction,
        "icb_code": "QWE",
        "icb_name": "NHS South West London ICB",
    }
    fields.update(overrides)
    return FunnelMeta(**fields)  # type: ignore[arg-type]


def spc_frame(direction: str = "increase", months: int = 24, rebase_at: int | None = 15) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    y = rng.normal(0.60, 0.02, months)
    y[8] = 0.70  # outside the limits
    if rebase_at is not None:
        y[rebase_at:] += 0.05  # a shift after support starts
    result = xmr(y, improvement_direction=direction, rebase_at=() if rebase_at is None else (rebase_at,))
    pts = result.points
    kind = {"special_cause_improvement": "improvement", "special_cause_concern": "concern"}
    special = [kind.get(str(t), "neither" if "neutral" in str(t) else "") for t in pts.point_type]
    trial = np.zeros(months, dtype=bool)
    for seg in result.segments:
        trial[seg.start : seg.stop] = seg.trial_limits
    rule = np.where(pts.outside_limits, "outside limits", "")
    rule = np.where((np.array(special) != "") & (rule == ""), "run of 7", rule)
    return pd.DataFrame(
        {
            "month": pd.date_range("2023-11-01", periods=months, freq="MS"),
            "value": y,
            "mean": pts.mean,
            "lower": pts.lower_limit,
            "upper": pts.upper_limit,
            "lower_2s": pts.lower_two_sigma,
            "upper_2s": pts.upper_two_sigma,
            "segment": pts.segment,
            "trial": trial,
            "special_cause": special,
            "rule": rule,
        }
    )


def spc_meta(direction: str = "increase", **overrides: object) -> SpcMeta:
    fields: dict[str, object] = {
        "title": "Face-to-face share of GP appointments, by month",
        "practice_code": "Y10037",
        "practice_name": "Practice 1 Surgery",
        "measure_name": "Face-to-face share",
        "y_label": "Face-to-face share",
        "value_format": "percent",
        "definition": "Face-to-face share = (Face-to-Face + Home Visit) ÷ appointments with a known mode; "
        "GP appointments only",
        "improvement_direction": direction,
    }
    fields.update(overrides)
    return SpcMeta(**fields)  # type: ignore[arg-type]
