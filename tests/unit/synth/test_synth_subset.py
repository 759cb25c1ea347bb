"""A subset of ICBs holds exactly the national data of its practices; regional files split a month."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np

from gpaccess.synth import build, generate, month_rows, select_icbs
from gpaccess.synth.vocab import month_index

SEED = 2021


def _want(s, codes: list[str], t: int) -> np.ndarray:
    return s.is_open(t) & np.isin(np.array(s.icb_code), codes)[s.icb_at(t)]


def test_a_practice_has_the_same_rows_in_any_subset() -> None:
    s = build(SEED)
    t = month_index("2023-04")
    one = select_icbs(s, [s.icb_code[0]])
    many = select_icbs(s, [s.icb_code[0], s.icb_code[1], s.icb_code[9]])
    small = month_rows(s, "2023-04", SEED, _want(s, one, t))
    big = month_rows(s, "2023-04", SEED, _want(s, many, t))
    in_small = _want(s, one, t)[big.practice]
    assert len(small.count) > 1000
    for f in ("practice", "supplier", "cell", "mode", "status", "count"):
        assert np.array_equal(getattr(small, f), getattr(big, f)[in_small])


def _crosstab_rows(data: bytes) -> list[tuple[str, ...]]:
    return [tuple(r) for r in csv.reader(io.StringIO(data.decode(), newline=""))][1:]


def test_regional_parts_are_disjoint_and_add_up(tmp_path: Path) -> None:
    whole = generate(tmp_path / "w", ["2025-01"], seed=SEED, icbs=3, registrations=False)
    split = generate(tmp_path / "r", ["2025-01"], seed=SEED, icbs=3, regional=True, registrations=False)
    with zipfile.ZipFile(whole.months["2025-01"].crosstab[0]) as zf:
        all_rows = _crosstab_rows(zf.read("Practice_Level_Crosstab_Jan_25.csv"))
        mapping = zf.read("Mapping.csv")
    with zipfile.ZipFile(split.months["2025-01"].crosstab[0]) as zf:
        names = [n for n in zf.namelist() if n != "Mapping.csv"]
        parts = {n: _crosstab_rows(zf.read(n)) for n in names}
        assert zf.read("Mapping.csv") == mapping
    assert len(parts) == 3
    practices = [{r[1] for r in rows} for rows in parts.values()]
    assert all(practices)
    assert not (practices[0] & practices[1]) and not (practices[0] & practices[2]) and not (practices[1] & practices[2])
    assert sorted(r for rows in parts.values() for r in rows) == sorted(all_rows)
