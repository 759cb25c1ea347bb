"""National volumes and mode mix follow domain.md B10, checked on a few ICBs scaled to the country."""

from __future__ import annotations

import numpy as np
import pytest

from gpaccess.synth import build, month_rows, select_icbs
from gpaccess.synth.model import CELL_BAND, CELL_HCP, F2F, TEL, UNK_MODE, VIDEO, list_size
from gpaccess.synth.vocab import month_index

SEED = 2021


def _national_estimate(month: str) -> dict[str, float]:
    s = build(SEED)
    t = month_index(month)
    chosen = np.isin(np.array(s.icb_code), select_icbs(s, 5))
    open_ = s.is_open(t)
    want = open_ & chosen[s.icb_at(t)]
    rows = month_rows(s, month, SEED, want)
    n = rows.count.sum()
    exposure = lambda m: (list_size(s, np.flatnonzero(m), t) * s.params["rate"][m]).sum()  # noqa: E731
    share = lambda mask: rows.count[mask].sum() / n  # noqa: E731
    return {
        "total": n * exposure(open_) / exposure(want),
        "f2f": share(rows.mode == F2F),
        "tel": share(rows.mode == TEL),
        "video": share(rows.mode == VIDEO),
        "unknown": share(rows.mode == UNK_MODE),
        "dna": share(rows.status == 1),
        "gp": share(CELL_HCP[rows.cell] == 0),
        "same_day": share(CELL_BAND[rows.cell] == 0),
    }


@pytest.mark.parametrize(
    ("month", "total", "f2f"),
    [("2019-10", (25e6, 27.5e6), (0.77, 0.83)), ("2021-05", (22.5e6, 25e6), (0.52, 0.59)),
     ("2024-03", (29e6, 31.5e6), (0.62, 0.69))],
)  # fmt: skip
def test_volume_and_face_to_face_share(month: str, total: tuple[float, float], f2f: tuple[float, float]) -> None:
    est = _national_estimate(month)
    assert total[0] < est["total"] < total[1]
    assert f2f[0] < est["f2f"] < f2f[1]  # Face-to-Face / all appointments, as in B10


def test_2024_mix_is_plausible() -> None:
    est = _national_estimate("2024-03")
    assert 0.18 < est["tel"] < 0.32
    assert 0.01 < est["video"] < 0.10
    assert 0.01 < est["unknown"] < 0.06
    assert 0.03 < est["dna"] < 0.06
    assert 0.38 < est["gp"] < 0.50
    assert 0.28 < est["same_day"] < 0.42
