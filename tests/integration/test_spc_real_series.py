"""SPC on a real series (DESIGN: real-data checks of SPC use the system-level monthly CCG files). Dorset CCG
(11J), March 2019 – August 2021: limits fixed on the 12 pre-pandemic months must flag the spring 2020 collapse
in face-to-face share as special cause. The series is counted here straight from the published file."""

from __future__ import annotations

import csv
import gzip
import statistics
from collections import defaultdict
from datetime import datetime

import numpy as np
import pytest

from gpaccess.statistics.spc import xmr

pytestmark = pytest.mark.realdata


def dorset_series(real_data):
    f2f, known = defaultdict(int), defaultdict(int)
    path = real_data / "gpad" / "ccg_regional_monthly" / "Regional_CSV_Dorset.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["CCG_CODE"] != "11J" or row["APPT_MODE"] == "Unknown":
                continue
            month = datetime.strptime(row["Appointment_Month"].title(), "%b%Y").date()
            known[month] += int(row["COUNT_OF_APPOINTMENTS"])
            if row["APPT_MODE"] in ("Face-to-Face", "Home Visit"):
                f2f[month] += int(row["COUNT_OF_APPOINTMENTS"])
    months = sorted(known)
    return months, np.array([f2f[m] / known[m] for m in months])


def test_pandemic_spring_is_special_cause_against_the_2019_baseline(real_data):
    months, share = dorset_series(real_data)
    assert len(months) == 30 and months[0].isoformat() == "2019-03-01"
    result = xmr(share, improvement_direction="neutral", fix_after_n_points=12)
    points = result.points
    baseline = share[:12]
    # Mean and limits from the first 12 points, worked independently: mean ± 2.66 × mean moving range (no moving
    # range of the 12 exceeds 3.267 × their mean here, so screening removes none).
    moving = np.abs(np.diff(baseline))
    assert (moving < 3.267 * moving.mean()).all()
    assert points.mean[0] == pytest.approx(statistics.fmean(baseline))
    assert points.upper_limit[0] == pytest.approx(statistics.fmean(baseline) + 2.66 * moving.mean())
    april_2020 = months.index(next(m for m in months if m.isoformat() == "2020-04-01"))
    assert share[april_2020] < points.lower_limit[april_2020]
    assert points.special_cause[april_2020] and points.outside_limits[april_2020]
    assert not points.outside_limits[:12].any()  # the pre-pandemic year sits inside its own limits
