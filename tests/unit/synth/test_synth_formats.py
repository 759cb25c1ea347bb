"""The synthetic files copy the published formats byte for byte (domain.md B1, B3-B6, C1)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gpaccess.synth import build, generate, month_rows, vocab, write

SEED = 2021


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("fmt"), ["2025-10"], seed=SEED, icbs=2)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_zip_holds_the_crosstab_and_mapping(out) -> None:
    (zpath,) = out.months["2025-10"].crosstab
    assert zpath.name == "Practice_Level_Crosstab_Oct_25.zip"
    assert sorted(_members(zpath)) == ["Mapping.csv", "Practice_Level_Crosstab_Oct_25.csv"]


def test_crosstab_header_dates_crlf_and_vocabularies(out) -> None:
    data = _members(out.months["2025-10"].crosstab[0])["Practice_Level_Crosstab_Oct_25.csv"]
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.split(b"\r\n")
    assert lines[-1] == b""  # every line ends CRLF
    assert b"\n" not in b"".join(lines)
    assert lines[0].decode() == ",".join(vocab.CROSSTAB_COLUMNS)
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    header, body = rows[0], rows[1:]
    assert all(len(r) == 14 for r in body)
    col = {name: {r[i] for r in body} for i, name in enumerate(header)}
    assert col["APPOINTMENT_MONTH_START_DATE"] == {"01OCT2025"}
    assert col["HCP_TYPE"] == set(vocab.HCP_TYPES)
    assert col["APPT_MODE"] == set(vocab.APPT_MODES)
    assert col["APPT_STATUS"] == set(vocab.APPT_STATUSES)
    assert col["TIME_BETWEEN_BOOK_AND_APPT"] <= set(vocab.BOOKING_BANDS)
    assert {"8  to 14 Days", "15  to 21 Days", "22  to 28 Days", "Same Day"} <= col["TIME_BETWEEN_BOOK_AND_APPT"]
    assert col["NATIONAL_CATEGORY"] <= set(vocab.NATIONAL_CATEGORIES)
    assert {"Inconsistent Mapping", "Unmapped", "Clinical Triage"} <= col["NATIONAL_CATEGORY"]
    assert all(int(c) > 0 for c in col["COUNT_OF_APPOINTMENTS"])
    assert all(re.fullmatch(r"[A-HJ-NP-Y]\d{5}|Y0\d{4}", c) for c in col["GP_CODE"])
    assert all(re.fullmatch(r"\d\d[A-Z]", c) for c in col["SUB_ICB_LOCATION_CODE"])
    assert all(re.fullmatch(r"U\d{5}", c) for c in col["PCN_CODE"])


def test_published_vocabularies_are_exact() -> None:
    assert len(vocab.NATIONAL_CATEGORIES) == 19
    assert vocab.BOOKING_BANDS[-1] == "Unknown / Data Issue"
    assert vocab.APPT_MODES == ("Face-to-Face", "Home Visit", "Telephone", "Video Conference/Online", "Unknown")


def test_names_with_commas_are_quoted_and_parse_back() -> None:
    s = build(SEED)
    p = next(i for i, n in enumerate(s.name) if "," in n and s.is_open(81)[i])
    want = np.zeros(s.n_practices, bool)
    want[p] = True
    data = write.crosstab_csv(s, month_rows(s, "2025-10", SEED, want), "2025-10").decode()
    assert f'"{s.name[p]}"' in data
    body = list(csv.reader(io.StringIO(data, newline="")))[1:]
    assert body and {r[2] for r in body} == {s.name[p]}
    assert all(len(r) == 14 for r in body)
    assert write.csv_field("PLAIN NAME") == "PLAIN NAME"
    assert write.csv_field('SAY "HI", THEN') == '"SAY ""HI"", THEN"'


def test_mapping_has_every_practice_with_its_icb_and_region(out) -> None:
    members = _members(out.months["2025-10"].crosstab[0])
    lines = members["Mapping.csv"].decode().split("\r\n")
    assert lines[0] == ",".join(vocab.MAPPING_COLUMNS) and lines[-1] == ""
    mapping = list(csv.DictReader(io.StringIO(members["Mapping.csv"].decode(), newline="")))
    cross = list(csv.DictReader(io.StringIO(members["Practice_Level_Crosstab_Oct_25.csv"].decode(), newline="")))
    assert {(r["GP_CODE"], r["SUPPLIER"]) for r in mapping} == {(r["GP_CODE"], r["SUPPLIER"]) for r in cross}
    assert {r["ICB_CODE"] for r in mapping} == set(out.icbs)
    assert all(re.fullmatch(r"Y\d\d", r["REGION_CODE"]) for r in mapping)
    assert all(re.fullmatch(r"Q[A-Z]{2}", r["ICB_CODE"]) for r in mapping)
    assert all(r["SUB_ICB_LOCATION_NAME"].endswith(" ICB - " + r["SUB_ICB_LOCATION_CODE"]) for r in mapping)


def test_registrations_in_the_current_layout(out) -> None:
    path = out.months["2025-10"].registrations
    assert path.name == "gp-reg-pat-prac-all_2025-10-01.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    assert list(rows[0]) == list(vocab.REGISTRATION_COLUMNS)
    assert {r["EXTRACT_DATE"] for r in rows} == {"2025-10-01"}
    assert {(r["PUBLICATION"], r["TYPE"], r["SEX"], r["AGE"]) for r in rows} == {
        ("GP_PRAC_PAT_LIST", "GP", "ALL", "ALL")
    }
    assert out.months["2025-10"].practices == len(rows)
    sizes = np.array([int(r["NUMBER_OF_PATIENTS"]) for r in rows])
    assert 7_000 < sizes.mean() < 14_000 and sizes.min() > 0
    assert all(re.fullmatch(r"[QVX][A-Z]\d{1,2} \d[A-Z]{2}", r["POSTCODE"]) for r in rows)


def test_plain_csvs_and_regional_split(tmp_path: Path) -> None:
    res = generate(tmp_path, ["2024-02"], seed=SEED, icbs=3, zipped=False, regional=True, registrations=False)
    mf = res.months["2024-02"]
    assert mf.mapping is not None and mf.mapping.name == "Mapping_Feb_24.csv"
    names = sorted(p.name for p in mf.crosstab)
    assert names == [
        "Practice_Level_Crosstab_London_East_South_Feb_24.csv",
        "Practice_Level_Crosstab_Midlands_Feb_24.csv",
        "Practice_Level_Crosstab_North_East_Feb_24.csv",
    ]
    assert mf.registrations is None
    assert all(p.read_bytes().startswith(b"APPOINTMENT_MONTH_START_DATE,") for p in mf.crosstab)
