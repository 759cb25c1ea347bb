"""A month written as republished differs for about 5% of practices, under the same file name."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from pathlib import Path

from gpaccess.synth import generate


def _by_practice(path: Path) -> dict[str, list[tuple[str, ...]]]:
    with zipfile.ZipFile(path) as zf:
        data = zf.read("Practice_Level_Crosstab_Oct_25.csv").decode()
    out: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for r in list(csv.reader(io.StringIO(data, newline="")))[1:]:
        out[r[1]].append(tuple(r))
    return out


def test_republished_month(tmp_path: Path) -> None:
    res = generate(tmp_path, ["2025-10"], seed=2021, icbs=4, republish=["2025-10"], registrations=False)
    mf = res.months["2025-10"]
    (first,), (again,) = mf.crosstab, mf.republished
    assert first.name == again.name and again.parent.name == "republished"
    a, b = _by_practice(first), _by_practice(again)
    assert set(a) == set(b)
    changed = sum(sorted(a[p]) != sorted(b[p]) for p in a)
    assert 0.02 * len(a) <= changed <= 0.09 * len(a)
