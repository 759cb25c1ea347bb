"""Chart builders: funnel plots and Making Data Count SPC charts, with Vega-Altair. Never a league table.

Pure functions: pandas frames and a small frozen metadata object in, an Altair chart out. The only I/O is
`save_chart` (HTML that works offline, PNG, SVG) and `write_chart_data` (CSV with spreadsheet formulas
neutralised).

What the charts promise, and the tests check:

* **No rank anywhere.** Only the columns of the data contract are put into a chart, so a rank or percentile
  column a caller happens to hold never reaches it. Points are kept in practice-code order, no encoding
  sorts by value, and caller-supplied wording is refused if it speaks of best, worst, top, bottom, league,
  rank or percentile (`PolicyError`).
* **Neutral words.** A funnel point's place is "within the 95% limits", "below the lower 99.8% limit" and so
  on: never better or worse. The measure's direction is stated in the subtitle; a measure with no good
  direction (face-to-face share outside the cohort view) says so, and its points above and below the limits
  share one hue (purple), told apart by shape (▲ above, ▼ below) and by where they sit.
* **Colour-blind safe.** Directed funnels use blue for the preferred side and orange for the other (the
  Making Data Count pair); never red against green.
* **Stated method.** Every funnel carries a footnote with the measure's definition, the window, the
  overdispersion adjustment and what the limits mean; every SPC chart names its limits and rules.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import textwrap
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd

from gpaccess.errors import PolicyError, UserError
from gpaccess.publication.exports import write_csv

ValueFormat = Literal["percent", "ratio", "number"]
FunnelDirection = Literal["none", "higher", "lower"]
ImprovementDirection = Literal["increase", "decrease", "neutral"]

SUPPORTED_SUFFIXES = (".html", ".png", ".svg")

FUNNEL_POINT_COLUMNS = (
    "practice_code",
    "practice_name",
    "numerator",
    "denominator",
    "value",
    "size",
    "expected",
    "lower95",
    "upper95",
    "lower998",
    "upper998",
    "position",
)
FUNNEL_CURVE_COLUMNS = ("size", "lower95", "upper95", "lower998", "upper998")
SPC_COLUMNS = ("month", "value", "mean", "lower", "upper", "segment", "trial", "special_cause", "rule")

FUNNEL_CAVEAT = (
    "Points outside the limits differ from the {centre} by more than chance explains; inside, practices are "
    "indistinguishable.",
    "Practices are never ranked.",
)

# Words a comparison chart must not use about practices (PEERS.md §4: "worst" was found offensive, "top or
# bottom 10%" confusing; DESIGN.md: never a rank or percentile).
_FORBIDDEN_WORDS = re.compile(r"\b(worst|best|top|bottom|league|rank\w*|percentile\w*)\b", re.IGNORECASE)

_FORMATS = {"percent": ".1%", "ratio": ".2f", "number": ",.1f"}
_AXIS_FORMATS = {"percent": ".0%", "ratio": ".2f", "number": ",.0f"}

_WIDTH, _FUNNEL_HEIGHT, _SPC_HEIGHT = 640, 400, 300
_INK = "#212B32"  # NHS.UK text colour
_MUTED = "#4C6272"  # NHS.UK secondary text
_GRID = "#D8DDE0"
_FONT = "Arial, Liberation Sans, DejaVu Sans, sans-serif"

# --- funnel bands: where a point sits against its own limits ---------------------------------------------
_BANDS = ("below998", "below95", "within", "above95", "above998")
_BAND_LABELS = {
    "below998": "Below the lower 99.8% limit",
    "below95": "Below the lower 95% limit (inside 99.8%)",
    "within": "Within the 95% limits",
    "above95": "Above the upper 95% limit (inside 99.8%)",
    "above998": "Above the upper 99.8% limit",
}
_BAND_SHAPES = {
    "below998": "triangle-down",
    "below95": "triangle-down",
    "within": "circle",
    "above95": "triangle-up",
    "above998": "triangle-up",
}
_WITHIN_GREY = "#8A959E"
_PURPLE_LIGHT, _PURPLE_DARK = "#9678CC", "#4B2A85"  # one hue family: no good direction
_BLUE_LIGHT, _BLUE_DARK = "#6FB3E0", "#005EB8"  # preferred side (NHS blue)
_ORANGE_LIGHT, _ORANGE_DARK = "#F5B54A", "#B35C00"  # other side
_BAND_COLOURS: dict[str, dict[str, str]] = {
    "none": {
        "below998": _PURPLE_DARK,
        "below95": _PURPLE_LIGHT,
        "within": _WITHIN_GREY,
        "above95": _PURPLE_LIGHT,
        "above998": _PURPLE_DARK,
    },
    "higher": {
        "below998": _ORANGE_DARK,
        "below95": _ORANGE_LIGHT,
        "within": _WITHIN_GREY,
        "above95": _BLUE_LIGHT,
        "above998": _BLUE_DARK,
    },
    "lower": {
        "below998": _BLUE_DARK,
        "below95": _BLUE_LIGHT,
        "within": _WITHIN_GREY,
        "above95": _ORANGE_LIGHT,
        "above998": _ORANGE_DARK,
    },
}
_POSITION_FALLBACK = {"below": "below95", "within": "within", "above": "above95"}
_LIMIT_95, _LIMIT_998 = "95% limits", "99.8% limits"

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
class FunnelMeta:
    """What a funnel chart shows and how to read it.

    `target` is the centre line on the value's own scale (the target or expected share, or 1 for an
    observed/expected ratio). `direction` is "higher" or "lower" when one side is preferred, or "none" when
    the measure is context only (no target, no good direction). `highlight_codes` outlines and labels some
    practices (for example an ICB's selected practices in its confidential view; never in the public one).
    """

    title: str
    measure_name: str
    y_label: str
    x_label: str
    target: float
    value_format: Literal["percent", "ratio"]
    definition: str
    window: str
    adjustment: str
    direction: FunnelDirection
    icb_code: str = ""
    icb_name: str = ""
    highlight_codes: tuple[str, ...] = ()
    highlight_label: str = "Highlighted practices"
    target_label: str = ""  # default: "Target" for a directed measure, "Reference" for direction "none"

    def __post_init__(self) -> None:
        _check_choice("value_format", self.value_format, ("percent", "ratio"))
        _check_choice("direction", self.direction, ("none", "higher", "lower"))
        if not math.isfinite(self.target):
            raise ValueError(f"target must be a finite number; got {self.target}")
        object.__setattr__(self, "highlight_codes", tuple(self.highlight_codes))
        _check_wording(
            title=self.title,
            measure_name=self.measure_name,
            y_label=self.y_label,
            x_label=self.x_label,
            highlight_label=self.highlight_label,
            target_label=self.target_label,
        )


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

    def __post_init__(self) -> None:
        _check_choice("value_format", self.value_format, ("percent", "ratio", "number"))
        _check_choice("improvement_direction", self.improvement_direction, ("increase", "decrease", "neutral"))
        if self.target is not None and not math.isfinite(self.target):
            raise ValueError(f"target must be a finite number or None; got {self.target}")
        _check_wording(title=self.title, measure_name=self.measure_name, y_label=self.y_label)


# ======================================================================================================
# Funnel
# ======================================================================================================


def funnel_chart(points: pd.DataFrame, curves: pd.DataFrame, meta: FunnelMeta) -> alt.LayerChart:
    """Every practice as a point (x = size, y = value) inside its 95% (dashed) and 99.8% (solid) limits.

    Practices with no value (no data in the window) cannot be placed; the subtitle counts them.
    """
    _require_columns("points", points, FUNNEL_POINT_COLUMNS)
    _require_columns("curves", curves, FUNNEL_CURVE_COLUMNS)
    records = _funnel_records(points, meta)
    plotted = [r for r in records if r["value"] is not None and r["size"] is not None]
    missing = len(records) - len(plotted)
    value_fmt = _FORMATS[meta.value_format]
    colours = _BAND_COLOURS[meta.direction]

    curve_rows = _curve_records(curves)
    largest = max([r["size"] for r in plotted] + [r["size"] for r in curve_rows] + [1.0])
    x = alt.X(
        "size:Q",
        title=meta.x_label,
        scale=alt.Scale(domain=[0, largest * 1.04], nice=False),
        axis=alt.Axis(format=",.0f"),
    )
    y = alt.Y(
        "value:Q",
        title=meta.y_label,
        scale=alt.Scale(zero=False, padding=10),
        axis=alt.Axis(format=_AXIS_FORMATS[meta.value_format]),
    )
    band_domain = [_BAND_LABELS[b] for b in _BANDS]
    legend = alt.Legend(title="Against the limits", orient="right", symbolStrokeWidth=0)
    colour = alt.Color(
        "against_limits:N",
        scale=alt.Scale(domain=band_domain, range=[colours[b] for b in _BANDS]),
        legend=legend,
    )
    shape = alt.Shape(
        "against_limits:N",
        scale=alt.Scale(domain=band_domain, range=[_BAND_SHAPES[b] for b in _BANDS]),
        legend=legend,
    )
    tooltip = [
        alt.Tooltip("practice_code:N", title="Practice code"),
        alt.Tooltip("practice_name:N", title="Practice name"),
        alt.Tooltip("numerator:Q", title="Numerator", format=",.0f"),
        alt.Tooltip("denominator:Q", title="Denominator", format=",.0f"),
        alt.Tooltip("value:Q", title=meta.y_label, format=value_fmt),
        alt.Tooltip(
            "expected:Q",
            title="Expected share" if meta.value_format == "percent" else "Expected count",
            format=value_fmt if meta.value_format == "percent" else ",.1f",
        ),
        alt.Tooltip("against_limits:N", title="Against the limits"),
    ]

    limits = (
        alt.Chart(alt.Data(values=curve_rows))
        .mark_line(clip=True, strokeWidth=1.2, color="#505A5F")
        .encode(
            x=x,
            y=alt.Y("limit:Q", title=meta.y_label),
            detail="side:N",
            strokeDash=alt.StrokeDash(
                "level:N",
                scale=alt.Scale(domain=[_LIMIT_95, _LIMIT_998], range=[[6, 4], [1, 0]]),
                legend=alt.Legend(title="Control limits", orient="right", symbolStrokeColor="#505A5F", symbolSize=400),
            ),
        )
    )
    centre = (
        alt.Chart(alt.Data(values=[{"centre": float(meta.target)}]))
        .mark_rule(color=_INK, strokeWidth=1.4, clip=True)
        .encode(y="centre:Q")
    )
    centre_label = (
        alt.Chart(alt.Data(values=[{"centre": float(meta.target), "label": _centre_text(meta)}]))
        .mark_text(align="right", baseline="bottom", dy=-4, dx=-4, fontSize=11, color=_INK, clip=True)
        .encode(y="centre:Q", x=alt.value(_WIDTH), text="label:N")
    )
    zoom = alt.selection_interval(bind="scales", name="pan_zoom")
    dots = (
        alt.Chart(alt.Data(values=plotted), name="practices")
        .mark_point(filled=True, opacity=0.85, clip=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=shape,
            # triangles look smaller than circles of the same area; outside points are drawn a little larger
            size=alt.Size(
                "against_limits:N",
                scale=alt.Scale(domain=band_domain, range=[90 if b != "within" else 50 for b in _BANDS]),
                legend=None,
            ),
            tooltip=tooltip,
        )
        .add_params(zoom)
    )
    layers: list[alt.Chart] = [limits, centre, centre_label, dots]

    highlighted = [r for r in plotted if r["highlighted"]]
    if highlighted:
        halo = (
            alt.Chart(alt.Data(values=highlighted))
            .mark_point(filled=False, size=170, strokeWidth=1.8, color=_INK, clip=True)
            .encode(x=x, y=y, tooltip=tooltip)
        )
        tags = (
            alt.Chart(alt.Data(values=highlighted))
            .mark_text(align="left", dx=9, dy=-7, fontSize=10, fontWeight="bold", color=_INK, clip=True)
            .encode(x=x, y=y, text="practice_code:N")
        )
        layers += [halo, tags]

    layers.append(_footnote(_funnel_footnote(meta, highlighted_count=len(highlighted)), _FUNNEL_HEIGHT))
    chart = alt.LayerChart(layer=layers).properties(
        width=_WIDTH,
        height=_FUNNEL_HEIGHT,
        title=alt.Title(meta.title, subtitle=_funnel_subtitle(meta, len(plotted), missing), anchor="start"),
        usermeta={
            "gpaccess": {
                "chart": "funnel",
                "measure": meta.measure_name,
                "direction": meta.direction,
                "window": meta.window,
                "practices": len(records),
                "plotted": len(plotted),
            }
        },
    )
    return _configure(chart)


def _funnel_records(points: pd.DataFrame, meta: FunnelMeta) -> list[dict[str, Any]]:
    frame = points.loc[:, list(FUNNEL_POINT_COLUMNS)].copy()
    frame["practice_code"] = frame["practice_code"].astype(str)
    frame = frame.sort_values("practice_code", kind="stable")  # code order: never by value
    highlight = set(meta.highlight_codes)
    out = []
    for row in frame.itertuples(index=False):
        band = _band(row.value, row.lower95, row.upper95, row.lower998, row.upper998, row.position)
        out.append(
            {
                "practice_code": row.practice_code,
                "practice_name": _text(row.practice_name),
                "numerator": _number(row.numerator),
                "denominator": _number(row.denominator),
                "value": _number(row.value),
                "size": _number(row.size),
                "expected": _number(row.expected),
                "lower95": _number(row.lower95),
                "upper95": _number(row.upper95),
                "lower998": _number(row.lower998),
                "upper998": _number(row.upper998),
                "against_limits": _BAND_LABELS[band] if band else "No data",
                "highlighted": row.practice_code in highlight,
            }
        )
    return out


def _band(value: Any, lower95: Any, upper95: Any, lower998: Any, upper998: Any, position: Any) -> str | None:
    """The band a value falls in against its own limits; a value exactly on a limit is within it."""
    v = _number(value)
    if v is None:
        return None
    l95, u95, l998, u998 = (_number(a) for a in (lower95, upper95, lower998, upper998))
    if l998 is not None and v < l998:
        return "below998"
    if u998 is not None and v > u998:
        return "above998"
    if l95 is not None and v < l95:
        return "below95"
    if u95 is not None and v > u95:
        return "above95"
    if l95 is not None and u95 is not None:
        return "within"
    return _POSITION_FALLBACK.get(str(position))


def _curve_records(curves: pd.DataFrame) -> list[dict[str, Any]]:
    frame = curves.loc[:, list(FUNNEL_CURVE_COLUMNS)].sort_values("size", kind="stable")
    out = []
    for column, level, side in (
        ("lower95", _LIMIT_95, "lower 95"),
        ("upper95", _LIMIT_95, "upper 95"),
        ("lower998", _LIMIT_998, "lower 99.8"),
        ("upper998", _LIMIT_998, "upper 99.8"),
    ):
        for size, limit in zip(frame["size"], frame[column], strict=True):
            s, lim = _number(size), _number(limit)
            if s is not None and lim is not None:
                out.append({"size": s, "limit": lim, "level": level, "side": side})
    return out


def _centre_text(meta: FunnelMeta) -> str:
    label = meta.target_label or ("Reference" if meta.direction == "none" else "Target")
    return f"{label} {_format(meta.target, meta.value_format)}"


def _funnel_subtitle(meta: FunnelMeta, plotted: int, missing: int) -> list[str]:
    where = " ".join(part for part in (meta.icb_name, f"({meta.icb_code})" if meta.icb_code else "") if part)
    count = f"{plotted:,} practices"
    if missing:
        count += f" ({missing:,} with no data in the window, not shown)"
    first = " · ".join(part for part in (where, meta.window, count) if part)
    direction = {
        "none": "No target and no good direction: higher or lower is context, neither better nor worse.",
        "higher": f"Direction: higher {meta.measure_name.lower()} is preferred.",
        "lower": f"Direction: lower {meta.measure_name.lower()} is preferred.",
    }[meta.direction]
    return [first, direction]


def _funnel_footnote(meta: FunnelMeta, *, highlighted_count: int) -> list[str]:
    centre = "reference line" if meta.direction == "none" else "target"
    lines = [
        f"Definition: {meta.definition}",
        f"Window: {meta.window}. Limits: 95% (dashed) and 99.8% (solid), {meta.adjustment}.",
        FUNNEL_CAVEAT[0].format(centre=centre),
        FUNNEL_CAVEAT[1],
    ]
    if highlighted_count:
        lines.append(f"Outlined and labelled: {meta.highlight_label.lower()} ({highlighted_count}).")
    return _wrap(lines)


# ======================================================================================================
# SPC
# ======================================================================================================


def spc_chart(points: pd.DataFrame, meta: SpcMeta) -> alt.LayerChart:
    """A practice's monthly series as a Making Data Count XmR chart: values, mean, process limits per segment.

    Grey points are common-cause variation; blue special-cause improvement, orange concern, purple special
    cause on a measure with no preferred direction. Limits resting on fewer than 12 points are trial limits,
    drawn with a finer dash and named in the subtitle.
    """
    _require_columns("points", points, SPC_COLUMNS)
    records = _spc_records(points, meta)
    value_fmt = _FORMATS[meta.value_format]
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
    y_axis = alt.Axis(format=_AXIS_FORMATS[meta.value_format])
    y = alt.Y("value:Q", title=meta.y_label, scale=alt.Scale(zero=False), axis=y_axis)

    limit_rows = [
        {"month": r["month"], "segment": r["segment"], "side": side, "limit": r[side], "style": r["limit_style"]}
        for r in records
        for side in ("lower", "upper")
        if r[side] is not None
    ]
    limits = (
        alt.Chart(alt.Data(values=limit_rows))
        .mark_line(color=_MDC_GREY, strokeWidth=1.3)
        .encode(
            x=x,
            y=alt.Y("limit:Q", title=meta.y_label),
            detail=["segment:O", "side:N"],
            strokeDash=alt.StrokeDash(
                "style:N",
                scale=alt.Scale(domain=[_PROCESS_LIMITS, _TRIAL_LIMITS], range=[[7, 4], [2, 3]]),
                legend=alt.Legend(title="Limits", orient="bottom", symbolStrokeColor=_MDC_GREY, symbolSize=400),
            ),
        )
    )
    mean = (
        alt.Chart(alt.Data(values=records))
        .mark_line(color=_INK, strokeWidth=1.4)
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
            alt.Chart(alt.Data(values=two_sigma))
            .mark_line(color="#B7BDC0", strokeWidth=0.8, strokeDash=[1, 3])
            .encode(x=x, y=alt.Y("limit:Q", title=meta.y_label), detail=["segment:O", "side:N"]),
        )

    rebases = [{"month": r["month"]} for prev, r in itertools.pairwise(records) if r["segment"] != prev["segment"]]
    if rebases:
        layers.append(
            alt.Chart(alt.Data(values=rebases)).mark_rule(color=_MUTED, strokeWidth=1, strokeDash=[2, 2]).encode(x=x)
        )
        layers.append(
            alt.Chart(alt.Data(values=rebases))
            .mark_text(text="Rebased", align="left", baseline="top", dx=3, y=2, fontSize=10, color=_MUTED)
            .encode(x=x)
        )

    if meta.target is not None:
        target_row = [{"target": float(meta.target), "label": f"Target {_format(meta.target, meta.value_format)}"}]
        layers.append(
            alt.Chart(alt.Data(values=target_row))
            .mark_rule(color=_INK, strokeWidth=1.2, strokeDash=[8, 3, 2, 3])
            .encode(y="target:Q")
        )
        layers.append(
            alt.Chart(alt.Data(values=target_row))
            .mark_text(align="left", baseline="bottom", dy=-3, x=4, fontSize=10, color=_INK)
            .encode(y="target:Q", text="label:N")
        )

    signal_labels = [_SIGNALS[k][0] for k in domain_keys]
    line = alt.Chart(alt.Data(values=records)).mark_line(color=_MDC_GREY, strokeWidth=1.6).encode(x=x, y=y)
    dots = (
        alt.Chart(alt.Data(values=records), name="months")
        .mark_circle(size=60, opacity=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "signal:N",
                scale=alt.Scale(domain=signal_labels, range=[_SIGNALS[k][1] for k in domain_keys]),
                legend=alt.Legend(title="Variation", orient="bottom"),
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
    layers += [line, dots, _footnote(_spc_footnote(meta), _SPC_HEIGHT, below_legend=True)]
    chart = alt.LayerChart(layer=layers).properties(
        width=_WIDTH,
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
    return _configure(chart)


def _spc_records(points: pd.DataFrame, meta: SpcMeta) -> list[dict[str, Any]]:
    columns = list(SPC_COLUMNS) + [c for c in ("lower_2s", "upper_2s") if c in points.columns]
    frame = points.loc[:, columns].copy()
    frame["month"] = pd.to_datetime(frame["month"])
    frame = frame.sort_values("month", kind="stable")  # time order
    allowed = {"", "neither"} if meta.improvement_direction == "neutral" else {"", "improvement", "concern"}
    out = []
    for row in frame.to_dict("records"):
        kind = _text(row["special_cause"]).strip().lower()
        if kind not in allowed:
            raise ValueError(
                f"special_cause {kind!r} does not fit improvement_direction {meta.improvement_direction!r}; "
                f"expected one of {sorted(allowed)}"
            )
        month = pd.Timestamp(row["month"])
        record = {
            "month": month.strftime("%Y-%m-%d"),
            "month_label": month.strftime("%b %Y"),
            "value": _number(row["value"]),
            "mean": _number(row["mean"]),
            "lower": _number(row["lower"]),
            "upper": _number(row["upper"]),
            "segment": int(row["segment"]),
            "trial": bool(row["trial"]),
            "limit_style": _TRIAL_LIMITS if bool(row["trial"]) else _PROCESS_LIMITS,
            "signal": _SIGNALS[kind][0],
            "rule": _text(row["rule"]) or "—",
        }
        for side in ("lower_2s", "upper_2s"):
            if side in row:
                record[side] = _number(row[side])
        out.append(record)
    return out


def _spc_subtitle(meta: SpcMeta, records: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{meta.practice_code} {meta.practice_name} · {meta.measure_name}"]
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
    return _wrap(
        [
            f"Definition: {meta.definition}",
            "XmR chart (NHS Making Data Count): limits = mean ± 2.66 × mean moving range, per segment. Special "
            "cause: a point outside the limits; 7 points in a row on one side of the mean; 7 points in a row "
            "rising or falling; 2 of 3 points beyond the 2σ line.",
        ]
    )


# ======================================================================================================
# Files
# ======================================================================================================


def save_chart(chart: alt.TopLevelMixin, path: Path) -> Path:
    """Write `chart` by its file suffix: `.html` (self-contained, works offline), `.png` (2× scale) or `.svg`.

    The HTML inlines the Vega, Vega-Lite and vega-embed JavaScript bundled with vl-convert, so it opens
    without a network. Written to a temporary file beside `path`, then renamed: never half a file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UserError(
            f"cannot save a chart as {path.name!r}: supported file types are {', '.join(SUPPORTED_SUFFIXES)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.{uuid.uuid4().hex}.tmp{suffix}"  # plain open(): the umask applies
    try:
        if suffix == ".html":
            chart.save(tmp, format="html", inline=True)
        elif suffix == ".png":
            chart.save(tmp, format="png", scale_factor=2)
        else:
            chart.save(tmp, format="svg")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_chart_data(df: pd.DataFrame, path: Path) -> Path:
    """The data behind a chart as CSV, with text that a spreadsheet would run as a formula neutralised."""
    return write_csv(df, Path(path))


# ======================================================================================================
# Helpers
# ======================================================================================================


def _configure(chart: alt.LayerChart) -> alt.LayerChart:
    return (
        chart.configure(font=_FONT)
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=_INK,
            titleColor=_INK,
            gridColor=_GRID,
            domainColor="#AEB7BD",
            tickColor="#AEB7BD",
            labelFontSize=11,
            titleFontSize=12,
            titleFontWeight="normal",
        )
        .configure_legend(labelColor=_INK, titleColor=_INK, labelFontSize=11, titleFontSize=11, labelLimit=320)
        .configure_title(
            fontSize=16, color=_INK, subtitleColor=_MUTED, subtitleFontSize=12, subtitlePadding=6, offset=12
        )
    )


def _footnote(lines: list[str], height: int, *, below_legend: bool = False) -> alt.Chart:
    """A caption under the plot: text at fixed pixel positions, so pan and zoom leave it in place."""
    return alt.Chart(alt.Data(values=[{}])).mark_text(
        text=lines,
        align="left",
        baseline="top",
        x=0,
        y=height + (88 if below_legend else 46),
        fontSize=10.5,
        lineHeight=14,
        color=_MUTED,
        clip=False,  # layers sharing pan/zoom scales are clipped by default; the caption sits outside the plot
    )


def _wrap(lines: Iterable[str], width: int = 135) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width=width) or [""])
    return out


def _format(value: float, value_format: str) -> str:
    if value_format == "percent":
        return f"{value:.1%}"
    if value_format == "ratio":
        return f"{value:.2f}"
    return f"{value:,.1f}"


def _number(value: Any) -> float | None:
    """A finite float for the chart's JSON, or None (JSON has no NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def _require_columns(name: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_wording(**texts: str) -> None:
    """Refuse ranking words in any caller-supplied label (PEERS.md §4; DESIGN.md "never a league table")."""
    for field, text in texts.items():
        found = _FORBIDDEN_WORDS.search(text or "")
        if found:
            raise PolicyError(
                f"chart {field} {text!r} uses {found.group(0)!r}: practices are compared against limits, never "
                "ranked; use neutral words such as 'below the lower 95% limit'"
            )
