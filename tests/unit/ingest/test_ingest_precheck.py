"""The first look at a file: refused from its first bytes, with the full read's own message, before the store
is locked or the engine loaded; files that pass are left to the full read."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from gpaccess.errors import InputFileError, NotFoundError
from gpaccess.ingest.precheck import precheck

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"


def test_published_files_pass(gpad_fixtures, tmp_path):
    z = tmp_path / "Practice_Level_Crosstab_Jul_24.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(gpad_fixtures / CROSSTAB, f"part/{CROSSTAB}")
        zf.write(gpad_fixtures / "Mapping_Jul_24.csv", "Mapping.csv")
    precheck([gpad_fixtures / CROSSTAB, gpad_fixtures / "gp-reg-pat-prac-all_2024-07-01.csv", z])


def test_every_wrong_file_is_named_with_what_was_expected(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    picture = tmp_path / "chart.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    unknown = tmp_path / "other.csv"
    unknown.write_text("a,b\n1,2\n")
    no_csv = tmp_path / "notes.zip"
    with zipfile.ZipFile(no_csv, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputFileError) as refused:
        precheck([empty, picture, unknown, no_csv])
    found = {(p.file, p.expected.split(" (")[0].split(":")[0]) for p in refused.value.problems}
    assert (str(empty), "a header line naming the columns") in found
    assert (str(picture), "UTF-8 text") in found
    assert (str(unknown), "a header of a known publication") in found
    assert (str(no_csv), "a zip holding at least one .csv file") in found


def test_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="no such file"):
        precheck([tmp_path / "gone.csv"])


def test_a_refusal_loads_neither_the_engine_nor_arrow(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    code = (
        "import sys\nfrom pathlib import Path\nfrom gpaccess.ingest.precheck import precheck\n"
        f"try:\n    precheck([Path({str(bad)!r})])\nexcept Exception:\n    pass\n"
        "print(sorted(m for m in ('ibis', 'duckdb', 'pyarrow', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
