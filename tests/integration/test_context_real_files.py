"""Every real context file under ../shared/data/real ingests with rows and totals equal to the file's own,
counted here independently (csv, gzip, openpyxl), and matching PROVENANCE.md's figures."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import openpyxl
import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.context import queries
from gpaccess.ingest.load import ingest_files

pytestmark = pytest.mark.realdata


def csv_rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def stored(wh, pub: str, measure: str | None = None) -> tuple[int, float]:
    t = wh.snapshot().table(pub)
    aggs = {"rows": t.count()} | ({"total": t[measure].sum()} if measure else {})
    r = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return int(r["rows"]), float(r.get("total") or 0)


# PROVENANCE.md: rows / appointments / face-to-face % (Face-to-Face ÷ all appointments).
CCG_FILES = {
    "BathNESomSwindonWilts": (5_490, 13_459_411, 69.0),
    "Dorset": (5_638, 10_950_780, 71.7),
    "MidSEssex": (22_507, 13_852_562, 69.8),
    "OurHealthierSELondon": (7_140, 19_704_572, 52.7),
    "SussexESurrey": (18_825, 22_240_555, 67.7),
}


@pytest.mark.parametrize("stp", sorted(CCG_FILES))
def test_ccg_level_files_match_provenance(warehouse, real_data: Path, stp):
    path = real_data / "gpad" / "ccg_regional_monthly" / f"Regional_CSV_{stp}.csv.gz"
    rows = csv_rows(path)
    total = sum(int(r["COUNT_OF_APPOINTMENTS"]) for r in rows)
    f2f = sum(int(r["COUNT_OF_APPOINTMENTS"]) for r in rows if r["APPT_MODE"] == "Face-to-Face")
    assert (len(rows), total, round(100 * f2f / total, 1)) == CCG_FILES[stp]
    result = ingest_files(warehouse, [path], user="t")
    assert result.rows == len(rows) and len(result.months["gpad_system"]) == 30  # Mar 2019 – Aug 2021
    assert stored(warehouse, "gpad_system", "count")[1] == total
    t = warehouse.snapshot().table("gpad_system")
    got = t.filter(t.appt_mode == "Face-to-Face")["count"].sum().to_pyarrow().as_py()
    assert got == f2f


def test_every_ccg_level_file_in_one_release(warehouse, real_data: Path):
    paths = sorted((real_data / "gpad" / "ccg_regional_monthly").glob("Regional_CSV_*.csv.gz"))
    assert len(paths) == 23
    total = sum(int(r["COUNT_OF_APPOINTMENTS"]) for p in paths for r in csv_rows(p))
    ingest_files(warehouse, [*paths, real_data / "lookups" / "CCG_ICB_code.csv"], user="t")
    assert stored(warehouse, "gpad_system", "count")[1] == total
    assert stored(warehouse, "ccg_icb_lookup")[0] == 249
    from gpaccess.ingest.context import queries

    unmapped = (
        queries.system_icb_map(warehouse.snapshot()).filter(lambda t: t.icb_code.isnull()).count().to_pyarrow().as_py()
    )
    assert unmapped == 0  # every April 2021 CCG code maps to an ICB


def test_coverage(warehouse, real_data: Path):
    path = real_data / "gpad" / "APPOINTMENTS_GP_COVERAGE_Feb23-Jul25.csv"
    rows = csv_rows(path)
    ingest_files(warehouse, [path], user="t")
    included = sum(int(r["Patients registered at included practices"]) for r in rows)
    assert stored(warehouse, "coverage", "included_patients") == (len(rows), included)
    assert (len(rows), len(warehouse.snapshot().periods("coverage"))) == (3_180, 30)


def test_imd_both_shapes(warehouse, real_data: Path):
    export = real_data / "deprivation_rurality" / "fingertips_93553_imd2019_gp.csv"
    practice_rows = [r for r in csv_rows(export) if r["Area Type"] == "GP"]
    ingest_files(warehouse, [export], user="t")
    assert stored(warehouse, "imd")[0] == len(practice_rows) == 6_545
    deciles = (
        queries.imd_deciles(warehouse.snapshot(), 2019)
        .group_by("decile")
        .aggregate(n=lambda t: t.count())
        .to_pyarrow()
        .to_pylist()
    )
    assert sorted(d["decile"] for d in deciles) == list(range(1, 11))
    scored = sum(d["n"] for d in deciles)
    assert all(abs(d["n"] - scored / 10) < 1 for d in deciles)  # no two real scores tie: a tenth each
    series = real_data / "deprivation_rurality" / "fingertips_93553_imd_2010_2015_2019_gp.csv"
    rows = csv_rows(series)
    ingest_files(warehouse, [series], user="t")
    counts = {y: sum(1 for r in rows if r["Year"] == y) for y in ("2010", "2015")}
    assert counts == {"2010": 8_222, "2015": 7_878}
    for year, n in counts.items():
        assert warehouse.snapshot().table("imd", [year]).count().to_pyarrow().as_py() == n


@pytest.mark.parametrize(("year", "rows", "columns"), [("2021-22", 6_758, 74), ("2022-23", 6_669, 75)])
def test_payments(warehouse, real_data: Path, year, rows, columns):
    path = real_data / "deprivation_rurality" / f"nhs_payments_to_general_practice_{year}.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        raw = list(csv.reader(fh))
    assert (len(raw) - 1, len(raw[0])) == (rows, columns)
    ingest_files(warehouse, [path], user="t")
    got = {r["practice_code"]: r for r in warehouse.snapshot().table("payments").to_pyarrow().to_pylist()}
    assert len(got) == rows
    h = raw[0]
    for line in raw[1:50]:
        r = got[line[h.index("Practice Code")]]
        assert r["pcn_code"] == line[4] and r["pcn_name"] == line[5]  # columns 5–6 hold the PCN in both years
        assert r["sub_icb_code"] == line[2]
    rurality = {line[h.index("Practice Rurality")] for line in raw[1:]}
    missing = sum(1 for line in raw[1:] if line[h.index("Practice Rurality")] == "Missing")
    assert sum(1 for r in got.values() if r["rurality"] is None) == missing
    assert rurality <= {"Urban", "Rural", "Missing"}


def test_epraccur(warehouse, real_data: Path):
    path = real_data / "ods" / "epraccur_2025-05.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        raw = list(csv.reader(fh))
    assert len(raw) == 16_534
    practices = [r for r in raw if r[25] == "4"]
    ingest_files(warehouse, [path], user="t")
    assert stored(warehouse, "ods_practices")[0] == len(practices)
    from gpaccess.ingest.context import queries

    open_window = queries.practices_open_for_window(warehouse.snapshot(), dt.date(2024, 4, 1), dt.date(2025, 3, 31))
    expected = sum(1 for r in practices if r[10] <= "20240401" and (not r[11] or r[11] >= "20250331"))
    assert open_window.count().to_pyarrow().as_py() == expected


def sheet_rows(path: Path, sheet: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()


OC_PRACTICES = {
    "April 2024": 4_882, "May 2024": 4_769, "June 2024": 6_258, "July 2024": 6_250, "August 2024": 6_239,
    "September 2024": 6_232, "October 2024": 6_229, "November 2024": 6_221, "December 2024": 6_219,
    "January 2025": 6_219, "February 2025": 6_215, "March 2025": 6_213, "April 2025": 6_210, "May 2025": 6_199,
    "June 2025": 6_194,
}  # fmt: skip


@pytest.mark.parametrize("month", sorted(OC_PRACTICES))
def test_online_consultation(warehouse, real_data: Path, month):
    path = next((real_data / "online_consultation").glob(f"*- {month}.xlsx"))
    rows = [r for r in sheet_rows(path, "Table 2") if isinstance(r[0], dt.datetime | dt.date | int | float)]
    submissions = sum(int(r[12]) for r in rows)
    assert len(rows) == OC_PRACTICES[month]
    result = ingest_files(warehouse, [path], user="t")
    assert stored(warehouse, "online_consultation", "submissions") == (len(rows), submissions)
    assert result.months["online_consultation"] == [dt.datetime.strptime(month, "%B %Y").strftime("%Y-%m")]


TELEPHONY = {"October 2025_v2": 4_458, "November 2025": 4_792, "December 2025": 4_849}


@pytest.mark.parametrize("month", sorted(TELEPHONY))
def test_telephony_unassigned_kept_apart(warehouse, real_data: Path, month):
    path = real_data / "cloud_based_telephony" / f"Cloud Based Telephony Publication Summary {month}.xlsx"
    rows = sheet_rows(path, "Table 3")
    dated = [r for r in rows if isinstance(r[0], dt.datetime | dt.date)]
    assert len(dated) == TELEPHONY[month]  # PROVENANCE.md counts rows with a month
    # Oct and Nov: one practice row's month cell holds the copyright line; it is kept with the table's month.
    clobbered = [r for r in rows if isinstance(r[0], str) and r[0].startswith("Copyright") and r[1]]
    practice = [r for r in dated + clobbered if r[1] != "Unassigned"]
    unassigned = [r for r in dated if r[1] == "Unassigned"]
    ingest_files(warehouse, [path], user="t")
    assert stored(warehouse, "telephony", "inbound") == (len(practice), sum(r[11] for r in practice))
    assert stored(warehouse, "telephony_unassigned", "inbound") == (len(unassigned), sum(r[11] for r in unassigned))
    t = warehouse.snapshot().table("telephony")
    assert t.filter(t.practice_code == "Unassigned").count().to_pyarrow().as_py() == 0
    not_supplied = sum(1 for r in practice if not isinstance(r[23], int | float))
    assert t.filter(t.callback_made.isnull()).count().to_pyarrow().as_py() == not_supplied  # null, not 0


def test_derived_supplier_list_is_refused_with_the_known_layouts(warehouse, real_data: Path):
    """The one real file gpaccess does not ingest: a third party's derived list, not a publication."""
    with pytest.raises(InputFileError, match="a header of a known publication"):
        ingest_files(warehouse, [real_data / "gpad" / "derived" / "icb_gp_suppliers_2025-12.csv"], user="t")
