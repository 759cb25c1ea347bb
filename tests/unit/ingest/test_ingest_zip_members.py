"""Zip members are read by their path inside the zip: two files of the same name in different folders are both
read (never one copied over the other), and no member path can write outside the scratch folder."""

from __future__ import annotations

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.read import open_inputs
from ingest_helpers import make_zip

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


def split_by_practice(gpad_fixtures) -> tuple[bytes, bytes]:
    """The July fixture as two regional parts: A81001's rows and A81002's rows, each with the header."""
    header, *rows = (gpad_fixtures / CROSSTAB).read_bytes().splitlines(keepends=True)
    first = header + b"".join(r for r in rows if b",A81001," in r)
    second = header + b"".join(r for r in rows if b",A81002," in r)
    return first, second


def test_members_of_the_same_name_in_different_folders_are_both_read(warehouse, gpad_fixtures, tmp_path):
    north, south = split_by_practice(gpad_fixtures)
    z = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip", {f"north/{CROSSTAB}": north, f"south/{CROSSTAB}": south}
    )
    result = ingest_files(warehouse, [z], user="t")
    t = warehouse.snapshot().table("gpad_appointments")
    per = t.group_by("practice_code").aggregate(n=t["count"].sum()).to_pyarrow().to_pylist()
    assert {r["practice_code"]: r["n"] for r in per} == {"A81001": 240, "A81002": 15}  # 255 in all, as the fixture
    checks = warehouse.manifest().releases[-1].checks
    assert {
        f"{z.name}:north/{CROSSTAB} -> gpad_appointments",
        f"{z.name}:south/{CROSSTAB} -> gpad_appointments",
    } <= set(checks)
    assert result.rows == 6  # the fixture's 6 rows, split between the two members


def test_member_paths_are_kept_inside_the_scratch_folder(gpad_fixtures, tmp_path):
    north, south = split_by_practice(gpad_fixtures)
    z = make_zip(tmp_path / "crafted.zip", {"../escape.csv": north, "escape.csv": south, "/abs/x.csv": north})
    scratch = tmp_path / "scratch"
    [(_, members)] = open_inputs([z], scratch)
    assert len({m.path for m in members}) == 3  # "../escape.csv" and "escape.csv" do not collide
    assert all(m.path.resolve().is_relative_to(scratch.resolve()) for m in members)
    assert not (tmp_path / "escape.csv").exists()
    assert [m.display for m in members] == [
        "crafted.zip:../escape.csv",
        "crafted.zip:escape.csv",
        "crafted.zip:/abs/x.csv",
    ]
    assert [m.path.read_bytes() for m in members] == [north, south, north]


def test_a_zip_listing_one_member_twice_is_refused(warehouse, gpad_fixtures, tmp_path):
    import zipfile

    north, south = split_by_practice(gpad_fixtures)
    z = tmp_path / "twice.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(CROSSTAB, north)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr(CROSSTAB, south)
    with pytest.raises(InputFileError, match="each member once in the zip"):
        ingest_files(warehouse, [z], user="t")
