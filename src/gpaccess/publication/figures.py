"""The data behind each chart, assembled from the measures layer: what is drawn and what `--data` writes.

Kept apart from the chart builders so the CLI, the ICB report and (later) the web application draw the same
numbers, and so a chart's CSV is exactly the points and lines on it.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from gpaccess.measures.definitions import Measure
from gpaccess.measures.service import MeasureSession, SeriesBatch
from gpaccess.publication.charts.funnel import FUNNEL_POINT_COLUMNS, FunnelMeta, funnel_chart
from gpaccess.publication.charts.spc import SpcMeta, spc_chart
from gpaccess.statistics.spc import xmr_rows

FUNNEL_DATA_EXTRA = (
    "observed_share",
    "expected_share",
    "z",
    "position95",
    "position998",
    "shrunk_share",
    "shrunk_lower",
    "shrunk_upper",
)
SPC_DIRECTION = {"none": "neutral", "higher": "increase", "lower": "decrease"}
ADJUSTMENT_TEXT = {
    "additive": "additive overdispersion (random effects, Spiegelhalter 2005)",
    "multiplicative": "multiplicative overdispersion (Spiegelhalter 2005)",
    "none": "no overdispersion adjustment",
}


@dataclass(frozen=True)
class Figure:
    chart: alt.TopLevelMixin
    data: pd.DataFrame


def funnel_figure(
    session: MeasureSession,
    measure_name: str,
    icb_code: str,
    highlight: tuple[str, ...] = (),
    leave_off: tuple[str, ...] = (),
) -> Figure:
    """The ICB's practices against limits computed nationally (every practice in the store for the window).
    `highlight` outlines and numbers some practices (1, 2, ... in code order); `leave_off` (e.g. practices
    excluded for data quality) are not drawn, and the chart says how many were left off."""
    comparison = session.comparison(measure_name)
    m = comparison.measure
    practices = session.icb_practices(icb_code)[["practice_code", "practice_name"]]
    dropped = practices.practice_code.isin(set(leave_off))
    practices = practices[~dropped]
    points = practices.merge(comparison.table, on="practice_code", how="left")
    points["position"] = points["position95"].where(points["position998"] != "below", "below").fillna("no data")
    points.loc[points["position998"] == "above", "position"] = "above"
    curves = pd.DataFrame(comparison.curves.__dict__)
    ratio = comparison.kind == "ratio"
    meta = FunnelMeta(
        title=(f"{m.title}: observed ÷ expected for its appointment mix" if ratio else m.title),
        measure_name=m.title,  # the reader's name for it: the charts' wording says it
        y_label="Observed ÷ expected" if ratio else m.title,
        x_label="Expected face-to-face appointments (for its appointment mix)"
        if ratio
        else "Appointments (denominator)",
        target=comparison.target,
        value_format="ratio" if ratio else "percent",
        definition=m.definition
        + (
            ". Expected share by indirect standardisation on HCP type × national category × booking band."
            if ratio
            else ""
        ),
        window=session.label,
        adjustment=ADJUSTMENT_TEXT[comparison.adjustment],
        direction=m.direction,
        icb_code=icb_code,
        icb_name=str(session.icb_practices(icb_code).icb_name.iloc[0] or icb_code),
        highlight_codes=tuple(highlight),
        left_off=int(dropped.sum()),
    )
    # What is drawn (the chart's data contract), then what it means for each practice as the user guide lists
    # it: observed and expected share, z, where it sits against each limit, and the shrunk share with its
    # interval. This is the ICB's own confidential view of its practices, in practice-code order; no rank.
    extra = [c for c in FUNNEL_DATA_EXTRA if c in points.columns and c not in FUNNEL_POINT_COLUMNS]
    drawn = points[[*FUNNEL_POINT_COLUMNS, *extra]]
    data = drawn.assign(measure=m.name, window=session.label, definition=m.definition).sort_values("practice_code")
    return Figure(funnel_chart(points, curves, meta), data.reset_index(drop=True))


def spc_figure(session: MeasureSession, practice_code: str, measure_name: str, *, plain: bool = False) -> Figure:
    table = spc_points(session, practice_code, measure_name, plain=plain)
    return Figure(spc_chart(table.points, table.meta), table.data)


def spc_svg_figure(
    session: MeasureSession, practice_code: str, measure_name: str, *, plain: bool = False, footnote: bool = False
) -> SpcFigure:
    """The same chart drawn straight to SVG (`charts/spc_svg.py`: a millisecond to draw), with its table; `plain`
    and `footnote` for a report (its footnote in plain English under the chart)."""
    from gpaccess.publication.charts.spc_svg import spc_svg

    table = spc_points(session, practice_code, measure_name, plain=plain)
    key = ("spc-svg", practice_code, measure_name, plain, footnote)  # the same image for every viewer
    return SpcFigure(session.memo(key, lambda: spc_svg(table.columns, table.meta, footnote=footnote)), table)


def spc_points(session: MeasureSession, practice_code: str, measure_name: str, *, plain: bool = False) -> SpcTable:
    """The chart's points with their limits and signals, and its meta (once per session: a web page shows the
    table and its image request draws the chart from the same points). Callers never modify them."""
    key = ("spc", practice_code, measure_name, plain)
    return session.memo(key, lambda: _spc_points(session, practice_code, measure_name, plain=plain))


class SpcTable:
    """One practice's XmR points of one measure as column arrays, in time order (`columns`), and the chart's
    meta. The data frames are built only when a caller asks: a server shows most practices' tables once, and
    two frame constructors cost it more than the XmR calculation itself."""

    def __init__(self, columns: dict[str, np.ndarray], meta: SpcMeta, measure: Measure) -> None:
        self.columns = columns
        self.meta = meta
        self._measure = measure

    def __len__(self) -> int:
        return len(self.columns["value"])

    @cached_property
    def points(self) -> pd.DataFrame:
        """What the chart draws: month, value, limits, signals."""
        return pd.DataFrame(self.columns)

    @cached_property
    def data(self) -> pd.DataFrame:
        """The chart's data as `--data` and the API write it: the points with practice, measure and definition."""
        n = len(self)
        m = self._measure
        extra = {"practice_code": [self.meta.practice_code] * n, "measure": [m.name] * n}
        extra["definition"] = [m.definition] * n
        return pd.DataFrame(self.columns | extra)

    def rows(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The points as dicts of `names` for a page's table, a missing value as None and the month as
        "Nov 2023" (as the chart labels it), without building a frame."""
        cells: list[list[Any]] = []
        for name in names:
            values = self.columns[name]
            if name == "month":
                months = values.astype("datetime64[M]").astype("int64")  # months since 1970-01
                cells.append([f"{calendar.month_abbr[m % 12 + 1]} {1970 + m // 12}" for m in months.tolist()])
            elif values.dtype.kind == "f":
                cells.append([None if v != v else v for v in values.tolist()])
            else:
                cells.append(values.tolist())
        return [dict(zip(names, row, strict=True)) for row in zip(*cells, strict=True)]


@dataclass(frozen=True)
class SpcFigure:
    """An SPC chart drawn to SVG (None when only its table was asked for) with its table."""

    chart: str | None
    table: SpcTable

    @property
    def data(self) -> pd.DataFrame:
        return self.table.data


def _spc_points(session: MeasureSession, practice_code: str, measure_name: str, *, plain: bool) -> SpcTable:
    m = session.measure(measure_name)
    batch, i = session.series_batch(practice_code, measure_name)
    points = _batch_spc(batch, m)
    entry = session.practice_fields(practice_code)
    meta = SpcMeta(
        title=f"{m.title}, month by month",
        practice_code=practice_code,
        practice_name=str(entry["practice_name"]) if entry is not None else practice_code,
        measure_name=m.title,  # the reader's name for it: the charts' wording says it
        y_label=m.title,
        value_format="number" if m.kind == "rate_per_1000" else "percent",
        definition=m.definition,
        improvement_direction=SPC_DIRECTION[m.direction],  # type: ignore[arg-type]
        plain=plain,
    )
    return SpcTable(points.columns(i), meta, m)


def warm_spc(session: MeasureSession, measure_names: tuple[str, ...]) -> None:
    """Every practice's SPC points of these measures, computed now over the series the session has read (a
    server, as it computes a store generation's measures) rather than by the first page that shows one."""
    for name in measure_names:
        m = session.measure(name)
        for batch in session.series_batches(name):
            _batch_spc(batch, m)


def _batch_spc(batch: SeriesBatch, m: Measure) -> BatchSpc:
    return batch.derive(("spc", m.direction), lambda: BatchSpc.of(batch, SPC_DIRECTION[m.direction]))


@dataclass(frozen=True)
class BatchSpc:
    """The XmR points of every practice in a batch of series, computed together (`statistics.spc.xmr_rows`):
    each practice's months with a value, their latest consecutive run (an XmR chart joins points as neighbours,
    so a gap must not be drawn as if the months followed each other), charted as `xmr` charts it alone.
    Practices whose runs span the same months are one block of rows; most of a store's share one."""

    series: dict[str, np.ndarray]  # the batch's columns (month, numerator, denominator, value), rows as stored
    months: int
    run: np.ndarray  # each practice's run as (first, last) row within its own months; last < 0: no value
    blocks: dict[tuple[int, int], tuple[np.ndarray, dict[str, np.ndarray]]]  # run -> (practices, their points)
    place: np.ndarray  # each practice's row within its block

    @classmethod
    def of(cls, batch: SeriesBatch, direction: str) -> BatchSpc:
        frame, n = batch.frame, batch.months
        series = {c: frame[c].to_numpy() for c in frame.columns}
        values = frame["value"].to_numpy(dtype=float, na_value=np.nan).reshape(-1, n)
        month = pd.to_datetime(series["month"][:n]).to_numpy().astype("datetime64[M]").astype("int64")
        valid = ~np.isnan(values)
        # A run starts at a month with a value whose previous stored month has none or is not the month before.
        follows = np.concatenate([[False], np.diff(month) == 1])
        starts = valid & ~np.concatenate([np.zeros((len(values), 1), dtype=bool), valid[:, :-1]], axis=1)
        starts |= valid & ~follows
        columns = np.arange(n)
        last = np.where(valid.any(axis=1), n - 1 - np.argmax(valid[:, ::-1], axis=1), -1)
        first = np.maximum.accumulate(np.where(starts, columns, 0), axis=1)[np.arange(len(values)), np.maximum(last, 0)]
        run = np.stack([first, last], axis=1)
        blocks: dict[tuple[int, int], tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        place = np.zeros(len(values), dtype=int)
        for a, b in {(int(a), int(b)) for a, b in run if b >= 0}:
            rows = np.flatnonzero((run[:, 0] == a) & (run[:, 1] == b))
            place[rows] = np.arange(len(rows))
            blocks[(a, b)] = (rows, _chart_columns(xmr_rows(values[rows, a : b + 1], improvement_direction=direction)))  # type: ignore[arg-type]
        return cls(series, n, run, blocks, place)

    def columns(self, i: int) -> dict[str, np.ndarray]:
        """Practice i's chart columns: its months and counts, then its points' limits and signals."""
        a, b = (int(x) for x in self.run[i])
        if b < 0:
            raise ValueError("values must be a non-empty 1-D series")  # as `xmr` says of a series with no value
        rows = slice(i * self.months + a, i * self.months + b + 1)
        _, points = self.blocks[(a, b)]
        k = self.place[i]
        return {c: v[rows] for c, v in self.series.items()} | {c: v[k] for c, v in points.items()}


def _chart_columns(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The chart's columns from `xmr_rows`: limits, the 2σ lines, and for each point its variation (the point
    type, which says improvement or concern for a measure with a direction) and the rule that flagged it."""
    special = p["special_cause"]
    kind = p["point_type"]
    improvement, concern = np.char.find(kind, "improvement") >= 0, np.char.find(kind, "concern") >= 0
    cause = np.select([~special, improvement, concern], ["", "improvement", "concern"], "neither")
    outside, close = p["outside_limits"], p["close_to_limits"]
    rule = np.select(
        [outside, special & close, special], ["outside limits", "2 of 3 beyond 2σ", "run or trend of 7"], ""
    )
    out = {
        "mean": p["mean"],
        "lower": p["lower_limit"],
        "upper": p["upper_limit"],
        "lower_2s": p["lower_two_sigma"],
        "upper_2s": p["upper_two_sigma"],
        "segment": np.zeros(p["value"].shape, dtype=np.intp),
        "trial": p["trial_limits"],
        "special_cause": cause.astype(object),
        "rule": rule.astype(object),
    }
    for values in out.values():  # shared by every reader of the batch: read-only
        values.setflags(write=False)
    return out


def latest_consecutive(series: pd.DataFrame) -> pd.DataFrame:
    """The latest run of consecutive months: an XmR chart joins points as neighbours, so a gap (e.g. 2019
    baseline months stored beside recent ones) must not be drawn as if the months followed each other."""
    if not len(series):
        return series
    return series.iloc[_latest_run_start(pd.to_datetime(series["month"]).to_numpy()) :].reset_index(drop=True)


def _latest_run_start(months: np.ndarray) -> int:
    """Where the latest run of consecutive calendar months begins in `months` (datetimes in time order)."""
    index = months.astype("datetime64[M]").astype("int64")
    gaps = np.flatnonzero(np.diff(index) != 1)  # the last row before each gap
    return int(gaps[-1]) + 1 if len(gaps) else 0
