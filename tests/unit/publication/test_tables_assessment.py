"""Table outputs (CSV, XLSX, JSON) with formulas neutralised, criteria as met / not met / not assessed, and
numbers and names as a reader sees them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpaccess.errors import UserError
from gpaccess.publication.assessment import assessed_summary, outward_members, status_of
from gpaccess.publication.readable import format_number, formatted, readable_name
from gpaccess.publication.tables import render_csv, render_json, table_format, write_table, write_xlsx


def members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "practice_code": ["A81001", "A81002", "A81003"],
            "practice_name": ['=HYPERLINK("http://x")', "+Plus Surgery", "Riverside"],
            "excluded": [False, False, True],
            "criteria_met": [["f2f"], [], []],
            "reasons": [["a", "b"], ["c"], []],
            "criterion_f2f": [True, False, False],
            "assessed_f2f": [True, True, True],
            "criterion_local": [False, False, False],
            "assessed_local": [False, False, False],
            "evidence": [2.5, np.nan, -1.25],
        }
    )


def test_status_never_false_for_a_criterion_without_data() -> None:
    assert status_of(True, True) == "met"
    assert status_of(False, True) == "not met"
    assert status_of(False, False) == "not assessed"
    assert status_of(True, None) == "not assessed"
    out = outward_members(members())
    assert list(out.criterion_local) == ["not assessed"] * 3
    assert list(out.criterion_f2f) == ["met", "not met", "not met"]
    assert "assessed_f2f" not in out.columns and out.reasons.iloc[0] == "a; b"
    assert assessed_summary(members(), ["f2f", "local"]) == {
        "f2f": {"met": 1, "not met": 1, "not assessed": 0},
        "local": {"met": 0, "not met": 0, "not assessed": 2},
    }


def test_xlsx_is_a_real_workbook_with_formulas_neutralised(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_table(outward_members(members()), tmp_path / "cohort.xlsx", sheet="cohort", notes=["stood on x"])
    book = load_workbook(path)
    assert book.sheetnames == ["Notes", "cohort"]
    assert book["Notes"]["A1"].value == "stood on x"
    sheet = book["cohort"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["practice_code", "practice_name"]
    cells = {c.value: c for row in sheet.iter_rows(min_row=2) for c in row}
    formula = cells['=HYPERLINK("http://x")']
    assert formula.data_type == "s" and formula.quotePrefix  # text, shown as written, never evaluated
    assert cells["+Plus Surgery"].data_type == "s"
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    criteria = [r[header.index("criterion_local")].value for r in sheet.iter_rows(min_row=2)]
    assert criteria == ["not assessed"] * 3
    numbers = [r[header.index("evidence")].value for r in sheet.iter_rows(min_row=2)]
    assert numbers == [2.5, None, -1.25]  # a negative number stays a number; missing is an empty cell


def test_csv_and_json_documents(tmp_path: Path) -> None:
    frame = outward_members(members())
    text = render_csv(frame)
    rows = list(csv.DictReader(text.splitlines()))
    assert rows[0]["practice_name"] == '\'=HYPERLINK("http://x")' and rows[1]["criterion_local"] == "not assessed"
    doc = json.loads(render_json({"icb": "QWE", "members": outward_members(members(), join_lists=False)}))
    assert doc["members"][0]["reasons"] == ["a", "b"] and doc["members"][1]["evidence"] is None
    assert doc["members"][0]["practice_name"].startswith("=")  # JSON is not a spreadsheet: kept as written
    written = write_table(frame, tmp_path / "c.json")
    assert json.loads(written.read_text())[2]["criterion_f2f"] == "not met"
    assert write_table(frame, tmp_path / "c.csv").read_text().splitlines()[0].startswith("practice_code,")


def test_format_from_option_or_extension() -> None:
    assert table_format(None, Path("a.XLSX")) == "xlsx"
    assert table_format("json", Path("a.csv")) == "json"
    assert table_format(None, None) == "csv"
    with pytest.raises(UserError, match="binary format"):
        table_format("xlsx", None)
    with pytest.raises(UserError, match="expected one of csv, xlsx, json"):
        table_format(None, Path("a.txt"))


def test_workbook_of_several_sheets(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_xlsx({"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"y": ["@SUM(A1)"]})}, tmp_path / "w.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["a", "b"] and book["b"]["A2"].data_type == "s"


def test_numbers_for_a_reader() -> None:
    assert format_number(1770.4) == "1,770"
    assert format_number(12.345) == "12.3"
    assert format_number(0.4123, "share") == "41.2%"
    assert format_number(0.8512, "ratio") == "0.85"
    assert format_number(0.0001, "p_value") == "< 0.001"
    assert format_number(float("nan")) == "—"
    table = formatted(pd.DataFrame({"appts_per_1000": [1770.4], "f2f_gp": [0.41]}), {"f2f_gp": "share"})
    assert list(table.columns) == ["Appointments per 1,000 patients a month", "GP face-to-face share"]
    assert table.iloc[0].tolist() == ["1,770", "41.0%"]
    assert "e+" not in " ".join(table.iloc[0])


def test_readable_names_for_indicators() -> None:
    assert readable_name("nhs111_in_hours_per_1000 (local)") == "NHS 111 in-hours contacts per 1,000 patients (local)"
    assert readable_name("ae_attendances_per_1000") == "A&E attendances per 1,000 patients"
    assert readable_name("patient_satisfaction_pct") == "Patient satisfaction (%)"
    assert readable_name("f2f_gp") == "GP face-to-face share"
