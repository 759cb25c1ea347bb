"""What a file is comes from its header and its month from its rows, never from its name: real-format fixtures
under other publications' names, or naming other months, are stored as what they are, under the month their
rows say, and the result says where a name (or --month) was overruled."""

from __future__ import annotations

import shutil

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from ingest_helpers import make_zip

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"  # rows of 01JUL2024
LIST_SIZES = "gp-reg-pat-prac-all_2024-07-01.csv"  # rows of 2024-07-01


def renamed(gpad_fixtures, tmp_path, fixture: str, name: str):
    folder = tmp_path / "renamed"
    folder.mkdir(exist_ok=True)
    return shutil.copy(gpad_fixtures / fixture, folder / name)


def practices(wh, publication: str, month: str) -> set[str]:
    t = wh.snapshot().table(publication, periods=[month])
    return set(t.practice_code.to_pyarrow().to_pylist())


def test_a_crosstab_named_like_a_list_size_file_is_stored_as_a_crosstab(warehouse, gpad_fixtures, tmp_path):
    path = renamed(gpad_fixtures, tmp_path, CROSSTAB, LIST_SIZES)
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {
        "gpad_appointments": ["2024-07"],
        "gpad_practice_month": ["2024-07"],
        "gpad_practices": ["2024-07"],
    }
    assert not warehouse.snapshot().has("registrations")
    assert practices(warehouse, "gpad_appointments", "2024-07") == {"A81001", "A81002"}
    assert result.notes == []  # the name's month (2024-07) is the rows' month: nothing to say


def test_a_list_size_file_named_like_a_crosstab_is_stored_as_list_sizes_under_its_rows_month(
    warehouse, gpad_fixtures, tmp_path
):
    path = renamed(gpad_fixtures, tmp_path, LIST_SIZES, "Practice_Level_Crosstab_Oct_25.csv")
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {"registrations": ["2024-07"]}  # not 2025-10, not gpad_appointments
    assert not warehouse.snapshot().has("gpad_appointments")
    assert result.notes == [f"{path}: stored under 2024-07 as its rows say, not the 2025-10 its name says"]


def test_a_crosstab_whose_name_says_another_month_is_stored_under_its_rows_month(warehouse, gpad_fixtures, tmp_path):
    path = renamed(gpad_fixtures, tmp_path, CROSSTAB, "Practice_Level_Crosstab_Oct_25.csv")
    result = ingest_files(warehouse, [path], user="t")
    assert warehouse.snapshot().periods("gpad_appointments") == ["2024-07"]
    assert result.notes == [f"{path}: stored under 2024-07 as its rows say, not the 2025-10 its name says"]


def test_month_option_never_moves_a_file_whose_rows_carry_their_month(warehouse, gpad_fixtures):
    result = ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t", month="2025-10")
    assert warehouse.snapshot().periods("gpad_appointments") == ["2024-07"]
    assert result.notes == [f"{gpad_fixtures / CROSSTAB}: stored under 2024-07 as its rows say, not --month 2025-10"]


def test_a_mapping_in_a_zip_takes_the_month_of_the_crosstab_beside_it(warehouse, gpad_fixtures, tmp_path):
    """Not the zip's name, not --month: the crosstab's rows are the only content that says a month."""
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Oct_25.zip",
        {CROSSTAB: gpad_fixtures / CROSSTAB, "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv"},
    )
    result = ingest_files(warehouse, [z], user="t", month="2025-09")
    assert result.months == {
        "gpad_appointments": ["2024-07"],
        "gpad_mapping": ["2024-07"],
        "gpad_practice_month": ["2024-07"],
        "gpad_practices": ["2024-07"],
    }
    assert result.notes == [
        f"{z.name}:{CROSSTAB}: stored under 2024-07 as its rows say, not --month 2025-09",
        f"{z.name}:Mapping.csv: stored under 2024-07 as the crosstab beside it says, not --month 2025-09",
    ]


def test_a_zip_named_for_another_month_is_noted_once(warehouse, gpad_fixtures, tmp_path):
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Oct_25.zip",
        {"Practice_Level_Crosstab.csv": gpad_fixtures / CROSSTAB, "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv"},
    )
    result = ingest_files(warehouse, [z], user="t")
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07"]
    assert result.notes == [
        f"{z.name}:Practice_Level_Crosstab.csv: stored under 2024-07 as its rows say, not the 2025-10 its name says"
    ]


def test_a_loose_mapping_takes_month_option_over_its_name(warehouse, gpad_fixtures, tmp_path):
    path = renamed(gpad_fixtures, tmp_path, "Mapping_Jul_24.csv", "Mapping_Aug_25.csv")
    result = ingest_files(warehouse, [path], user="t", month="2024-07")
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07"]
    assert result.notes == [f"{path}: stored under 2024-07 as --month says, not the 2025-08 its name says"]
    september = tmp_path / "Mapping_Sept_24.csv"
    september.write_text("".join((gpad_fixtures / "Mapping_Jul_24.csv").read_text().splitlines(keepends=True)[:2]))
    named_only = ingest_files(warehouse, [september], user="t")
    assert named_only.months == {"gpad_mapping": ["2024-09"]}  # no month in its rows, no --month: the name


def test_a_mapping_beside_crosstabs_of_two_months_needs_month_option(warehouse, gpad_fixtures, tmp_path):
    members = {
        CROSSTAB: gpad_fixtures / CROSSTAB,
        "Practice_Level_Crosstab_Aug_24.csv": gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv",
        "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv",
    }
    z = make_zip(tmp_path / "Practice_Level_Crosstab_Aug_24.zip", members)
    with pytest.raises(InputFileError, match="the crosstabs beside it hold 2024-07, 2024-08; pass --month") as err:
        ingest_files(warehouse, [z], user="t")
    assert [p.file for p in err.value.problems] == [f"{z.name}:Mapping.csv"]
    assert warehouse.manifest().generation == 0  # nothing stored
    ingest_files(warehouse, [z], user="t", month="2024-08")
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-08"]


def test_a_csv_named_as_a_zip_is_read_as_the_csv_it_is(warehouse, gpad_fixtures, tmp_path):
    path = renamed(gpad_fixtures, tmp_path, CROSSTAB, "Practice_Level_Crosstab_Jul_24.zip")
    ingest_files(warehouse, [path], user="t")
    assert practices(warehouse, "gpad_appointments", "2024-07") == {"A81001", "A81002"}


def test_a_truncated_zip_is_refused_as_truncated(warehouse, gpad_fixtures, tmp_path):
    z = make_zip(tmp_path / "whole.zip", {CROSSTAB: gpad_fixtures / CROSSTAB})
    cut = tmp_path / "Practice_Level_Crosstab_Jul_24.csv"  # named as a CSV: its bytes say zip
    cut.write_bytes(z.read_bytes()[:200])
    with pytest.raises(InputFileError, match="truncated or corrupt"):
        ingest_files(warehouse, [cut], user="t")
