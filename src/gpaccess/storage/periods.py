"""Months and periods: the one home for reading, writing and stepping through them.

Published files spell months many ways (`01OCT2025`, `MAR2019`, `2025-10-01`, `Oct 2025`, an Excel date);
file names carry them too (`Mapping_Aug_25.csv`, `... October 2025_v2.xlsx`); the store keys monthly periods
as `YYYY-MM`, yearly ones as `2019`, financial years as `2022-23`, and an ICB's local data by its code; an
ICB's local indicators come by year, financial year (`2025/26`), quarter (`2025-Q3`), month or day
(`normalise_period`). Everything that turns one into another lives here, so every layer reads a month the same
way.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from gpaccess.errors import UserError

MONTH_ABBREVIATIONS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_FULL_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
EXCEL_EPOCH = date(1899, 12, 30)

# Month forms seen in GPAD, list-size and context files, tried in this order.
_MONTH_KEY = re.compile(r"(\d{4})-(\d{2})")
_MONTH_FORMATS = ("%d%b%Y", "%b%Y", "%Y-%m-%d", "%Y-%m", "%Y%m%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%b %Y", "%B %Y")


class PeriodError(UserError, ValueError):
    """A text that should name a month or period does not; the message says what was expected."""


def month_key(d: date) -> str:
    """The store's key of a monthly period: `2025-10`."""
    return f"{d.year:04d}-{d.month:02d}"


def first_of_month(d: date | datetime) -> date:
    return (d.date() if isinstance(d, datetime) else d).replace(day=1)


def parse_month(raw: object) -> date | None:
    """The month a published cell or option names, or None: 01OCT2025 (a day: its month), MAR2019,
    2025-10-01, 2025-10, 20251001, 01/10/2025, Oct 2025, October 2025, an Excel date or serial number."""
    if isinstance(raw, datetime | date):
        return first_of_month(raw)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if 20000 < raw < 80000:  # an Excel serial day (45748 = 2025-04-01)
            return first_of_month(EXCEL_EPOCH + timedelta(days=int(raw)))
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", str(raw)).strip()
    key = _MONTH_KEY.fullmatch(text)  # the store's own key, read on every request: no trial of each format
    if key and int(key[1]) >= 1 and 1 <= int(key[2]) <= 12:
        return date(int(key[1]), int(key[2]), 1)
    for fmt in _MONTH_FORMATS:
        try:
            parsed = datetime.strptime(text.title() if "%b" in fmt or "%B" in fmt else text.upper(), fmt)
        except ValueError:
            continue
        return first_of_month(parsed)
    return None


def require_month(raw: str | date, what: str = "month") -> date:
    """A month the user typed or a caller passed (`2025-10`, any form `parse_month` reads, or a date); a clear
    error otherwise."""
    parsed = parse_month(raw)
    if parsed is None:
        raise PeriodError(f"{what} {raw!r}: expected a month as YYYY-MM, e.g. 2025-10")
    return parsed


def shift_month(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, both included."""
    out, m = [], first_of_month(first)
    while m <= last:
        out.append(m)
        m = shift_month(m, 1)
    return out


def parse_months(values: Iterable[str]) -> list[date]:
    """Months as the CLI takes them: `2025-08` values (repeated or comma-separated) or a range `2025-08:2025-10`."""
    out: list[date] = []
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if ":" in part:
                a, b = (strict_month(x, also="or a range 2025-08:2025-10") for x in part.split(":", 1))
                out += month_range(a, b)
            elif part:
                out.append(strict_month(part, also="or a range 2025-08:2025-10"))
    return sorted(set(out))


_STRICT = re.compile(r"\s*(\d{4})-(\d{1,2})\s*")


def strict_month(text: str, *, also: str = "") -> date:
    """Exactly `YYYY-MM` (a month as a command takes it: `2025-10`, `2025-1`); anything else, including other
    forms `parse_month` would read, is a PeriodError naming the form expected."""
    m = _STRICT.fullmatch(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        extra = f" ({also})" if also else ""
        raise PeriodError(f"month {text!r}: expected a month as YYYY-MM, e.g. 2025-10{extra}")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_label(months: Iterable[date]) -> str:
    """`Aug 2025 – Oct 2025` (a window), `Oct 2025` (one month), or `no months`."""
    months = list(months)
    if not months:
        return "no months"
    first, last = min(months), max(months)
    one = f"{MONTH_NAMES[first.month - 1]} {first.year}"
    return one if first == last else f"{one} – {MONTH_NAMES[last.month - 1]} {last.year}"


def latest_consecutive(available: Iterable[date], length: int) -> list[date]:
    """The latest month and the consecutive months before it, up to `length`: a window never jumps a gap
    (e.g. from recent months back to 2019 baseline months)."""
    stored = sorted(set(available))
    if not stored:
        return []
    window = [stored[-1]]
    present = set(stored)
    while len(window) < length and shift_month(window[0], -1) in present:
        window.insert(0, shift_month(window[0], -1))
    return window


_NAME_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>20\d\d)-(?P<m>0[1-9]|1[0-2])(?!\d)"),
    re.compile(r"_(?P<word>[A-Za-z]{3,9})_(?P<yy>\d{2})(?:\D|$)"),
    re.compile(r"(?P<word>[A-Za-z]{3,9})[ _-]+(?P<y>20\d\d)(?!\d)"),
)


def month_number(word: str) -> int | None:
    """1-12 for a month's name or an abbreviation of it (`Oct`, `Sept`, `October`), else None (`Marketing`)."""
    w = word.casefold()
    if len(w) < 3:
        return None
    return next((i for i, full in enumerate(MONTH_FULL_NAMES, 1) if full.startswith(w)), None)


def month_from_filename(name: str) -> date | None:
    """The month a file's name says, or None: `Mapping_Aug_25.csv`, `Practice_Level_Crosstab_Sept_25.zip`,
    `epraccur_2025-05.csv`, `gp-reg-pat-prac-all_2025-10-01.csv`, `... October 2025_v2.xlsx`.

    Only a fall-back: a file whose content says its month is stored under that month whatever its name says."""
    for pattern in _NAME_PATTERNS:
        for m in pattern.finditer(name):
            g = m.groupdict()
            if g.get("m"):
                return date(int(g["y"]), int(g["m"]), 1)
            number = month_number(g["word"])
            if number is not None:
                year = int(g["y"]) if g.get("y") else 2000 + int(g["yy"])
                return date(year, number, 1)
    return None


def year_from_filename(name: str) -> int | None:
    """The first year 2000-2099 a name holds on its own (`GPPS_2023_practice.csv` → 2023), or None."""
    m = re.search(r"(?<!\d)(20\d\d)(?!\d)", name)
    return int(m.group(1)) if m else None


def financial_year(month: date) -> str:
    """The NHS financial year (April to March) a month falls in, as the store keys it: `2025-26`."""
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def financial_year_from_filename(name: str) -> str | None:
    """`..._2022-23.csv`, `2022_23`, `202223` → `2022-23` (the second year must follow the first)."""
    m = re.search(r"(?<!\d)(20\d\d)[-_/]?(\d\d)(?!\d)", name)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        return None
    return f"{m.group(1)}-{m.group(2)}"


def period_option(value: str) -> str:
    """A stored period as the user named it: a month in any form `parse_month` reads becomes `YYYY-MM`; a
    period that is not a month (an IMD year `2019`, a financial year `2022-23`, an ICB code for local data,
    `all` for a lookup) is kept as given."""
    text = value.strip()
    if re.fullmatch(r"\d{4}", text):  # a year, not a month
        return text
    parsed = parse_month(text)
    return month_key(parsed) if parsed is not None else text


# -- local indicators' periods: years, financial years, quarters, months and days --------------------------------------
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_NAMED_MONTH = re.compile(r"^([a-z]+)[\s\-]+(\d{4})$")
_FIN_YEAR = re.compile(r"^(\d{4})/(\d{2})$")
_QUARTER = re.compile(r"^(?:(\d{4})[\s\-]?q([1-4])|q([1-4])[\s\-]?(\d{4}))$")
_STORED_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def _ok_year(y: int) -> bool:
    return 1990 <= y <= 2100


def normalise_period(raw: object) -> str | None:
    """A period as one canonical string, or None when it cannot be read.

    `2025` (a year), `2025/26` (a financial year, April to March), `2025-Q3` (a calendar quarter), `2025-10`
    (a month; also `Oct 2025`, `October 2025`), `2025-10-01` (a day; also `01/10/2025` and spreadsheet dates).
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, datetime | date):
        return f"{raw:%Y-%m-%d}"
    if isinstance(raw, numbers.Real):  # int, float and NumPy's scalars (registered as numbers.Real)
        number = float(raw)
        if not math.isfinite(number) or number != int(number):
            return None
        raw = str(int(number))
    text = str(raw).strip().lower()
    if m := _YEAR.match(text):
        return text if _ok_year(int(m[1])) else None
    if m := _MONTH.match(text):
        return _month(int(m[1]), int(m[2]))
    if m := _NAMED_MONTH.match(text):
        return _named_month(m[1], int(m[2]))
    if m := _ISO_DATE.match(text):
        return _day(int(m[1]), int(m[2]), int(m[3]))
    if m := _UK_DATE.match(text):
        return _day(int(m[3]), int(m[2]), int(m[1]))
    if m := _FIN_YEAR.match(text):
        y = int(m[1])
        return f"{y}/{m[2]}" if _ok_year(y) and int(m[2]) == (y + 1) % 100 else None
    if m := _QUARTER.match(text):
        y, q = (int(m[1]), int(m[2])) if m[1] else (int(m[4]), int(m[3]))
        return f"{y}-Q{q}" if _ok_year(y) else None
    return None


def _month(y: int, m: int) -> str | None:
    return month_key(date(y, m, 1)) if _ok_year(y) and 1 <= m <= 12 else None


def _named_month(name: str, y: int) -> str | None:
    """`Oct 2025`, `October 2025`: the month's name as `parse_month` reads it, plus `Sept`, the one spelling
    spreadsheets write that it does not."""
    parsed = parse_month(f"{'sep' if name == 'sept' else name} {y}")
    return month_key(parsed) if parsed is not None and _ok_year(y) else None


def _day(y: int, m: int, d: int) -> str | None:
    try:
        return f"{date(y, m, d):%Y-%m-%d}" if _ok_year(y) else None
    except ValueError:
        return None


def period_end(period: str) -> date:
    """The last day a normalised period covers: how periods of one indicator are put in order."""
    if _YEAR.match(period):
        return date(int(period), 12, 31)
    if m := _FIN_YEAR.match(period):
        return date(int(m[1]) + 1, 3, 31)
    if m := _STORED_QUARTER.match(period):
        return _last_day(int(m[1]), int(m[2]) * 3)
    if m := _MONTH.match(period):
        return _last_day(int(m[1]), int(m[2]))
    return date.fromisoformat(period)


def period_months(period: str) -> int:
    """How many months a normalised period covers: 12 for a year or financial year, 3 for a quarter, 1 for a
    month (and for a day, read as that day's month)."""
    if _YEAR.match(period) or _FIN_YEAR.match(period):
        return 12
    if _STORED_QUARTER.match(period):
        return 3
    return 1


def monthly_rate(value: float, period: str) -> float:
    """A rate indicator's figure for `period` as a rate per 1,000 patients a month."""
    return value / period_months(period)


def _last_day(y: int, m: int) -> date:
    return shift_month(date(y, m, 1), 1) - timedelta(days=1)
