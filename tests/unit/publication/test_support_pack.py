"""The practice support pack: the practice against its own range, supportive words, no league-table word in the
visible text, HTML and PDF."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gpaccess.errors import PolicyError
from gpaccess.publication.guard import league_word_in_text
from gpaccess.publication.support_pack import ActionView, OutcomeView, PackData, render_html, visible_text, write_pack

POINTS = [
    {"month": f"2025-{m:02d}", "value": 0.6 + 0.01 * (m % 2), "type": "common_cause", "after_start": m > 10}
    for m in range(1, 13)
]
DATA = PackData(
    practice_code="A81001",
    practice_name="Riverside Surgery",
    icb_code="QWE",
    cycle="winter 2025/26",
    plan_id=1,
    plan_version=2,
    plan_status="agreed",
    summary="Patients of Riverside Surgery can get the care they need, when they need it.",
    starts=date(2025, 11, 1),
    actions=[
        ActionView(
            "Cloud-based telephony with call-back",
            "Move to cloud telephony",
            "Patients struggle to get through",
            "ICB digital team",
            date(2025, 11, 1),
            None,
            "in_progress",
            "Winter access fund, £5,000.00",
            "Share of patient-facing appointments within 14 days of booking",
        ),
    ],
    outcomes=[
        OutcomeView(
            "within_14_days",
            "Share within 14 days",
            "defined so",
            True,
            "common cause",
            {
                "points": POINTS,
                "mean": 0.605,
                "lower": 0.58,
                "upper": 0.63,
                "trial": True,
                "limits": "trial limits",
                "direction": "increase",
            },
            "higher",
        ),
        OutcomeView(
            "f2f_gp",
            "GP face-to-face share",
            "defined so",
            True,
            "not enough months yet",
            {"limits": "not enough points", "direction": "neutral"},
            None,
        ),
    ],
    notes=[{"at": "2025-11-20", "by": "practice manager", "text": "New phone system live"}],
    generated_on=date(2025, 12, 1),
    f2f_context={"observed": 0.541, "expected": 0.586},
    window="Aug–Oct 2025",
)


def test_pack_shows_the_practice_against_its_own_range_in_supportive_words():
    html = render_html(DATA)
    text = visible_text(html)
    assert "Support plan: Riverside Surgery" in text
    assert "The practice's own expected range, from its months before the plan (trial limits" in text
    assert "58.0% to 63.0%" in text
    assert "Within the practice's usual month-to-month range so far." in text
    assert "Not enough months before the plan to set the practice's own range yet." in text
    assert "the share expected is 58.6%" in text and "there is no face-to-face target" in text
    assert "This measure has no better direction." in text  # the face-to-face outcome
    assert "ICB digital team" in text and "New phone system live" in text
    assert "<svg" in html and "<script" not in html and "http" not in html.replace("http://www.w3.org", "")
    assert league_word_in_text(text) is None


def test_visible_text_drops_tags_scripts_and_styles():
    assert visible_text("<style>.top{}</style><p>a <b>b</b></p><script>var worst=1</script>c") == "a b c"


@pytest.mark.parametrize("field", ["summary", "note"])  # a league word from anywhere the pack's text comes from
def test_a_league_word_anywhere_in_the_visible_text_is_refused(field):
    words = "the worst in its ICB"
    data = (
        replace(DATA, notes=[{"at": "x", "by": "y", "text": words}])
        if field == "note"
        else replace(DATA, **{field: words})
    )
    with pytest.raises(PolicyError, match="'worst'"):
        render_html(data)
    with pytest.raises(PolicyError, match="'underperforming'"):
        render_html(replace(DATA, summary="An underperforming practice"))


def test_the_practices_own_name_is_a_name_not_a_judgement():
    html = render_html(replace(DATA, practice_name="Top Farm Surgery"))
    assert "Support plan: Top Farm Surgery" in visible_text(html)
    with pytest.raises(PolicyError, match="'top'"):
        render_html(replace(DATA, practice_name="Top Farm Surgery", summary="One of the top practices"))


def test_write_pack_writes_html_and_a_pdf(tmp_path):
    files = write_pack(DATA, tmp_path)
    assert files.html.name == "A81001_support_pack.html"
    assert files.pdf is not None and files.pdf.read_bytes()[:5] == b"%PDF-"
    assert write_pack(DATA, tmp_path / "no-pdf", pdf=False).pdf is None


def test_pdfs_are_rendered_beside_their_html_by_worker_processes(tmp_path):
    from gpaccess.publication.support_pack import write_pdfs

    written = [write_pack(replace(DATA, practice_code=f"A8100{i}"), tmp_path, pdf=False).html for i in range(4)]
    pdfs = write_pdfs(written, workers=2)
    assert [p.name for p in pdfs] == [f"A8100{i}_support_pack.pdf" for i in range(4)]
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
