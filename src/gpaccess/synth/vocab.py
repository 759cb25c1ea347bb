"""The published vocabularies and layouts the synthetic files copy (domain.md B1, B3-B6, C1).

Spellings are exactly as published, including the double spaces in three booking bands and the practice-level
file's `Unknown / Data Issue`.
"""

from __future__ import annotations

import datetime as dt

CROSSTAB_COLUMNS = (
    "APPOINTMENT_MONTH_START_DATE",
    "GP_CODE",
    "GP_NAME",
    "SUPPLIER",
    "PCN_CODE",
    "PCN_NAME",
    "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "HCP_TYPE",
    "APPT_MODE",
    "NATIONAL_CATEGORY",
    "TIME_BETWEEN_BOOK_AND_APPT",
    "COUNT_OF_APPOINTMENTS",
    "APPT_STATUS",
)
MAPPING_COLUMNS = (
    "GP_CODE",
    "GP_NAME",
    "SUPPLIER",
    "PCN_CODE",
    "PCN_NAME",
    "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "ICB_CODE",
    "ICB_NAME",
    "REGION_CODE",
    "REGION_NAME",
)
REGISTRATION_COLUMNS = (
    "PUBLICATION",
    "EXTRACT_DATE",
    "TYPE",
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "CODE",
    "POSTCODE",
    "SEX",
    "AGE",
    "NUMBER_OF_PATIENTS",
)

HCP_TYPES = ("GP", "Other Practice staff", "Unknown")
APPT_MODES = ("Face-to-Face", "Home Visit", "Telephone", "Video Conference/Online", "Unknown")
APPT_STATUSES = ("Attended", "DNA", "Unknown")
NATIONAL_CATEGORIES = (
    "General Consultation Routine",
    "General Consultation Acute",
    "Clinical Triage",
    "Planned Clinics",
    "Planned Clinical Procedure",
    "Unplanned Clinical Activity",
    "Walk-in",
    "Home Visit",
    "Care Home Visit",
    "Care Home Needs Assessment & Personalised Care and Support Planning",
    "Patient contact during Care Home Round",
    "Structured Medication Review",
    "Social Prescribing Service",
    "Service provided by organisation external to the practice",
    "Non-contractual chargeable work",
    "Group Consultation and Group Education",
    "Care Related Encounter but does not fit into any other category",
    "Unmapped",
    "Inconsistent Mapping",
)
BOOKING_BANDS = (
    "Same Day",
    "1 Day",
    "2 to 7 Days",
    "8  to 14 Days",
    "15  to 21 Days",
    "22  to 28 Days",
    "More than 28 Days",
    "Unknown / Data Issue",
)

# The three parts of a month split by region, as in the publisher's Oct 2025 zip (domain.md B1).
REGIONAL_PARTS = {
    "London_East_South": ("Y56", "Y58", "Y59", "Y61"),
    "Midlands": ("Y60",),
    "North_East": ("Y62", "Y63"),
}

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def parse_month(month: str) -> tuple[int, int]:
    """'2025-10' -> (2025, 10); refuses anything else."""
    try:
        d = dt.datetime.strptime(month, "%Y-%m")
    except ValueError as exc:
        raise ValueError(f"month must look like YYYY-MM, got {month!r}") from exc
    return d.year, d.month


def month_index(month: str) -> int:
    """Months since January 2019 (negative before it)."""
    y, m = parse_month(month)
    return (y - 2019) * 12 + (m - 1)


def month_from_index(t: int) -> str:
    y, m = divmod(t, 12)
    return f"{2019 + y:04d}-{m + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    a, b = month_index(first), month_index(last)
    if b < a:
        raise ValueError(f"{last} is before {first}")
    return [month_from_index(t) for t in range(a, b + 1)]


def crosstab_date(month: str) -> str:
    """'2025-10' -> '01OCT2025' (the crosstab's APPOINTMENT_MONTH_START_DATE)."""
    y, m = parse_month(month)
    return f"01{_MONTHS[m - 1]}{y:04d}"


def file_tag(month: str) -> str:
    """'2025-10' -> 'Oct_25' (as in Practice_Level_Crosstab_Oct_25.zip)."""
    y, m = parse_month(month)
    return f"{_MONTHS[m - 1].title()}_{y % 100:02d}"
