"""The real published files under ../shared/data/real ingest with rows and totals equal to the files' own,
counted here with Python's csv module (and matching PROVENANCE.md's published figures)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from gpaccess.ingest.load import ingest_files

pytestmark = pytest.mark.realdata


def csv_totals(lines: io.TextIOBase, column: str) -> tuple[int, int, set[str]]:
    reader = csv.DictReader(lines)
    rows = total = 0
    codes: set[str] = set()
    for r in reader:
        rows += 1
        total += int(r[column])
        codes.add(r.get("GP_CODE") or r.get("CODE") or "")
    return rows, total, codes


def stored(wh, publication: str, measure: str, month: str) -> tuple[int, int, int]:
    t = wh.snapshot().table(publication, periods=[month])
    got = t.aggregate(rows=t.count(), total=t[measure].sum(), practices=t.practice_code.nunique())
    r = got.to_pyarrow().to_pylist()[0]
    return int(r["rows"]), int(r["total"]), int(r["practices"])


def test_south_west_practice_level_month(warehouse, real_data: Path):
    z = real_data / "gpad" / "practice_level_south_west" / "Practice_Level_Crosstab_Oct_25.zip"
    ingest_files(warehouse, [z], user="tester")
    with zipfile.ZipFile(z) as zf:
        name = next(n for n in zf.namelist() if "Crosstab" in n)
        with zf.open(name) as fh:
            rows, total, codes = csv_totals(io.TextIOWrapper(fh, encoding="utf-8", newline=""), "COUNT_OF_APPOINTMENTS")
        with zf.open("Mapping.csv") as fh:
            mapping_rows = sum(1 for _ in csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline="")))
    assert stored(warehouse, "gpad_appointments", "count", "2025-10") == (rows, total, len(codes))
    assert (rows, total, len(codes)) == (109_190, 4_417_868, 515)  # PROVENANCE.md
    assert warehouse.snapshot().table("gpad_mapping").count().to_pyarrow().as_py() == mapping_rows == 6_194
    modes = (
        warehouse.snapshot().table("gpad_appointments").group_by("appt_mode").aggregate(n=lambda t: t["count"].sum())
    )
    shares = {r["appt_mode"]: r["n"] / total for r in modes.to_pyarrow().to_pylist()}
    assert round(shares["Face-to-Face"] * 100, 1) == 66.5  # PROVENANCE.md: Face-to-Face 66.5%


def test_new_bank_rows(warehouse, real_data: Path):
    path = real_data / "gpad" / "Practice_Level_Crosstab_Aug_25_NewBankOnly.csv"
    ingest_files(warehouse, [path], user="tester")
    with open(path, newline="", encoding="utf-8") as fh:
        rows, total, _ = csv_totals(fh, "COUNT_OF_APPOINTMENTS")
    assert stored(warehouse, "gpad_appointments", "count", "2025-08") == (rows, total, 1) == (89, 2_644, 1)


@pytest.mark.parametrize(
    ("name", "month", "expected_rows", "expected_total"),
    [
        ("gp-reg-pat-prac-all_2021-01-01.csv", "2021-01", 6_658, 60_606_345),
        ("gp-reg-pat-prac-all_2025-10-01.csv", "2025-10", 6_202, 63_919_527),
        ("gp-reg-pat-prac-all_2025-11-01.csv", "2025-11", 6_200, 63_947_100),
        ("gp-reg-pat-prac-all_2025-12-01.csv", "2025-12", 6_196, 63_936_682),
    ],
)
def test_registrations(warehouse, real_data: Path, name, month, expected_rows, expected_total):
    path = real_data / "registered_patients" / name
    ingest_files(warehouse, [path], user="tester")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows, total, codes = csv_totals(fh, "NUMBER_OF_PATIENTS")
    assert stored(warehouse, "registrations", "patients", month) == (rows, total, len(codes))
    assert (rows, total) == (expected_rows, expected_total)  # PROVENANCE.md


def test_mapping_august_25(warehouse, real_data: Path):
    ingest_files(warehouse, [real_data / "gpad" / "Mapping_Aug_25.csv"], user="tester")
    t = warehouse.snapshot().table("gpad_mapping").to_pandas()
    assert len(t) == 6_196
    assert (t.icb_code.nunique(), t.sub_icb_code.nunique(), t.pcn_code.nunique()) == (42, 106, 1_297)
