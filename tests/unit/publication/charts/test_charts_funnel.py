"""Funnel chart: every practice a point, limits drawn, neutral words, and nothing that ranks."""

from __future__ import annotations

import colorsys
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from chart_frames import funnel_frames, funnel_meta

from gpaccess.errors import PolicyError
from gpaccess.publication.charts.common import layer_rows
from gpaccess.publication.charts.funnel import FUNNEL_CAVEAT, funnel_chart
from gpaccess.publication.guard import (
    JUDGEMENT_WORDS,
    RANKING_TEXT_WORDS,
    league_word_in_name,
    league_word_in_text,
)


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["layer"]


def _mark(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _points_layer(spec: dict[str, Any]) -> dict[str, Any]:
    (layer,) = [lay for lay in _layers(spec) if lay.get("name") == "practices"]
    return layer


def _walk(node: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a nested spec."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found.extend(_walk(v, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(_walk(item, key))
    return found


def test_one_point_per_practice_in_code_order(funnel_data):
    points, curves = funnel_data
    shuffled = points.sample(frac=1.0, random_state=1)
    spec = funnel_chart(shuffled, curves, funnel_meta()).to_dict()
    layer = _points_layer(spec)
    assert _mark(layer) == "point"
    rows = layer_rows(spec, layer)
    assert len(rows) == len(points)
    assert [r["practice_code"] for r in rows] == sorted(points["practice_code"])  # code order, never value order
    assert {r["practice_code"] for r in rows} == set(points["practice_code"])
    assert layer["encoding"]["x"]["field"] == "size"
    assert layer["encoding"]["y"]["field"] == "value"


def test_limit_lines_95_dashed_998_solid_and_target_line(funnel_data):
    points, curves = funnel_data
    spec = funnel_chart(points, curves, funnel_meta("higher")).to_dict()
    (lines,) = [lay for lay in _layers(spec) if _mark(lay) == "line"]
    rows = layer_rows(spec, lines)
    assert {r["side"] for r in rows} == {"lower 95", "upper 95", "lower 99.8", "upper 99.8"}
    assert len(rows) == 4 * len(curves)
    dash = lines["encoding"]["strokeDash"]["scale"]
    assert dict(zip(dash["domain"], dash["range"], strict=True)) == {"95% limits": [6, 4], "99.8% limits": [1, 0]}
    rules = [lay for lay in _layers(spec) if _mark(lay) == "rule"]
    assert any(layer_rows(spec, r) == [{"centre": 0.62}] for r in rules)


def test_tooltip_fields_fixed_and_never_rankish(funnel_data):
    points, curves = funnel_data
    # a rank column the caller happens to hold never reaches the chart
    points = points.assign(rank=np.arange(len(points)), percentile=np.linspace(0, 100, len(points)))
    spec = funnel_chart(points, curves, funnel_meta()).to_dict()
    tooltip = _points_layer(spec)["encoding"]["tooltip"]
    assert [t["field"] for t in tooltip] == [
        "practice_code",
        "practice_name",
        "numerator",
        "denominator",
        "value",
        "expected",
        "against_limits",
    ]
    fields = {f for f in _walk(spec, "field") if isinstance(f, str)}
    data_keys = {
        k
        for rows in [*_walk(spec, "values"), *spec.get("datasets", {}).values()]
        if isinstance(rows, list)
        for r in rows
        if isinstance(r, dict)
        for k in r
    }
    for name in fields | data_keys:
        assert league_word_in_name(name) is None, name
    for title in _walk(spec, "title"):
        text = json.dumps(title)
        assert league_word_in_text(text) is None, text


def test_nothing_sorted_by_value(funnel_data):
    points, curves = funnel_data
    for direction in ("none", "higher", "lower"):
        spec = funnel_chart(points, curves, funnel_meta(direction)).to_dict()
        assert _walk(spec, "sort") == []
        assert not any("window" in t or "sort" in t for t in _walk(spec, "transform"))


def test_positions_in_neutral_words(funnel_data):
    points, curves = funnel_data
    spec = funnel_chart(points, curves, funnel_meta()).to_dict()
    rows = {r["practice_code"]: r for r in layer_rows(spec, _points_layer(spec))}
    allowed = {
        "Below the lower 99.8% limit",
        "Below the lower 95% limit (inside 99.8%)",
        "Within the 95% limits",
        "Above the upper 95% limit (inside 99.8%)",
        "Above the upper 99.8% limit",
    }
    assert {r["against_limits"] for r in rows.values()} <= allowed
    for row in points.itertuples():
        words = rows[row.practice_code]["against_limits"]
        if row.value < row.lower998:
            assert words == "Below the lower 99.8% limit"
        elif row.lower95 <= row.value <= row.upper95:
            assert words == "Within the 95% limits"
        # the 95% classification from the statistics layer agrees with the words
        assert words.startswith({"below": "Below", "within": "Within", "above": "Above"}[row.position])
    # the fixture holds practices on both sides
    assert any(w.startswith("Below the lower 99.8") for w in (r["against_limits"] for r in rows.values()))


def _hue(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def _colour_map(spec: dict[str, Any]) -> dict[str, str]:
    scale = _points_layer(spec)["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True))


def test_direction_none_uses_one_hue_and_no_red_or_green(funnel_data):
    points, curves = funnel_data
    spec = funnel_chart(points, curves, funnel_meta("none")).to_dict()
    colours = _colour_map(spec)
    below = [c for label, c in colours.items() if label.startswith("Below")]
    above = [c for label, c in colours.items() if label.startswith("Above")]
    hues = [_hue(c) for c in below + above]
    assert max(hues) - min(hues) < 20  # one hue family on both sides
    for h in hues:
        assert not (h < 25 or h > 335), "red"
        assert not (75 < h < 165), "green"
    assert sorted(below) == sorted(above)  # above and below look alike but for shape and place
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "No target and no good direction" in subtitle
    shapes = _points_layer(spec)["encoding"]["shape"]["scale"]
    assert set(shapes["range"]) == {"triangle-down", "circle", "triangle-up"}


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_directed_measures_state_the_direction_and_avoid_red_green(funnel_data, direction):
    points, curves = funnel_data
    spec = funnel_chart(points, curves, funnel_meta(direction)).to_dict()
    assert f"Direction: {direction} face-to-face share is preferred." in spec["title"]["subtitle"]
    for colour in _colour_map(spec).values():
        h = _hue(colour)
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        if max(r, g, b) - min(r, g, b) > 30:  # chromatic colours only
            assert not (75 < h < 165), f"green {colour}"
            assert not (h < 20 or h > 340), f"red {colour}"


def test_caption_carries_definition_window_adjustment_and_caveat(funnel_data):
    points, curves = funnel_data
    meta = funnel_meta("higher")
    spec = funnel_chart(points, curves, meta).to_dict()
    texts = [lay["mark"]["text"] for lay in _layers(spec) if isinstance(lay["mark"], dict) and "text" in lay["mark"]]
    caption = " ".join(" ".join(t) if isinstance(t, list) else t for t in texts)
    assert "(Face-to-Face + Home Visit) ÷ appointments with a known mode" in caption
    assert "Aug–Oct 2025" in caption
    assert "additive overdispersion (Spiegelhalter 2005)" in caption
    assert " ".join(FUNNEL_CAVEAT).format(centre="target") in caption
    assert "Points outside the limits differ from the target by more than chance explains" in caption
    assert "Practices are never ranked." in caption


def test_interactive_pan_and_zoom(funnel_data):
    spec = funnel_chart(*funnel_data, funnel_meta()).to_dict()
    params = spec.get("params", []) + [p for lay in _layers(spec) for p in lay.get("params", [])]
    assert any(p.get("bind") == "scales" for p in params)


def _label_layer(spec: dict[str, Any]) -> dict[str, Any] | None:
    found = [lay for lay in _layers(spec) if lay.get("name") == "labels"]
    return found[0] if found else None


def test_highlighted_practices_outlined_and_numbered_in_code_order(funnel_data):
    points, curves = funnel_data
    codes = tuple(points["practice_code"].iloc[[5, 0]])
    spec = funnel_chart(points, curves, funnel_meta(highlight_codes=codes, highlight_label="Selected")).to_dict()
    layer = _label_layer(spec)
    assert layer is not None and layer["encoding"]["text"]["field"] == "number"
    rows = layer_rows(spec, layer)
    assert [(r["number"], r["practice_code"]) for r in rows] == [("1", min(codes)), ("2", max(codes))]
    # without highlights there are no labels
    assert _label_layer(funnel_chart(points, curves, funnel_meta()).to_dict()) is None


def _boxes(spec: dict[str, Any]) -> tuple[list[tuple[float, ...]], list[tuple[float, float]]]:
    """Each label's box and each labelled point, in pixels, from the chart's own scales."""
    from gpaccess.publication.charts.common import WIDTH
    from gpaccess.publication.charts.funnel import _CHAR_W, _FUNNEL_HEIGHT, _LABEL_H

    layer = _label_layer(spec)
    assert layer is not None
    (x0, x1) = layer["encoding"]["x"]["scale"]["domain"]
    (y0, y1) = layer["encoding"]["y"]["scale"]["domain"]

    def px(size: float, value: float) -> tuple[float, float]:
        return (size - x0) / (x1 - x0) * WIDTH, _FUNNEL_HEIGHT - (value - y0) / (y1 - y0) * _FUNNEL_HEIGHT

    boxes, dots = [], []
    for r in layer_rows(spec, layer):
        cx, cy = px(r["label_size"], r["label_value"])
        w = _CHAR_W * len(r["number"]) + 4
        boxes.append((cx - w / 2, cy - _LABEL_H / 2, cx + w / 2, cy + _LABEL_H / 2))
        dots.append(px(r["size"], r["value"]))
    return boxes, dots


def test_numbered_labels_never_overlap_even_in_a_tight_cluster(funnel_data):
    points, curves = funnel_data
    points = points.copy()
    # 40 practices almost on top of one another, all highlighted
    crowd = points.index[:40]
    points.loc[crowd, "size"] = 1000 + np.arange(40) * 3.0
    points.loc[crowd, "value"] = 0.95 + np.arange(40) * 0.001
    codes = tuple(points.loc[crowd, "practice_code"])
    spec = funnel_chart(points, curves, funnel_meta(highlight_codes=codes)).to_dict()
    boxes, dots = _boxes(spec)
    assert len(boxes) == 40
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
        for x, y in dots:  # nor on a labelled point
            assert not (a[0] < x < a[2] and a[1] < y < a[3])
        assert a[0] >= 0 and a[2] <= 640 and a[1] >= 0 and a[3] <= 400  # inside the plot


def test_practices_without_data_are_counted_not_plotted(funnel_data):
    points, curves = funnel_data
    points = points.copy()
    points.loc[
        points.index[:2], ["numerator", "denominator", "value", "size", "lower95", "upper95", "lower998", "upper998"]
    ] = np.nan
    points.loc[points.index[:2], "position"] = "no data"
    spec = funnel_chart(points, curves, funnel_meta()).to_dict()
    assert len(layer_rows(spec, _points_layer(spec))) == len(points) - 2
    assert "2 with no data in the window, not shown" in spec["title"]["subtitle"][0]
    json.dumps(spec, allow_nan=False)  # NaN never reaches the JSON


def test_ratio_funnel_formats():
    points, curves = funnel_frames(12)
    points = points.assign(value=points["value"] / 0.62, expected=points["denominator"] * 0.62)
    for col in ("lower95", "upper95", "lower998", "upper998"):
        points[col] = points[col] / 0.62
        curves[col] = curves[col] / 0.62
    meta = funnel_meta("none", value_format="ratio", target=1.0, y_label="Observed ÷ expected")
    spec = funnel_chart(points, curves, meta).to_dict()
    tooltip = {t["field"]: t for t in _points_layer(spec)["encoding"]["tooltip"]}
    assert tooltip["value"]["format"] == ".2f"
    assert tooltip["expected"]["title"] == "Expected count"


@pytest.mark.parametrize("field", ["title", "measure_name", "y_label", "x_label"])
@pytest.mark.parametrize(
    "word", [*(w.title() for w in JUDGEMENT_WORDS), *RANKING_TEXT_WORDS, "Top 10%", "rankings", "percentiles"]
)
def test_ranking_words_refused(field, word):
    with pytest.raises(PolicyError):
        funnel_meta(**{field: f"{word} practices"})


def test_bad_meta_and_missing_columns(funnel_data):
    points, curves = funnel_data
    with pytest.raises(ValueError, match="direction"):
        funnel_meta("good")
    with pytest.raises(ValueError, match="value_format"):
        funnel_meta(value_format="pct")
    with pytest.raises(ValueError, match="missing column"):
        funnel_chart(points.drop(columns=["upper998"]), curves, funnel_meta())
    with pytest.raises(ValueError, match="missing column"):
        funnel_chart(points, pd.DataFrame({"size": [1.0]}), funnel_meta())
