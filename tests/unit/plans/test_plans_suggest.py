"""The action catalogue and the suggestion rules: pure, over a practice's own profile."""

from __future__ import annotations

import pytest

from gpaccess.plans.catalogue import FACE_TO_FACE_MEASURES, UnknownActionTypeError, action_type, catalogue
from gpaccess.plans.suggest import PracticeProfile, suggest

MEASURES = {
    "unknown_mode_share": 0.01,
    "unmapped_share": 0.05,
    "appts_per_1000": 440.0,
    "appts_vs_baseline": 1.02,
    "dna_rate": 0.04,
}
TYPICAL = {"appts_per_1000": 420.0, "dna_rate": 0.04}


def profile(**kw) -> PracticeProfile:
    base = {
        "practice_code": "A81001",
        "icb_code": "QWE",
        "window": "Aug–Oct 2025",
        "measures": MEASURES,
        "icb_typical": TYPICAL,
    }
    return PracticeProfile(**{**base, **kw})


def test_catalogue_covers_the_support_offered_and_never_sets_a_face_to_face_quota():
    kinds = catalogue()
    for key in (
        "extra_sessions_locums",
        "additional_roles",
        "extended_hours_hubs",
        "cloud_telephony",
        "community_pharmacy",
        "care_navigation",
        "online_consultation",
        "recording_support",
        "estates_rooms",
        "patient_communications",
        "improvement_universal",
        "improvement_intermediate",
        "improvement_intensive",
        "peer_support",
    ):
        assert key in kinds
    for kind in kinds.values():
        assert kind.problem and kind.duration and kind.source
        assert not {m.measure for m in kind.measures} & FACE_TO_FACE_MEASURES
        assert (kind.cost == "") or ("domain.md" in kind.cost_source)
    # costs only where domain.md gives one (A8): cloud telephony's, and the transition cover
    assert {k for k, v in kinds.items() if v.cost} == {"cloud_telephony", "care_navigation", "online_consultation"}
    assert "£60,000" in kinds["cloud_telephony"].cost
    with pytest.raises(UnknownActionTypeError, match="known: extra_sessions_locums"):
        action_type("face_to_face_quota")


def test_unknown_mode_puts_recording_support_first_because_the_figure_may_be_an_artefact():
    found = suggest(profile(measures={**MEASURES, "unknown_mode_share": 0.12}, criteria_met=("f2f_gp_low",)))
    assert found[0].action_type == "recording_support"
    assert "12% of its appointments have no recorded mode" in found[0].reason
    assert "recording artefact" in found[0].reason
    assert [s.action_type for s in found][1:] == ["improvement_intermediate", "peer_support", "improvement_universal"]


def test_high_111_with_low_appointments_means_capacity_before_mode():
    found = suggest(
        profile(
            measures={**MEASURES, "appts_per_1000": 300.0},
            local={"nhs111_in_hours_per_1000": 30.0},
            local_typical={"nhs111_in_hours_per_1000": 20.0},
            criteria_met=("f2f_gp_low",),
        )
    )
    kinds = [s.action_type for s in found]
    assert kinds[:2] == ["extra_sessions_locums", "additional_roles"]
    assert kinds.index("extra_sessions_locums") < kinds.index("improvement_intermediate")
    assert "capacity comes before how appointments are offered" in found[0].reason
    assert "300 appointments per 1,000" in found[0].reason and "typical practice: 420" in found[0].reason


def test_high_111_alone_or_low_appointments_alone_is_not_capacity_before_mode():
    high_111 = profile(local={"nhs111_in_hours_per_1000": 30.0}, local_typical={"nhs111_in_hours_per_1000": 20.0})
    low_rate = profile(measures={**MEASURES, "appts_per_1000": 300.0})
    for p in (high_111, low_rate):
        assert "capacity_before_mode" not in {s.rule for s in suggest(p)}


def test_not_assessed_values_suggest_nothing_and_are_never_read_as_zero():
    p = profile(measures={"unknown_mode_share": float("nan"), "appts_per_1000": None, "dna_rate": float("nan")})
    assert [s.action_type for s in suggest(p)] == ["improvement_universal"]


def test_telephony_rules_read_missed_calls_and_absent_data_only_when_loaded():
    assert "cloud_telephony" not in {s.action_type for s in suggest(profile())}
    absent = suggest(profile(telephony_loaded=True, telephony=None, telephony_period="2025-10"))
    assert absent[0].action_type == "cloud_telephony" and "no cloud telephony figures for 2025-10" in absent[0].reason
    busy = suggest(profile(telephony_loaded=True, telephony={"inbound": 4000, "missed": 1200}, telephony_period="x"))
    assert "30% of 4,000 inbound calls were missed" in busy[0].reason
    calm = suggest(profile(telephony_loaded=True, telephony={"inbound": 4000, "missed": 200}))
    assert "cloud_telephony" not in {s.action_type for s in calm}


def test_each_action_type_is_suggested_once_with_the_first_rules_reason():
    p = profile(
        measures={**MEASURES, "appts_per_1000": 300.0, "appts_vs_baseline": 0.8},
        criteria_met=("appointments_below_baseline", "high_111_use", "f2f_gp_low"),
        local={"nhs111_in_hours_per_1000": 30.0},
    )
    found = suggest(p)
    kinds = [s.action_type for s in found]
    assert len(kinds) == len(set(kinds))
    assert found[0].rule == "capacity_before_mode"  # below_baseline proposes the same action later
    assert "improvement_intensive" in kinds  # three criteria at once


def test_reasons_use_no_league_table_words():
    from gpaccess.publication.guard import league_word_in_text

    p = profile(
        measures={
            **MEASURES,
            "unknown_mode_share": 0.3,
            "unmapped_share": 0.3,
            "appts_vs_baseline": 0.5,
            "dna_rate": 0.09,
        },
        criteria_met=("appointments_below_baseline", "high_111_use", "f2f_gp_low", "high_ae_use"),
        local={"nhs111_in_hours_per_1000": 30.0, "ae_attendances_per_1000": 60.0},
        telephony_loaded=True,
        telephony={"inbound": 100, "missed": 90},
        online_rate_per_1000=1.0,
    )
    found = suggest(p)
    assert len(found) >= 10
    for s in found:
        assert league_word_in_text(s.reason) is None, s.reason
