"""Small numbers in outward figures (DESIGN "National and public"): one pure module, named constants.

- Public publication: a practice with fewer than `MIN_APPOINTMENTS` appointments in the window shows
  `TOO_FEW_APPOINTMENTS` instead of each share (and no interval), so a share of a handful of appointments is
  never published.
- National and regional figures: no figure describes fewer than `MIN_PRACTICES` practices (it shows
  `TOO_FEW_PRACTICES`), and counts of practices are rounded to the nearest `ROUND_PRACTICES_TO`.
"""

from __future__ import annotations

import math

MIN_APPOINTMENTS = 100
TOO_FEW_APPOINTMENTS = "too few appointments"
MIN_PRACTICES = 5
ROUND_PRACTICES_TO = 5
TOO_FEW_PRACTICES = "fewer than 5 practices"


def enough_appointments(appointments: float | None) -> bool:
    """True when a practice's shares may be published (at least `MIN_APPOINTMENTS` in the window)."""
    return appointments is not None and not math.isnan(appointments) and appointments >= MIN_APPOINTMENTS


def round_practices(count: int) -> int:
    """A count of practices rounded to the nearest 5 (halves up: 12 → 10, 13 → 15)."""
    if count < 0:
        raise ValueError("a count of practices cannot be negative")
    return math.floor(count / ROUND_PRACTICES_TO + 0.5) * ROUND_PRACTICES_TO


def practices_figure(count: int) -> int | str:
    """What a national figure shows for `count` practices: the rounded count, or `TOO_FEW_PRACTICES`."""
    return TOO_FEW_PRACTICES if count < MIN_PRACTICES else round_practices(count)
