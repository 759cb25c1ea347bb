"""Making Data Count SPC charts: a practice's monthly series as an XmR chart, values, mean and limits.

A pure function: the points (with their limits, segments and special causes, from `statistics/spc.py`) and a
small frozen `SpcMeta` in, an Altair chart out (`charts/common.py` saves it). Points keep time order. Every
chart names its limits and rules; trial limits (fewer than 12 points) are drawn and named apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from gpaccess.publication.charts.common import (
    AXIS_FORMATS,
    FORMATS,
    INK,
    MUTED,
    WIDTH,
    InlineData,
    ValueFormat,
    check_choice,
    check_wording,
    configure,
    footnote,
    format_value,
    json_number,
    plain_text,
    require_columns,
    wrap,
)

ImprovementDirection = Literal["increase", "decrease", "neutral"]

SPC_COLUMNS = ("month", "value", "mean", "lower", "upper", "segment", "trial", "special_cause", "rule")

_SPC_HEIGHT = 300

# --- SPC: Making Data Count colours (NHSRplotthedots' palette) --------------------------------------------
_MDC_GREY = "#7B7D7D"
_SIGNALS = {
    "": ("Common cause", _MDC_GREY),
    "improvement": ("Special cause: improvement", "#289DE0"),
    "concern": ("Special cause: concern", "#FAB428"),
    "neither": ("Special cause: neither improvement nor concern", "#361475"),
}
_PROCESS_LIMITS, _TRIAL_LIMITS = "Process limits", "Trial limits (fewer than 12 points)"


@dataclass(frozen=True)
class SpcMeta:
    """What a practice's XmR (Making Data Count) chart shows."""

    title: str
    practice_code: str
    practice_name: str
    measure_name: str
    y_label: str
    value_format: ValueFormat
    definition: str
    improvement_direction: ImprovementDirection
    target: float | None = None
    plain: bool = False  # True: the footnote in plain English (a board report); the formulas go to its appendix

    def __post_init__(self) -> None:
        check_choice("value_format", self.value_format, ("percent", "ratio", "number"))
        check_choice("improvement_direction", self.improvement_direction, ("increase", "decrease", "neutral"))
        if self.target is not None and not math.isfinite(self.target):
            raise ValueError(f"target must be a finite number or None; got {self.target}")
        check_wording(title=self.title, measure_name=self.measure_name, y_label=self.y_label)


def spc_chart(points: pd.DataFrame, meta: SpcMeta) -> alt.LayerChart:
    """A practice's monthly series as a Making Data Count XmR chart: values, mean, process limits per segment.

    Grey points are common-cause variation; blue special-cause improvement, orange concern, purple special
    cause on a measure with no preferred direction. Limits resting on fewer than 12 points are trial limits,
    drawn with a finer dash and named in the subtitle.
    """
    require_columns("points", points, SPC_COLUMNS)
    records = _spc_records(points, meta)
    data = InlineData()
    value_fmt = FORMATS[meta.value_format]
    domain_keys = ["", "neither"] if meta.improvement_direction == "neutral" else ["", "improvement", "concern"]
    step = 1 if len(records) <= 12 else 2 if len(records) <= 24 else 3 if len(records) <= 48 else 6
    x = alt.X(
        "month:T",
        timeUnit="utcyearmonth",
        title=None,
        scale=alt.Scale(padding=14),
        axis=alt.Axis(
            format="%b %Y",
            labelAngle=0,
            labelOverlap="greedy",
            labelFlush=False,
            grid=False,
            tickCount={"interval": "month", "step": step},
        ),
    )
    values = [r["value"] for r in records if r.get("value") is not None]
    narrow = meta.value_format == "percent" and values and max(values) - min(values) < 0.08
    y_axis = alt.Axis(format=".1%" if narrow else AXIS_FORMATS[meta.value_format])
    y = alt.Y("value:Q", title=meta.y_label, scale=alt.Scale(zero=False), axis=y_axis)

    limit_rows = [
        {"month": r["month"], "segment": r["segment"], "side": side, "limit": r[side], "style": r["limit_style"]}
        for r in records
        for side in ("lower", "upper")
        if r[side] is not None
    ]
    limits = (
        alt.Chart(data("limits", limit_rows))
        .mark_line(color=_MDC_GREY, strokeWidth=1.3)
        .encode(
            x=x,
            y=alt.Y("limit:Q", title=meta.y_label),
            detail=["segment:O", "side:N"],
            strokeDash=alt.StrokeDash(
                "style:N",
                scale=alt.Scale(domain=[_PROCESS_LIMITS, _TRIAL_LIMITS], range=[[7, 4], [2, 3]]),
                legend=alt.Legend(
                    title="Limits", orient="bottom", direction="vertical", symbolStrokeColor=_MDC_GREY, symbolSize=400
                ),
            ),
        )
    )
    mean = (
        alt.Chart(data("months", records))
        .mark_line(color=INK, strokeWidth=1.4)
        .encode(x=x, y=alt.Y("mean:Q", title=meta.y_label), detail="segment:O")
    )
    layers: list[alt.Chart] = [limits, mean]

    two_sigma = [
        {"month": r["month"], "segment": r["segment"], "side": side, "limit": r[side]}
        for r in records
        for side in ("lower_2s", "upper_2s")
        if r.get(side) is not None
    ]
    if two_sigma:
        layers.insert(
            0,
            alt.Chart(data("two_sigma", two_sigma))
            .mark_line(color="#B7BDC0", strokeWidth=0.8, strokeDash=[1, 3])
            .encode(x=x, y=alt.Y("limit:Q", title=meta.y_label), detail=["segment:O", "side:N"]),
        )

    rebases = [{"month": r["month"]} for prev, r in itertools.pairwise(records) if r["segment"] != prev["segment"]]
    if rebases:
        layers.append(
            alt.Chart(data("rebases", rebases)).mark_rule(color=MUTED, strokeWidth=1, strokeDash=[2, 2]).encode(x=x)
        )
        layers.append(
            alt.Chart(data("rebases", rebases))
            .mark_text(text="Rebased", align="left", baseline="top", dx=3, y=2, fontSize=10, color=MUTED)
            .encode(x=x)
        )

    if meta.target is not None:
        target_row = [{"target": float(meta.target), "label": f"Target {format_value(meta.target, meta.value_format)}"}]
        layers.append(
            alt.Chart(data("target", target_row))
            .mark_rule(color=INK, strokeWidth=1.2, strokeDash=[8, 3, 2, 3])
            .encode(y="target:Q")
        )
        layers.append(
            alt.Chart(data("target", target_row))
            .mark_text(align="left", baseline="bottom", dy=-3, x=4, fontSize=10, color=INK)
            .encode(y="target:Q", text="label:N")
        )

    signal_labels = [_SIGNALS[k][0] for k in domain_keys]
    line = alt.Chart(data("months", records)).mark_line(color=_MDC_GREY, strokeWidth=1.6).encode(x=x, y=y)
    dots = (
        alt.Chart(data("months", records), name="months")
        .mark_circle(size=60, opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "signal:N",
                scale=alt.Scale(domain=signal_labels, range=[_SIGNALS[k][1] for k in domain_keys]),
                legend=alt.Legend(title="Variation", orient="bottom", direction="vertical", labelLimit=360),
            ),
            tooltip=[
                alt.Tooltip("month_label:N", title="Month"),
                alt.Tooltip("value:Q", title=meta.y_label, format=value_fmt),
                alt.Tooltip("mean:Q", title="Mean", format=value_fmt),
                alt.Tooltip("lower:Q", title="Lower process limit", format=value_fmt),
                alt.Tooltip("upper:Q", title="Upper process limit", format=value_fmt),
                alt.Tooltip("signal:N", title="Variation"),
                alt.Tooltip("rule:N", title="Rule"),
            ],
        )
    )
    layers += [line, dots, footnote(_spc_footnote(meta), _SPC_HEIGHT, below_legend=True, legend_rows=2)]
    chart = alt.LayerChart(layer=layers).properties(
        width=WIDTH,
        height=_SPC_HEIGHT,
        title=alt.Title(meta.title, subtitle=_spc_subtitle(meta, records), anchor="start"),
        usermeta={
            "gpaccess": {
                "chart": "spc",
                "measure": meta.measure_name,
                "practice": meta.practice_code,
                "improvement_direction": meta.improvement_direction,
            }
        },
    )
    return data.attach(configure(chart))


def _spc_records(points: pd.DataFrame | Mapping[str, Any], meta: SpcMeta) -> list[dict[str, Any]]:
    """The chart's points in time order, one dict each, from a frame or a mapping of column arrays (a server's
    `SpcTable`). Read from the columns' arrays, not row by row through pandas: a server draws one of these per
    chart request, and 24 rows through `.loc`/`to_dict` cost 10 ms."""
    columns = list(SPC_COLUMNS) + [c for c in ("lower_2s", "upper_2s") if c in points]
    missing = [c for c in columns if c not in points]
    if missing:
        raise KeyError(f"SPC points lack column(s) {', '.join(missing)}")
    months = np.asarray(points["month"])
    if months.dtype.kind != "M":  # dates as text or objects; a server's arrays are datetimes already
        months = pd.to_datetime(months).to_numpy()
    order = months.argsort(kind="stable")  # time order
    cells = {c: np.asarray(points[c], dtype=object)[order] for c in columns if c != "month"}
    allowed = {"", "neither"} if meta.improvement_direction == "neutral" else {"", "improvement", "concern"}
    out = []
    for i, when in enumerate(months[order]):
        row = {c: v[i] for c, v in cells.items()}
        kind = plain_text(row["special_cause"]).strip().lower()
        if kind not in allowed:
            raise ValueError(
                f"special_cause {kind!r} does not fit improvement_direction {meta.improvement_direction!r}; "
                f"expected one of {sorted(allowed)}"
            )
        month = pd.Timestamp(when)
        trial = bool(row["trial"])
        record = {
            "month": month.strftime("%Y-%m-%d"),
            "month_label": month.strftime("%b %Y"),
            "value": json_number(row["value"]),
            "mean": json_number(row["mean"]),
            "lower": json_number(row["lower"]),
            "upper": json_number(row["upper"]),
            "segment": int(row["segment"]),
            "trial": trial,
            "limit_style": _TRIAL_LIMITS if trial else _PROCESS_LIMITS,
            "signal": _SIGNALS[kind][0],
            "rule": plain_text(row["rule"]) or "—",
        }
        for side in ("lower_2s", "upper_2s"):
            if side in row:
                record[side] = json_number(row[side])
        out.append(record)
    return out


def _spc_subtitle(meta: SpcMeta, records: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{meta.practice_code} {meta.practice_name}"]  # the title names the measure
    lines.append(
        {
            "increase": "Improvement direction: higher values.",
            "decrease": "Improvement direction: lower values.",
            "neutral": "No preferred direction: special causes are marked in purple, neither improvement nor concern.",
        }[meta.improvement_direction]
    )
    if any(r["trial"] for r in records):
        lines.append("Trial limits: some limits rest on fewer than 12 points; read their signals with caution.")
    return lines


def _spc_footnote(meta: SpcMeta) -> list[str]:
    if meta.plain:
        return wrap(
            [
                f"Definition: {meta.definition}",
                "A real change (special cause) is a month outside the limits, 7 months in a row on one side of the "
                "average, 7 months in a row rising or falling, or 2 of 3 months close to a limit. How the limits are "
                "worked out: see the methods appendix.",
            ],
            width=110,
        )
    return wrap(
        [
            f"Definition: {meta.definition}",
            "XmR chart (NHS Making Data Count): limits = mean ± 2.66 × mean moving range, per segment. Special "
            "cause: a point outside the limits; 7 points in a row on one side of the mean; 7 points in a row "
            "rising or falling; 2 of 3 points beyond the 2σ line.",
        ],
        width=110,  # the SPC chart is narrower than the funnel: keep the caption inside it
    )
