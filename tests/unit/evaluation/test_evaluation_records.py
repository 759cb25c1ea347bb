"""Support records: first starts per action type and the support CSV."""

from __future__ import annotations

import pytest

from gpaccess.errors import InputFileError
from gpaccess.evaluation.records import SupportRecord, action_types, first_starts, read_support_csv


def test_first_starts_of_one_type_and_of_any():
    records = [
        SupportRecord("A00001", "extra_sessions_locums", "2025-03"),
        SupportRecord("A00001", "care_navigation", "2025-01"),
        SupportRecord("A00002", "extra_sessions_locums", "2025-02"),
    ]
    assert first_starts(records, "extra_sessions_locums") == {"A00001": "2025-03", "A00002": "2025-02"}
    assert first_starts(records) == {"A00001": "2025-01", "A00002": "2025-02"}
    assert action_types(records) == ["care_navigation", "extra_sessions_locums"]


def test_support_csv_reads_and_normalises(tmp_path):
    path = tmp_path / "support.csv"
    path.write_text("practice_code,action,start_month,effect\na00001,extra_sessions_locums,2025-03-01,0.06\n")
    assert read_support_csv(path) == [SupportRecord("A00001", "extra_sessions_locums", "2025-03")]


def test_support_csv_lists_every_bad_row(tmp_path):
    path = tmp_path / "support.csv"
    path.write_text("practice_code,action,start_month\n,extra_sessions_locums,2025-03\nA00002,,March\n")
    with pytest.raises(InputFileError) as err:
        read_support_csv(path)
    assert [(p.line, p.column) for p in err.value.problems] == [(2, "practice_code"), (3, "action"), (3, "start_month")]


def test_support_csv_without_its_columns_is_refused(tmp_path):
    path = tmp_path / "support.csv"
    path.write_text("code,what\nA00001,x\n")
    with pytest.raises(InputFileError, match="not a support file"):
        read_support_csv(path)
