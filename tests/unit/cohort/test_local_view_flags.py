"""The local view's pure pieces: the different-story flags and each indicator's latest period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gpaccess.cohort.local_view import different_stories, latest_local
from gpaccess.publication.guard import league_word_in_text
from gpaccess.statistics.association import HIGH, LOW

# Six practices: GP face-to-face share rises with the code; local satisfaction does not follow it.
F2F = [0.10, 0.20, 0.30, 0.40, 0.50, 0.60]
SAT = [0.90, 0.50, 0.60, 0.70, 0.80, 0.40]


def test_different_stories_flags_opposite_quarters_in_neutral_words() -> None:
    table = pd.DataFrame({"practice_code": ["P1", "P2", "P3", "P4", "P5", "P6"], "f2f_gp": F2F, "satisfaction": SAT})
    # f2f: low P1, P2; high P5, P6. satisfaction (q1 0.525, q3 0.775): low P2, P6; high P1, P5.
    flags = different_stories(table, ["f2f_gp"], ["satisfaction"], labels={"f2f_gp": "GP face-to-face share"})
    assert list(flags.practice_code) == ["P1", "P6"]
    assert list(flags.national_quarter) == [LOW, HIGH]
    assert list(flags.local_quarter) == [HIGH, LOW]
    assert flags.message[0] == (
        "GP face-to-face share in the lowest quarter of the ICB's practices while local satisfaction is in the "
        "highest quarter: local data tells a different story"
    )
    text = " ".join(flags.message).lower()
    assert league_word_in_text(text) is None  # the guard's league-table vocabulary
    for word in ("poor", "bad", "good"):  # and no direction: a face-to-face share is context, not a judgement
        assert word not in text


def test_different_stories_need_values_on_both_sides() -> None:
    table = pd.DataFrame({"practice_code": ["P1", "P2"], "f2f_gp": [0.1, 0.9], "sat": [0.9, 0.1]})
    assert different_stories(table, ["f2f_gp"], ["sat"]).empty  # two practices: no quartiles


def test_latest_local_keeps_each_indicators_latest_period() -> None:
    local = pd.DataFrame(
        {
            "practice_code": ["A", "B", "A", "B", "A"],
            "indicator": ["sat", "sat", "sat", "sat", "calls"],
            "period": ["2025-09", "2025-09", "2025-Q4", "2025-Q4", "2024/25"],
            "value": [1.0, 2.0, 3.0, np.nan, 5.0],
        }
    )
    wide, periods = latest_local(local)
    assert periods == {"calls": "2024/25", "sat": "2025-Q4"}
    assert list(wide.columns) == ["practice_code", "calls", "sat"]
    assert wide.set_index("practice_code").loc["A", "sat"] == 3.0
    empty, none = latest_local(local.iloc[0:0])
    assert none == {} and list(empty.columns) == ["practice_code"]
