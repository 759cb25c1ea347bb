"""The "what worked" outputs: the ICB's report and CSV, its aggregate return and the national version pass the
guard; no league-table word in any visible text; too-few types point to the national estimate."""

from __future__ import annotations

import pandas as pd
import pytest

from gpaccess.evaluation.evaluate import ESTIMATED, TOO_FEW, TOO_FEW_NOTE, Estimate, IcbEvaluation, Outcome
from gpaccess.evaluation.pooling import pool_returns
from gpaccess.publication.guard import (
    JUDGEMENT_WORDS,
    RANKING_TEXT_WORDS,
    OutwardFileError,
    check_outward,
    league_word_in_html,
    visible_text,
)
from gpaccess.publication.what_worked import reading, share_of_change, write_icb_what_worked, write_national_what_worked

OUTCOME = Outcome("appts_per_1000", "Appointments per 1,000 registered patients per month", "rate_per_1000")
BALANCE = pd.DataFrame(
    [{"feature": "pre_level", "title": "outcome before support (mean)", "supported_mean": 6.0,
      "comparison_mean": 6.01, "standardised_difference": -0.03}]
)  # fmt: skip


def _evaluation(icb="QAA"):
    est = [
        Estimate("any support", ESTIMATED, 45, 43, 90, 2, 2, 0.035, 0.008, 0.019, 0.051, 3.56, 1.9, 5.2, 2.4, -1.1,
                 balance=BALANCE),
        Estimate("extra_sessions_locums", ESTIMATED, 25, 25, 60, 0, 0, 0.06, 0.01, 0.04, 0.08, 6.2, 4.1, 8.3, 5.0, -1.2,
                 balance=BALANCE),
        Estimate("peer_support", TOO_FEW, 12, 12, 30, 0, 0, 0.01, 0.02, -0.03, 0.05, 1.0, -3.0, 5.1, 0.5, -0.5,
                 note=TOO_FEW_NOTE),
        Estimate("estates", TOO_FEW, 3, note=TOO_FEW_NOTE),
    ]  # fmt: skip
    ev = IcbEvaluation(icb, OUTCOME, ["2024-10", "2025-06"], est, supported=45, not_in_store=0)
    ev.limitations = ["Some comparison practices are elsewhere in the region."]
    return ev


def test_icb_report_csv_and_return(tmp_path):
    files = write_icb_what_worked(_evaluation(), tmp_path, icb_name="NHS Somewhere ICB", known_codes={"A00001"})
    html = files.html.read_text()
    text = visible_text(html)
    assert "+6.2 (+4.1 to +8.3)" in text and "a rise: the whole interval is above no change" in text
    assert "Regression to the mean" in text and TOO_FEW_NOTE in text
    csv = pd.read_csv(files.csv).set_index("action")
    assert pd.isna(csv.loc["peer_support", "effect"])  # too few in this ICB: no estimate shown
    assert csv.loc["extra_sessions_locums", "effect"] == pytest.approx(6.2)
    returned = pd.read_csv(files.aggregate_return)
    # at least 5 practices: estates (3) is not in the return
    assert list(returned.action) == ["any support", "extra_sessions_locums", "peer_support"]
    assert list(returned.practices) == [45, 25, 10]  # rounded to 5
    check_outward(files.aggregate_return, kind="aggregate", known_codes={"A00001"})


def test_no_league_word_in_any_visible_text(tmp_path):
    icb = write_icb_what_worked(_evaluation(), tmp_path / "icb", icb_name="NHS Somewhere ICB")
    returns = pd.concat([_evaluation("QAA").return_rows(), _evaluation("QBB").return_rows()])
    national = write_national_what_worked(pool_returns(returns), tmp_path / "national", icbs=["QAA", "QBB"])
    for path in (icb.html, national.html):
        assert league_word_in_html(path.read_text()) is None, path
    for path in (icb.csv, icb.aggregate_return, national.csv):
        assert league_word_in_html(path.read_text()) is None, path
    assert {"underperforming", "failing", "worst"} <= set(JUDGEMENT_WORDS) and "league" in RANKING_TEXT_WORDS


def test_visible_text_check_catches_a_word_outside_tags():
    assert league_word_in_html("<p>The <b>best</b> practice</p>") == "best"
    assert league_word_in_html("<style>.top{}</style><script>worst()</script><p>fine</p>") is None


def test_national_version_hides_types_with_too_few_practices_pooled(tmp_path):
    returns = _evaluation().return_rows()  # one ICB: peer_support 10 practices pooled
    files = write_national_what_worked(pool_returns(returns), tmp_path, icbs=["QAA"])
    table = pd.read_csv(files.csv).set_index("action")
    assert table.loc["peer_support", "status"] == "too few practices pooled"
    assert pd.isna(table.loc["peer_support", "effect"])
    assert table.loc["extra_sessions_locums", "effect"] == pytest.approx(6.18, abs=0.01)


def test_national_version_names_the_outcome_by_its_title(tmp_path):
    files = write_national_what_worked(pool_returns(_evaluation().return_rows()), tmp_path, icbs=["QAA"])
    text = visible_text(files.html.read_text())
    assert f"{OUTCOME.title} (% change)" in text
    assert OUTCOME.name not in text
    assert set(pd.read_csv(files.csv).outcome) == {OUTCOME.name}  # the aggregate file keeps the key


def test_aggregate_guard_refuses_codes_and_unrounded_counts():
    frame = _evaluation().return_rows()
    frame.loc[0, "practices"] = 43
    frame.loc[1, "action"] = "support at A00001"
    with pytest.raises(OutwardFileError) as err:
        check_outward(frame, kind="aggregate", known_codes={"A00001"})
    text = str(err.value)
    assert "rounded to 5" in text and "practice code" in text


def test_reading_and_share_of_change_in_words():
    assert reading(1.0, -0.5, 2.5, "% change").startswith("no clear change")
    assert reading(-2.0, -3.0, -1.0, "% change").startswith("a fall")
    assert share_of_change(4.0, 1.0) == "25% of it"
    assert share_of_change(4.0, -1.0) == "the comparison practices did not move the same way"
