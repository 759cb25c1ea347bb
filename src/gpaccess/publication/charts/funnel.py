"""Funnel plots: every practice as a point against its own 95% and 99.8% limits, in practice-code order.

`funnel_chart` takes the points and limit curves (pandas frames) and a `FunnelMeta`, and gives an Altair chart
(`charts/common.py` saves it). Where a point sits is said in neutral words ("within the 95% limits"); colours
and shapes follow the measure's direction, as the package's docstring promises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import altair as alt
import pandas as pd

from gpaccess.publication.charts.common import (
    AXIS_FORMATS,
    FORMATS,
    INK,
    WIDTH,
    InlineData,
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

FunnelDirection = Literal["none", "higher", "lower"]

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

FUNNEL_CAVEAT = (
    "Points outside the limits differ from the {centre} by more than chance explains; inside, practices are "
    "indistinguishable.",
    "Practices are never ranked.",
)

_FUNNEL_HEIGHT = 400

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
    left_off: int = 0  # practices of the ICB not drawn (e.g. excluded for data quality), counted in the subtitle
    left_off_label: str = "Practices excluded for data quality"

    def __post_init__(self) -> None:
        check_choice("value_format", self.value_format, ("percent", "ratio"))
        check_choice("direction", self.direction, ("none", "higher", "lower"))
        if not math.isfinite(self.target):
            raise ValueError(f"target must be a finite number; got {self.target}")
        object.__setattr__(self, "highlight_codes", tuple(self.highlight_codes))
        check_wording(
            title=self.title,
            measure_name=self.measure_name,
            y_label=self.y_label,
            x_label=self.x_label,
            highlight_label=self.highlight_label,
            target_label=self.target_label,
        )


def funnel_chart(points: pd.DataFrame, curves: pd.DataFrame, meta: FunnelMeta) -> alt.LayerChart:
    """Every practice as a point (x = size, y = value) inside its 95% (dashed) and 99.8% (solid) limits.

    Practices with no value (no data in the window) cannot be placed; the subtitle counts them.
    """
    require_columns("points", points, FUNNEL_POINT_COLUMNS)
    require_columns("curves", curves, FUNNEL_CURVE_COLUMNS)
    records = _funnel_records(points, meta)
    data = InlineData()
    plotted = [r for r in records if r["value"] is not None and r["size"] is not None]
    missing = len(records) - len(plotted)
    value_fmt = FORMATS[meta.value_format]
    colours = _BAND_COLOURS[meta.direction]

    curve_rows = _curve_records(curves)
    # The x range is the drawn practices' (the national limits run further right, to the largest practice in the
    # country, and would squeeze the ICB's practices into the left edge); the limits are clipped to it.
    largest = max([r["size"] for r in plotted] or [r["size"] for r in curve_rows] or [1.0])
    x_scale = alt.Scale(domain=[0, largest * 1.04], nice=False)
    x = alt.X(
        "size:Q",
        title=meta.x_label,
        scale=x_scale,
        axis=alt.Axis(format=",.0f"),
    )
    y_domain = _y_domain(plotted, curve_rows)
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False)
    y = alt.Y(
        "value:Q",
        title=meta.y_label,
        scale=y_scale,
        axis=alt.Axis(format=AXIS_FORMATS[meta.value_format]),
    )
    band_domain = [_BAND_LABELS[b] for b in _BANDS]
    legend = alt.Legend(title="Against the limits", orient="right", symbolStrokeWidth=0, labelLimit=320)
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
        alt.Chart(data("limits", curve_rows))
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
        alt.Chart(data("centre", [{"centre": float(meta.target)}]))
        .mark_rule(color=INK, strokeWidth=1.4, clip=True)
        .encode(y="centre:Q")
    )
    centre_label = (
        alt.Chart(data("centre_label", [{"centre": float(meta.target), "label": _centre_text(meta)}]))
        .mark_text(align="right", baseline="bottom", dy=-4, dx=-4, fontSize=11, color=INK, clip=True)
        .encode(y="centre:Q", x=alt.value(WIDTH), text="label:N")
    )
    zoom = alt.selection_interval(bind="scales", name="pan_zoom")
    dots = (
        alt.Chart(data("practices", plotted), name="practices")
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
            alt.Chart(data("highlighted", highlighted))
            .mark_point(filled=False, size=170, strokeWidth=1.8, color=INK, clip=True)
            .encode(x=x, y=y, tooltip=tooltip)
        )
        labels = _label_records(highlighted, (0.0, largest * 1.04), y_domain)
        leaders = (
            alt.Chart(data("label_leaders", [r for r in labels if r["leader"]]))
            .mark_rule(color=INK, strokeWidth=0.8, opacity=0.7, clip=True)
            .encode(x=x, y=y, x2="label_size:Q", y2="label_value:Q")
        )
        tags = (
            alt.Chart(data("labels", labels), name="labels")
            .mark_text(align="center", baseline="middle", fontSize=LABEL_FONT, fontWeight="bold", color=INK)
            .encode(
                x=alt.X("label_size:Q", scale=x_scale),
                y=alt.Y("label_value:Q", scale=y_scale),
                text="number:N",
                tooltip=tooltip[:2],
            )
        )
        layers += [halo, leaders, tags]

    layers.append(footnote(_funnel_footnote(meta, highlighted_count=len(highlighted)), _FUNNEL_HEIGHT))
    chart = alt.LayerChart(layer=layers).properties(
        width=WIDTH,
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
    return data.attach(configure(chart))


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
                "practice_name": plain_text(row.practice_name),
                "numerator": json_number(row.numerator),
                "denominator": json_number(row.denominator),
                "value": json_number(row.value),
                "size": json_number(row.size),
                "expected": json_number(row.expected),
                "lower95": json_number(row.lower95),
                "upper95": json_number(row.upper95),
                "lower998": json_number(row.lower998),
                "upper998": json_number(row.upper998),
                "against_limits": _BAND_LABELS[band] if band else "No data",
                "highlighted": row.practice_code in highlight,
            }
        )
    return out


def _band(value: Any, lower95: Any, upper95: Any, lower998: Any, upper998: Any, position: Any) -> str | None:
    """The band a value falls in against its own limits; a value exactly on a limit is within it."""
    v = json_number(value)
    if v is None:
        return None
    l95, u95, l998, u998 = (json_number(a) for a in (lower95, upper95, lower998, upper998))
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
            s, lim = json_number(size), json_number(limit)
            if s is not None and lim is not None:
                out.append({"size": s, "limit": lim, "level": level, "side": side})
    return out


def _centre_text(meta: FunnelMeta) -> str:
    label = meta.target_label or ("Reference" if meta.direction == "none" else "Target")
    return f"{label} {format_value(meta.target, meta.value_format)}"


def _funnel_subtitle(meta: FunnelMeta, plotted: int, missing: int) -> list[str]:
    where = " ".join(part for part in (meta.icb_name, f"({meta.icb_code})" if meta.icb_code else "") if part)
    count = f"{plotted:,} practices"
    if missing:
        count += f" ({missing:,} with no data in the window, not shown)"
    if meta.left_off:
        count += f"; {meta.left_off:,} {meta.left_off_label.lower()} left off"
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
        lines.append(
            f"Outlined and numbered: {meta.highlight_label.lower()} ({highlighted_count}); "
            "the numbers follow practice-code order (key below)."
        )
    if meta.left_off:
        lines.append(f"{meta.left_off_label} ({meta.left_off:,}) are left off the chart.")
    return wrap(lines)


# --- numbered labels that never overlap --------------------------------------------------------------------
LABEL_FONT = 11
_CHAR_W, _LABEL_H, _HALO_R = 7.0, 13.0, 7.0
_RINGS = (11.0, 18.0, 27.0, 38.0, 52.0, 70.0, 95.0, 125.0, 160.0, 200.0)
_DIRECTIONS = ((1, -1), (1, 0), (1, 1), (0, -1), (0, 1), (-1, -1), (-1, 0), (-1, 1))

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels


def _y_domain(plotted: list[dict[str, Any]], curves: list[dict[str, Any]]) -> tuple[float, float]:
    """The y range drawn: every plotted value and the limits over the plotted sizes, padded by 6%."""
    values = [r["value"] for r in plotted]
    smallest = min((r["size"] for r in plotted), default=0.0)
    largest = max((r["size"] for r in plotted), default=math.inf) * 1.04
    values += [c["limit"] for c in curves if smallest <= c["size"] <= largest]
    if not values:
        return (0.0, 1.0)
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or max(abs(high) * 0.05, 0.01)
    return (low - pad, high + pad)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(
    points: list[tuple[float, float]], texts: list[str], width: float = WIDTH, height: float = _FUNNEL_HEIGHT
) -> list[tuple[float, float]]:
    """Label centres (pixels) for points (pixels), chosen so no label overlaps another label or any labelled
    point's outline, inside the plot: the nearest free spot on rings of growing radius around each point."""
    halos: list[Box] = [(x - _HALO_R, y - _HALO_R, x + _HALO_R, y + _HALO_R) for x, y in points]
    placed: list[Box] = []
    centres = []
    for (px, py), text in zip(points, texts, strict=True):
        w, h = _CHAR_W * len(text) + 4, _LABEL_H
        best: tuple[float, float] | None = None
        for radius in _RINGS:
            for dx, dy in _DIRECTIONS:
                norm = math.hypot(dx, dy)
                cx, cy = px + radius * dx / norm, py + radius * dy / norm
                cx = min(max(cx, w / 2), width - w / 2)
                cy = min(max(cy, h / 2), height - h / 2)
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if not any(_overlaps(box, o) for o in (*placed, *halos)):
                    best = (cx, cy)
                    break
            if best is not None:
                break
        if best is None:  # nowhere free near the point: the first free spot scanning the plot in rows
            best = _first_free(placed + halos, w, h, width, height) or (px, py)
        placed.append((best[0] - w / 2, best[1] - h / 2, best[0] + w / 2, best[1] + h / 2))
        centres.append(best)
    return centres


def _first_free(taken: list[Box], w: float, h: float, width: float, height: float) -> tuple[float, float] | None:
    y = h / 2
    while y <= height - h / 2:
        x = w / 2
        while x <= width - w / 2:
            box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
            if not any(_overlaps(box, o) for o in taken):
                return (x, y)
            x += w / 2
        y += h / 2
    return None


def _label_records(
    highlighted: list[dict[str, Any]], x_domain: tuple[float, float], y_domain: tuple[float, float]
) -> list[dict[str, Any]]:
    """Each highlighted point's number (1, 2, ... in practice-code order) placed where no label overlaps."""
    (x0, x1), (y0, y1) = x_domain, y_domain

    def to_px(size: float, value: float) -> tuple[float, float]:
        return ((size - x0) / (x1 - x0) * WIDTH, _FUNNEL_HEIGHT - (value - y0) / (y1 - y0) * _FUNNEL_HEIGHT)

    ordered = sorted(highlighted, key=lambda r: r["practice_code"])
    points = [to_px(r["size"], r["value"]) for r in ordered]
    texts = [str(i) for i in range(1, len(ordered) + 1)]
    centres = place_labels(points, texts)
    out = []
    for r, text, (px, py), (cx, cy) in zip(ordered, texts, points, centres, strict=True):
        out.append(
            {
                **r,
                "number": text,
                "label_size": x0 + cx / WIDTH * (x1 - x0),
                "label_value": y0 + (_FUNNEL_HEIGHT - cy) / _FUNNEL_HEIGHT * (y1 - y0),
                "leader": math.hypot(cx - px, cy - py) > 16,
            }
        )
    return out
