"""What a run stood on, said in words; a practice's profile; label placement that never overlaps."""

from __future__ import annotations

import pandas as pd

from gpaccess.publication.basis import CriterionBasis, RunBasis, _region_title
from gpaccess.publication.charts.funnel import _CHAR_W, _LABEL_H, place_labels
from gpaccess.publication.profile import practice_profile


def basis(**change) -> RunBasis:
    values = {
        "criteria": [
            CriterionBasis("f2f", "Face-to-face lower than expected", 58, 8, 0, None),
            CriterionBasis("ae", "High A&E attendance", 0, 0, 58, "no local A&E data uploaded"),
            CriterionBasis("base", "Below baseline", 50, 2, 8, "no baseline months"),
        ],
        "window": "Oct 2025",
        "months": ["2025-10"],
        "configured_months": 3,
        "reference_practices": 1234,
        "reference_regions": ["South West"],
        "partial_england": True,
        "releases": {"gpad_appointments": ["r00001-abc"]},
    }
    return RunBasis(**(values | change))


def test_the_lines_say_what_was_and_was_not_assessed() -> None:
    lines = basis().lines()
    assert "Window: Oct 2025 (1 month; configured: 3)" in lines
    assert "Reference: expected shares come from 1,234 practices in 1 region (South West)" in lines
    assert "High A&E attendance: not assessed — no local A&E data uploaded" in lines
    assert (
        "Below baseline: assessed for 50 eligible practices, met by 2; not assessed for 8: no baseline months" in lines
    )
    assert lines[-1] == "Data months: 2025-10; releases: gpad_appointments: r00001-abc"
    doc = basis().as_dict()
    assert [c["status"] for c in doc["criteria"]] == ["assessed", "not assessed", "partly assessed"]
    assert doc["reference_is_part_of_england"] is True


def test_region_names_read_as_names() -> None:
    assert _region_title("NORTH EAST AND YORKSHIRE") == "North East and Yorkshire"
    assert _region_title("EAST OF ENGLAND") == "East of England"
    assert _region_title("South West") == "South West"


def test_labels_never_overlap_one_another_or_the_points() -> None:
    points = [(100.0 + (i % 5) * 2, 200.0 + (i // 5) * 2) for i in range(30)]  # 30 points in a 10-pixel blob
    texts = [str(i + 1) for i in range(30)]
    centres = place_labels(points, texts)
    boxes = [
        (x - (_CHAR_W * len(t) + 4) / 2, y - _LABEL_H / 2, x + (_CHAR_W * len(t) + 4) / 2, y + _LABEL_H / 2)
        for (x, y), t in zip(centres, texts, strict=True)
    ]
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[2] <= 640 and a[1] >= 0 and a[3] <= 400
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
        assert not any(a[0] < px < a[2] and a[1] < py < a[3] for px, py in points)


def test_a_profile_puts_telephony_and_online_consultation_beside_gpad() -> None:
    row = pd.Series(
        {
            "practice_code": "A81001",
            "practice_name": "Abbey",
            "patients": 5000,
            "f2f_gp": 0.4123,
            "dna_rate": 0.034,
            "appts_per_1000": 1770.4,
            "icb_code": "QWE",
            "icb_name": "NHS Q",
        }
    )
    context = [
        {"source": "telephony", "period": "2025-10", "fields": {"inbound": 2000, "answered": 1500, "missed": 400}},
        {
            "source": "online_consultation",
            "period": "2025-10",
            "fields": {"submissions": 1000, "clinical_submissions": 600, "participation": True},
        },
        {"source": "imd", "period": "2019", "fields": {"imd_score": 31.74, "imd_decile": 2}},
    ]
    sections = practice_profile(row, window="Aug – Oct 2025", definition="F2F ÷ known", context=context)
    titles = [s.title for s in sections]
    assert titles[1:] == [
        "Appointments (GPAD)",
        "Telephony (cloud-based telephony data)",
        "Online consultation",
        "Deprivation",
    ]
    items = {k: v for s in sections for k, v in s.items}
    assert items["GP face-to-face share"] == "41.2%" and items["Appointments per 1,000 patients a month"] == "1,770"
    assert items["Answered"] == "1,500 (75.0%)" and items["Inbound calls per 1,000 patients"] == "400"
    assert items["Clinical"] == "600 (60.0%)" and items["Submissions per 1,000 patients"] == "200"
    assert items["IMD decile"].startswith("2 (1 = most deprived")
