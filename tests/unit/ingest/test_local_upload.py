"""Uploading local data: every problem at once, nothing stored on refusal, idempotent, replace by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from local_helpers import ingest_fixture, stored, write_csv, write_xlsx

from gpaccess.errors import InputFileError, UserError
from gpaccess.ingest.local import upload, validate
from gpaccess.ingest.local_read import read_local_file
from gpaccess.measures.service import MeasureSession
from gpaccess.storage.warehouse import Warehouse

ICB = "QHM"
PRACTICES = {"A81001", "A81002"}
ELSEWHERE = {"A81001": "QHM", "A81002": "QHM", "B82001": "QOP"}


def _bad_rows() -> list[list[object]]:
    return [
        ["practice", "indicator", "period", "value"],  # row 1
        ["A81001", "satisfaction", "2025-10", "0.8"],  # 2: fine
        ["B82001", "satisfaction", "2025-10", "0.6"],  # 3: a practice of another ICB
        ["Z99999", "satisfaction", "2025-10", "0.5"],  # 4: unknown practice
        ["A81002", "satisfaction", "2025-10", "high"],  # 5: text in a number
        ["A81002", "complaints", "next month", "3"],  # 6: bad period
        ["A81001", "satisfaction", "Oct 2025", "0.9"],  # 7: duplicate of row 2 (same period, other spelling)
        ["A81002", "", "2025-10", "nan"],  # 8: no indicator, NaN value
    ]


def test_validate_reports_every_problem_with_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", _bad_rows())
    problems = validate(
        read_local_file(path), icb_code=ICB, icb_practices=PRACTICES, file="bad.csv", practice_icbs=ELSEWHERE
    )
    got = [(p.line, p.column, p.found) for p in problems]
    assert got == [
        (3, "practice", "B82001, a practice of ICB QOP"),
        (4, "practice", "Z99999"),
        (5, "value", "high"),
        (6, "period", "next month"),
        (7, "value", "A81001, satisfaction, 2025-10 again (first at row 2)"),
        (8, "indicator", ""),
        (8, "value", "nan"),
    ]
    assert all(p.file == "bad.csv" for p in problems)
    assert "a practice of ICB QHM" in problems[0].expected


def test_validate_wide_file_names_the_indicator_column(tmp_path: Path) -> None:
    rows = [
        ["practice", "period", "satisfaction", "", "complaints"],
        ["A81001", "2025-10", "0.8", "1", "many"],
        ["", "2025-10", "0.8", "", "2"],
        ["A81002", "2025-10", "inf", None, "2"],
    ]
    path = write_xlsx(tmp_path / "wide.xlsx", rows)
    problems = validate(read_local_file(path), icb_code=ICB, icb_practices=PRACTICES, file="wide.xlsx")
    assert [(p.line, p.column) for p in problems] == [
        (1, "column D"),  # an unnamed column holding data
        (2, "complaints"),
        (3, "practice"),  # once per row, not once per cell
        (4, "satisfaction"),
    ]


def test_bad_upload_refused_whole_and_store_unchanged(warehouse: Warehouse, tmp_path: Path) -> None:
    ingest_fixture(warehouse)
    good = write_csv(tmp_path / "good.csv", [["practice", "indicator", "period", "value"], ["A81001", "s", "2025", 1]])
    upload(warehouse, good, icb_code=ICB, icb_practices=PRACTICES, user="tester")
    generation, before = warehouse.manifest().generation, stored(warehouse)
    bad = write_csv(tmp_path / "bad.csv", _bad_rows())
    with pytest.raises(InputFileError) as err:
        upload(warehouse, bad, icb_code=ICB, icb_practices=PRACTICES, user="tester", practice_icbs=ELSEWHERE)
    message = str(err.value)
    assert "7 problem(s) in bad.csv; nothing was stored" in message
    for fragment in ("line 3, column practice", "line 4", "line 5, column value", "line 6, column period", "line 7"):
        assert fragment in message
    assert err.value.exit_code == 8
    assert warehouse.manifest().generation == generation
    assert stored(warehouse) == before
    with pytest.raises(UserError, match="--period"):
        upload(warehouse, good, icb_code=ICB, icb_practices=PRACTICES, user="tester", period="someday")


def test_upload_stores_rows_and_reupload_is_a_no_op(warehouse: Warehouse, tmp_path: Path) -> None:
    ingest_fixture(warehouse)
    practices = set(MeasureSession(warehouse.snapshot()).icb_practices(ICB).practice_code)
    assert practices == PRACTICES
    rows = [
        ["practice_code", "period", "satisfaction", "complaints"],
        ["a81001", "Oct 2025", "0.8", "3"],
        ["A81002", "Oct 2025", "0.6", "1"],
    ]
    path = write_csv(tmp_path / "wide.csv", rows)
    result = upload(warehouse, path, icb_code=ICB, icb_practices=practices, user="analyst")
    assert (result.status, result.rows, result.practices) == ("uploaded", 4, 2)
    assert (result.indicators, result.periods) == (["complaints", "satisfaction"], ["2025-10"])
    assert stored(warehouse) == [
        ("QHM", "A81001", "complaints", "2025-10", 3.0, "wide.csv"),
        ("QHM", "A81001", "satisfaction", "2025-10", 0.8, "wide.csv"),
        ("QHM", "A81002", "complaints", "2025-10", 1.0, "wide.csv"),
        ("QHM", "A81002", "satisfaction", "2025-10", 0.6, "wide.csv"),
    ]
    df = warehouse.snapshot().table("local_indicators").to_pandas()
    assert set(df.uploaded_by) == {"analyst"}
    assert str(df.value.dtype) == "float64"
    release = warehouse.manifest().release(result.release or "")
    assert release.touched == {"local_indicators": ["QHM"]}
    assert release.sources[0].sha256 == result.sha256
    generation = warehouse.manifest().generation
    again = upload(warehouse, path, icb_code=ICB, icb_practices=practices, user="analyst")
    assert (again.status, again.release) == ("already uploaded", result.release)
    assert warehouse.manifest().generation == generation


def test_second_upload_replaces_one_indicator_and_keeps_another(warehouse: Warehouse, tmp_path: Path) -> None:
    ingest_fixture(warehouse)
    first = write_csv(
        tmp_path / "first.csv",
        [
            ["practice", "period", "satisfaction", "complaints"],
            ["A81001", "2025-10", 0.8, 3],
            ["A81002", "2025-10", 0.6, 1],
        ],
    )
    upload(warehouse, first, icb_code=ICB, icb_practices=PRACTICES, user="tester")
    second = write_xlsx(
        tmp_path / "second.xlsx",
        [
            ["practice", "indicator", "period", "value"],
            ["A81001", "satisfaction", "2025-10", 0.5],
            ["A81002", "satisfaction", "2025-10", 0.4],
            ["A81001", "satisfaction", "2025-11", 0.45],
        ],
    )
    upload(warehouse, second, icb_code=ICB, icb_practices=PRACTICES, user="tester")
    assert stored(warehouse) == [
        ("QHM", "A81001", "complaints", "2025-10", 3.0, "first.csv"),
        ("QHM", "A81001", "satisfaction", "2025-10", 0.5, "second.xlsx"),
        ("QHM", "A81001", "satisfaction", "2025-11", 0.45, "second.xlsx"),
        ("QHM", "A81002", "complaints", "2025-10", 1.0, "first.csv"),
        ("QHM", "A81002", "satisfaction", "2025-10", 0.4, "second.xlsx"),
    ]
    # The replaced rows are kept below the new state.
    stack = warehouse.manifest().publications["local_indicators"].periods["QHM"]
    assert len(stack) == 2
    old = warehouse.snapshot().release_table(stack[0].release, "local_indicators", "QHM").to_pandas()
    assert sorted(old.value) == [0.6, 0.8, 1.0, 3.0]
    # Uploading the first file again re-applies it: its satisfaction rows replace the second file's.
    again = upload(warehouse, first, icb_code=ICB, icb_practices=PRACTICES, user="tester")
    assert again.status == "uploaded"
    assert ("QHM", "A81001", "satisfaction", "2025-10", 0.8, "first.csv") in stored(warehouse)
    assert ("QHM", "A81001", "satisfaction", "2025-11", 0.45, "second.xlsx") in stored(warehouse)


def test_each_icb_is_its_own_period(warehouse: Warehouse, tmp_path: Path) -> None:
    ingest_fixture(warehouse)
    rows = [["practice", "indicator", "period", "value"], ["A81001", "s", "2025", 1]]
    upload(warehouse, write_csv(tmp_path / "a.csv", rows), icb_code=ICB, icb_practices=PRACTICES, user="t")
    rows2 = [["practice", "indicator", "period", "value"], ["B82001", "s", "2025", 2]]
    upload(warehouse, write_csv(tmp_path / "b.csv", rows2), icb_code="QOP", icb_practices={"B82001"}, user="t")
    assert warehouse.snapshot().periods("local_indicators") == ["QHM", "QOP"]
    assert [r[:2] for r in stored(warehouse)] == [("QHM", "A81001"), ("QOP", "B82001")]


def test_edge_layouts(warehouse: Warehouse, tmp_path: Path) -> None:
    # Data beyond the header's last column is an unnamed indicator: reported at the header row.
    wide = write_csv(tmp_path / "wide.csv", [["practice", "period", "s"], ["A81001", "2025", "1", "2"]])
    problems = validate(read_local_file(wide), icb_code=ICB, icb_practices=PRACTICES, file="wide.csv")
    assert [(p.line, p.column) for p in problems] == [(1, "column D")]
    # An unnamed column with nothing in it (a spreadsheet's trailing comma) is ignored.
    trailing = write_csv(tmp_path / "t.csv", [["practice", "period", "s", ""], ["A81001", "2025", "1", ""]])
    assert validate(read_local_file(trailing), icb_code=ICB, icb_practices=PRACTICES, file="t.csv") == []
    # A header and nothing else, or only blank wide cells, holds no values.
    ingest_fixture(warehouse)
    empty = write_csv(tmp_path / "empty.csv", [["practice", "period", "s"], ["A81001", "2025", ""]])
    with pytest.raises(InputFileError, match="holds no values"):
        upload(warehouse, empty, icb_code=ICB, icb_practices=PRACTICES, user="t")
    # Cells as a caller's frame may hold them: a float NaN is blank, a whole-number float code is text.
    frame = read_local_file(
        write_csv(tmp_path / "n.csv", [["practice", "indicator", "period", "value"], ["x", "s", "2025", "1"]])
    )
    frame.loc[0, "practice_code"], frame.loc[0, "indicator"] = 12345.0, float("nan")
    problems = validate(frame, icb_code=ICB, icb_practices={"12345"}, file="n.csv")
    assert [(p.line, p.column, p.found) for p in problems] == [(2, "indicator", "")]
