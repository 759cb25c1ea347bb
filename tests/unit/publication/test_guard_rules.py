"""The outward-file guard refuses league tables, practice codes and names, and measure values; lists every breach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpaccess.access.pseudonym import pseudonymise
from gpaccess.errors import PolicyError
from gpaccess.publication.guard import OutwardFileError, check_outward

KEY = bytes(range(32))
CODES = ["A81001", "A81002", "B82005", "Y01234"]
NAMES = ["Abbey Medical Centre", "Riverside Surgery", "The Grange Practice", "Top Lane Surgery", "Oak"]


def clean_return() -> pd.DataFrame:
    pseudonyms = sorted(pseudonymise(KEY, c, icb_code="QWE") for c in CODES[:3])
    return pd.DataFrame(
        {
            "icb_code": ["QWE"] * 3,
            "cycle": ["2021/22"] * 3,
            "pseudonym": pseudonyms,
            "criteria_met": ["low_f2f", "low_f2f;low_volume", ""],
            "criterion_low_f2f": ["met", "met", "not met"],
            "criterion_low_volume": ["not assessed", "met", "not met"],
        }
    )


def clean_public() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "practice_code": CODES,
            "practice_name": NAMES[:4],
            "f2f_share": [0.61, 0.55, 0.70, 0.64],
            "appointments": [12000, 8000, 15000, 9100],
            "context": ["Topsham branch site", "", "Bestwood estate", "rural"],
        }
    )


def refusals(frame_or_path: pd.DataFrame | Path, kind: str = "nhse_return") -> list[str]:
    with pytest.raises(OutwardFileError) as info:
        check_outward(frame_or_path, kind=kind, known_codes=CODES, known_names=NAMES)  # type: ignore[arg-type]
    assert isinstance(info.value, PolicyError)
    return info.value.breaches


def to_csv(df: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "out.csv"
    df.to_csv(path, index=False)
    return path


def test_a_clean_return_passes_as_a_frame_and_as_a_csv(tmp_path: Path) -> None:
    df = clean_return()
    check_outward(df, kind="nhse_return", known_codes=CODES, known_names=NAMES)
    check_outward(to_csv(df, tmp_path), kind="nhse_return", known_codes=CODES, known_names=NAMES)
    check_outward(str(to_csv(df, tmp_path)), kind="nhse_return")


def test_a_clean_return_with_run_id_year_and_date_passes() -> None:
    df = clean_return().assign(run_id=[17, 17, 17], generated_on=["2021-11-19"] * 3, cycle=[2021] * 3)
    check_outward(df, kind="nhse_return", known_codes=CODES, known_names=NAMES)


def test_an_empty_return_passes(tmp_path: Path) -> None:
    df = clean_return().iloc[0:0]
    check_outward(df, kind="nhse_return", known_codes=CODES)
    check_outward(to_csv(df, tmp_path), kind="nhse_return", known_codes=CODES)


def test_a_clean_public_publication_passes(tmp_path: Path) -> None:
    check_outward(clean_public(), kind="public", known_codes=CODES, known_names=NAMES)
    check_outward(to_csv(clean_public(), tmp_path), kind="public", known_codes=CODES, known_names=NAMES)


@pytest.mark.parametrize(
    "column",
    ["rank", "Rank", "percentile", "Position", "practice_rank", "rankInIcb", "f2f_centile", "quantile", "decile",
     "top_quartile", "quintile", "sort_order", "league_table", "score", "z_scores", "Ranking", "pctrank",
     "worst_10", "best", "Top", "bottom_five", "place", "underperforming", "failing_practices"],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["nhse_return", "public"])
def test_a_ranking_column_is_refused(tmp_path: Path, column: str, kind: str) -> None:
    base = clean_return() if kind == "nhse_return" else clean_public()
    df = base.assign(**{column: ["x"] * len(base)})
    for target in (df, to_csv(df, tmp_path)):
        breaches = refusals(target, kind)
        assert any(f"column {column!r} looks like a ranking" in b for b in breaches), breaches


@pytest.mark.parametrize(
    ("text", "word"),
    [("worst", "worst"), ("Among the WORST", "worst"), ("best practice", "best"), ("top-10", "top"),
     ("Bottom 20%", "bottom"), ("worst_f2f", "worst"), ("an underperforming practice", "underperforming"),
     ("Failing", "failing"), ("ranked 3rd", "ranked"), ("league table", "league"), ("90th percentile", "percentile"),
     ("ranks", "ranks")],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["nhse_return", "public"])
def test_judgement_words_in_a_cell_are_refused(tmp_path: Path, text: str, word: str, kind: str) -> None:
    base = clean_return() if kind == "nhse_return" else clean_public()
    column = "cycle" if kind == "nhse_return" else "context"
    df = base.copy()
    df.loc[1, column] = text
    for target in (df, to_csv(df, tmp_path)):
        assert any(f"column {column!r}, rows 2: '{word}' in the text" in b for b in refusals(target, kind))


@pytest.mark.parametrize("text", ["in practice-code order", "IMD score", "Rankin Surgery Road", "topical", "failed"])
def test_ambiguous_or_longer_words_in_a_cell_pass(text: str) -> None:
    # "order" and "score" are ranking words in a column name only; a vocabulary word inside a longer word is
    # not the word.
    df = clean_public()
    df.loc[1, "context"] = text
    check_outward(df, kind="public", known_codes=CODES, known_names=NAMES)


@pytest.mark.parametrize("value", ["A81001", "a81001 ", "Z99999", "see A81002;low_f2f", "'A81001"])
def test_a_practice_code_in_the_return_is_refused(tmp_path: Path, value: str) -> None:
    df = clean_return()
    df.loc[0, "criteria_met"] = value
    for target in (df, to_csv(df, tmp_path)):
        breaches = refusals(target)
        assert any("column 'criteria_met', rows 1: a practice code" in b for b in breaches), breaches
        assert not any(value.strip("' ") in b for b in breaches)  # the message never repeats the code


def test_a_known_code_not_shaped_like_an_ods_code_is_refused() -> None:
    df = clean_return()
    df.loc[2, "cycle"] = "V81997X"
    with pytest.raises(OutwardFileError, match="a practice code"):
        check_outward(df, kind="nhse_return", known_codes=["V81997X"])


def test_a_practice_code_as_a_column_name_is_refused() -> None:
    df = clean_return().rename(columns={"criteria_met": "A81001"})
    assert any("the header: a practice code" in b for b in refusals(df))


@pytest.mark.parametrize("value", ["Abbey Medical Centre", "ABBEY  MEDICAL centre", "from riverside surgery"])
def test_a_practice_name_in_the_return_is_refused(tmp_path: Path, value: str) -> None:
    df = clean_return()
    df.loc[2, "cycle"] = value
    for target in (df, to_csv(df, tmp_path)):
        assert any("column 'cycle', rows 3: a practice name" in b for b in refusals(target))


def test_a_name_shorter_than_six_characters_is_not_matched() -> None:
    df = clean_return()
    df.loc[0, "cycle"] = "Oak 2021"
    check_outward(df, kind="nhse_return", known_codes=CODES, known_names=NAMES)


def test_a_float_measure_column_is_refused(tmp_path: Path) -> None:
    df = clean_return().assign(criterion_f2f=[0.41, 0.52, 0.38])
    assert any("column 'criterion_f2f', rows 1, 2, 3: a criterion column holds only met, not met or not assessed" in b
               for b in refusals(df))  # fmt: skip
    df = clean_return().assign(cycle=[0.41, 0.52, 0.38])
    assert any("column 'cycle' holds decimal numbers" in b for b in refusals(df))
    assert any("column 'cycle', rows 1, 2, 3: a measure value" in b for b in refusals(to_csv(df, tmp_path)))


@pytest.mark.parametrize("value", ["41%", "0.41", "1,234.5", "4e-1", ".5"])
def test_a_measure_value_in_a_text_cell_is_refused(tmp_path: Path, value: str) -> None:
    df = clean_return()
    df.loc[1, "criteria_met"] = value
    for target in (df, to_csv(df, tmp_path)):
        assert any("column 'criteria_met', rows 2: a measure value" in b for b in refusals(target))


def test_an_integer_other_than_a_year_is_refused(tmp_path: Path) -> None:
    df = clean_return().assign(cycle=[412, 2021, 7])
    for target in (df, to_csv(df, tmp_path)):
        assert any("column 'cycle', rows 1, 3: a number other than a year" in b for b in refusals(target))
    df = clean_return().astype({"cycle": object})
    df.loc[0, "cycle"] = 1234
    assert any("rows 1: a number other than a year" in b for b in refusals(df))


@pytest.mark.parametrize("column", ["practice_code", "practice_name", "f2f_share", "list_size", "notes"])
def test_an_unknown_column_in_the_return_is_refused(tmp_path: Path, column: str) -> None:
    df = clean_return().assign(**{column: ["QWE"] * 3})
    assert any(f"column {column!r} is not allowed" in b for b in refusals(to_csv(df, tmp_path)))


def test_a_return_without_pseudonyms_is_refused() -> None:
    df = clean_return().drop(columns=["pseudonym", "criteria_met"])
    breaches = refusals(df)
    assert "column 'pseudonym' is missing from the NHS England return" in breaches
    assert "column 'criteria_met' is missing from the NHS England return" in breaches


def test_a_malformed_pseudonym_is_refused() -> None:
    df = clean_return()
    df.loc[0, "pseudonym"] = "GPA-123"
    assert any("column 'pseudonym', rows 1: not a gpaccess pseudonym" in b for b in refusals(df))


def test_return_rows_out_of_pseudonym_order_are_refused(tmp_path: Path) -> None:
    df = clean_return().iloc[::-1].reset_index(drop=True)
    for target in (df, to_csv(df, tmp_path)):
        assert any("not in pseudonym order" in b for b in refusals(target))


def test_a_criterion_column_holds_met_not_met_or_not_assessed_never_true_or_false(tmp_path: Path) -> None:
    df = clean_return().assign(criterion_low_f2f=["yes", "met", "false"])
    assert any("column 'criterion_low_f2f', rows 1, 3: a criterion column" in b for b in refusals(df))
    booleans = clean_return().assign(criterion_low_f2f=[True, True, False])  # False would hide "not assessed"
    assert any("column 'criterion_low_f2f', rows 1, 2, 3: a criterion column" in b for b in refusals(booleans))
    check_outward(clean_return().assign(criterion_low_f2f=["Met", "not met", "NOT ASSESSED"]), kind="nhse_return")
    check_outward(to_csv(clean_return(), tmp_path), kind="nhse_return")


def test_public_rows_out_of_code_order_are_refused(tmp_path: Path) -> None:
    df = clean_public().sort_values("f2f_share").reset_index(drop=True)
    for target in (df, to_csv(df, tmp_path)):
        assert any("out of practice-code order" in b for b in refusals(target, "public"))


@pytest.mark.parametrize("column", ["selected", "in_cohort", "Supported", "flag", "support_offered", "overridden"])
def test_a_cohort_column_in_the_public_publication_is_refused(tmp_path: Path, column: str) -> None:
    df = clean_public().assign(**{column: [False, True, False, False]})
    for target in (df, to_csv(df, tmp_path)):
        assert any(f"column {column!r}" in b and "cohort" in b for b in refusals(target, "public"))


def test_the_public_publication_lists_every_practice_by_code() -> None:
    breaches = refusals(clean_public().iloc[1:], "public")
    assert "1 practice(s) missing: the publication lists every practice" in breaches
    breaches = refusals(clean_public().drop(columns=["practice_code"]), "public")
    assert any("column 'practice_code' is missing" in b for b in breaches)
    df = clean_public()
    df.loc[3, "practice_code"] = None
    assert any("rows 4: no practice code" in b for b in refusals(df, "public"))


def test_every_breach_is_listed_at_once() -> None:
    df = clean_return().assign(rank=[1, 2, 3], practice_code=CODES[:3], f2f=[0.4, 0.5, 0.6])
    df.loc[0, "cycle"] = "worst"
    with pytest.raises(OutwardFileError) as info:
        check_outward(df, kind="nhse_return", known_codes=CODES, known_names=NAMES)
    text = str(info.value)
    for expected in ("'rank' looks like a ranking", "'worst'", "a practice code", "'f2f' holds decimal numbers",
                     "'practice_code' is not allowed", "a number other than a year"):  # fmt: skip
        assert expected in text
    assert "A81001" not in text


def test_csv_quirks_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert any("the file is empty" in b for b in refusals(empty))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("icb_code,pseudonym,criteria_met\nQWE,x\n")
    assert any("do not have the header's 3 cells" in b for b in refusals(ragged))
    twice = tmp_path / "twice.csv"
    twice.write_text("pseudonym,criteria_met,criteria_met\n")
    assert any("appears twice" in b for b in refusals(twice))


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        check_outward(clean_return(), kind="internal")  # type: ignore[arg-type]


def test_numbers_and_blanks_held_as_objects_are_judged_by_value() -> None:

    df = clean_return().astype({"cycle": object, "criteria_met": object})
    df.loc[0, "cycle"] = np.int64(412)
    df.loc[1, "cycle"] = np.float64(0.5)
    df.loc[2, "cycle"] = None
    df.loc[0, "criteria_met"] = pd.NA
    breaches = refusals(df)
    assert any("column 'cycle', rows 1: a number other than a year" in b for b in breaches)
    assert any("column 'cycle', rows 2: a measure value" in b for b in breaches)
    assert not any("criteria_met" in b for b in breaches)


def test_a_datetime_column_is_allowed_in_the_return() -> None:
    df = clean_return().assign(generated_on=pd.Timestamp("2021-11-19"))
    check_outward(df, kind="nhse_return", known_codes=CODES, known_names=NAMES)


def test_a_missing_criterion_value_is_refused() -> None:
    df = clean_return()
    df.loc[0, "criterion_low_f2f"] = None  # a blank is neither met, not met nor "not assessed"
    assert any("column 'criterion_low_f2f', rows 1" in b for b in refusals(df))


def test_a_practice_named_with_a_judgement_word_is_a_name_not_a_judgement() -> None:
    check_outward(clean_public(), kind="public", known_codes=CODES, known_names=NAMES)  # "Top Lane Surgery"
    df = clean_public()
    df.loc[3, "practice_name"] = "Top Lane Surgery (top for access)"
    assert any("column 'practice_name', rows 4: 'top' in the text" in b for b in refusals(df, "public"))


@given(
    names=st.sets(st.text(alphabet="ab c", min_size=6, max_size=9), max_size=8),
    text=st.text(alphabet="ab c", max_size=30),
)
def test_a_name_is_found_wherever_a_search_of_every_name_would_find_it(names, text):
    import re

    from gpaccess.publication.guard import _holds_a_name, _names_by_opening

    searched = bool(names) and re.search("|".join(re.escape(n) for n in names), text) is not None
    assert _holds_a_name(text, _names_by_opening(names)) == searched
