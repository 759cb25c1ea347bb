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
from gpaccess.measures.service import MeasureSession
from gpaccess.publication.charts.funnel import FUNNEL_POINT_COLUMNS, FunnelMeta, funnel_chart
from gpaccess.publication.charts.spc import SpcMeta, spc_chart
from gpaccess.statistics.spc import xmr

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
    series = session.series(practice_code, measure_name)
    # The months with a value, then their latest consecutive run, on plain arrays (`latest_consecutive` and
    # `dropna` do the same on frames; a server draws these per page).
    value = series["value"].to_numpy(dtype=float, na_value=np.nan)
    keep = np.flatnonzero(~np.isnan(value))
    keep = keep[_latest_run_start(series["month"].to_numpy()[keep]) :]
    columns: dict[str, Any] = {c: series[c].to_numpy()[keep] for c in series.columns}
    result = xmr(columns["value"].astype(float), improvement_direction=SPC_DIRECTION[m.direction])  # type: ignore[arg-type]
    p = result.points
    columns |= {
        "mean": p.mean,
        "lower": p.lower_limit,
        "upper": p.upper_limit,
        "lower_2s": p.lower_two_sigma,
        "upper_2s": p.upper_two_sigma,
        "segment": p.segment,
        "trial": p.trial_limits,
        # The point type, not the rule label: it says improvement or concern for a measure with a direction.
        "special_cause": np.array(
            [_cause(t, s) for t, s in zip(p.point_type, p.special_cause, strict=True)], dtype=object
        ),
        "rule": np.array(_rules(result), dtype=object),
    }
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
    return SpcTable(columns, meta, m)


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


def _cause(kind: str, special: bool) -> str:
    if not special:
        return ""
    text = str(kind).lower()
    if "improvement" in text:
        return "improvement"
    if "concern" in text:
        return "concern"
    return "neither"


def _rules(result) -> list[str]:
    p = result.points
    out = []
    for i in range(len(p.value)):
        if p.outside_limits[i]:
            out.append("outside limits")
        elif p.special_cause[i] and p.close_to_limits[i]:
            out.append("2 of 3 beyond 2σ")
        elif p.special_cause[i]:
            out.append("run or trend of 7")
        else:
            out.append("")
    return out
