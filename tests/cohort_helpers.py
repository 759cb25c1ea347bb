"""Hand-made cohort inputs shared by the cohort unit tests: an ICB's measures table and the part of a funnel
comparison the face-to-face rule reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpaccess.statistics import funnel


@dataclass
class Table:
    """The part of a funnel comparison the face-to-face rule reads (see measures.fair.Comparison)."""

    table: pd.DataFrame


def measures(n: int, **overrides) -> pd.DataFrame:
    codes = [f"P{i:05d}" for i in range(n)]
    base = {
        "practice_code": codes,
        "practice_name": [f"Practice {i}" for i in range(n)],
        "pcn_name": "PCN",
        "patients": 8000.0,
        "appts_per_1000": 450.0,
        "unknown_mode_share": 0.02,
        "unmapped_share": 0.05,
        "months": 3,
        "appts_vs_baseline": np.nan,
        "baseline_rate": np.nan,
        "rate__num": 10800.0,
        "rate__den": 24000.0,
    }
    frame = pd.DataFrame(base)
    for k, v in overrides.items():
        frame[k] = v
    return frame


def comparison(codes, beyond) -> Table:
    beyond = np.asarray(beyond, dtype=float)
    return Table(
        pd.DataFrame(
            {
                "practice_code": codes,
                "observed_share": 0.5,
                "expected_share": 0.6,
                "value": 0.5 / 0.6,
                "lower95": 0.7,
                "lower998": 0.6,
                # `beyond` is the distance past the 99.8% limit (the rule's); the 95% limit lies 1.13 z further in
                "beyond_lower95": beyond + (funnel.Z998 - funnel.Z95),
                "beyond_lower998": beyond,
                "shrunk_share": 0.55,
                "shrunk_lower": 0.5,
                "shrunk_upper": 0.59,
            }
        )
    )
