"""Reading local files: periods, numbers, long and wide CSV and XLSX, encodings and sheets."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from local_helpers import write_csv, write_xlsx

from gpaccess.errors import InputFileError, NotFoundError, UserError
from gpaccess.ingest.local_read import parse_number, read_local_file
from gpaccess.storage.periods import normalise_period, period_end


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-10", "2025-10"),
        ("2025-1", "2025-01"),
        ("2025-10-01", "2025-10-01"),
        ("01/10/2025", "2025-10-01"),
        ("Oct 2025", "2025-10"),
        ("october 2025", "2025-10"),
        ("Sept-2025", "2025-09"),
        ("2025/26", "2025/26"),
        ("1999/00", "1999/00"),
        ("2025-Q3", "2025-Q3"),
        ("2025 q3", "2025-Q3"),
        ("Q3 2025", "2025-Q3"),
        ("2025", "2025"),
        (2025, "2025"),
        (2025.0, "2025"),
        (datetime(2025, 10, 1), "2025-10-01"),
        (date(2025, 10, 31), "2025-10-31"),
    ],
)
def test_normalise_period_accepts(raw: object, expected: str) -> None:
    assert normalise_period(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "soon",
        "2025-13",
        "2025-02-30",
        "31/02/2025",
        "Octo 2025",
        "2025/27",
        "2025-Q5",
        "1850",
        2025.5,
        float("nan"),
        True,
        "Foo 2025",
    ],
)
def test_normalise_period_refuses(raw: object) -> None:
    assert normalise_period(raw) is None


@pytest.mark.parametrize(
    ("period", "end"),
    [
        ("2025", date(2025, 12, 31)),
        ("2025/26", date(2026, 3, 31)),
        ("2025-Q1", date(2025, 3, 31)),
        ("2025-Q4", date(2025, 12, 31)),
        ("2025-02", date(2025, 2, 28)),
        ("2025-12", date(2025, 12, 31)),
        ("2025-10-07", date(2025, 10, 7)),
    ],
)
def test_period_end_orders_periods(period: str, end: date) -> None:
    assert period_end(period) == end


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3.5", 3.5), (" -2 ", -2.0), ("1,234.5", 1234.5), (7, 7.0), (0.25, 0.25), ("1e3", 1000.0)],
)
def test_parse_number_accepts(raw: object, expected: float) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "n/a", "12%", "nan", "inf", float("nan"), float("-inf"), True, "1,23"])
def test_parse_number_refuses(raw: object) -> None:
    assert parse_number(raw) is None


def test_read_long_csv_with_bom_and_aliases(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "local.csv",
        [
            ["Practice Code", "Indicator", "Period", "Value", "Notes"],
            ["a81001", "satisfaction", "Oct 2025", "0.8", "x"],
            [],
            ["A81002", "satisfaction", "2025-10", "0.7", ""],
        ],
        bom=True,
    )
    df = read_local_file(path)
    assert list(df.practice_code) == ["a81001", "A81002"]
    assert list(df.value) == ["0.8", "0.7"]
    assert list(df.row) == [2, 4]  # the blank line 3 still counts
    assert set(df.source) == {"local.csv"}
    assert list(df.practice_column.unique()) == ["Practice Code"]


def test_read_wide_csv_to_long(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wide.csv",
        [
            ["practice", "practice_name", "month", "satisfaction", "complaints"],
            ["A81001", "THE DENSHAM", "2025-10", "0.8", "3"],
            ["A81002", "FULWELL", "2025-10", "0.7", ""],
        ],
    )
    df = read_local_file(path)
    got = sorted(zip(df.practice_code, df.indicator, df.period, df.value, df.row, df.value_column, strict=True))
    assert got == [
        ("A81001", "complaints", "2025-10", "3", 2, "complaints"),
        ("A81001", "satisfaction", "2025-10", "0.8", 2, "satisfaction"),
        ("A81002", "satisfaction", "2025-10", "0.7", 3, "satisfaction"),  # a blank wide cell is no figure
    ]


def test_read_wide_without_period_column_takes_the_given_period(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "w.csv", [["practice_code", "satisfaction"], ["A81001", "0.8"]])
    with pytest.raises(InputFileError, match="period column"):
        read_local_file(path)
    df = read_local_file(path, period="2025/26")
    assert list(df.period) == ["2025/26"]
    assert df.period_column.isna().all()


def test_read_long_xlsx_named_sheet(tmp_path: Path) -> None:
    rows = [
        ["practice", "indicator", "period", "value"],
        ["A81001", "satisfaction", datetime(2025, 10, 1), 0.8],
        ["A81002", "satisfaction", "2025-10-01", 0.7],
    ]
    path = write_xlsx(tmp_path / "local.xlsx", rows, sheet="Data", before=["Notes"])
    df = read_local_file(path, sheet="Data")
    assert list(df.practice_code) == ["A81001", "A81002"]
    assert [normalise_period(p) for p in df.period] == ["2025-10-01", "2025-10-01"]
    assert list(df.value) == [0.8, 0.7]
    assert list(df.row) == [2, 3]
    with pytest.raises(InputFileError, match="no sheet 'Missing'") as err:
        read_local_file(path, sheet="Missing")
    assert "Notes, Data" in str(err.value)


def test_read_wide_xlsx_first_sheet(tmp_path: Path) -> None:
    rows = [["Practice", "Period", "satisfaction", "complaints"], ["A81001", 2025, 0.8, 3]]
    path = write_xlsx(tmp_path / "wide.xlsx", rows)
    df = read_local_file(path)
    assert sorted(df.indicator) == ["complaints", "satisfaction"]
    assert set(df.period) == {2025}


def test_read_refuses_files_it_cannot_read(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("practice,indicator,period,value\nA81001,satisfaction caf\xe9,2025,1\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="not UTF-8") as err:
        read_local_file(latin)
    assert err.value.problems[0].line == 2
    with pytest.raises(InputFileError, match="empty file"):
        read_local_file(write_csv(tmp_path / "empty.csv", [[], [""]]))
    with pytest.raises(InputFileError, match="no practice column"):
        read_local_file(write_csv(tmp_path / "np.csv", [["code", "value"], ["A81001", "1"]]))
    with pytest.raises(InputFileError, match="no indicator columns"):
        read_local_file(write_csv(tmp_path / "ni.csv", [["practice", "period", "name"], ["A81001", "2025", "x"]]))
    with pytest.raises(UserError, match=r"\.csv or \.xlsx"):
        read_local_file(write_csv(tmp_path / "old.xls", [["practice"]]))
    with pytest.raises(UserError, match="XLSX files only"):
        read_local_file(write_csv(tmp_path / "s.csv", [["practice"]]), sheet="Data")
    with pytest.raises(NotFoundError):
        read_local_file(tmp_path / "missing.csv")
    (tmp_path / "fake.xlsx").write_text("not a workbook", encoding="utf-8")
    with pytest.raises(InputFileError, match="could not be opened"):
        read_local_file(tmp_path / "fake.xlsx")
