"""The methodology's rank-interval figures are what gpaccess computes on the real South West October 2025 file.

docs/methodology.md ("Rank intervals, and why gpaccess never ranks") states how wide the rank intervals of the
fairest possible league table are for one real ICB, and shows the code. This test runs that code block, as
written in the page, on a store holding only the real file, and checks every figure the page states.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from gpaccess.ingest.load import ingest_files
from gpaccess.storage.warehouse import Warehouse

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

METHODOLOGY = Path(__file__).resolve().parents[2] / "docs" / "methodology.md"
ORDINAL = r"(\d+)(?:st|nd|rd|th)"


def _section() -> str:
    text = METHODOLOGY.read_text(encoding="utf-8")
    match = re.search(r"^### Rank intervals, and why gpaccess never ranks.*?(?=^## )", text, flags=re.M | re.S)
    assert match, "no rank-intervals section in docs/methodology.md"
    return match.group(0)


def _stated(prose: str, pattern: str) -> tuple[str, ...]:
    match = re.search(pattern, prose)
    assert match, f"docs/methodology.md no longer states {pattern!r}"
    return match.groups()


def test_methodology_rank_interval_figures_match_the_real_file(warehouse: Warehouse, real_data: Path) -> None:
    section = _section()
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code, "the section shows no code to reproduce its figures"
    ingest_files(
        warehouse,
        [real_data / "gpad" / "practice_level_south_west" / "Practice_Level_Crosstab_Oct_25.zip"],
        user="tester",
    )
    names: dict[str, object] = {"warehouse": warehouse}
    exec(compile(code.group(1), str(METHODOLOGY), "exec"), names)
    comparison, t, intervals = names["comparison"], names["t"], names["intervals"]

    k = len(t)
    width = intervals.upper - intervals.lower
    order = np.argsort(intervals.point_rank, kind="stable")
    assert len(np.unique(intervals.point_rank)) == k  # no tied point ranks: "the practice ranked 20th" is one

    def interval_of(rank: int) -> tuple[int, int]:
        i = order[rank - 1]
        return int(intervals.lower[i]), int(intervals.upper[i])

    fifth = k // 5
    in_fifth = intervals.point_rank <= fifth
    prose = " ".join(section.split())
    assert _stated(prose, r"South West's (\d+) practices") == (str(len(comparison.table)),)
    assert _stated(prose, r"prior strength M = ([\d.]+)\)") == (f"{comparison.prior_strength:.1f}",)
    assert _stated(prose, r"NHS Devon ICB's (\d+) practices") == (str(k),)
    assert _stated(prose, r"rank interval spans (\d+) places, and (\d+) of the (\d+) intervals spans 20 places") == (
        f"{np.median(width):.0f}",
        str(int((width >= 20).sum())),
        str(k),
    )
    first, low, high = _stated(prose, rf"the practice ranked {ORDINAL} lies between {ORDINAL} and {ORDINAL}")
    assert (low, high) == tuple(str(x) for x in interval_of(int(first)))
    middle, low, high = _stated(prose, rf"the practice ranked {ORDINAL} between {ORDINAL} and {ORDINAL}")
    assert int(middle) == k // 2 + 1
    assert (low, high) == tuple(str(x) for x in interval_of(int(middle)))
    assert _stated(
        prose,
        r"of the (\d+) practices the table would put in its lowest fifth, (\d+) have intervals that reach "
        r"outside it, and (\d+) are certainly in it",
    ) == (str(fifth), str(int((intervals.upper[in_fifth] > fifth).sum())), str(int((intervals.upper <= fifth).sum())))
    assert _stated(prose, r"picks (\d+) of Devon's (\d+) practices") == (str(fifth), str(k))
    assert _stated(prose, r"(\d+) practices are below the lower 95% limit and (\d+) below the lower 99.8% limit") == (
        str(int((t.position95 == "below").sum())),
        str(int((t.position998 == "below").sum())),
    )
