"""Every practice of the ICB is accounted for (fair-cohort issue, items 6 and 9): a practice in the month's
Mapping.csv or list sizes with no appointment rows is listed among the exclusions, sub-ICB locations that map
to no ICB are reported, and "open throughout the window" comes from ODS dates when they are loaded."""

from __future__ import annotations

from datetime import date

import pandas as pd

from gpaccess.cohort.run import build_cohort
from gpaccess.cohort.select import SelectionSettings
from gpaccess.ingest.load import ingest_files
from gpaccess.measures.quality import NO_APPOINTMENTS, ExclusionSettings, quality_flags
from gpaccess.measures.service import MeasureSession, MeasureSettings
from gpaccess.services.ingest import unmapped_sub_icbs
from ingest_helpers import make_zip

CROSSTAB = "Practice_Level_Crosstab_Jul_24.csv"
EXTRA_MAPPING = (
    "A81004,NEW SURGERY,EMIS,U89141,STOCKTON PCN,16C,NHS North East and North Cumbria ICB - 16C,QHM,"
    "NHS North East and North Cumbria Integrated Care Board,Y63,North East and Yorkshire\n"
)
LOST_ROW = (
    "01JUL2024,Z99999,LOST SURGERY,EMIS,U00000,LOST PCN,99Z,Nowhere sub-ICB,GP,Face-to-Face,"
    "General Consultation Routine,Same Day,50,Attended\n"
)


def _store(warehouse, gpad_fixtures, tmp_path):
    crosstab = (gpad_fixtures / CROSSTAB).read_text() + LOST_ROW
    mapping = (gpad_fixtures / "Mapping_Jul_24.csv").read_text() + EXTRA_MAPPING
    zipped = make_zip(
        tmp_path / "Practice_Level_Crosstab_Jul_24.zip", {CROSSTAB: crosstab.encode(), "Mapping.csv": mapping.encode()}
    )
    ingest_files(warehouse, [zipped, gpad_fixtures / "gp-reg-pat-prac-all_2024-07-01.csv"], user="t")
    return MeasureSession(warehouse.snapshot(), MeasureSettings(window_months=1), months=[date(2024, 7, 1)])


def test_practices_without_appointments_are_listed_as_exclusions(warehouse, gpad_fixtures, tmp_path):
    session = _store(warehouse, gpad_fixtures, tmp_path)
    codes = list(session.icb_practices("QHM").practice_code)
    assert codes == ["A81001", "A81002", "A81003", "A81004"]  # A81003: list sizes only; A81004: Mapping only
    cohort = build_cohort(session, "QHM", SelectionSettings())
    members = cohort.members.set_index("practice_code")
    for code in ("A81003", "A81004"):
        assert members.loc[code, "excluded"] and not members.loc[code, "selected"]
        assert members.loc[code, "exclusion_reasons"][0] == NO_APPOINTMENTS
        assert members.loc[code, "status_f2f_gp_low"] == "not assessed"


def test_sub_icbs_mapped_to_no_icb_are_reported(warehouse, gpad_fixtures, tmp_path):
    session = _store(warehouse, gpad_fixtures, tmp_path)
    lost = unmapped_sub_icbs(session.snapshot)
    assert lost == [{"month": "2024-07", "sub_icb_code": "99Z", "sub_icb_name": "Nowhere sub-ICB", "practices": 1}]


def test_ods_dates_decide_open_throughout_and_gpad_presence_is_the_fall_back():
    values = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3", "P4"],
            "appointments": 1000.0,
            "patients": 5000.0,
            "months": [3, 3, 1, 1],
            "open_throughout": [False, True, True, None],
            "open_reason": ["closed 15 Sep 2025 (ODS), before the window ended", None, None, None],
        }
    )
    flags = quality_flags(values, 3, ExclusionSettings()).set_index("practice_code").quality_flags
    assert flags["P1"] == ["closed 15 Sep 2025 (ODS), before the window ended"]  # in GPAD every month, closed
    assert flags["P2"] == [] and flags["P3"] == []  # ODS says open throughout: a month missing from GPAD is not it
    assert flags["P4"] == ["in the data for 1 of the window's 3 months (not open throughout)"]  # not in ODS


def test_an_override_can_name_a_practice_with_no_appointments(warehouse, gpad_fixtures, tmp_path):
    from gpaccess.cohort.select import Override

    session = _store(warehouse, gpad_fixtures, tmp_path)
    add = Override("A81004", "add", "new practice: support agreed", "lead", "2024-08-01 09:00")
    cohort = build_cohort(session, "QHM", SelectionSettings(), [add])
    row = cohort.members.set_index("practice_code").loc["A81004"]
    assert row.selected and row.overridden == "added" and row.excluded  # still listed with its exclusion
    assert cohort.notes == ["1 practices selected against a cap of 0: local overrides added 1 over the cap"]
