"""What a cohort run stood on, in words: the report, the console and the return's notes all say it the same way.

Which criteria were assessed (and for how many practices) and which not, and why; the window used against the
configured one (a one-month window is called out); the national reference the expected shares come from (how
many practices, which regions: a store holding part of England says so, since "expected" is then not
England's); the data months and the releases behind them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from gpaccess.cohort.criteria import LABELS, TITLES
from gpaccess.cohort.select import Cohort
from gpaccess.measures.service import AGGREGATE, APPOINTMENTS, MeasureSession
from gpaccess.publication.assessment import CriterionStatus, statuses
from gpaccess.storage.periods import month_key, month_label

ENGLAND_REGIONS = 7  # NHS England's regions since 2020 (domain.md B1)


@dataclass(frozen=True)
class CriterionBasis:
    name: str
    title: str
    assessed: int  # eligible practices the criterion could be judged for
    met: int
    not_assessed: int
    why_not: str | None  # the commonest reason given where it could not be judged

    @property
    def status(self) -> str:
        if self.assessed == 0:
            return "not assessed"
        return "assessed" if self.not_assessed == 0 else "partly assessed"

    def sentence(self) -> str:
        if self.assessed == 0:
            return f"{self.title}: not assessed — {self.why_not or 'no data'}"
        text = f"{self.title}: assessed for {self.assessed:,} eligible practices, met by {self.met:,}"
        if self.not_assessed:
            text += f"; not assessed for {self.not_assessed:,}: {self.why_not or 'no data'}"
        return text


@dataclass(frozen=True)
class RunBasis:
    criteria: list[CriterionBasis]
    window: str
    months: list[str]
    configured_months: int
    reference_practices: int
    reference_regions: list[str]
    partial_england: bool
    releases: dict[str, list[str]]  # publication -> the releases behind its months in the window
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain-English lines, warnings first (the report's "what this run stood on" and the console's)."""
        used = len(self.months)
        window = f"Window: {self.window} ({used} month{'s' if used != 1 else ''}; configured: {self.configured_months})"
        regions = ", ".join(self.reference_regions) or "none recorded"
        reference = (
            f"Reference: expected shares come from {self.reference_practices:,} practices in "
            f"{len(self.reference_regions)} region{'s' if len(self.reference_regions) != 1 else ''} ({regions})"
        )
        releases = "; ".join(f"{pub}: {', '.join(r)}" for pub, r in self.releases.items()) or "none"
        return [
            *self.warnings,
            window,
            reference,
            *(c.sentence() for c in self.criteria),
            f"Data months: {', '.join(self.months)}; releases: {releases}",
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "criteria": [
                {
                    "name": c.name,
                    "title": c.title,
                    "status": c.status,
                    "assessed_practices": c.assessed,
                    "met": c.met,
                    "not_assessed_practices": c.not_assessed,
                    "why_not_assessed": c.why_not,
                }
                for c in self.criteria
            ],
            "window": self.window,
            "months": self.months,
            "configured_window_months": self.configured_months,
            "reference_practices": self.reference_practices,
            "reference_regions": self.reference_regions,
            "reference_is_part_of_england": self.partial_england,
            "releases": self.releases,
            "warnings": self.warnings,
        }


def _why_not(reasons: pd.Series) -> str | None:
    texts = [str(t).removeprefix("not assessed: ") for t in reasons]
    return Counter(texts).most_common(1)[0][0] if texts else None


def criteria_basis(cohort: Cohort) -> list[CriterionBasis]:
    members = cohort.members
    eligible = members[~members.excluded]
    out = []
    for name in cohort.settings.criteria.enabled:
        title = TITLES.get(name, name)
        status = statuses(eligible, name)
        unjudged = eligible[status == str(CriterionStatus.NOT_ASSESSED)]
        # A reason starts with the criterion's title when met and its label otherwise (cohort.select).
        prefixes = tuple(f"{t}: " for t in (title, LABELS.get(name, title)))
        reasons = pd.Series(
            [next((r.split(": ", 1)[1] for r in rs if r.startswith(prefixes)), "") for rs in unjudged.reasons],
            dtype=object,
        )
        out.append(
            CriterionBasis(
                name=name,
                title=title,
                assessed=int((status != str(CriterionStatus.NOT_ASSESSED)).sum()),
                met=int((status == str(CriterionStatus.MET)).sum()),
                not_assessed=len(unjudged),
                why_not=_why_not(reasons[reasons != ""]),
            )
        )
    return out


def reference_population(session: MeasureSession, measure: str = "f2f_gp") -> tuple[int, list[str]]:
    """How many practices the national comparison was fitted on, and their regions (names, sorted)."""
    table = session.comparison(measure).table
    if "in_reference" in table.columns:
        table = table[table["in_reference"].astype(bool)]
    codes = set(table.practice_code)
    d = session.directory()
    d = d[d.practice_code.isin(codes)]
    names = d.region_name.where(d.region_name.notna(), d.region_code).dropna()
    return len(codes), sorted({_region_title(str(n)) for n in names if str(n).strip()})


def _region_title(name: str) -> str:
    """ "NORTH EAST AND YORKSHIRE" → "North East and Yorkshire" (names come in capitals from Mapping.csv)."""
    words = name.strip().split()
    if not any(w.isupper() and len(w) > 1 for w in words):
        return name.strip()
    small = {"of", "and", "the"}
    return " ".join(w.lower() if w.lower() in small and i else w.capitalize() for i, w in enumerate(words))


def run_basis(session: MeasureSession, cohort: Cohort) -> RunBasis:
    """What the run stood on (see the module's docstring)."""
    n_ref, regions = reference_population(session)
    months = [month_key(m) for m in session.months]
    configured = session.settings.window_months
    versions = session.snapshot.versions()
    releases = {}
    for pub in (APPOINTMENTS, AGGREGATE, "registrations", "local_indicators"):
        periods = versions.get(pub, {})
        wanted = [cohort.icb_code] if pub == "local_indicators" else months
        used = sorted({periods[p] for p in wanted if p in periods})
        if pub == "registrations" and not used and periods:
            used = sorted(set(periods.values()))[-1:]
        if used:
            releases[pub] = used
    warnings = []
    if len(months) == 1:
        warnings.append(
            f"One month only ({month_label(session.months)}): a single month's shares are noisier and can reflect "
            "a holiday or a recording change; read this cohort as provisional"
        )
    elif len(months) < configured:
        warnings.append(f"The window has {len(months)} months, fewer than the {configured} configured")
    partial = len(regions) < ENGLAND_REGIONS
    if partial:
        warnings.append(
            f"The store holds part of England ({len(regions)} of {ENGLAND_REGIONS} regions): 'expected' means "
            "expected among these practices, not England's"
        )
    criteria = criteria_basis(cohort)
    skipped = [c.title for c in criteria if c.assessed == 0]
    if skipped:
        warnings.append(f"Not assessed in this run: {'; '.join(skipped)}")
    return RunBasis(criteria, session.label, months, configured, n_ref, regions, partial, releases, warnings)
