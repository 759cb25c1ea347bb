"""Every measure, specified by a small table of GPAD rows and the values worked out by hand.

Default columns: HCP GP, mode Face-to-Face, category General Consultation Routine, band Same Day, status
Attended (see conftest.DEFAULTS). Shares pool numerators and denominators over the window."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from gpaccess.ingest.aggregate import practice_month_aggregate
from gpaccess.measures.compute import pooled, practice_month_counts, with_baseline, with_list_size
from gpaccess.measures.definitions import load_measures

JUL, AUG = date(2024, 7, 1), date(2024, 8, 1)
MEASURES = load_measures()

APPOINTMENTS = """
month   | practice_code | hcp_type             | appt_mode               | national_category            | time_band            | appt_status | count
2024-07 | A             | GP                   | Face-to-Face            | General Consultation Routine | Same Day             | Attended    | 40
2024-07 | A             | GP                   | Home Visit              | Home Visit                   | 2 to 7 Days          | Attended    | 5
2024-07 | A             | GP                   | Telephone               | Clinical Triage              | Same Day             | DNA         | 30
2024-07 | A             | GP                   | Unknown                 | Unmapped                     | Unknown / Data Quality | Unknown   | 10
2024-07 | A             | Other Practice staff | Face-to-Face            | Planned Clinics              | 15 to 21 Days        | Attended    | 20
2024-07 | A             | Other Practice staff | Video Conference/Online | Inconsistent Mapping         | 8 to 14 Days         | DNA         | 15
2024-08 | A             | GP                   | Face-to-Face            | General Consultation Acute   | 1 Day                | Attended    | 60
2024-08 | A             | GP                   | Telephone               | Walk-in                      | More than 28 Days    | Attended    | 20
2024-07 | B             | GP                   | Telephone               | General Consultation Routine | Same Day             | Attended    | 8
"""
# Practice A, July + August pooled (hand-worked):
#   all appointments            40+5+30+10+20+15+60+20 = 200
#   known mode (not Unknown)    200-10 = 190; f2f+home (all staff) = 40+5+20+60 = 125
#   GP known mode               40+5+30+60+20 = 155; GP f2f+home = 40+5+60 = 105
EXPECTED_A = {
    "f2f_gp": 105 / 155,
    "f2f_all": 125 / 190,
    "telephone_share": (30 + 20) / 190,
    "video_online_share": 15 / 190,
    "home_visit_share": 5 / 190,
    "unknown_mode_share": 10 / 200,
    "unmapped_share": (10 + 15) / 200,
    # known band: everything but the Unknown row = 190; same day = 40 + 30 = 70
    "same_day_share": 70 / 190,
    # patient-facing categories: GCR 40, Home Visit 5, Clinical Triage 30, GCA 60, Walk-in 20 (all known band)
    #   within 14 days: 40 + 5 + 30 + 60 = 135 of 155
    "within_14_days": 135 / 155,
    # known status: Attended + DNA = 200 - 10 = 190; DNA = 30 + 15
    "dna_rate": 45 / 190,
    "gp_share": (40 + 5 + 30 + 10 + 60 + 20) / 200,
}


def window(engine, appointments=APPOINTMENTS, registrations=None, months=(JUL, AUG)):
    counts = practice_month_counts(practice_month_aggregate(engine.table(appointments)), MEASURES.values())
    counts = with_list_size(counts, engine.table(registrations) if registrations else None)
    out = pooled(counts, list(months), MEASURES.values())
    return out.to_pandas().set_index("practice_code"), counts


@pytest.mark.parametrize("name", sorted(EXPECTED_A))
def test_share_measure(engine, name):
    values, _ = window(engine)
    assert values.loc["A", name] == pytest.approx(EXPECTED_A[name], abs=1e-12)


def test_every_share_measure_has_a_spec():
    shares = {m.name for m in MEASURES.values() if m.kind == "share"}
    assert shares == set(EXPECTED_A)


def test_share_with_no_denominator_is_null_not_zero(engine):
    values, _ = window(engine)
    # Practice B has no GP face-to-face... but it has a known-mode GP appointment: share 0, not null.
    assert values.loc["B", "f2f_gp"] == 0.0
    # and no appointment in a patient-facing category with a known band is impossible here; DNA rate defined
    assert values.loc["B", "dna_rate"] == 0.0
    only_unknown = """
    month   | practice_code | appt_mode | count
    2024-07 | C             | Unknown   | 4
    """
    values, _ = window(engine, only_unknown, months=(JUL,))
    assert values["f2f_all"].isna().loc["C"]


def test_window_pools_rather_than_averaging_months(engine):
    values, _ = window(engine)
    # July GP f2f = 45/75 = 0.6, August = 60/80 = 0.75; their mean 0.675 is not the pooled 105/155.
    assert values.loc["A", "f2f_gp"] == pytest.approx(105 / 155)
    assert values.loc["A", "f2f_gp"] != pytest.approx((45 / 75 + 60 / 80) / 2)


REGISTRATIONS = """
month   | practice_code | patients
2024-07 | A             | 1000
2024-08 | A             | 1000
2019-07 | A             | 1000
2019-08 | A             | 1000
2024-07 | B             | 400
"""
BASELINE_ROWS = """
2019-07 | A | GP | Face-to-Face | General Consultation Routine | Same Day | Attended | 150
2019-08 | A | GP | Face-to-Face | General Consultation Routine | Same Day | Attended | 100
2019-07 | B | GP | Face-to-Face | General Consultation Routine | Same Day | Attended | 9
"""


def test_appointments_per_1000_pools_months_with_a_list_size(engine):
    values, _ = window(engine, APPOINTMENTS, REGISTRATIONS)
    # A: 200 appointments over 2 months of 1,000 patients = 100 per 1,000 per month.
    assert values.loc["A", "appts_per_1000"] == pytest.approx(100.0)
    # B: 8 appointments in July, 400 patients; August has neither: 20 per 1,000.
    assert values.loc["B", "appts_per_1000"] == pytest.approx(20.0)


def test_baseline_ratio_against_same_months_of_2019(engine):
    rows = APPOINTMENTS.rstrip() + BASELINE_ROWS
    _, counts = window(engine, rows, REGISTRATIONS)
    table = (
        with_baseline(pooled(counts, [JUL, AUG], MEASURES.values()), counts, [JUL, AUG], 2019, MEASURES.values())
        .to_pandas()
        .set_index("practice_code")
    )
    # A: 2019 Jul+Aug = 250 appointments over 2,000 patient-months = 125 per 1,000; now 100 → 0.8.
    assert table.loc["A", "baseline_rate"] == pytest.approx(125.0)
    assert table.loc["A", "appts_vs_baseline"] == pytest.approx(0.8)
    # B: no August 2019 (and no 2019 list size): unavailable, never zero or guessed.
    assert table["appts_vs_baseline"].isna().loc["B"]


def test_conditions_merge_per_column_and_empty_intersection_matches_nothing():
    from gpaccess.measures.compute import merge_conditions

    assert merge_conditions({"appt_status": ("DNA",)}, {"appt_status": ("Attended", "DNA")}) == {
        "appt_status": ("DNA",)
    }
    assert merge_conditions({"hcp_type": ("GP",)}, {}, {"appt_mode": ("Telephone",)}) == {
        "appt_mode": ("Telephone",),
        "hcp_type": ("GP",),
    }
    assert merge_conditions({"appt_mode": ("Unknown",)}, {"appt_mode": ("Telephone",)}) is None


def test_practice_month_aggregate_sums_modes_and_statuses_into_columns(engine):
    agg = practice_month_aggregate(engine.table(APPOINTMENTS)).to_pandas()
    # Rows are practice × month × stratum (HCP type × national category × booking band): here every published
    # row above has its own stratum, so 9 rows, each holding its count in one mode and one status column.
    assert len(agg) == 9
    a_jul = agg[(agg.practice_code == "A") & (pd.to_datetime(agg.month) == pd.Timestamp(JUL))]
    assert int(a_jul.appointments.sum()) == 40 + 5 + 30 + 10 + 20 + 15
    assert int(a_jul.mode_face_to_face.sum()) == 40 + 20
    assert int(a_jul.mode_video_conference_online.sum()) == 15
    assert int(a_jul.status_dna.sum()) == 30 + 15
    triage = a_jul[a_jul.national_category == "Clinical Triage"].iloc[0]
    assert (triage.mode_telephone, triage.status_dna, triage.status_attended) == (30, 30, 0)
    modes = [c for c in agg.columns if c.startswith("mode_")]
    statuses = [c for c in agg.columns if c.startswith("status_")]
    assert (agg[modes].sum(axis=1) == agg.appointments).all()
    assert (agg[statuses].sum(axis=1) == agg.appointments).all()


def test_two_published_rows_of_one_stratum_become_one_aggregate_row(engine):
    rows = """
    month   | practice_code | appt_mode    | appt_status | count
    2024-07 | A             | Face-to-Face | Attended    | 7
    2024-07 | A             | Telephone    | DNA         | 3
    2024-07 | A             | Face-to-Face | DNA         | 2
    """
    agg = practice_month_aggregate(engine.table(rows)).to_pandas()
    assert len(agg) == 1
    r = agg.iloc[0]
    assert (r.appointments, r.mode_face_to_face, r.mode_telephone, r.status_attended, r.status_dna) == (12, 9, 3, 7, 5)


def test_strata_counts_for_the_face_to_face_comparison(engine):
    from gpaccess.measures.compute import strata_counts

    agg = practice_month_aggregate(engine.table(APPOINTMENTS))
    strata = strata_counts(agg, MEASURES["f2f_gp"], [JUL, AUG]).to_pandas()
    a = strata[strata.practice_code == "A"].set_index(["national_category", "time_band"])
    # GP only, known mode: n = the stratum's known-mode GP appointments, r = its face-to-face + home visits.
    assert (a.loc[("General Consultation Routine", "Same Day"), ["n", "r"]] == [40, 40]).all()
    assert (a.loc[("Clinical Triage", "Same Day"), ["n", "r"]] == [30, 0]).all()
    assert ("Unmapped", "Unknown / Data Quality") not in a.index  # Unknown mode is not in the denominator
    assert int(a.n.sum()) == 155 and int(a.r.sum()) == 105  # the hand-worked GP figures above


def test_a_condition_on_mode_and_status_together_is_refused():
    from gpaccess.measures.compute import MeasureDefinitionError, _split

    with pytest.raises(MeasureDefinitionError, match="mode and status"):
        _split({"appt_mode": ("Face-to-Face",), "appt_status": ("DNA",)})
    with pytest.raises(MeasureDefinitionError, match="supplier"):
        _split({"supplier": ("EMIS",)})


def test_monthly_series_of_a_share_and_a_rate(engine):
    from gpaccess.measures.compute import monthly_series

    _, counts = window(engine, APPOINTMENTS, REGISTRATIONS)
    f2f = monthly_series(counts, MEASURES["f2f_gp"]).to_pandas()
    a = f2f[f2f.practice_code == "A"].reset_index(drop=True)
    # GP known mode: July 40+5+30 = 75 with 45 face-to-face or home; August 60+20 = 80 with 60.
    assert [int(x) for x in a.numerator] == [45, 60]
    assert [int(x) for x in a.denominator] == [75, 80]
    assert list(a.value) == pytest.approx([0.6, 0.75], rel=1e-12)
    rate = monthly_series(counts, MEASURES["appts_per_1000"]).to_pandas()
    a = rate[rate.practice_code == "A"].reset_index(drop=True)
    # 120 appointments in July, 80 in August, 1,000 patients each month.
    assert list(a.value) == pytest.approx([120.0, 80.0], rel=1e-12)
    b = rate[rate.practice_code == "B"].reset_index(drop=True)
    assert list(b.value) == pytest.approx([20.0], rel=1e-12)  # 8 appointments, 400 patients
