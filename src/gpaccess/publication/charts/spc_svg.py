"""The SPC (XmR) chart drawn straight to SVG, for the web application: the same points, meta, colours,
subtitle and limits as `charts/spc.py`'s Altair chart, without Vega.

Why a second drawing of one chart: a practice page's chart is fetched on every page view, and building the
Altair chart and drawing it through vl-convert costs about 0.3 s of CPU, more than the whole page. Writing the
few lines, dots and labels of an XmR chart directly takes about a millisecond, so a server can draw every
practice's chart on demand (DESIGN "Charts and CSP": server-rendered SVG, with the table beside it on the
page). The ICB cohort report draws its charts here too, with the footnote a report needs (a selected practice's
chart each: 15 charts cost 4 s through Altair). `gpaccess spc` keeps the Altair chart, which also makes the
interactive HTML and the PNG.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from gpaccess.publication.charts.common import FONT, GRID, INK, MUTED, WIDTH, format_value
from gpaccess.publication.charts.spc import (
    _MDC_GREY,
    _PROCESS_LIMITS,
    _SIGNALS,
    _TRIAL_LIMITS,
    SpcMeta,
    _spc_footnote,
    _spc_records,
    _spc_subtitle,
)

PLOT_HEIGHT = 260
LEFT, RIGHT, TOP_PAD = 64, 16, 12
TITLE_LINE = 17
LEGEND_LINE = 18
NOTE_SIZE = 10  # the footnote comes wrapped to 110 characters: at 10 px they fit the chart's 640


def spc_svg(points: pd.DataFrame | Mapping[str, Any], meta: SpcMeta, *, footnote: bool = False) -> str:
    """The chart as SVG text: title and subtitle, y grid with formatted ticks, process (or trial) limits and
    mean per segment, the 2σ lines, the series with each point coloured by its variation, and a legend; with
    `footnote`, the Altair chart's footnote under it (the definition and how to read a signal: a report's chart
    stands alone, where a web page shows the definition beside it)."""
    records = _spc_records(points, meta)
    # Wrapped to the chart's width (about 0.55 em a character): a long measure title must not run off the image.
    title = textwrap.wrap(meta.title, width=int(WIDTH / (15 * 0.66)))  # bold: wider letters
    subtitle = [part for line in _spc_subtitle(meta, records) for part in textwrap.wrap(line, int(WIDTH / (12 * 0.55)))]
    heading = [*title, *subtitle]
    top = TOP_PAD + TITLE_LINE * len(heading) + 8
    plot_w = WIDTH - LEFT - RIGHT
    keys = ["", "neither"] if meta.improvement_direction == "neutral" else ["", "improvement", "concern"]
    legend_top = top + PLOT_HEIGHT + 34
    notes = _spc_footnote(meta) if footnote else []  # wrapped to 110 characters, as under the Altair chart
    notes_top = legend_top + LEGEND_LINE * (len(keys) + 1) + 12
    height = (notes_top + 14 * len(notes) if notes else legend_top + LEGEND_LINE * (len(keys) + 2)) + 8

    values = [r[k] for r in records for k in ("value", "mean", "lower", "upper") if r.get(k) is not None]
    if meta.target is not None:
        values.append(float(meta.target))
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    ticks = _nice_ticks(lo, hi)
    y_min, y_max = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return top + PLOT_HEIGHT - (v - y_min) / (y_max - y_min) * PLOT_HEIGHT

    n = len(records)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else 14 + i * (plot_w - 28) / (n - 1))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(meta.title, _ATTR)}" font-family="{FONT}">',
        f"<title>{escape(meta.title)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#FFFFFF"/>',
    ]
    for i, line in enumerate(heading):
        size, colour, weight = (15, INK, "bold") if i < len(title) else (12, MUTED, "normal")
        out.append(_text(4, TOP_PAD + TITLE_LINE * (i + 1) - 4, line, size=size, fill=colour, weight=weight))
    for t in ticks:
        ty = y(t)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{GRID}"/>')
        out.append(_text(LEFT - 6, ty + 4, _tick_label(t, meta, ticks), size=11, fill=MUTED, anchor="end"))
    if meta.y_label not in meta.title:  # the title names the measure already: no second, rotated copy of it
        out.append(_text(14, top + PLOT_HEIGHT / 2, meta.y_label, size=11, fill=MUTED, anchor="middle", rotate=True))

    step = max(1, math.ceil(n / (plot_w // 72)))  # a month label is about 60 px wide: never let two touch
    for i, r in enumerate(records):
        if i % step == 0:
            out.append(_text(x(i), top + PLOT_HEIGHT + 18, r["month_label"], size=11, fill=MUTED, anchor="middle"))

    for segment in _segments(records):
        for side in ("lower_2s", "upper_2s"):
            out.append(_path(segment, side, x, y, stroke="#B7BDC0", width=0.8, dash="1 3"))
        for side in ("lower", "upper"):
            dash = "2 3" if segment[0][1]["trial"] else "7 4"
            out.append(_path(segment, side, x, y, stroke=_MDC_GREY, width=1.3, dash=dash))
        out.append(_path(segment, "mean", x, y, stroke=INK, width=1.4))
        if segment[0][0] > 0:
            sx = x(segment[0][0])
            out.append(
                f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{top}" y2="{top + PLOT_HEIGHT}" stroke="{MUTED}" '
                'stroke-dasharray="2 2"/>'
            )
            out.append(_text(sx + 3, top + 11, "Rebased", size=10, fill=MUTED))
    if meta.target is not None:
        ty = y(float(meta.target))
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{INK}" stroke-width="1.2" '
            'stroke-dasharray="8 3 2 3"/>'
        )
        out.append(_text(LEFT + 4, ty - 3, f"Target {format_value(meta.target, meta.value_format)}", size=10, fill=INK))
    out.append(_path(list(enumerate(records)), "value", x, y, stroke=_MDC_GREY, width=1.6))
    colours = {label: colour for label, colour in _SIGNALS.values()}
    for i, r in enumerate(records):
        if r["value"] is None:
            continue
        label = f"{r['month_label']}: {format_value(r['value'], meta.value_format)} ({r['signal']})"
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(r["value"]):.1f}" r="4.4" fill="{colours[r["signal"]]}">'
            f"<title>{escape(label)}</title></circle>"
        )

    out.append(_text(4, legend_top, "Variation", size=11, fill=INK, weight="bold"))
    for j, key in enumerate(keys):
        label, colour = _SIGNALS[key]
        ly = legend_top + LEGEND_LINE * (j + 1)
        out.append(f'<circle cx="10" cy="{ly - 4}" r="4.4" fill="{colour}"/>')
        out.append(_text(20, ly, label, size=11, fill=INK))
    lx, ly = WIDTH / 2, legend_top
    out.append(_text(lx, ly, "Limits", size=11, fill=INK, weight="bold"))
    for j, (label, dash) in enumerate(((_PROCESS_LIMITS, "7 4"), (_TRIAL_LIMITS, "2 3"))):
        yy = ly + LEGEND_LINE * (j + 1) - 4
        out.append(
            f'<line x1="{lx}" x2="{lx + 24}" y1="{yy}" y2="{yy}" stroke="{_MDC_GREY}" stroke-width="1.3" '
            f'stroke-dasharray="{dash}"/>'
        )
        out.append(_text(lx + 30, yy + 4, label, size=11, fill=INK))
    for i, line in enumerate(notes):
        out.append(_text(4, notes_top + 14 * i, line, size=NOTE_SIZE, fill=MUTED))
    out.append("</svg>")
    return "\n".join(out)


_ATTR = {'"': "&quot;"}


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int,
    fill: str,
    anchor: str = "start",
    weight: str = "normal",
    rotate: bool = False,
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
        f'font-weight="{weight}"{turn}>{escape(text)}</text>'
    )


def _segments(records: Sequence[dict[str, Any]]) -> list[list[tuple[int, dict[str, Any]]]]:
    """Runs of consecutive points in one segment (limits are drawn per segment, never across a rebase)."""
    out: list[list[tuple[int, dict[str, Any]]]] = []
    for i, r in enumerate(records):
        if out and out[-1][-1][1]["segment"] == r["segment"]:
            out[-1].append((i, r))
        else:
            out.append([(i, r)])
    return out


def _path(
    points: list[tuple[int, dict[str, Any]]], key: str, x: Any, y: Any, *, stroke: str, width: float, dash: str = ""
) -> str:
    """A polyline through the points' `key` values, broken where a value is missing."""
    parts: list[str] = []
    pen_down = False
    for i, r in points:
        v = r.get(key)
        if v is None or not math.isfinite(v):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x(i):.1f} {y(v):.1f}")
        pen_down = True
    if not parts:
        return ""
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<path d="{" ".join(parts)}" fill="none" stroke="{stroke}" stroke-width="{width}"{dashed}/>'


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2 or 5 × a power of ten apart), at least two of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.05 or 0.05
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = [first]
    while ticks[-1] < hi - 1e-12 * step:
        ticks.append(first + len(ticks) * step)
    if len(ticks) < 2:
        ticks.append(first + step)
    return [round(t, 12) for t in ticks]


def _tick_label(value: float, meta: SpcMeta, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0]
    if meta.value_format == "percent":
        digits = max(0, -math.floor(math.log10(step * 100) + 1e-9)) if step < 0.01 else 0
        return f"{value:.{digits}%}"
    if meta.value_format == "ratio":
        return f"{value:.2f}"
    digits = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:,.{digits}f}"
