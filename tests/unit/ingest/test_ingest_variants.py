"""Every published variant ingests, and what is stored adds up to what the file says (counted here with
Python's csv module, independently of the engine)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gpaccess.ingest.load import ingest_files
from ingest_helpers import make_zip


def file_totals(path: Path, count_column: str) -> tuple[int, int]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    return len(rows), sum(int(r[count_column]) for r in rows)


def test_current_crosstab_csv_ingests_with_labels_normalised(warehouse, gpad_fixtures):
    path = gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv"
    result = ingest_files(warehouse, [path], user="tester")
    assert result.months["gpad_appointments"] == ["2024-07"]
    t = warehouse.snapshot().table("gpad_appointments").to_pandas()
    rows, total = file_totals(path, "COUNT_OF_APPOINTMENTS")
    assert (len(t), int(t["count"].sum())) == (rows, total)
    assert set(t.time_band) == {"Same Day", "8 to 14 Days", "15 to 21 Days", "22 to 28 Days", "Unknown / Data Quality"}
    assert str(t.month.iloc[0])[:10] == "2024-07-01"
    names = warehouse.snapshot().table("gpad_practices").to_pandas().set_index("practice_code")
    assert names.loc["A81002", "practice_name"] == "FULWELL MEDICAL CENTRE,"
    assert names.loc["A81002", "pcn_name"] == "NORTH, STOCKTON PCN"


def test_historic_crosstab_aliases_map_to_current_names(warehouse, gpad_fixtures):
    path = gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"
    ingest_files(warehouse, [path], user="tester")
    t = warehouse.snapshot().table("gpad_appointments").to_pandas()
    assert set(t.appt_status) == {"Attended", "DNA"}  # "attended" in the file
    assert "Video Conference/Online" in set(t.appt_mode)  # "Video/Online" in the file
    assert "Unknown / Data Quality" in set(t.time_band)
    assert int(t["count"].sum()) == file_totals(path, "COUNT_OF_APPOINTMENTS")[1]


def test_published_zip_gives_mapping_the_crosstab_month(warehouse, gpad_fixtures, tmp_path):
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip",
        {
            "Practice_Level_Crosstab_Jul_24.csv": gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv",
            "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv",
        },
    )
    result = ingest_files(warehouse, [z], user="tester")
    assert result.months["gpad_mapping"] == ["2024-07"]
    mapping = warehouse.snapshot().table("gpad_mapping").to_pandas()
    # A practice listed twice with different suppliers keeps both rows (DESIGN: Mapping).
    assert sorted(mapping[mapping.practice_code == "A81002"].supplier) == ["EMIS", "TPP"]
    assert set(mapping.icb_code) == {"QHM"}


def test_month_split_across_regional_csvs_adds_up(warehouse, gpad_fixtures, tmp_path):
    lines = (gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv").read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    north = "".join([header, *[r for r in rows if ",A81001," in r]]).encode()
    south = "".join([header, *[r for r in rows if ",A81002," in r]]).encode()
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip",
        {
            "Practice_Level_Crosstab_North_East_Jul_24.csv": north,
            "Practice_Level_Crosstab_London_East_South_Jul_24.csv": south,
            "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv",
        },
    )
    ingest_files(warehouse, [z], user="tester")
    t = warehouse.snapshot().table("gpad_appointments").to_pandas()
    assert (
        int(t["count"].sum())
        == file_totals(gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv", "COUNT_OF_APPOINTMENTS")[1]
    )
    assert set(t.practice_code) == {"A81001", "A81002"}


def test_loose_mapping_takes_month_from_its_name_or_option(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / "Mapping_Jul_24.csv"], user="tester")
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07"]
    loose = tmp_path / "Mapping.csv"
    loose.write_bytes(
        (gpad_fixtures / "Mapping_Jul_24.csv").read_bytes().replace(b"STOCKTON PCN,16C", b"STOCKTON PCN ,16C")
    )
    ingest_files(warehouse, [loose], user="tester", month="2024-09")
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07", "2024-09"]


@pytest.mark.parametrize(
    ("name", "month"),
    [("gp-reg-pat-prac-all_2021-01-01.csv", "2021-01"), ("gp-reg-pat-prac-all_2024-07-01.csv", "2024-07")],
)
def test_registrations_both_layouts(warehouse, gpad_fixtures, name, month):
    path = gpad_fixtures / name
    result = ingest_files(warehouse, [path], user="tester")
    assert result.months["registrations"] == [month]
    t = warehouse.snapshot().table("registrations").to_pandas()
    assert (len(t), int(t.patients.sum())) == file_totals(path, "NUMBER_OF_PATIENTS")
    assert t.sub_icb_code.notna().all()  # CCG_CODE (2021) and SUB_ICB_LOCATION_CODE (later) land in one column


def test_utf8_bom_is_tolerated(warehouse, gpad_fixtures, tmp_path):
    path = tmp_path / "gp-reg-pat-prac-all_2024-07-01.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (gpad_fixtures / path.name).read_bytes())
    ingest_files(warehouse, [path], user="tester")
    assert warehouse.snapshot().table("registrations").count().to_pyarrow().as_py() == 3
