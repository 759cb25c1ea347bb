"""What every chart shares: saving it (HTML that works offline, PNG, SVG), the data behind it as a CSV with
spreadsheet formulas neutralised, the NHS.UK look (font, ink, grid), number formats, and the checks on what
callers pass in (labels in neutral words, known choices, the columns of the data contract).

The promises every chart keeps are in the package's docstring (`charts/__init__.py`).
"""

from __future__ import annotations

import math
import os
import textwrap
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd

from gpaccess.errors import PolicyError, UserError
from gpaccess.publication.exports import write_csv
from gpaccess.publication.guard import league_word_in_text

ValueFormat = Literal["percent", "ratio", "number"]

SUPPORTED_SUFFIXES = (".html", ".png", ".svg")

FORMATS = {"percent": ".1%", "ratio": ".2f", "number": ",.1f"}
AXIS_FORMATS = {"percent": ".0%", "ratio": ".2f", "number": ",.0f"}

WIDTH = 640
INK = "#212B32"  # NHS.UK text colour
MUTED = "#4C6272"  # NHS.UK secondary text
GRID = "#D8DDE0"
FONT = "Arial, Liberation Sans, DejaVu Sans, sans-serif"


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite specification, not validated against the schema again: the chart builders'
    tests validate every kind of chart, and validation is most of the cost of drawing a report's many charts."""
    spec: dict[str, Any] = chart.to_dict(validate=False)
    return spec


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text (drawn by vl-convert, offline)."""
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart_spec(chart)))


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
            import vl_convert as vlc

            Path(tmp).write_bytes(vlc.vegalite_to_png(chart_spec(chart), scale=2))
        else:
            Path(tmp).write_text(chart_svg(chart), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_chart_data(df: pd.DataFrame, path: Path) -> Path:
    """The data behind a chart as CSV, XLSX or JSON (from the file's extension; CSV when it has none), with text
    that a spreadsheet would run as a formula neutralised."""
    from gpaccess.publication.tables import write_table

    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".json"):
        return write_csv(df, path)
    return write_table(df, path, sheet="chart data")


class InlineData:
    """A chart's rows, kept once at its top level (Vega-Lite `datasets`) with each layer naming the rows it draws.

    Altair copies a chart's layers, and with them any rows written inside a layer, every time the chart is
    changed (layered, titled, styled); rows kept apart are copied once, which makes a report of many charts
    several times faster, and the saved chart holds each row once."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, name: str, rows: list[dict[str, Any]]) -> alt.NamedData:
        self.rows[name] = rows
        return alt.NamedData(name=name)

    def attach(self, chart: alt.LayerChart) -> alt.LayerChart:
        chart.datasets = self.rows
        return chart


def layer_rows(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a layer of a chart's specification draws, whether written inline or named in `datasets`."""
    data = layer.get("data", {})
    if "values" in data:
        return list(data["values"])
    return list(spec.get("datasets", {}).get(data.get("name"), []))


def configure(chart: alt.LayerChart) -> alt.LayerChart:
    return (
        chart.configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(
            labelColor=INK,
            titleColor=INK,
            gridColor=GRID,
            domainColor="#AEB7BD",
            tickColor="#AEB7BD",
            labelFontSize=11,
            titleFontSize=12,
            titleFontWeight="normal",
        )
        .configure_legend(labelColor=INK, titleColor=INK, labelFontSize=11, titleFontSize=11, labelLimit=320)
        .configure_title(fontSize=16, color=INK, subtitleColor=MUTED, subtitleFontSize=12, subtitlePadding=6, offset=12)
    )


def footnote(lines: list[str], height: int, *, below_legend: bool = False, legend_rows: int = 1) -> alt.Chart:
    """A caption under the plot: text at fixed pixel positions, so pan and zoom leave it in place. Below a
    legend of `legend_rows` entries (a vertical legend under the plot), it moves down by a row for each extra."""
    return alt.Chart(alt.Data(values=[{}])).mark_text(
        text=lines,
        align="left",
        baseline="top",
        x=0,
        y=height + (88 + 18 * (legend_rows - 1) if below_legend else 46),
        fontSize=10.5,
        lineHeight=14,
        color=MUTED,
        clip=False,  # layers sharing pan/zoom scales are clipped by default; the caption sits outside the plot
    )


def wrap(lines: Iterable[str], width: int = 135) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width=width) or [""])
    return out


def format_value(value: float, value_format: str) -> str:
    if value_format == "percent":
        return f"{value:.1%}"
    if value_format == "ratio":
        return f"{value:.2f}"
    return f"{value:,.1f}"


def json_number(value: Any) -> float | None:
    """A finite float for the chart's JSON, or None (JSON has no NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def plain_text(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def require_columns(name: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def check_wording(**texts: str) -> None:
    """Refuse the guard's league-table vocabulary in any caller-supplied label (DESIGN.md "never a league
    table"): the same words an outward file may not use."""
    for field, text in texts.items():
        found = league_word_in_text(text or "")
        if found:
            raise PolicyError(
                f"chart {field} {text!r} uses {found!r}: practices are compared against limits, never "
                "ranked; use neutral words such as 'below the lower 95% limit'"
            )
