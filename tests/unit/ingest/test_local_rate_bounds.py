"""Rate indicators the cohort reads are bounded at upload and stored as monthly rates (DESIGN "Cohort rules")."""

from __future__ import annotations

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.local import to_store_frame, validate
from gpaccess.ingest.local_read import read_local_file
from gpaccess.storage.periods import period_months

PRACTICES = {"A81001", "A81002", "A81003"}


def _write(tmp_path, rows):
    path = tmp_path / "local.csv"
    path.write_text("practice_code,indicator,period,value\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_negative_and_implausible_rates_are_refused_with_row_and_column(tmp_path):
    path = _write(
        tmp_path,
        [
            "A81001,nhs111_in_hours_per_1000,2025-10,-2",
            "A81002,ae_attendances_per_1000,2025-10,1200",
            "A81003,ae_attendances_per_1000,2025,6000",  # 500 a month: plausible once divided by 12
            "A81003,patient_satisfaction_pct,2025-10,-5",  # not a rate the rules read: any finite number
        ],
    )
    problems = validate(read_local_file(path), icb_code="QHM", icb_practices=PRACTICES, file=path.name)
    assert [(p.line, p.column, p.found) for p in problems] == [(2, "value", "-2"), (3, "value", "1200")]
    assert "per 1,000 patients a month from 0 to 1,000" in problems[0].expected


def test_quarterly_and_yearly_rates_are_stored_per_month(tmp_path):
    path = _write(
        tmp_path,
        [
            "A81001,nhs111_in_hours_per_1000,2025-Q3,36",
            "A81002,nhs111_in_hours_per_1000,2025/26,144",
            "A81003,nhs111_in_hours_per_1000,Oct 2025,12",
            "A81003,patient_satisfaction_pct,2025-Q3,80",
        ],
    )
    frame = to_store_frame(read_local_file(path), icb_code="QHM", uploaded_at="t", user="u")
    values = frame.set_index(["practice_code", "indicator"]).value
    assert values[("A81001", "nhs111_in_hours_per_1000")] == pytest.approx(12.0)
    assert values[("A81002", "nhs111_in_hours_per_1000")] == pytest.approx(12.0)
    assert values[("A81003", "nhs111_in_hours_per_1000")] == pytest.approx(12.0)
    assert values[("A81003", "patient_satisfaction_pct")] == pytest.approx(80.0)  # not a rate: as written
    assert [period_months(p) for p in ("2025", "2025/26", "2025-Q3", "2025-10", "2025-10-01")] == [12, 12, 3, 1, 1]


def test_a_bad_rate_stores_nothing(warehouse, tmp_path):
    from gpaccess.ingest.local import upload

    path = _write(tmp_path, ["A81001,ae_attendances_per_1000,2025-10,-1"])
    with pytest.raises(InputFileError):
        upload(warehouse, path, icb_code="QHM", icb_practices=PRACTICES, user="u")
    assert not warehouse.snapshot().has("local_indicators")
