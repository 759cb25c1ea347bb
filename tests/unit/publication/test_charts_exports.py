"""CSV exports neutralise spreadsheet formulas and leave numbers alone."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from gpaccess.publication.charts.common import write_chart_data
from gpaccess.publication.exports import neutralise_cell, neutralise_formulas


def test_neutralise_cell():
    assert neutralise_cell("=SUM(A1)") == "'=SUM(A1)"
    assert neutralise_cell("+1") == "'+1"
    assert neutralise_cell("-x") == "'-x"
    assert neutralise_cell("@x") == "'@x"
    assert neutralise_cell("\t=1") == "'\t=1"
    assert neutralise_cell("Y12345") == "Y12345"
    assert neutralise_cell("") == ""
    assert neutralise_cell(-3.5) == -3.5
    assert neutralise_cell(None) is None


def test_frame_text_columns_only():
    df = pd.DataFrame(
        {
            "practice_name": ["=SUM(A1)", "+1", "-x", "@x", "The Surgery", None],
            "value": [-0.5, 1.0, -2.0, 0.0, 3.25, np.nan],
            "count": [-1, 2, 3, 4, 5, 6],
            "kind": pd.Categorical(["=a", "b", "=a", "b", "b", "b"]),
        }
    )
    out = neutralise_formulas(df)
    assert out["practice_name"].tolist()[:5] == ["'=SUM(A1)", "'+1", "'-x", "'@x", "The Surgery"]
    assert pd.isna(out["practice_name"].iloc[5])
    pd.testing.assert_series_equal(out["value"], df["value"])
    pd.testing.assert_series_equal(out["count"], df["count"])
    assert out["kind"].tolist()[0] == "'=a"
    assert df["practice_name"].iloc[0] == "=SUM(A1)"  # the input is not changed


def test_write_chart_data(tmp_path):
    df = pd.DataFrame({"practice_code": ["Y1", "Y2"], "practice_name": ['=HYPERLINK("x")', "-x"], "value": [-0.25, 4]})
    df["=cmd"] = ["a", "b"]
    out = write_chart_data(df, tmp_path / "data" / "funnel.csv")
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["practice_code", "practice_name", "value", "'=cmd"]
    assert rows[1] == ["Y1", '\'=HYPERLINK("x")', "-0.25", "a"]
    assert rows[2] == ["Y2", "'-x", "4.0", "b"]
    back = pd.read_csv(out)
    assert back["value"].tolist() == [-0.25, 4.0]  # negative numbers stay numbers
    assert [p.name for p in out.parent.iterdir()] == ["funnel.csv"]
