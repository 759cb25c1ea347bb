"""The NHS England return built from a cohort: selected practices only, pseudonyms only, and it passes the guard."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from gpaccess.access.pseudonym import load_or_create_key, pseudonymise
from gpaccess.publication.guard import OutwardFileError, check_outward
from gpaccess.publication.nhse_return import build_return, return_notes, write_notes, write_return

CRITERIA = ["low_f2f", "low_volume"]
PRACTICES = pd.DataFrame(
    {
        "practice_code": ["A81001", "A81002", "A81003", "A81004", "A81005", "A81006"],
        "practice_name": ["Abbey Medical Centre", "Riverside Surgery", "The Grange Practice", "Hillview Health",
                          "Marsh Lane Surgery", "Elm Tree Practice"],
        "f2f_share": [0.412, 0.455, 0.701, 0.388, 0.64, 0.58],
    }
)  # fmt: skip


def members() -> pd.DataFrame:
    """A confirmed cohort: two selected by the criteria, one added and one removed by overrides, two not selected."""
    return pd.DataFrame(
        {
            "practice_code": ["A81001", "A81002", "A81003", "A81004", "A81005", "A81006"],
            "selected": [True, True, True, False, False, False],
            "criteria_met": [["low_f2f"], "low_volume;low_f2f", [], ["low_f2f"], "", None],
            "overridden": ["none", "none", "added", "removed", "none", "none"],
            "evidence_strength": [3.1, 2.2, None, 4.0, None, None],
        }
    )


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    return load_or_create_key(tmp_path / "home", "QWE")


def test_the_return_holds_one_row_per_selected_practice_in_pseudonym_order(key: bytes) -> None:
    df = build_return(members(), icb_code="qwe", cycle="2021/22", key=key, criteria=CRITERIA)
    assert list(df.columns) == ["icb_code", "cycle", "pseudonym", "criteria_met", "criterion_low_f2f",
                                "criterion_low_volume"]  # fmt: skip
    expected = {pseudonymise(key, c, icb_code="QWE"): c for c in ["A81001", "A81002", "A81003"]}
    assert list(df["pseudonym"]) == sorted(expected)
    by_code = {expected[p]: row for p, row in zip(df["pseudonym"], df.to_dict("records"), strict=True)}
    assert by_code["A81001"]["criteria_met"] == "low_f2f"
    assert by_code["A81002"]["criteria_met"] == "low_f2f;low_volume"
    assert by_code["A81002"]["criterion_low_f2f"] == by_code["A81002"]["criterion_low_volume"] == "met"
    assert by_code["A81003"]["criteria_met"] == "" and by_code["A81003"]["criterion_low_f2f"] == "not met"
    assert set(df["icb_code"]) == {"QWE"} and set(df["cycle"]) == {"2021/22"}
    assert not any(isinstance(v, bool) for v in df["criterion_low_f2f"])


def test_a_criterion_without_data_is_not_assessed_never_false(key: bytes, tmp_path: Path) -> None:
    m = members().assign(assessed_low_volume=False, assessed_low_f2f=True)
    m.loc[m.practice_code == "A81002", "criteria_met"] = "low_f2f"  # met low_volume cannot be without data
    df = build_return(m, icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    assert set(df["criterion_low_volume"]) == {"not assessed"}
    assert "not met" in set(df["criterion_low_f2f"]) and "met" in set(df["criterion_low_f2f"])
    path = write_return(df, tmp_path / "r.csv", known_codes=PRACTICES.practice_code, known_names=[])
    text = path.read_text()
    assert "not assessed" in text and "False" not in text and "True" not in text
    both = members().assign(assessed_low_volume=False)  # A81002 "met" low_volume with no data: inconsistent
    with pytest.raises(ValueError, match="both met and not assessed"):
        build_return(both, icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)


def test_the_return_notes_say_pseudonymous_not_anonymous(tmp_path: Path) -> None:
    lines = return_notes(icb_code="qwe", cycle="2021/22", criteria={"low_f2f": "Low face-to-face"}, stood_on=["x"])
    path = write_notes(lines, tmp_path / "r_notes.txt")
    text = path.read_text()
    assert "PSEUDONYMOUS, NOT ANONYMOUS" in text and "docs/governance.md" in text
    assert "criterion_low_f2f: Low face-to-face" in text and "'not assessed'" in text and "  x" in text


def test_an_added_practice_appears_and_a_removed_one_does_not(key: bytes) -> None:
    df = build_return(members(), icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    assert pseudonymise(key, "A81003", icb_code="QWE") in set(df["pseudonym"])  # added by an override
    for code in ["A81004", "A81005", "A81006"]:  # removed by an override, or never selected
        assert pseudonymise(key, code, icb_code="QWE") not in set(df["pseudonym"])


def test_the_return_holds_no_code_name_or_value_and_passes_the_guard(key: bytes, tmp_path: Path) -> None:
    df = build_return(members(), icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    path = write_return(df, tmp_path / "out" / "nhse_return.csv", known_codes=PRACTICES["practice_code"],
                        known_names=PRACTICES["practice_name"])  # fmt: skip
    text = path.read_text(encoding="utf-8")
    for code, name, value in PRACTICES.itertuples(index=False):
        assert code not in text and name.lower() not in text.lower() and str(value) not in text
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + 3
    check_outward(path, kind="nhse_return", known_codes=PRACTICES["practice_code"],
                  known_names=PRACTICES["practice_name"])  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["nhse_return.csv"]  # written atomically, nothing left over


def test_the_return_is_stable_between_runs_and_differs_under_another_key(key: bytes, tmp_path: Path) -> None:
    first = build_return(members(), icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    again = build_return(members().iloc[::-1], icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    pd.testing.assert_frame_equal(first, again)
    other = build_return(members(), icb_code="QWE", cycle="2021/22", key=bytes(32), criteria=CRITERIA)
    assert not set(first["pseudonym"]) & set(other["pseudonym"])


def test_a_cohort_with_nobody_selected_gives_a_header_only_return(key: bytes, tmp_path: Path) -> None:
    none = members().assign(selected=False, overridden="none")
    df = build_return(none, icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    assert df.empty and "criterion_low_f2f" in df.columns
    path = write_return(df, tmp_path / "r.csv", known_codes=PRACTICES["practice_code"], known_names=[])
    assert path.read_text().splitlines() == [
        "icb_code,cycle,pseudonym,criteria_met,criterion_low_f2f,criterion_low_volume"
    ]


def test_write_return_refuses_before_writing(key: bytes, tmp_path: Path) -> None:
    df = build_return(members(), icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    leaky = df.assign(practice_code=["A81001", "A81002", "A81003"])
    with pytest.raises(OutwardFileError, match="practice code"):
        write_return(leaky, tmp_path / "r.csv", known_codes=PRACTICES["practice_code"], known_names=[])
    ranked = df.assign(rank=[1, 2, 3])
    with pytest.raises(OutwardFileError, match="ranking"):
        write_return(ranked, tmp_path / "r.csv", known_codes=PRACTICES["practice_code"], known_names=[])
    assert not list(tmp_path.glob("r.csv*")) and not list(tmp_path.glob(".r.csv*"))


def test_write_return_neutralises_formulas(key: bytes, tmp_path: Path) -> None:
    df = build_return(members(), icb_code="QWE", cycle="=HYPERLINK(1)", key=key, criteria=CRITERIA)
    path = write_return(df, tmp_path / "r.csv", known_codes=[], known_names=[])
    assert "'=HYPERLINK(1)" in path.read_text()


def test_criteria_met_may_be_a_mapping_and_selected_may_be_text(key: bytes) -> None:
    m = pd.DataFrame(
        {"practice_code": ["a81001 ", "A81002"], "selected": ["true", "0"],
         "criteria_met": [{"low_f2f": True, "low_volume": False}, {}]}
    )  # fmt: skip
    df = build_return(m, icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    assert list(df["pseudonym"]) == [pseudonymise(key, "A81001", icb_code="QWE")]
    assert list(df["criteria_met"]) == ["low_f2f"]
    m = pd.DataFrame({"practice_code": ["A81001", "A81002"], "selected": [1, 0.0], "criteria_met": [float("nan"), ""]})
    df = build_return(m, icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)
    assert list(df["pseudonym"]) == [pseudonymise(key, "A81001", icb_code="QWE")]
    assert list(df["criteria_met"]) == [""]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"overridden": ["none", "none", "none", "added", "none", "none"]}, "added by an override"),
        ({"overridden": ["removed", "none", "added", "removed", "none", "none"]}, "removed by an override"),
        ({"criteria_met": [["f2f=0.41"], [], [], [], [], []]}, "not among the run's criteria"),
        ({"practice_code": ["A81001", "A81001", "A81003", "A81004", "A81005", "A81006"]}, "listed twice"),
        ({"selected": ["maybe", True, True, False, False, False]}, "'selected' should be true or false"),
    ],
)
def test_inconsistent_cohorts_are_refused(key: bytes, change: dict[str, list[object]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_return(members().assign(**change), icb_code="QWE", cycle="2021/22", key=key, criteria=CRITERIA)


def test_bad_inputs_are_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="lack column"):
        build_return(members().drop(columns=["selected"]), icb_code="QWE", cycle="c", key=key, criteria=CRITERIA)
    with pytest.raises(ValueError, match="lower_snake_case"):
        build_return(members(), icb_code="QWE", cycle="c", key=key, criteria=["Low F2F"])
