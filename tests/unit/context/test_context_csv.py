"""Context CSV readers on tiny fixtures, one per quirk listed in PROVENANCE.md."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from gpaccess.errors import InputFileError
from gpaccess.ingest.context import queries
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from gpaccess.measures.system import system_baseline


def write(path: Path, text: str, *, bom: bool = False, crlf: bool = False, gz: bool = False) -> Path:
    body = text.replace("\n", "\r\n") if crlf else text
    data = ("\ufeff" if bom else "").encode() + body.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


CCG = (
    "CCG_CODE,CCG_ONS_CODE,CCG_NAME,STP_ONS,STPNM,REGION_ONS_CODE,REGION_NAME,Appointment_Month,APPT_STATUS,"
    "HCP_TYPE,APPT_MODE,TIME_BETWEEN_BOOK_AND_APPT,COUNT_OF_APPOINTMENTS\n"
    '11J,E38000045,NHS Dorset CCG,E54000041,"Dorset, Poole  STP",E40000006,South West,MAR2019,Attended,GP,'
    "Face-to-Face,8  to 14 Days,100\n"
    '11J,E38000045,NHS Dorset CCG,E54000041,"Dorset, Poole  STP",E40000006,South West,MAR2019,DNA,GP,'
    "Video/Online,Unknown / Data Issue,20\n"
    '11J,E38000045,NHS Dorset CCG,E54000041,"Dorset, Poole  STP",E40000006,South West,MAR2021,Attended,'
    "Other Practice staff,Telephone,Same Day,50\n"
)


def test_ccg_level_file_months_labels_quoting(warehouse, tmp_path):
    path = write(tmp_path / "Regional_CSV_Dorset.csv.gz", CCG, crlf=True, gz=True)
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {"gpad_system": ["2019-03", "2021-03"]}
    rows = warehouse.snapshot().table("gpad_system").to_pyarrow().to_pylist()
    assert {r["appt_mode"] for r in rows} == {"Face-to-Face", "Video Conference/Online", "Telephone"}
    assert {r["time_band"] for r in rows} == {"8 to 14 Days", "Unknown / Data Quality", "Same Day"}
    assert {r["system_level"] for r in rows} == {"ccg"}
    assert sum(r["count"] for r in rows) == 170
    assert ingest_files(warehouse, [path], user="t").release is None  # re-ingest is a no-op


def test_sub_icb_daily_file_is_summed_to_months(warehouse, tmp_path):
    header = (
        "SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_ONS_CODE,SUB_ICB_LOCATION_NAME,ICB_ONS_CODE,REGION_ONS_CODE,"
        "Appointment_Date,APPT_STATUS,HCP_TYPE,APPT_MODE,TIME_BETWEEN_BOOK_AND_APPT,COUNT_OF_APPOINTMENTS\n"
    )
    body = "".join(
        f"11J,E38000045,NHS Dorset ICB - 11J,E54000041,E40000006,{d}MAR2024,Attended,GP,Face-to-Face,Same Day,{n}\n"
        for d, n in (("01", 5), ("02", 7), ("31", 1))
    )
    ingest_files(warehouse, [write(tmp_path / "Regional_CSV_Dorset_Mar24.csv", header + body)], user="t")
    rows = warehouse.snapshot().table("gpad_system").to_pyarrow().to_pylist()
    assert [(r["month"], r["count"], r["system_level"]) for r in rows] == [(date(2024, 3, 1), 13, "sub_icb")]


def test_bad_rows_are_located_and_nothing_is_stored(warehouse, tmp_path):
    bad = CCG.replace(",100\n", ",lots\n").replace("Video/Online", "Carrier pigeon")
    with pytest.raises(InputFileError) as err:
        ingest_files(warehouse, [write(tmp_path / "Regional_CSV_Bad.csv", bad)], user="t")
    found = {(p.line, p.column) for p in err.value.problems}
    assert (2, "13 (COUNT_OF_APPOINTMENTS)") in found
    assert (3, "11 (APPT_MODE)") in found
    assert warehouse.manifest().generation == 0


def test_lookup_with_bom_and_system_map(warehouse, tmp_path):
    lookup = write(tmp_path / "CCG_ICB_code.csv", "CCG Code,ICB Code,ICB NAME\n11J,QVV,NHS Dorset ICB\n", bom=True)
    ingest_files(warehouse, [lookup, write(tmp_path / "Regional_CSV_Dorset.csv", CCG)], user="t")
    m = queries.system_icb_map(warehouse.snapshot()).to_pyarrow().to_pylist()
    assert m == [{"system_code": "11J", "system_level": "ccg", "icb_code": "QVV", "icb_name": "NHS Dorset ICB"}]
    base = system_baseline(warehouse.snapshot(), "QVV", f2f_definition="f2f_home_over_known")
    assert [b["month"] for b in base] == ["2021-03"]
    assert base[0]["baseline"]["month"] == "2019-03"
    assert base[0]["baseline"]["f2f_share"] == 100 / 120  # Face-to-Face ÷ known mode (Video/Online known)
    assert base[0]["per_1000_patients"] is None and base[0]["per_1000_note"]
    # a lookup has one period, "all", which picks its release like any other; the release goes as a whole
    plan = rollback(warehouse, "all", user="t", publication="ccg_icb_lookup")
    assert plan.publications == ["ccg_icb_lookup", "gpad_system"]


def test_system_baseline_honours_the_face_to_face_definition_and_baseline_year(warehouse, tmp_path):
    row = "11J,E38000045,NHS Dorset CCG,E54000041,STP,E40000006,South West,{month},Attended,GP,{mode},Same Day,{n}\n"
    text = CCG.splitlines(keepends=True)[0] + "".join(
        row.format(month=month, mode=mode, n=n)
        for month, mode, n in [
            ("MAR2019", "Face-to-Face", 60),
            ("MAR2019", "Unknown", 40),
            ("MAR2021", "Face-to-Face", 30),
            ("MAR2021", "Telephone", 30),
        ]
    )
    lookup = write(tmp_path / "CCG_ICB_code.csv", "CCG Code,ICB Code,ICB NAME\n11J,QVV,NHS Dorset ICB\n")
    ingest_files(warehouse, [lookup, write(tmp_path / "Regional_CSV_Dorset.csv", text)], user="t")
    known = system_baseline(warehouse.snapshot(), "QVV", f2f_definition="f2f_home_over_known")
    over_all = system_baseline(warehouse.snapshot(), "QVV", f2f_definition="f2f_over_all")
    assert known[0]["baseline"]["f2f_share"] == 60 / 60  # Unknown mode left out of the denominator
    assert over_all[0]["baseline"]["f2f_share"] == 60 / 100  # Unknown mode counted in it
    assert known[0]["f2f_share"] == over_all[0]["f2f_share"] == 30 / 60
    assert "known mode" in known[0]["definition"] and "all appointments" in over_all[0]["definition"]
    later = system_baseline(warehouse.snapshot(), "QVV", f2f_definition="f2f_over_all", baseline_year=2021)
    assert [(b["month"], b["baseline"]["month"]) for b in later] == [("2019-03", "2021-03")]


def test_coverage_mixed_case_headers_and_warning(warehouse, tmp_path):
    text = (
        "SUB_ICB_LOCATION_CODE,ICB_ONS_CODE,REGION_CODE,Appointment_Month,Included Practices,Open Practices,"
        "Patients registered at included practices,Patients registered at open practices\n"
        "00L,E54000050,E40000012,01FEB2023,35,36,800,1000\n"
        "00L,E54000050,E40000012,01MAR2023,36,36,1000,1000\n"
    )
    ingest_files(warehouse, [write(tmp_path / "APPOINTMENTS_GP_COVERAGE.csv", text)], user="t")
    low = queries.coverage_for(warehouse.snapshot(), "00L", "2023-02", warn_below=0.9)
    assert low["coverage"] == 0.8 and "80.0%" in low["warning"]
    assert queries.coverage_for(warehouse.snapshot(), "00L", date(2023, 3, 1))["warning"] is None
    assert queries.coverage_for(warehouse.snapshot(), "00L", "2024-01") is None


FINGERTIPS_HEADER = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,Category Type,"
    "Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Lower CI 99.8 limit,Upper CI 99.8 limit,"
    "Count,Denominator,Value note,Recent Trend,Compared to England value or percentiles,Compared to percentiles,"
    "Time period Sortable,New data,Compared to goal,Time period range\n"
)


def fingertips_row(parent: str, code: str, area_type: str, value: str) -> str:
    return (
        f"93553,Deprivation score (IMD 2019),{parent},,{code},Name {code},{area_type},Persons,All ages,,,2019,"
        f"{value},,,,,,,,,,,20190000,,,1y\n"
    )


def test_fingertips_export_keeps_practice_rows_and_ranks_deciles(warehouse, tmp_path):
    rows = fingertips_row("", "E92000001", "England", "21.7") + fingertips_row(
        "E92000001", "E92000001", "England", "21.7"
    )
    rows += "".join(fingertips_row("E38000045", f"J{i:05d}", "GP", str(i)) for i in range(1, 21))
    ingest_files(warehouse, [write(tmp_path / "fingertips_93553.csv", FINGERTIPS_HEADER + rows, crlf=True)], user="t")
    t = {r["practice_code"]: r for r in warehouse.snapshot().table("imd").to_pyarrow().to_pylist()}
    assert len(t) == 20 and "E92000001" not in t
    assert "imd_decile" not in t["J00001"]  # deciles are computed when read, never stored
    derived = {r["practice_code"]: r["decile"] for r in _deciles(warehouse, 2019)}
    # Twenty scores 1..20: two practices a tenth, the highest scores (most deprived) in decile 1.
    assert derived == {f"J{i:05d}": (20 - i) // 2 + 1 for i in range(1, 21)}
    assert derived["J00020"] == 1 and derived["J00001"] == 10


def _deciles(warehouse, year: int | None = None) -> list[dict]:
    return queries.imd_deciles(warehouse.snapshot(), year).to_pyarrow().to_pylist()


def test_imd_short_layout_with_bom_and_year_rollback(warehouse, tmp_path):
    text = (
        "IndicatorID,Year,AreaCode,AreaName,IsAreaCurrent,Value\n93553,2010,A81001,X,1,25.1\n93553,2019,A81001,X,0,30\n"
    )
    ingest_files(warehouse, [write(tmp_path / "imd.csv", text, bom=True, crlf=True)], user="t")
    assert warehouse.snapshot().periods("imd") == ["2010", "2019"]
    assert warehouse.snapshot().table("imd", ["2019"]).to_pyarrow().to_pylist()[0]["is_current"] is False
    plan = rollback(warehouse, "2019", user="t", publication="imd")
    assert plan.periods == ["2010", "2019"]  # one file, one release: both years go
    assert warehouse.snapshot().periods("imd") == []


IMD_SHORT = "IndicatorID,Year,AreaCode,AreaName,IsAreaCurrent,Value\n"


def test_deciles_ties_share_a_decile(warehouse, tmp_path):
    rows = "93553,2019,A81001,A,1,5\n93553,2019,A81002,B,1,5\n93553,2019,A81003,C,1,1\n93553,2019,A81004,D,1,\n"
    ingest_files(warehouse, [write(tmp_path / "imd.csv", IMD_SHORT + rows)], user="t")
    got = {r["practice_code"]: r["decile"] for r in _deciles(warehouse, 2019)}
    # Three scored practices: the two at 5 share decile 1; the one at 1 has two above it: ⌊10 × 2 ÷ 3⌋ + 1 = 7.
    # A practice with no score has no decile.
    assert got == {"A81001": 1, "A81002": 1, "A81003": 7}


def test_deciles_span_every_stored_practice_of_the_year(warehouse, tmp_path):
    first = write(tmp_path / "imd_a.csv", IMD_SHORT + "93553,2019,A81001,A,1,30\n93553,2019,A81002,B,1,20\n")
    ingest_files(warehouse, [first], user="t")
    assert {r["practice_code"]: r["decile"] for r in _deciles(warehouse, 2019)} == {"A81001": 1, "A81002": 6}
    later = IMD_SHORT + "93553,2019,A81003,C,1,10\n93553,2019,A81004,D,1,40\n93553,2015,A81001,A,1,50\n"
    ingest_files(warehouse, [write(tmp_path / "imd_b.csv", later)], user="t")
    # Four practices scored for 2019 across the two files: D (40) 1, A (30) ⌊10/4⌋+1 = 3, B 6, C 8; 2015 on its own.
    got = {(r["year"], r["practice_code"]): r["decile"] for r in _deciles(warehouse)}
    assert got == {(2019, "A81004"): 1, (2019, "A81001"): 3, (2019, "A81002"): 6, (2019, "A81003"): 8,
                   (2015, "A81001"): 1}  # fmt: skip
    latest = queries.latest_imd(warehouse.snapshot()).to_pyarrow().to_pylist()
    assert {r["practice_code"]: (r["year"], r["imd_score"], r["imd_decile"]) for r in latest}["A81001"] == (
        2019,
        30.0,
        3,
    )
    context = queries.practice_context(warehouse.snapshot(), "A81001", "2025-10")
    imd = [c["fields"] for c in context if c["source"] == "imd"]
    assert imd == [{"year": 2019, "practice_name": "A", "imd_score": 30.0, "imd_decile": 3, "is_current": True,
                    "source": "fingertips_timeseries"}]  # fmt: skip


PAYMENTS_HEADER_2223 = (
    "NHS England (Region) code,NHS England (Region) Name,CCG Code,Sub ICB NAME,Code,CCG NAME,Practice Code,"
    "Practice Name,Practice Address,Practice Postcode,Practice Open Date,Practice Close Date,Contract Type,"
    "Dispensing Practice,Practice type,Practice Rurality,Atypical characteristics,"
    "Number of Registered Patients (Last Known Figure),Number of Weighted Patients (Last Known Figure)\n"
)


def test_payments_2022_23_header_is_relabelled_not_shifted(warehouse, tmp_path):
    row = (
        "Y63,NE,16C,NHS NE ICB - 16C,U89141,STOCKTON PCN,A81001,THE DENSHAM SURGERY,addr,TS18 1HU,01/04/1974,,"
        "GMS,No,GP practice,Urban,,4029.25,4579.78\n"
    )
    missing = row.replace("A81001", "A81002").replace("Urban", "Missing").replace(",No,", ",Unknown,")
    path = write(
        tmp_path / "nhs_payments_to_general_practice_2022-23.csv.gz",
        PAYMENTS_HEADER_2223 + row + missing,
        bom=True,
        crlf=True,
        gz=True,
    )
    result = ingest_files(warehouse, [path], user="t")
    assert result.months == {"payments": ["2022-23"]}
    got = {r["practice_code"]: r for r in warehouse.snapshot().table("payments").to_pyarrow().to_pylist()}
    assert (got["A81001"]["sub_icb_code"], got["A81001"]["pcn_code"], got["A81001"]["pcn_name"]) == (
        "16C",
        "U89141",
        "STOCKTON PCN",
    )
    assert got["A81001"]["rurality"] == "Urban" and got["A81001"]["dispensing"] is False
    assert got["A81002"]["rurality"] is None and got["A81002"]["dispensing"] is None  # Missing / Unknown → null
    release = warehouse.manifest().releases[-1]
    assert any("relabelled" in n for c in release.checks.values() for n in c.get("repairs", []))


def test_payments_without_a_year_is_refused(warehouse, tmp_path):
    path = write(tmp_path / "payments.csv", PAYMENTS_HEADER_2223.replace("Sub ICB NAME", "X"))
    with pytest.raises(InputFileError, match="financial year"):
        ingest_files(warehouse, [path], user="t")


def epraccur_row(code: str, status: str, opened: str, closed: str, setting: str) -> str:
    fields = [code, f"PRACTICE {code}", "Y63", "QHM", "a", "b", "c", "d", "", "TS18 1HU", opened, closed, status]
    fields += ["B", "16C", "20200401", "", "01642", "", "", "", "0", "", "16C", "", setting, ""]
    return ",".join(f'"{f}"' for f in fields) + "\n"


def test_epraccur_keeps_gp_practices_and_answers_open_window(warehouse, tmp_path):
    text = (
        epraccur_row("A81001", "A", "19740401", "", "4")
        + epraccur_row("A81002", "C", "19740401", "20220331", "4")
        + epraccur_row("A81003", "A", "20230101", "", "4")
        + epraccur_row("Y00001", "A", "19900101", "", "8")
    )
    ingest_files(warehouse, [write(tmp_path / "epraccur_2025-05.csv", text)], user="t")
    assert warehouse.snapshot().table("ods_practices").count().to_pyarrow().as_py() == 3
    open_all = queries.practices_open_for_window(warehouse.snapshot(), date(2021, 1, 1), date(2025, 3, 31))
    assert open_all.practice_code.to_pyarrow().to_pylist() == ["A81001"]


def test_epraccur_bad_status_and_date_located(warehouse, tmp_path):
    text = epraccur_row("A81001", "Q", "1974-04-01", "", "4")
    with pytest.raises(InputFileError) as err:
        ingest_files(warehouse, [write(tmp_path / "epraccur_2025-05.csv", text)], user="t")
    assert {(p.line, p.column) for p in err.value.problems} == {(1, "11 (open_date)"), (1, "13 (status)")}


def test_gpps_series_are_kept_apart(warehouse, tmp_path):
    old = write(tmp_path / "GPPS_2023_practice.csv", "Practice_Code,Q3_12pct,Q28_12pct\nA81001,55.5,80\nA81002,,71\n")
    new = write(
        tmp_path / "GPPS_2024_practice.csv",
        "Practice_Code,Practice_Name,localgpservicesphone.pcteval,localgpservicesphone.pcteval.lci\n"
        "A81001,THE SURGERY,60,50\n",
    )
    ingest_files(warehouse, [old], user="t")
    ingest_files(warehouse, [new], user="t")
    rows = warehouse.snapshot().table("gpps").to_pyarrow().to_pylist()
    series = {(r["year"], r["series"]) for r in rows}
    assert series == {(2023, "to 2023"), (2024, "2024 onwards")}
    assert {r["question"] for r in rows if r["year"] == 2024} == {
        "localgpservicesphone.pcteval",
        "localgpservicesphone.pcteval.lci",
    }
    missing = [r for r in rows if r["practice_code"] == "A81002" and r["question"] == "phone_easy_pct"]
    assert missing[0]["value"] is None  # blank is missing, not zero
    ctx = queries.practice_context(warehouse.snapshot(), "A81001", "2024-09")
    assert [c["fields"]["series"] for c in ctx if c["source"] == "gpps"] == ["2024 onwards"]


def test_workforce_na_is_null(warehouse, tmp_path):
    text = (
        "PRAC_CODE,TOTAL_PATIENTS,TOTAL_GP_FTE,TOTAL_GP_EXTGL_FTE,TOTAL_NURSES_FTE,TOTAL_DPC_FTE,TOTAL_ADMIN_FTE,"
        "TOTAL_LOCUUM_TRN_FTE\nA81001,4000,3.5,3,1.2,NA,5,0.5\nA81002,NA,NA,NA,NA,NA,NA,NA\n"
    )
    ingest_files(warehouse, [write(tmp_path / "GPW_Practice_Level_2025-10.csv", text)], user="t")
    got = {r["practice_code"]: r for r in warehouse.snapshot().table("workforce", ["2025-10"]).to_pyarrow().to_pylist()}
    assert got["A81001"]["dpc_fte"] is None and got["A81001"]["gp_extgl_fte"] == 3
    assert got["A81002"]["total_patients"] is None


def test_one_release_for_mixed_gpad_and_context(warehouse, tmp_path, gpad_fixtures):
    lookup = write(tmp_path / "CCG_ICB_code.csv", "CCG Code,ICB Code,ICB NAME\n11J,QVV,NHS Dorset ICB\n")
    result = ingest_files(warehouse, [gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv", lookup], user="t")
    assert set(result.months) >= {"gpad_appointments", "ccg_icb_lookup"}
    assert len(warehouse.manifest().releases) == 1


def test_month_option_wins_over_the_file_name_for_files_without_a_month_column(warehouse, tmp_path):
    """ODS, workforce, GPPS and payments rows carry no period: --month gives it, the name is only a fall-back,
    and when the two differ the result says which was used."""
    workforce = write(
        tmp_path / "GPW_Practice_Level_2025-10.csv",
        "PRAC_CODE,TOTAL_PATIENTS,TOTAL_GP_FTE,TOTAL_GP_EXTGL_FTE,TOTAL_NURSES_FTE,TOTAL_DPC_FTE,TOTAL_ADMIN_FTE\n"
        "A81001,4000,3.5,3,1.2,1,5\n",
    )
    ods = write(tmp_path / "epraccur_2025-05.csv", epraccur_row("A81001", "A", "19740401", "", "4"))
    payments = write(
        tmp_path / "nhs_payments_to_general_practice_2022-23.csv",
        PAYMENTS_HEADER_2223
        + "Y63,NE,16C,SUB,U1,PCN,A81001,SURGERY,addr,TS18 1HU,01/04/1974,,GMS,No,GP,Urban,,40,45\n",
    )
    gpps = write(tmp_path / "GPPS_2023_practice.csv", "Practice_Code,Q3_12pct,Q28_12pct\nA81001,55.5,80\n")
    result = ingest_files(warehouse, [workforce, ods, payments, gpps], user="t", month="2024-09")
    assert result.months == {
        "workforce": ["2024-09"],
        "ods_practices": ["2024-09"],
        "payments": ["2024-25"],
        "gpps": ["2024"],
    }
    notes = "\n".join(result.notes)
    assert f"{workforce}: stored under 2024-09 as --month says, not the 2025-10 its name says" in notes
    assert f"{ods}: stored under 2024-09 as --month says, not the 2025-05 its name says" in notes
    assert "not the 2022-23 its name says" in notes and "not the 2023 its name says" in notes


def test_file_name_gives_the_period_when_no_month_is_given(warehouse, tmp_path):
    ods = write(tmp_path / "epraccur_2025-05.csv", epraccur_row("A81001", "A", "19740401", "", "4"))
    result = ingest_files(warehouse, [ods], user="t")
    assert result.months == {"ods_practices": ["2025-05"]}
    assert result.notes == []
    unnamed = write(tmp_path / "epraccur.csv", epraccur_row("A81002", "A", "19740401", "", "4"))
    with pytest.raises(InputFileError, match="extract month"):
        ingest_files(warehouse, [unnamed], user="t")


def test_a_crosstab_named_like_a_survey_file_is_stored_as_a_crosstab(warehouse, tmp_path, gpad_fixtures):
    text = (gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv").read_text().replace("GP_CODE", "PRACTICE_CODE", 1)
    path = write(tmp_path / "GPPS_2023_practice.csv", text)
    result = ingest_files(warehouse, [path], user="t")
    assert set(result.months) == {"gpad_appointments", "gpad_practice_month", "gpad_practices"}
    assert not warehouse.snapshot().has("gpps")


def test_a_survey_file_is_recognised_by_its_columns_whatever_its_name(warehouse, tmp_path):
    path = write(tmp_path / "results.csv", "Practice_Code,Q3_12pct,Q28_12pct\nA81001,55.5,80\n")
    with pytest.raises(InputFileError, match="survey year"):
        ingest_files(warehouse, [path], user="t")  # a survey file, but nothing says its year
    result = ingest_files(warehouse, [path], user="t", month="2023-03")
    assert result.months == {"gpps": ["2023"]}


def test_gzip_is_read_by_its_bytes_not_its_name(warehouse, tmp_path):
    zipped = write(tmp_path / "Regional_CSV_Dorset.csv", CCG, gz=True)  # gzip named .csv
    plain = write(tmp_path / "Regional_CSV_Wilts.csv.gz", CCG.replace("11J", "11X"))  # plain text named .gz
    result = ingest_files(warehouse, [zipped, plain], user="t")
    assert result.months == {"gpad_system": ["2019-03", "2021-03"]}
    t = warehouse.snapshot().table("gpad_system")
    assert sorted(set(t.system_code.to_pyarrow().to_pylist())) == ["11J", "11X"]
