"""Every malformed input is refused with file, line, column and what was expected, and the store answers
every query exactly as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from ingest_helpers import answers, make_zip

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


@pytest.fixture
def loaded(warehouse, gpad_fixtures):
    """A store already holding a month, so 'unchanged' is tested against real contents, not emptiness."""
    ingest_files(warehouse, [gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"], user="tester")
    return warehouse


def broken(tmp_path: Path, gpad_fixtures: Path, edit) -> Path:
    text = (gpad_fixtures / CROSSTAB).read_bytes()
    out = tmp_path / CROSSTAB
    out.write_bytes(edit(text))
    return out


def refuse(wh, path: Path) -> InputFileError:
    before = answers(wh)
    with pytest.raises(InputFileError) as info:
        ingest_files(wh, [path], user="tester")
    assert answers(wh) == before
    return info.value


def test_wrong_header_names_the_missing_column(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b"COUNT_OF_APPOINTMENTS", b"COUNT", 1))
    err = refuse(loaded, path)
    [p] = err.problems
    assert (p.file, p.line) == (str(path), 1)
    assert "COUNT_OF_APPOINTMENTS" in p.expected


def test_unrecognised_header_lists_known_publications(loaded, tmp_path):
    path = tmp_path / "something.csv"
    path.write_text("A,B,C\n1,2,3\n")
    err = refuse(loaded, path)
    assert err.problems[0].line == 1
    assert "GP_CODE" in err.problems[0].expected and "NUMBER_OF_PATIENTS" in err.problems[0].expected


def test_bad_number_reports_line_and_column(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b",80,Attended", b",8O,Attended"))
    err = refuse(loaded, path)
    [p] = err.problems
    assert p.line == 3  # header is line 1; the telephone row is the second data row
    assert p.column == "13 (COUNT_OF_APPOINTMENTS)"
    assert p.expected == "a whole number" and p.found == "8O"


def test_negative_count_is_refused(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b",80,Attended", b",-80,Attended"))
    [p] = refuse(loaded, path).problems
    assert (p.line, p.column, p.found) == (3, "13 (COUNT_OF_APPOINTMENTS)", "-80")


def test_unknown_category_lists_every_occurrence_and_where_to_add_a_spelling(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b"Face-to-Face", b"In Person"))
    err = refuse(loaded, path)
    assert [(p.line, p.column, p.found) for p in err.problems] == [
        (2, "10 (APPT_MODE)", "In Person"),
        (4, "10 (APPT_MODE)", "In Person"),
    ]
    assert "vocabularies.toml" in err.problems[0].expected and "'Face-to-Face'" in err.problems[0].expected


def test_row_cut_short(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b",40,DNA", b""))
    [p] = refuse(loaded, path).problems
    assert p.line == 4
    assert "14 fields" in p.expected


def test_wrong_encoding_latin1(loaded, gpad_fixtures, tmp_path):
    path = broken(
        tmp_path,
        gpad_fixtures,
        lambda b: b.replace(b"PARK SURGERY", b"PARK SURGERY").replace(b"THE DENSHAM", b"TH\xc9 DENSHAM", 1),
    )
    [p] = refuse(loaded, path).problems
    assert p.line == 2 and "UTF-8" in p.expected


def test_utf16_file_is_refused_at_line_one(loaded, gpad_fixtures, tmp_path):
    path = tmp_path / CROSSTAB
    path.write_bytes((gpad_fixtures / CROSSTAB).read_text().encode("utf-16"))
    [p] = refuse(loaded, path).problems
    assert p.line == 1 and "UTF-8" in p.expected


def test_truncated_zip(loaded, gpad_fixtures, tmp_path):
    whole = make_zip(
        tmp_path / "whole.zip",
        {CROSSTAB: gpad_fixtures / CROSSTAB, "Mapping.csv": gpad_fixtures / "Mapping_Jul_24.csv"},
    )
    cut = tmp_path / "Practice_Level_Crosstab_Jul_24.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    [p] = refuse(loaded, cut).problems
    assert p.file == str(cut) and "complete zip" in p.expected


def test_bad_month_value(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b"01JUL2024,A81002", b"32JUL2024,A81002", 1))
    [p] = refuse(loaded, path).problems
    assert (p.line, p.column, p.found) == (5, "1 (APPOINTMENT_MONTH_START_DATE)", "32JUL2024")


def test_all_problems_of_all_files_are_reported_together(loaded, gpad_fixtures, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = broken(tmp_path / "a", gpad_fixtures, lambda b: b.replace(b",80,Attended", b",x,Attended"))
    two = broken(tmp_path / "b", gpad_fixtures, lambda b: b.replace(b"Clinical Triage", b"Triage"))
    before = answers(loaded)
    with pytest.raises(InputFileError) as info:
        ingest_files(loaded, [one, two], user="tester")
    assert {p.file for p in info.value.problems} == {str(one), str(two)}
    assert answers(loaded) == before


def test_loose_mapping_without_a_month_is_refused(loaded, gpad_fixtures, tmp_path):
    path = tmp_path / "Mapping.csv"
    path.write_bytes((gpad_fixtures / "Mapping_Jul_24.csv").read_bytes())
    [p] = refuse(loaded, path).problems
    assert "--month" in p.expected


def test_same_practice_in_two_regional_parts_is_refused(loaded, gpad_fixtures, tmp_path):
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip",
        {
            "Practice_Level_Crosstab_North_Jul_24.csv": gpad_fixtures / CROSSTAB,
            "Practice_Level_Crosstab_South_Jul_24.csv": gpad_fixtures / CROSSTAB,
        },
    )
    err = refuse(loaded, z)
    assert "A81001" in err.problems[0].found


def test_error_message_renders_every_location(loaded, gpad_fixtures, tmp_path):
    path = broken(tmp_path, gpad_fixtures, lambda b: b.replace(b",80,Attended", b",8O,Attended"))
    err = refuse(loaded, path)
    assert f"{path}, line 3, column 13 (COUNT_OF_APPOINTMENTS): expected a whole number (found '8O')" in str(err)
    assert "nothing was stored" in str(err)
