"""SPC chart: Making Data Count look, per-segment limits, trial limits named, tooltips with the rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chart_frames import spc_frame, spc_meta

from gpaccess.publication.charts.common import layer_rows
from gpaccess.publication.charts.spc import spc_chart


def _mark(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def _months_layer(spec: dict[str, Any]) -> dict[str, Any]:
    (layer,) = [lay for lay in spec["layer"] if lay.get("name") == "months"]
    return layer


def test_one_point_per_month_in_time_order(spc_data):
    spec = spc_chart(spc_data.iloc[::-1], spc_meta()).to_dict()
    rows = layer_rows(spec, _months_layer(spec))
    assert len(rows) == len(spc_data)
    assert [r["month"] for r in rows] == sorted(r["month"] for r in rows)
    assert rows[0]["month"] == "2023-11-01" and rows[0]["month_label"] == "Nov 2023"
    json.dumps(spec, allow_nan=False)


def test_mdc_colours_by_direction(spc_data):
    spec = spc_chart(spc_data, spc_meta("increase")).to_dict()
    scale = _months_layer(spec)["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "Common cause": "#7B7D7D",
        "Special cause: improvement": "#289DE0",
        "Special cause: concern": "#FAB428",
    }
    neutral = spc_chart(spc_frame("neutral"), spc_meta("neutral")).to_dict()
    scale = _months_layer(neutral)["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "Common cause": "#7B7D7D",
        "Special cause: neither improvement nor concern": "#361475",
    }
    assert any("No preferred direction" in s for s in neutral["title"]["subtitle"])


def test_special_cause_must_fit_direction(spc_data):
    with pytest.raises(ValueError, match="does not fit"):
        spc_chart(spc_data, spc_meta("neutral"))


def test_mean_solid_limits_dashed_per_segment(spc_data):
    spec = spc_chart(spc_data, spc_meta()).to_dict()
    lines = [lay for lay in spec["layer"] if _mark(lay) == "line"]
    limits = [lay for lay in lines if "strokeDash" in lay.get("encoding", {})]
    assert len(limits) == 1
    detail = limits[0]["encoding"]["detail"]
    assert {d["field"] for d in detail} == {"segment", "side"}
    assert limits[0]["mark"]["color"] == "#7B7D7D"
    dashes = limits[0]["encoding"]["strokeDash"]["scale"]["range"]
    assert all(d != [1, 0] for d in dashes)  # every limit line is dashed
    means = [lay for lay in lines if lay["encoding"].get("y", {}).get("field") == "mean"]
    assert len(means) == 1 and "strokeDash" not in means[0]["mark"]
    assert means[0]["encoding"]["detail"]["field"] == "segment"
    # one rebase marker at the start of the second segment
    rebases = [lay for lay in spec["layer"] if _mark(lay) == "rule" and lay["encoding"].get("x")]
    assert rebases and layer_rows(spec, rebases[0]) == [{"month": "2025-02-01"}]


def test_trial_limits_named_and_drawn_differently():
    frame = spc_frame("increase", months=10, rebase_at=None)
    assert frame["trial"].all()
    spec = spc_chart(frame, spc_meta()).to_dict()
    assert any("Trial limits" in s for s in spec["title"]["subtitle"])
    (limits,) = [lay for lay in spec["layer"] if "strokeDash" in lay.get("encoding", {})]
    assert {r["style"] for r in layer_rows(spec, limits)} == {"Trial limits (fewer than 12 points)"}
    full = spc_chart(spc_frame("increase", months=24, rebase_at=None), spc_meta()).to_dict()
    assert not any("Trial limits" in s for s in full["title"]["subtitle"])


def test_tooltip_month_value_rule(spc_data):
    spec = spc_chart(spc_data, spc_meta()).to_dict()
    fields = [t["field"] for t in _months_layer(spec)["encoding"]["tooltip"]]
    assert fields[:2] == ["month_label", "value"]
    assert "rule" in fields
    rows = layer_rows(spec, _months_layer(spec))
    flagged = [r for r in rows if r["signal"] != "Common cause"]
    assert flagged and all(r["rule"] not in ("", "—") for r in flagged)


def test_target_line_optional(spc_data):
    without = spc_chart(spc_data, spc_meta()).to_dict()
    assert not [lay for lay in without["layer"] if lay.get("encoding", {}).get("y", {}).get("field") == "target"]
    with_target = spc_chart(spc_data, spc_meta(target=0.65)).to_dict()
    targets = [lay for lay in with_target["layer"] if lay.get("encoding", {}).get("y", {}).get("field") == "target"]
    assert targets and layer_rows(with_target, targets[0])[0]["target"] == 0.65


def test_two_sigma_columns_optional(spc_data):
    spec = spc_chart(spc_data.drop(columns=["lower_2s", "upper_2s"]), spc_meta()).to_dict()
    assert len(layer_rows(spec, _months_layer(spec))) == len(spc_data)
    assert "sort" not in json.dumps(spec)
