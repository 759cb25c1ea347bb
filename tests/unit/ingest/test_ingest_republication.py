"""A release replacing practices a month already holds is a republication: the change report says what it
added and revised, a practice losing more than a fifth of its appointments or rows refuses the release (unless
--partial says it is meant), and a month's mapping is replaced as a whole."""

from __future__ import annotations

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from ingest_helpers import answers, make_zip

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"
MAPPING = "Mapping_Jul_24.csv"


def lines_of(gpad_fixtures, name=CROSSTAB) -> tuple[str, list[str]]:
    header, *rows = (gpad_fixtures / name).read_text().splitlines(keepends=True)
    return header, rows


def write(tmp_path, name: str, header: str, rows: list[str], folder: str = "new"):
    (tmp_path / folder).mkdir(exist_ok=True)
    path = tmp_path / folder / name
    path.write_text(header + "".join(rows))
    return path


def with_count(row: str, count: int) -> str:
    """A crosstab row with COUNT_OF_APPOINTMENTS (the 13th field; no field before it holds a comma here)."""
    fields = row.rstrip("\r\n").split(",")
    ending = row[len(row.rstrip("\r\n")) :]
    return ",".join([*fields[:-2], str(count), fields[-1]]) + ending


def practice_counts(wh) -> dict[str, tuple[int, int]]:
    t = wh.snapshot().table("gpad_appointments")
    got = t.group_by("practice_code").aggregate(n=t["count"].sum(), rows=t.count()).to_pyarrow().to_pylist()
    return {r["practice_code"]: (r["n"], r["rows"]) for r in got}


def test_a_republication_reports_what_it_revised_added_and_kept(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    assert practice_counts(warehouse) == {"A81001": (240, 3), "A81002": (15, 3)}
    header, rows = lines_of(gpad_fixtures)
    a1 = [r for r in rows if ",A81001," in r]
    new_practice = a1[0].replace("A81001", "A81009")
    revised = [with_count(a1[0], 130), *a1[1:], new_practice]  # A81001: +10 appointments; A81009 new; A81002 absent
    result = ingest_files(warehouse, [write(tmp_path, CROSSTAB, header, revised)], user="t")
    [change] = result.republished
    assert change.month == "2024-07" and change.republished
    assert change.added == ["A81009"]
    assert [
        (c.practice_code, c.appointments_before, c.appointments_after, c.rows_before, c.rows_after)
        for c in change.revised
    ] == [("A81001", 240, 250, 3, 3)]
    assert (change.unchanged, change.kept) == (0, 1)  # A81002 is not in this release: not replaced
    assert (change.appointments_before, change.appointments_after) == (255, 255 + 10 + 120)
    assert (change.rows_before, change.rows_after) == (6, 7)
    assert practice_counts(warehouse) == {"A81001": (250, 3), "A81002": (15, 3), "A81009": (120, 1)}
    text = "\n".join(change.describe())
    assert (
        "2024-07 republished: 1 practice(s) added, 1 revised, 0 unchanged; 1 not in this release keep their rows"
        in text
    )
    assert "appointments 255 → 385 (+130)" in text
    assert "revised A81001: 240 → 250 appointments, 3 → 3 rows" in text


def test_a_practice_republished_with_the_same_rows_in_another_order_is_unchanged(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    header, rows = lines_of(gpad_fixtures)
    moved = [rows[0].replace(",Same Day,", ",1 Day,"), *rows[1:]]  # A81001: one row's booking band changes
    result = ingest_files(warehouse, [write(tmp_path, CROSSTAB, header, list(reversed(moved)))], user="t")
    [change] = result.republished
    assert [c.practice_code for c in change.revised] == ["A81001"]  # same count and rows, another band
    assert (change.unchanged, change.added, change.kept) == (1, [], 0)  # A81002: same rows, reordered


def test_a_hand_cut_practice_refuses_the_release_and_the_store_is_unchanged(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    before = answers(warehouse)
    header, rows = lines_of(gpad_fixtures)
    cut = [r for r in rows if ",A81002," in r] + [r for r in rows if ",A81001," in r][:1]  # A81001: 1 of 3 rows
    path = write(tmp_path, CROSSTAB, header, cut)
    with pytest.raises(InputFileError) as err:
        ingest_files(warehouse, [path], user="t")
    [problem] = err.value.problems
    assert problem.file == str(path)
    assert "practice A81001 to keep at least 80% of the appointments and rows stored for 2024-07" in problem.expected
    assert problem.found == "240 → 120 appointments, 3 → 1 rows"
    assert "--partial" in str(err.value) and "nothing was stored" in str(err.value)
    assert answers(warehouse) == before
    meant = ingest_files(warehouse, [path], user="t", partial=True)
    assert practice_counts(warehouse)["A81001"] == (120, 1)
    assert any("--partial: A81001: 240 → 120 appointments, 3 → 1 rows" in n for n in meant.notes)


@pytest.mark.parametrize(("count", "refused"), [(192 - 80 - 40, False), (191 - 80 - 40, True)])
def test_more_than_a_fifth_of_the_appointments_is_what_refuses(warehouse, gpad_fixtures, tmp_path, count, refused):
    """A81001 holds 240 appointments: 192 (a loss of exactly a fifth) passes, 191 does not."""
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    header, rows = lines_of(gpad_fixtures)
    changed = [with_count(rows[0], count), *rows[1:]]  # the first row is A81001's 120; the others 80 and 40
    path = write(tmp_path, CROSSTAB, header, changed)
    if refused:
        with pytest.raises(InputFileError, match="191 appointments, 3 → 3 rows"):
            ingest_files(warehouse, [path], user="t")
    else:
        ingest_files(warehouse, [path], user="t")
        assert practice_counts(warehouse)["A81001"] == (192, 3)


def test_losing_rows_alone_refuses_too(warehouse, gpad_fixtures, tmp_path):
    ingest_files(warehouse, [gpad_fixtures / CROSSTAB], user="t")
    header, rows = lines_of(gpad_fixtures)
    a1 = [r for r in rows if ",A81001," in r]
    merged = [with_count(a1[0], 200), a1[2]]  # A81001's 240 appointments in 2 rows instead of 3
    path = write(tmp_path, CROSSTAB, header, [*merged, *[r for r in rows if ",A81002," in r]])
    with pytest.raises(InputFileError, match="240 → 240 appointments, 3 → 2 rows"):
        ingest_files(warehouse, [path], user="t")


def test_a_new_month_or_a_new_regional_part_is_not_a_republication(warehouse, gpad_fixtures, tmp_path):
    header, rows = lines_of(gpad_fixtures)
    first = ingest_files(
        warehouse, [write(tmp_path, "part1.csv", header, [r for r in rows if ",A81001," in r])], user="t"
    )
    assert first.republished == []  # nothing stored before: nothing to compare
    second = ingest_files(
        warehouse, [write(tmp_path, "part2.csv", header, [r for r in rows if ",A81002," in r])], user="t"
    )
    [change] = second.republished
    assert not change.republished and change.added == ["A81002"] and change.kept == 1
    assert "2024-07 added to: 1 practice(s) added" in change.describe()[0]


def test_a_mapping_republished_in_a_zip_replaces_the_months_mapping(warehouse, gpad_fixtures, tmp_path):
    first = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip",
        {CROSSTAB: gpad_fixtures / CROSSTAB, "Mapping.csv": gpad_fixtures / MAPPING},
    )
    ingest_files(warehouse, [first], user="t")
    mheader, mrows = lines_of(gpad_fixtures, MAPPING)
    moved = [mrows[0].replace("U89141,STOCKTON PCN", "U99999,NEW PCN"), mrows[0].replace("A81001", "A81003")]
    (tmp_path / "again").mkdir()
    again = make_zip(
        tmp_path / "again" / "Practice_Level_Crosstab_Jul_24.zip",
        {CROSSTAB: gpad_fixtures / CROSSTAB, "Mapping.csv": (mheader + "".join(moved)).encode()},
    )
    result = ingest_files(warehouse, [again], user="t")
    t = warehouse.snapshot().table("gpad_mapping").to_pyarrow().to_pylist()
    assert sorted((r["practice_code"], r["pcn_code"]) for r in t) == [("A81001", "U99999"), ("A81003", "U89141")]
    [m] = result.mappings  # A81002 (twice, two suppliers) is no longer listed: gone, not kept
    assert (m.month, m.practices_before, m.practices_after, m.rows_before, m.rows_after) == ("2024-07", 2, 2, 3, 2)
    assert m.describe() == "2024-07 mapping replaced as a whole: 2 → 2 practices (3 → 2 rows)"
    assert result.republished[0].unchanged == 2  # the crosstab beside it is the same
    rollback(warehouse, "2024-07", user="t")
    t = warehouse.snapshot().table("gpad_mapping").to_pyarrow().to_pylist()
    assert sorted(r["practice_code"] for r in t) == ["A81001", "A81002", "A81002"]


def test_mappings_of_one_release_for_one_month_are_united_and_must_agree(warehouse, gpad_fixtures, tmp_path):
    mheader, mrows = lines_of(gpad_fixtures, MAPPING)
    a = write(tmp_path, "Mapping_Jul_24.csv", mheader, mrows, folder="a")  # A81001, A81002 (two suppliers)
    extra = mrows[0].replace("A81001", "A81003")
    b = write(tmp_path, "Mapping_Jul_24.csv", mheader, [mrows[0], extra], folder="b")  # A81001 as in a, A81003
    result = ingest_files(warehouse, [a, b], user="t")
    t = warehouse.snapshot().table("gpad_mapping").to_pyarrow().to_pylist()
    assert sorted(r["practice_code"] for r in t) == ["A81001", "A81002", "A81002", "A81003"]  # A81001 once
    check = warehouse.manifest().releases[-1].checks[f"{b} -> gpad_mapping"]
    assert check == {"file_rows": 2, "stored_rows": 1, "shared_with_an_earlier_file": 1, "ok": True}
    assert result.months["gpad_mapping"] == ["2024-07"]
    d = write(tmp_path, "Mapping_Aug_24.csv", mheader, [*mrows, extra], folder="d")  # not already ingested
    c = write(tmp_path, "Mapping_Aug_24.csv", mheader, [mrows[0].replace("TPP", "EMIS")], folder="c")
    with pytest.raises(InputFileError, match=f"the same rows for practice A81001 as {d}") as err:
        ingest_files(warehouse, [d, c], user="t")
    assert [p.file for p in err.value.problems] == [str(c)]
    assert warehouse.snapshot().periods("gpad_mapping") == ["2024-07"]
