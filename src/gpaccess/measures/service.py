"""The measures layer's front door: windows, per-ICB tables, comparisons and monthly series from the store.

Callers (the CLI, the cohort, reports) ask here; the heavy aggregation runs in the engine once per window and
only practice-level rows come back into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from gpaccess.errors import NotFoundError, UserError
from gpaccess.measures.compute import pooled, practice_month_counts, with_baseline, with_list_size
from gpaccess.measures.definitions import DEFAULT_F2F, Measure, get_measure, load_measures
from gpaccess.measures.fair import Comparison, compare
from gpaccess.measures.practices import practice_directory
from gpaccess.statistics.funnel import Adjustment
from gpaccess.storage.snapshot import Snapshot

APPOINTMENTS = "gpad_appointments"
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def month_label(months: list[date]) -> str:
    def one(m: date) -> str:
        return f"{MONTH_NAMES[m.month - 1]} {m.year}"

    if not months:
        return "no months"
    first, last = min(months), max(months)
    return one(first) if first == last else f"{one(first)} – {one(last)}"


def parse_months(values: list[str]) -> list[date]:
    """`2025-08` values, or one range `2025-08:2025-10`."""
    out: list[date] = []
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if ":" in part:
                a, b = (_month(x) for x in part.split(":", 1))
                m = a
                while m <= b:
                    out.append(m)
                    m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
            elif part:
                out.append(_month(part))
    return sorted(set(out))


def _shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def _month(text: str) -> date:
    try:
        y, m = text.strip().split("-")[:2]
        return date(int(y), int(m), 1)
    except ValueError:
        raise UserError(f"month {text!r}: expected YYYY-MM, e.g. 2025-10 (or a range 2025-08:2025-10)") from None


@dataclass
class MeasureSettings:
    f2f_definition: str = DEFAULT_F2F
    baseline_year: int = 2019
    window_months: int = 3
    adjustment: Adjustment = "additive"


@dataclass
class MeasureSession:
    """One window's measures for every practice in the store, computed once and reused by every caller."""

    snapshot: Snapshot
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    months: list[date] = field(default_factory=list)
    _counts: object = None
    _values: pd.DataFrame | None = None
    _directory: pd.DataFrame | None = None
    _comparisons: dict[str, Comparison] = field(default_factory=dict)

    def __post_init__(self) -> None:
        available = [_month(p) for p in self.snapshot.periods(APPOINTMENTS)] if self.snapshot.has(APPOINTMENTS) else []
        if not available:
            raise NotFoundError("the store holds no GPAD appointments yet: run `gpaccess ingest` (or `gpaccess demo`)")
        if not self.months:
            # The latest stored month and the consecutive stored months before it, up to the window length: a
            # window never jumps a gap (e.g. from recent months back to the 2019 baseline months).
            window = [available[-1]]
            while len(window) < self.settings.window_months and _shift(window[0], -1) in available:
                window.insert(0, _shift(window[0], -1))
            self.months = window
        missing = [m for m in self.months if m not in available]
        if missing:
            raise NotFoundError(
                f"no GPAD appointments stored for {', '.join(f'{m:%Y-%m}' for m in missing)}; "
                f"the store holds {available[0]:%Y-%m} to {available[-1]:%Y-%m}"
            )

    @property
    def measures(self) -> dict[str, Measure]:
        return load_measures(self.settings.f2f_definition)

    @property
    def label(self) -> str:
        return month_label(self.months)

    def measure(self, name: str) -> Measure:
        return get_measure(name, self.settings.f2f_definition)

    def appointments(self, months: list[date] | None = None):
        keys = [f"{m:%Y-%m}" for m in (months or self.months)]
        return self.snapshot.table(APPOINTMENTS, periods=keys)

    def counts(self):
        """Practice-month counts for the window and its baseline months (one engine scan)."""
        if self._counts is None:
            base_year = self.settings.baseline_year
            wanted = sorted(set(self.months) | {date(base_year, m.month, 1) for m in self.months})
            stored = set(self.snapshot.periods(APPOINTMENTS))
            months = [m for m in wanted if f"{m:%Y-%m}" in stored]
            regs = self.snapshot.table("registrations") if self.snapshot.has("registrations") else None
            counts = practice_month_counts(self.appointments(months), self.measures.values())
            self._counts = with_list_size(counts, regs).cache()
        return self._counts

    def values(self) -> pd.DataFrame:
        """Every practice's pooled measures over the window, with numerators and denominators."""
        if self._values is None:
            counts = self.counts()
            window = pooled(counts, self.months, self.measures.values())
            window = with_baseline(window, counts, self.months, self.settings.baseline_year, self.measures.values())
            self._values = window.to_pandas().sort_values("practice_code").reset_index(drop=True)
        return self._values

    def directory(self) -> pd.DataFrame:
        if self._directory is None:
            self._directory = practice_directory(self.snapshot, self.months)
        return self._directory

    def icb_practices(self, icb_code: str) -> pd.DataFrame:
        d = self.directory()
        found = d[d.icb_code == icb_code]
        if found.empty:
            known = ", ".join(sorted(d.icb_code.dropna().unique())[:12])
            raise NotFoundError(
                f"no practices of ICB {icb_code!r} in {self.label}; ICB codes in the store: {known or 'none'}"
                " (ICBs come from Mapping.csv: ingest the month's zip with its mapping)"
            )
        return found

    def icb_table(self, icb_code: str) -> pd.DataFrame:
        """One row per practice of the ICB, in practice-code order (never sorted by a measure)."""
        practices = self.icb_practices(icb_code)
        table = practices.merge(self.values(), on="practice_code", how="left")
        return table.sort_values("practice_code").reset_index(drop=True)

    def comparison(self, name: str) -> Comparison:
        if name not in self._comparisons:
            m = self.measure(name)
            if m.kind != "share":
                raise UserError(f"{name} is not a share: funnel plots compare shares (e.g. f2f_gp, dna_rate)")
            try:
                self._comparisons[name] = compare(
                    self.appointments(), self.values(), m, self.months, self.settings.adjustment
                )
            except ValueError as exc:  # e.g. every practice at 0% or 100%: no funnel can be drawn
                raise UserError(f"cannot compare practices on {name} over {self.label}: {exc}") from exc
        return self._comparisons[name]

    def series(self, practice_code: str, name: str) -> pd.DataFrame:
        """Monthly values of a measure for one practice over every stored month (for SPC)."""
        from gpaccess.measures.compute import monthly_series

        m = self.measure(name)
        all_months = [_month(p) for p in self.snapshot.periods(APPOINTMENTS)]
        regs = self.snapshot.table("registrations") if self.snapshot.has("registrations") else None
        appts = self.snapshot.table(APPOINTMENTS)
        appts = appts.filter(appts.practice_code == practice_code)
        counts = with_list_size(practice_month_counts(appts, [m]), regs)
        out = monthly_series(counts, m, practice_code).to_pandas()
        if out.empty:
            raise NotFoundError(f"practice {practice_code!r} has no GPAD appointments in the store")
        # Months the practice is missing from are gaps, not zeros.
        frame = pd.DataFrame({"month": pd.to_datetime(all_months)})
        out["month"] = pd.to_datetime(out["month"])
        return frame.merge(out, on="month", how="left")


def icb_summary(session: MeasureSession) -> pd.DataFrame:
    """Per ICB over the window: practices with appointments in the crosstab, appointments, and the GP and
    all-staff face-to-face shares (pooled over the ICB's practices), in ICB-code order."""
    table = session.directory().merge(session.values(), on="practice_code", how="inner")
    table = table[table.appointments > 0]
    grouped = table.groupby(["icb_code", "icb_name"], dropna=False)
    out = grouped.agg(
        practices=("practice_code", "nunique"),
        appointments=("appointments", "sum"),
        f2f_gp__num=("f2f_gp__num", "sum"),
        f2f_gp__den=("f2f_gp__den", "sum"),
        f2f_all__num=("f2f_all__num", "sum"),
        f2f_all__den=("f2f_all__den", "sum"),
    ).reset_index()
    out["f2f_gp"] = out.f2f_gp__num / out.f2f_gp__den
    out["f2f_all"] = out.f2f_all__num / out.f2f_all__den
    out["window"] = session.label
    cols = ["icb_code", "icb_name", "window", "practices", "appointments", "f2f_gp", "f2f_all"]
    return out[cols].sort_values("icb_code").reset_index(drop=True)
