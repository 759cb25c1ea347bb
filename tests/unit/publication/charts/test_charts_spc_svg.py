"""The web's SPC chart drawn straight to SVG: the same points, colours and limits as the Altair chart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from chart_frames import spc_frame, spc_meta

from gpaccess.publication.charts.spc_svg import _nice_ticks, spc_svg

NS = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def _points(root: ET.Element) -> list[ET.Element]:
    """The data points: circles carrying a month tooltip (the legend's circles carry none)."""
    return [c for c in root.iter(f"{NS}circle") if c.find(f"{NS}title") is not None]


def test_one_dot_per_month_in_time_order_coloured_by_variation(spc_data):
    root = _tree(spc_svg(spc_data.iloc[::-1], spc_meta("increase")))
    dots = _points(root)
    assert len(dots) == len(spc_data)
    xs = [float(d.get("cx")) for d in dots]
    assert xs == sorted(xs)  # drawn in time order whatever order the rows came in
    assert dots[0].find(f"{NS}title").text.startswith("Nov 2023")
    colours = {"": "#7B7D7D", "improvement": "#289DE0", "concern": "#FAB428"}
    assert [d.get("fill") for d in dots] == [colours[k] for k in spc_data.special_cause]
    assert "#289DE0" in {d.get("fill") for d in dots}  # the frame has an improvement point (month 9, 0.70)


def test_higher_values_drawn_higher_and_on_the_scale_of_the_ticks(spc_data):
    root = _tree(spc_svg(spc_data, spc_meta()))
    ys = np.array([float(d.get("cy")) for d in _points(root)])
    values = spc_data.value.to_numpy()
    order = np.argsort(values)
    assert np.all(np.diff(ys[order]) <= 1e-6)  # SVG y grows downwards
    # Every dot lies on the straight line through two grid lines' (value, y) pairs: the y axis is linear.
    grid = [e for e in root.iter(f"{NS}line") if e.get("stroke") == "#D8DDE0"]
    labels = [t for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    pairs = [(float(t.text.rstrip("%")) / 100, float(g.get("y1"))) for t, g in zip(labels, grid, strict=True)]
    (v0, y0), (v1, y1) = pairs[:2]
    expected = y0 + (values - v0) * (y1 - y0) / (v1 - v0)
    assert np.allclose(ys, expected, atol=0.15)  # coordinates are written to 0.1 px


def test_limits_dashed_per_segment_mean_solid_and_rebase_marked(spc_data):
    svg = spc_svg(spc_data, spc_meta())
    root = _tree(svg)
    paths = list(root.iter(f"{NS}path"))
    segments = spc_data.segment.nunique()
    limits = [p for p in paths if p.get("stroke") == "#7B7D7D" and p.get("stroke-dasharray") in ("7 4", "2 3")]
    means = [p for p in paths if p.get("stroke") == "#212B32"]
    assert len(limits) == 2 * segments and len(means) == segments  # never a limit drawn across a rebase
    assert all(p.get("stroke-dasharray") is None for p in means)
    assert svg.count(">Rebased<") == segments - 1


def test_trial_limits_drawn_finer_and_named():
    frame = spc_frame("increase", months=10, rebase_at=None)
    svg = spc_svg(frame, spc_meta())
    root = _tree(svg)
    assert [p.get("stroke-dasharray") for p in root.iter(f"{NS}path") if p.get("stroke") == "#7B7D7D" and
            p.get("stroke-dasharray") not in (None, "")] == ["2 3", "2 3"]  # fmt: skip
    assert "Trial limits: some limits rest on fewer than 12 points" in svg


def test_neutral_measure_uses_purple_and_says_so():
    frame = spc_frame("neutral")
    svg = spc_svg(frame, spc_meta("neutral"))
    assert "No preferred direction" in svg
    assert "Special cause: improvement" not in svg and "Special cause: neither improvement nor concern" in svg
    fills = {d.get("fill") for d in _points(_tree(svg))}
    assert fills <= {"#7B7D7D", "#361475"}


def test_special_cause_must_fit_direction(spc_data):
    with pytest.raises(ValueError, match="does not fit"):
        spc_svg(spc_data, spc_meta("neutral"))


def test_text_is_escaped_and_nothing_runs():
    svg = spc_svg(spc_frame(), spc_meta(practice_name='A & B "Surgery" <x>'))
    _tree(svg)
    assert "A &amp; B" in svg and "<x>" not in svg
    assert not re.search(r"<script|on\w+=", svg)


def test_missing_months_break_the_line(spc_data):
    gap = spc_data.copy()
    gap.loc[5, "value"] = np.nan
    root = _tree(spc_svg(gap, spc_meta()))
    (series,) = [p for p in root.iter(f"{NS}path") if p.get("stroke-width") == "1.6"]
    assert series.get("d").count("M") == 2  # the pen lifts at the missing month
    assert len(_points(root)) == len(gap) - 1


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.263, 0.397, [0.25, 0.30, 0.35, 0.40]),  # range 0.134 / 4 = 0.0335 → step 0.05
        (3.2, 9.7, [2.0, 4.0, 6.0, 8.0, 10.0]),  # 6.5 / 4 = 1.625 → step 2
        (410.0, 480.0, [400.0, 420.0, 440.0, 460.0, 480.0]),  # 70 / 4 = 17.5 → step 20
        (0.5, 0.5, [0.46, 0.48, 0.50, 0.52, 0.54]),  # flat: ±5% padding (0.475..0.525), 0.05 / 4 → step 0.02
    ],
)
def test_nice_ticks_cover_the_range_in_round_steps(lo, hi, expected):
    ticks = _nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert ticks == pytest.approx(expected)


def test_a_long_title_is_wrapped_inside_the_chart_and_not_repeated_on_the_axis():
    long = "Did-not-attend rate (of appointments with a known status), month by month"
    meta = spc_meta(title=long, y_label="Did-not-attend rate (of appointments with a known status)")
    root = _tree(spc_svg(spc_frame(), meta))
    bold = [t.text for t in root.iter(f"{NS}text") if t.get("font-weight") == "bold" and t.get("font-size") == "15"]
    assert len(bold) == 2 and " ".join(bold) == long  # two lines, nothing lost
    assert all(len(line) * 15 * 0.66 <= 640 for line in bold)
    assert not [t for t in root.iter(f"{NS}text") if t.get("transform")]  # the title names the measure already


def test_a_report_chart_carries_its_footnote_below_the_legend_inside_the_image(spc_data):
    meta = spc_meta(plain=True)
    plain = _tree(spc_svg(spc_data, meta))
    noted = _tree(spc_svg(spc_data, meta, footnote=True))
    texts = [t.text or "" for t in noted.iter(f"{NS}text")]
    assert not [t for t in plain.iter(f"{NS}text") if (t.text or "").startswith("Definition:")]
    notes = [t for t in noted.iter(f"{NS}text") if t.get("fill") == "#4C6272" and t.get("font-size") == "10"]
    words = " ".join(texts).split()
    assert " ".join(words).count("Definition: Face-to-face share = (Face-to-Face + Home Visit)") == 1
    assert "7 months in a row on one side of the average" in " ".join(words)  # plain English, not "2σ"
    assert "2σ" not in " ".join(words)
    legend = max(float(t.get("y")) for t in noted.iter(f"{NS}text") if t.text == "Trial limits (fewer than 12 points)")
    footnote_ys = [float(t.get("y")) for t in notes if float(t.get("y")) > legend]
    assert footnote_ys and max(footnote_ys) < float(noted.get("height"))  # below the legend, inside the image
    assert all(len(t.text or "") * 10 * 0.55 <= 640 for t in notes)  # wrapped to the chart's width


def test_column_arrays_draw_the_same_chart_as_their_frame(spc_data):
    # A server's SpcTable hands its column arrays over, not a frame: the drawing must not depend on which.
    columns = {c: spc_data[c].to_numpy() for c in spc_data.columns}
    assert spc_svg(columns, spc_meta("increase")) == spc_svg(spc_data, spc_meta("increase"))


def test_an_spc_tables_rows_label_months_and_say_none_for_missing():
    from gpaccess.measures.definitions import load_measures
    from gpaccess.publication.figures import SpcTable

    columns = {
        "month": np.array(["2023-11-01", "2023-12-01", "2024-01-01"], dtype="datetime64[ns]"),
        "value": np.array([0.25, np.nan, 0.5]),
        "special_cause": np.array(["", "concern", ""], dtype=object),
    }
    table = SpcTable(columns, spc_meta("increase"), load_measures()["f2f_gp"])
    rows = table.rows(["month", "value", "special_cause"])
    assert [r["month"] for r in rows] == ["Nov 2023", "Dec 2023", "Jan 2024"]
    assert [r["value"] for r in rows] == [0.25, None, 0.5]
    assert rows[1]["special_cause"] == "concern"
    data = table.data  # the frame `--data` writes: the columns with practice, measure and definition
    assert list(data.practice_code.unique()) == [spc_meta().practice_code] and set(data.measure) == {"f2f_gp"}
    assert len(table) == len(data) == 3
