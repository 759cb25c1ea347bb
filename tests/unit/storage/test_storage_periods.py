"""Every month, period, file-name month and financial-year form `storage/periods.py` accepts, and the ones it
refuses: the one home for reading months, so each form is pinned here rather than in each reader."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from gpaccess.storage import periods as p

OCT_25 = date(2025, 10, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01OCT2025", OCT_25),  # GPAD crosstab, list sizes 2021 layout
        ("01oct2025", OCT_25),
        ("15OCT2025", OCT_25),  # a day: its month
        ("OCT2025", OCT_25),  # CCG-level files: MAR2019
        ("MAR2019", date(2019, 3, 1)),
        ("2025-10-01", OCT_25),  # list sizes, later layout
        ("2025-10-31", OCT_25),
        ("2025-10", OCT_25),
        ("20251001", OCT_25),  # ODS-style day
        ("01/10/2025", OCT_25),  # payments dates
        ("2025-10-01 00:00:00", OCT_25),  # an Excel date written as text
        ("Oct 2025", OCT_25),
        ("October 2025", OCT_25),
        ("  october   2025 ", OCT_25),  # runs of white space
        (datetime(2025, 10, 17, 9, 30), OCT_25),  # an Excel date cell
        (date(2025, 10, 17), OCT_25),
        (45748, date(2025, 4, 1)),  # an Excel serial day (PROVENANCE.md: 45748 = 2025-04-01)
        (45748.0, date(2025, 4, 1)),
        (20251001, OCT_25),  # a number that is a YYYYMMDD day, not a serial
    ],
)
def test_parse_month_reads_every_published_form(raw, expected):
    assert p.parse_month(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "2025-13", "2025-00-01", "13/13/2025", "OCTOBER", "2025", "Q3 2025", "hello", True]
)
def test_parse_month_refuses_what_names_no_month(raw):
    assert p.parse_month(raw) is None


def test_require_month_gives_a_clear_error():
    assert p.require_month("01OCT2025") == OCT_25
    assert p.require_month(OCT_25) == OCT_25
    with pytest.raises(p.PeriodError, match=r"--month 'soon': expected a month as YYYY-MM, e\.g\. 2025-10"):
        p.require_month("soon", "--month")


@pytest.mark.parametrize(
    ("text", "expected"), [("2025-10", OCT_25), (" 2025-10 ", OCT_25), ("2025-1", date(2025, 1, 1))]
)
def test_strict_month_takes_yyyy_mm(text, expected):
    assert p.strict_month(text) == expected


@pytest.mark.parametrize("text", ["2025-13", "2025-0", "Oct 2025", "01OCT2025", "2025/10", "25-10", "2025-10-01", ""])
def test_strict_month_refuses_every_other_form(text):
    with pytest.raises(p.PeriodError, match="YYYY-MM"):
        p.strict_month(text)


def test_parse_months_takes_lists_commas_and_ranges():
    got = p.parse_months(["2025-08", "2025-10,2025-09", "2025-11:2026-01", "2025-08"])
    assert [p.month_key(m) for m in got] == ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01"]
    with pytest.raises(p.PeriodError, match="or a range"):
        p.parse_months(["2025-08:Oct"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mapping_Aug_25.csv", date(2025, 8, 1)),
        ("Practice_Level_Crosstab_Oct_25.zip", OCT_25),
        ("Practice_Level_Crosstab_Sept_25.zip", date(2025, 9, 1)),  # the publisher has written Sept
        ("Practice_Level_Crosstab_London_East_South_Oct_25.csv", OCT_25),
        ("Practice_Level_Crosstab_Aug_25_NewBankOnly.csv", date(2025, 8, 1)),
        ("Practice_Level_Crosstab_Oct_25.zip:Mapping.csv", OCT_25),
        ("epraccur_2025-05.csv", date(2025, 5, 1)),
        ("gp-reg-pat-prac-all_2025-10-01.csv", OCT_25),
        ("GPW_Practice_Level_2025-10.csv", OCT_25),
        ("Cloud Based Telephony Publication Summary October 2025_v2.xlsx", OCT_25),
        ("Submissions via OC Systems in General Practice - April 2025.xlsx", date(2025, 4, 1)),
        ("workforce_october-2025.csv", OCT_25),
    ],
)
def test_month_from_filename_reads_published_names(name, expected):
    assert p.month_from_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Mapping.csv",
        "Practice_Level_Crosstab.csv",
        "Marketing_2025.csv",  # "Mar" starts the word, but the word is no month
        "Summary_Xyz_25.csv",
        "report_2025-13.csv",
        "file_12025-10.csv",  # 2025-10 inside a longer number
        "GPPS_2023_practice.csv",  # a year, not a month
    ],
)
def test_month_from_filename_refuses_names_without_a_month(name):
    assert p.month_from_filename(name) is None


@pytest.mark.parametrize(
    ("word", "number"), [("Oct", 10), ("oct", 10), ("Sept", 9), ("September", 9), ("MAY", 5), ("Octo", 10)]
)
def test_month_number_reads_names_and_abbreviations(word, number):
    assert p.month_number(word) == number


@pytest.mark.parametrize("word", ["Ma", "Mayor", "Marketing", "Septembre", "", "Ju"])
def test_month_number_refuses_other_words(word):
    assert p.month_number(word) is None


def test_year_from_filename():
    assert p.year_from_filename("GPPS_2023_practice.csv") == 2023
    assert p.year_from_filename("fingertips_93553_imd2019_gp.csv") == 2019
    assert p.year_from_filename("GPPS_practice.csv") is None
    assert p.year_from_filename("code_120231.csv") is None  # inside a longer number


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (date(2025, 4, 1), "2025-26"),
        (date(2026, 3, 1), "2025-26"),
        (date(2025, 3, 1), "2024-25"),
        (date(2099, 12, 1), "2099-00"),
    ],
)
def test_financial_year_runs_april_to_march(month, expected):
    assert p.financial_year(month) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nhs_payments_to_general_practice_2022-23.csv.gz", "2022-23"),
        ("payments_2021_22.csv", "2021-22"),
        ("payments_202223.csv", "2022-23"),
        ("payments_2022/23.csv", "2022-23"),
    ],
)
def test_financial_year_from_filename_reads_published_names(name, expected):
    assert p.financial_year_from_filename(name) == expected


@pytest.mark.parametrize("name", ["payments_2022-24.csv", "payments_2022.csv", "payments.csv", "x_12022-23.csv"])
def test_financial_year_from_filename_refuses_other_names(name):
    assert p.financial_year_from_filename(name) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-10", "2025-10"),
        ("01OCT2025", "2025-10"),
        ("Oct 2025", "2025-10"),
        ("2019", "2019"),  # an IMD year stays a year
        ("2022-23", "2022-23"),  # a financial year is not a month
        ("QHM", "QHM"),  # an ICB's local data
        ("all", "all"),  # a lookup
    ],
)
def test_period_option_keeps_periods_that_are_not_months(value, expected):
    assert p.period_option(value) == expected


def test_month_arithmetic_labels_and_windows():
    assert p.month_key(date(2025, 1, 31)) == "2025-01"
    assert p.shift_month(date(2025, 1, 1), -1) == date(2024, 12, 1)
    assert p.shift_month(date(2025, 11, 1), 14) == date(2027, 1, 1)
    assert p.month_range(date(2025, 11, 15), date(2026, 1, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert p.month_label([]) == "no months"
    assert p.month_label([OCT_25]) == "Oct 2025"
    assert p.month_label([OCT_25, date(2025, 8, 1)]) == "Aug 2025 – Oct 2025"
    stored = [date(2019, 9, 1), date(2019, 10, 1), date(2025, 9, 1), OCT_25]
    assert p.latest_consecutive(stored, 3) == [date(2025, 9, 1), OCT_25]  # never jumps back to 2019
    assert p.latest_consecutive([], 3) == []


@pytest.mark.parametrize("year", ["0000", "0001", "2019", "2025", "9999"])
@pytest.mark.parametrize("month", ["00", "01", "09", "10", "12", "13", "99"])
def test_a_store_key_reads_as_the_year_month_format_does(year, month):
    text = f"{year}-{month}"
    try:
        expected = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        expected = None
    assert p.parse_month(text) == expected
