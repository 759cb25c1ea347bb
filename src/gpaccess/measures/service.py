"""The measures layer's front door: windows, per-ICB tables, comparisons and monthly series from one snapshot.

Callers (services, the cohort, reports) ask here; the heavy aggregation runs in the engine once per window over
the practice-month aggregate, and only practice-level rows come back into Python.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from gpaccess.errors import NotFoundError, UserError
from gpaccess.ingest.aggregate import PUBLICATION as AGGREGATE
from gpaccess.measures.definitions import DEFAULT_F2F, Measure, get_measure, load_measures
from gpaccess.measures.inputs import DERIVED_FORMAT, code_digest, measure_inputs
from gpaccess.measures.memo import Memo
from gpaccess.measures.practices import open_status, practice_directory, sub_icb_placements, unrecorded_practices
from gpaccess.measures.quality import ExclusionSettings, quality_flags
from gpaccess.statistics.funnel import Adjustment
from gpaccess.storage.derived import digest
from gpaccess.storage.periods import latest_consecutive, month_key, month_label, parse_month, require_month
from gpaccess.storage.snapshot import Snapshot

if TYPE_CHECKING:  # the engine's expressions load when something is computed: kept frames need none of them
    from gpaccess.measures.fair import Comparison

APPOINTMENTS = "gpad_appointments"


class StoreNeedsUpgradeError(UserError):
    """The store predates the practice-month aggregate for some months: `gpaccess store upgrade` builds it."""

    exit_code = 10


@dataclass(frozen=True)
class MeasureSettings:
    f2f_definition: str = DEFAULT_F2F
    baseline_year: int = 2019
    window_months: int = 3
    adjustment: Adjustment = "additive"
    system_adjustment: bool = True  # face-to-face: allow for each clinical system's recording of mode
    quality: ExclusionSettings = field(default_factory=ExclusionSettings)


T = TypeVar("T")
MEMO_ENTRIES = 6_000  # e.g. the three SPC charts of a practice page for 2,000 practices (about 100 MB)


@dataclass
class MeasureSession:
    """One window's measures for every practice in one snapshot, computed once and reused by every caller."""

    snapshot: Snapshot
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    months: list[date] = field(default_factory=list)
    _counts: object = None
    _values: pd.DataFrame | None = None
    _directory: pd.DataFrame | None = None
    _comparisons: dict[str, Comparison] = field(default_factory=dict)
    _baselines: dict[str, pd.DataFrame] = field(default_factory=dict)
    _open: pd.DataFrame | None = None
    _unrecorded: pd.DataFrame | None = None
    _quality: dict[ExclusionSettings, pd.DataFrame] = field(default_factory=dict)
    # (practice, measure) -> the batch holding its series and its place in it; None: no appointments
    _series: dict[tuple[str, str], tuple[SeriesBatch, int] | None] = field(default_factory=dict)
    _some_values: dict[frozenset[str], pd.DataFrame] = field(default_factory=dict)
    _memo: Memo = field(default_factory=lambda: Memo(MEMO_ENTRIES))

    def __post_init__(self) -> None:
        stored = self.snapshot.periods(APPOINTMENTS)
        # Measures read the aggregate alone: a month built from a lake table (`ingest/lake.py`) has no
        # appointment rows in the store, and counts as stored.
        built = self.snapshot.periods(AGGREGATE)
        available = [d for d in (parse_month(p) for p in sorted(set(stored) | set(built))) if d is not None]
        if not available:
            raise NotFoundError("the store holds no GPAD appointments yet: run `gpaccess ingest` (or `gpaccess demo`)")
        missing_aggregate = sorted(set(stored) - set(built))
        if missing_aggregate:
            raise StoreNeedsUpgradeError(
                f"the store has no practice-month aggregate for {', '.join(missing_aggregate[:6])}"
                + (" ..." if len(missing_aggregate) > 6 else "")
                + " (it was built by an earlier gpaccess): run `gpaccess store upgrade` once"
            )
        if not self.months:
            self.months = latest_consecutive(available, self.settings.window_months)
        missing = [m for m in self.months if m not in available]
        if missing:
            raise NotFoundError(
                f"no GPAD appointments stored for {', '.join(month_key(m) for m in missing)}; "
                f"the store holds {month_key(min(available))} to {month_key(max(available))}"
            )

    @property
    def measures(self) -> dict[str, Measure]:
        return load_measures(self.settings.f2f_definition)

    @property
    def label(self) -> str:
        return month_label(self.months)

    def measure(self, name: str) -> Measure:
        return get_measure(name, self.settings.f2f_definition)

    def aggregate(self, months: list[date] | None = None):
        """The practice-month aggregate for the window (or the given months)."""
        return self.snapshot.table(AGGREGATE, periods=[month_key(m) for m in (months or self.months)])

    def _registrations(self):
        return self.snapshot.table("registrations") if self.snapshot.has("registrations") else None

    def _counts_for(self, practice_codes: list[str] | None):
        """Practice-month counts for the window and its baseline months (one engine scan), for every practice
        or only some (a practice's measures depend on its own rows alone)."""
        from gpaccess.measures.compute import practice_month_counts, with_list_size

        base_year = self.settings.baseline_year
        wanted = sorted(set(self.months) | {date(base_year, m.month, 1) for m in self.months})
        stored = set(self.snapshot.periods(AGGREGATE))
        agg = self.aggregate([m for m in wanted if month_key(m) in stored])
        regs = self._registrations()
        if practice_codes is not None:
            agg = agg.filter(agg.practice_code.isin(practice_codes))
            regs = regs.filter(regs.practice_code.isin(practice_codes)) if regs is not None else None
        return with_list_size(practice_month_counts(agg, self.measures.values()), regs)

    def counts(self):
        """Every practice's practice-month counts for the window and its baseline months."""
        if self._counts is None:
            self._counts = self._counts_for(None).cache()
        return self._counts

    def _pool(self, counts) -> pd.DataFrame:
        from gpaccess.measures.compute import pooled, with_baseline

        window = pooled(counts, self.months, self.measures.values())
        window = with_baseline(window, counts, self.months, self.settings.baseline_year, self.measures.values())
        return window.to_pandas().sort_values("practice_code").reset_index(drop=True)

    def values(self) -> pd.DataFrame:
        """Every practice's pooled measures over the window, with numerators and denominators."""
        if self._values is None:
            self._values = self._derived("values", lambda: self._pool(self.counts()))
        return self._values

    def values_for(self, practice_codes: list[str]) -> pd.DataFrame:
        """The same measures for some practices only: read from `values()` when every practice's are already
        computed, otherwise computed for these practices alone (an ICB's table need not scan the country)."""
        if self._values is None:
            self._values = self._kept("values")  # every practice's, when a process has kept them
        if self._values is not None:
            return self._values[self._values.practice_code.isin(practice_codes)].reset_index(drop=True)
        key = frozenset(practice_codes)
        if key not in self._some_values:
            self._some_values[key] = self._pool(self._counts_for(sorted(key)).cache())
        return self._some_values[key]

    def quality(self, cfg: ExclusionSettings | None = None, practice_codes: list[str] | None = None) -> pd.DataFrame:
        """Data-quality flags for the window (measures/quality.py): every practice's, computed once per setting,
        or some practices' only (an ICB's cohort need not flag the country). The cohort's exclusions and the
        funnel's marks read the same flags."""
        cfg = cfg or self.settings.quality
        kind = f"quality:{cfg!r}"
        if practice_codes is not None and cfg not in self._quality:
            kept = self._kept(kind)  # every practice's flags, when a process has kept them
            if kept is None:
                table = pd.DataFrame({"practice_code": sorted(practice_codes)})
                table = table.merge(self.values_for(list(practice_codes)), on="practice_code", how="left")
                return quality_flags(self._with_open_status(table), len(self.months), cfg)
            self._quality[cfg] = kept
        if cfg not in self._quality:
            self._quality[cfg] = self._derived(kind, lambda: self._quality_flags(cfg))
        flags = self._quality[cfg]
        return flags if practice_codes is None else flags[flags.practice_code.isin(practice_codes)]

    def _quality_flags(self, cfg: ExclusionSettings) -> pd.DataFrame:
        table = self.directory()[["practice_code"]].merge(self.values(), on="practice_code", how="outer")
        return quality_flags(self._with_open_status(table), len(self.months), cfg)

    def _with_open_status(self, table: pd.DataFrame) -> pd.DataFrame:
        """ "Open throughout the window" from ODS open and close dates where an extract is loaded (context data);
        the flags fall back to presence in the GPAD months for practices it does not list."""
        if self._open is None:
            self._open = open_status(self.snapshot, self.months)
        return table.merge(self._open, on="practice_code", how="left")

    def directory(self) -> pd.DataFrame:
        if self._directory is None:
            self._directory = self._derived(
                "directory", lambda: practice_directory(self.snapshot, self.months, self._placements())
            )
        return self._directory

    def _placements(self) -> pd.DataFrame:
        """Each sub-ICB location's ICB and region, as the mappings up to the window's last month place it: read
        once for the directory and for the practices without appointments."""
        return self.memo(("placements",), lambda: sub_icb_placements(self.snapshot, max(self.months)))

    def _unrecorded_practices(self) -> pd.DataFrame:
        if self._unrecorded is None:
            self._unrecorded = self._derived(
                "unrecorded",
                lambda: unrecorded_practices(self.snapshot, self.months, self.directory(), self._placements()),
            )
        return self._unrecorded

    def icb_practices(self, icb_code: str) -> pd.DataFrame:
        """Every practice of the ICB: those with appointments in the window, and those the last month's
        Mapping.csv or list sizes place in it without any (so a cohort can list them as exclusions and an
        override can name them)."""
        d = self.directory()
        found = d[d.icb_code == icb_code]
        if not found.empty:
            unrecorded = self._unrecorded_practices()
            extra = unrecorded[unrecorded.icb_code == icb_code]
            if not extra.empty:
                found = pd.concat([found, extra], ignore_index=True).sort_values("practice_code")
        if found.empty:
            known = ", ".join(sorted(d.icb_code.dropna().unique()))
            raise NotFoundError(
                f"no practices of ICB {icb_code!r} in {self.label}; ICB codes in the store: {known or 'none'}"
                " (names and practice counts: `gpaccess icbs`; ICBs come from Mapping.csv: ingest the month's"
                " zip with its mapping)"
            )
        return found

    def icb_table(self, icb_code: str) -> pd.DataFrame:
        """One row per practice of the ICB, in practice-code order (never sorted by a measure). Joined once per
        session (a server's dashboard asks for it on every view), and a copy each time: callers add columns."""
        return self.memo(("icb-table", icb_code), lambda: self._icb_table(icb_code)).copy()

    def _icb_table(self, icb_code: str) -> pd.DataFrame:
        practices = self.icb_practices(icb_code)
        table = practices.merge(self.values_for(list(practices.practice_code)), on="practice_code", how="left")
        return table.sort_values("practice_code").reset_index(drop=True)

    def comparison(self, name: str) -> Comparison:
        from gpaccess.measures.fair import compare

        if name not in self._comparisons:
            m = self.measure(name)
            if m.kind != "share":
                raise UserError(f"{name} is not a share: funnel plots compare shares (e.g. f2f_gp, dna_rate)")
            flags = self.quality()
            systems = self.directory().set_index("practice_code").supplier if self.settings.system_adjustment else None
            try:
                self._comparisons[name] = compare(
                    self.aggregate(),
                    self.values,
                    m,
                    self.months,
                    self.settings.adjustment,
                    flagged=set(flags.practice_code[~flags.reference]),
                    systems=systems,
                )
            except ValueError as exc:  # e.g. every practice at 0% or 100%: no funnel can be drawn
                raise UserError(f"cannot compare practices on {name} over {self.label}: {exc}") from exc
        return self._comparisons[name]

    def baseline_comparison(self, target: float = 1.0) -> pd.DataFrame:
        """Every practice's appointments against its own baseline year, judged against the spread of every
        reference practice in the store (`fair.baseline_comparison`); empty of figures without baseline months."""
        from gpaccess.measures.fair import baseline_comparison

        key = f"baseline:{target}"
        if key not in self._baselines:
            flags = self.quality()
            self._baselines[key] = baseline_comparison(
                self.values(),
                target=target,
                flagged=set(flags.practice_code[~flags.reference]),
                adjustment=self.settings.adjustment,
            )
        return self._baselines[key]

    def warm(self, series: tuple[str, ...] = ()) -> None:
        """Compute what a server's requests read, once per store generation: the directory, every practice's
        window measures and data-quality flags (with ODS open status), the practices placed in an ICB without
        appointments, and the monthly series of `series` for every practice (one query per measure)."""
        self.directory()
        self.values()
        self.quality()
        self._unrecorded_practices()
        for name in series:
            self.prefetch_series(None, name)

    def sharing(self, other: MeasureSession) -> MeasureSession:
        """This session reading `other`'s computed frames, and adding to the same caches: sessions of one store
        generation on different threads (each with its own engine connection) compute each thing once between
        them. Only plain data frames and fitted comparisons are shared, never an engine expression."""
        same_inputs = other.snapshot.generation == self.snapshot.generation or measure_inputs(
            other.snapshot
        ) == measure_inputs(self.snapshot)
        if not same_inputs or (other.months, other.settings) != (self.months, self.settings):
            raise ValueError("sessions share computed measures only over the same inputs, window and settings")
        self._directory, self._values = other._directory, other._values
        self._open, self._unrecorded = other._open, other._unrecorded
        self._comparisons, self._baselines, self._quality = other._comparisons, other._baselines, other._quality
        self._series, self._some_values, self._memo = other._series, other._some_values, other._memo
        return self

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per session and the sessions sharing it (the least recently used of many are
        forgotten): derived per-practice results such as an SPC chart's points, which a page and then its chart
        image both read."""
        return self._memo.get(key, compute)

    def _derived_key(self, kind: str) -> dict[str, Any]:
        """What a derived frame depends on: the releases measures read, the window, the settings and the code,
        and the engine that computed it (the engines agree, and tests/spec proves it; a Spark reader never
        answering from DuckDB's frames keeps that proof, and the CLI comparison of the two, meaningful)."""
        inputs = self.memo(("inputs-digest",), lambda: digest(measure_inputs(self.snapshot)))
        return {
            "kind": kind,
            "format": DERIVED_FORMAT,
            "code": code_digest(),
            "months": [month_key(m) for m in self.months],
            "settings": repr(self.settings),
            "inputs": inputs,
            "engine": self.snapshot.engine,
        }

    def _derived(self, kind: str, derive: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A frame every practice's session derives alike, read from the store's derived frames when a process
        (an ingest, another command, a server) has kept it for these inputs, else derived here and kept."""
        return self.snapshot.warehouse.derived.get(self._derived_key(kind), derive)

    def _kept(self, kind: str) -> pd.DataFrame | None:
        return self.snapshot.warehouse.derived.read(self._derived_key(kind))

    def keep(self, series: tuple[str, ...] = ()) -> None:
        """Derive and keep on disk what every later session of these inputs starts from (run after an ingest
        and by `gpaccess store upgrade`): the directory, every practice's window measures and data-quality
        flags, the practices placed without appointments, and every practice's monthly `series`."""
        self.warm(series)

    def practice_entry(self, practice_code: str) -> pd.DataFrame:
        """The practice's directory row as a frame (no rows when the window has no appointments for it)."""
        directory = self.directory()
        i = self._directory_index().get(practice_code)
        return directory.iloc[0:0] if i is None else directory.iloc[i : i + 1]

    def practice_fields(self, practice_code: str) -> Mapping[str, Any] | None:
        """The practice's directory entry as a read-only mapping (None when the window has no appointments for
        it): what a page or a chart reads of it (ICB, name), without slicing a frame per request."""
        records = self.memo(("directory-records",), lambda: self.directory().to_dict("records"))
        i = self._directory_index().get(practice_code)
        return None if i is None else MappingProxyType(records[i])

    def _directory_index(self) -> dict[str, int]:
        directory = self.directory()
        return self.memo(
            ("directory-index",),
            lambda: dict(zip(directory.practice_code, range(len(directory)), strict=True)),
        )

    def practice_row(self, practice_code: str) -> pd.Series | None:
        """The practice's directory entry with its window measures (None when it has no appointments)."""
        if practice_code not in self._directory_index():
            return None
        if self._values is None:
            found = self.practice_entry(practice_code).merge(self.values_for([practice_code]), on="practice_code")
            return None if found.empty else found.iloc[0]
        columns, rows, where = self.memo(("directory-values",), self._joined_rows)
        i = where.get(practice_code)
        return None if i is None else pd.Series(rows[i], index=columns, name=0, dtype=object)

    def _joined_rows(self) -> tuple[pd.Index, np.ndarray, dict[str, int]]:
        """Every practice's directory entry joined to its window measures once per session, as plain rows: a
        merge, or even a row slice of the wide joined frame, per page cost a server more than the rest of a
        practice's lookups together."""
        joined = self.directory().merge(self.values(), on="practice_code")
        where = dict(zip(joined.practice_code, range(len(joined)), strict=True))
        return joined.columns, joined.to_numpy(dtype=object), where

    def prefetch_series(self, practice_codes: list[str] | None, name: str) -> None:
        """Read many practices' monthly series of one measure in one batched query (a report's SPC charts), or
        (`None`) every practice's in one scan with no list of codes to compile (a server), each laid on every
        stored month (gaps as missing) once, here."""
        from gpaccess.measures.compute import monthly_series, practice_month_counts, with_list_size

        every = practice_codes is None
        codes = list(self.directory().practice_code) if practice_codes is None else practice_codes
        wanted = [c for c in dict.fromkeys(codes) if (c, name) not in self._series]
        if not wanted:
            return

        def read(some: list[str] | None) -> pd.DataFrame:
            m = self.measure(name)
            agg = self.snapshot.table(AGGREGATE)
            if some is not None:
                agg = agg.filter(agg.practice_code.isin(some))
            counts = with_list_size(practice_month_counts(agg, [m]), self._registrations())
            out = monthly_series(counts, m).to_pandas()
            out["month"] = pd.to_datetime(out["month"])
            return out

        # Every practice's series is a derived frame like the window's measures (an ingest keeps the ones a
        # server's pages chart), so a server process starting or refreshing reads it instead of scanning.
        frame = self._derived(f"series:{name}", lambda: read(None)) if every else read(wanted)
        months = pd.to_datetime(sorted(require_month(p) for p in self.snapshot.periods(AGGREGATE)))
        present = set(frame.practice_code.unique().tolist())
        grid = pd.MultiIndex.from_product([wanted, months], names=["practice_code", "month"])
        full = frame.set_index(["practice_code", "month"]).reindex(grid).reset_index()
        batch = SeriesBatch(full[["month", "numerator", "denominator", "value"]], len(months))
        for i, code in enumerate(wanted):  # where in one frame: sliced when asked for (`series`)
            self._series[(code, name)] = (batch, i) if code in present else None

    def monthly_table(self, practice_codes: list[str], names: list[str]) -> pd.DataFrame:
        """Some practices' monthly values of several measures over the window, long (one row per practice,
        measure and month: numerator, denominator, value), in practice-code, measure and month order."""
        from gpaccess.measures.compute import monthly_series, practice_month_counts, with_list_size

        measures = [self.measure(n) for n in names]
        agg = self.aggregate()
        agg = agg.filter(agg.practice_code.isin(list(practice_codes)))
        regs = self._registrations()
        if regs is not None:
            regs = regs.filter(regs.practice_code.isin(list(practice_codes)))
        counts = with_list_size(practice_month_counts(agg, measures), regs).cache()
        frames = [monthly_series(counts, m).to_pandas().assign(measure=m.name) for m in measures]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if out.empty:
            return pd.DataFrame(columns=["practice_code", "measure", "month", "numerator", "denominator", "value"])
        out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
        cols = ["practice_code", "measure", "month", "numerator", "denominator", "value"]
        return out[cols].sort_values(["practice_code", "measure", "month"]).reset_index(drop=True)

    def series(self, practice_code: str, name: str) -> pd.DataFrame:
        """Monthly values of a measure for one practice over every stored month (for SPC); months the practice
        is missing from are gaps, not zeros."""
        batch, i = self.series_batch(practice_code, name)
        n = batch.months
        return batch.frame.iloc[i * n : (i + 1) * n].reset_index(drop=True)  # its own frame, indexed from 0

    def series_batches(self, name: str) -> list[SeriesBatch]:
        """The batches holding the series of a measure read so far (one, once every practice's are read)."""
        found = {id(v[0]): v[0] for (_, n), v in list(self._series.items()) if n == name and v is not None}
        return list(found.values())

    def series_batch(self, practice_code: str, name: str) -> tuple[SeriesBatch, int]:
        """The batch holding the practice's monthly series of a measure, and its row in the batch: what is
        computed for every practice of a batch at once (SPC points) starts from here."""
        self.prefetch_series([practice_code], name)
        found = self._series[(practice_code, name)]
        if found is None:
            raise NotFoundError(f"practice {practice_code!r} has no GPAD appointments in the store")
        return found


@dataclass(eq=False)
class SeriesBatch:
    """Some practices' monthly series of one measure read together, each over every stored month (a month
    without appointments is missing): practice i's are rows i × months to (i + 1) × months of `frame`. What is
    derived from the whole batch at once (every practice's SPC points) is kept with it, in `derived`."""

    frame: pd.DataFrame
    months: int
    derived: dict[Hashable, Any] = field(default_factory=dict)

    def derive(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once for the batch (two threads may both compute it; either answer is the same)."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]


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
