"""The national structure: 7 regions, 42 ICBs, ~106 sub-ICBs, ~1,250 PCNs, ~6,300 practices, and change."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gpaccess.errors import UserError
from gpaccess.synth import build, select_icbs
from gpaccess.synth.structure import NEVER
from gpaccess.synth.vocab import month_index


def test_counts() -> None:
    s = build(2021)
    assert len(s.region_code) == 7 and len(set(s.region_code)) == 7
    assert len(s.icb_code) == 42 and len(set(s.icb_code)) == 42
    assert 100 <= len(s.sub_code) <= 112 and len(set(s.sub_code)) == len(s.sub_code)
    assert 1_150 <= len(s.pcn_code) <= 1_350 and len(set(s.pcn_code)) == len(s.pcn_code)
    assert len(set(s.code)) == s.n_practices
    assert 6_700 <= s.is_open(month_index("2019-01")).sum() <= 7_000
    assert 6_100 <= s.is_open(month_index("2025-10")).sum() <= 6_500
    assert set(np.unique(s.sub_icb)) == set(range(42))  # every ICB has a sub-ICB location


def test_codes_look_like_ods_codes() -> None:
    s = build(2021)
    assert all(re.fullmatch(r"Q[A-Z]{2}", c) for c in s.icb_code)
    assert all(re.fullmatch(r"Y5[6-9]|Y6[0-3]", c) for c in s.region_code)
    assert all(re.fullmatch(r"[A-Z]\d{5}|Y0\d{4}", c) for c in s.code)


def test_list_sizes_are_skewed_around_ten_thousand() -> None:
    from gpaccess.synth.model import list_size

    s = build(2021)
    t = month_index("2024-06")
    sizes = list_size(s, np.flatnonzero(s.is_open(t)), t)
    assert 9_000 < sizes.mean() < 11_500
    assert np.median(sizes) < sizes.mean()
    assert (sizes < 1_000).sum() > 5 and (sizes > 30_000).sum() > 20


def test_practices_open_close_and_move() -> None:
    s = build(2021)
    assert ((s.open_t > 0) & (s.open_t < 84)).sum() > 50
    assert ((s.close_t > 0) & (s.close_t < 84)).sum() > 400
    moved = s.pcn_change_t < NEVER
    assert moved.sum() > 300
    icb_moves = s.sub_icb[s.pcn_sub[s.pcn0]] != s.sub_icb[s.pcn_sub[s.pcn1]]
    assert icb_moves.sum() > 40
    assert (s.sup_change_t < NEVER).sum() > 100


def test_icb_selection() -> None:
    s = build(2021)
    assert len(select_icbs(s, None)) == 42
    three = select_icbs(s, 3)
    regions = {s.region_code[s.icb_region[s.icb_code.index(c)]] for c in three}
    assert regions == {"Y60", "Y63", "Y56"}
    assert select_icbs(s, [s.icb_code[5]]) == [s.icb_code[5]]
    with pytest.raises(UserError):
        select_icbs(s, ["ZZZ"])
    with pytest.raises(UserError):
        select_icbs(s, 0)
