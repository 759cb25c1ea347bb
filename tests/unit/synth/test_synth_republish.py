"""A month written as republished differs for about 5% of practices, under the same file name, and (as a real
republication) revises them upwards by a few percent: it never cuts a practice's rows or appointments."""

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
    changed = [p for p in a if sorted(a[p]) != sorted(b[p])]
    assert 0.02 * len(a) <= len(changed) <= 0.09 * len(a)
    total = {name: {p: sum(int(r[12]) for r in rows[p]) for p in rows} for name, rows in (("a", a), ("b", b))}
    for p in changed:
        assert len(b[p]) >= len(a[p])  # late records add cells, never remove one
        assert total["a"][p] < total["b"][p] <= 1.10 * total["a"][p]
