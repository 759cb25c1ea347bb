"""Measures as data: each `definitions/*.toml` says what is counted, over what, for whom, and why it matters.

Keeping definitions as validated data (as OpenPrescribing does) means an analyst can read exactly what a number
means, the methodology document can list them, and a new measure is a new file, not new code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

from gpaccess.errors import ConfigError

Kind = Literal["share", "rate_per_1000", "baseline_ratio"]
Direction = Literal["none", "higher", "lower"]
DEFAULT_F2F = "f2f_home_over_known"
Condition = dict[str, tuple[str, ...]]  # column -> accepted values; {} means every appointment


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    kind: Kind
    direction: Direction
    why: str
    source: str
    numerator: Condition = field(default_factory=dict)
    denominator: Condition = field(default_factory=dict)
    filter: Condition = field(default_factory=dict)
    data_quality: bool = False
    base: str | None = None  # baseline_ratio: the rate it compares
    definition: str = ""  # one sentence, stated beside every output

    @property
    def standardisable(self) -> bool:
        """Face-to-face shares are compared through indirect standardisation by appointment mix."""
        return self.name in ("f2f_gp", "f2f_all")


def _condition(raw: object) -> Condition:
    assert isinstance(raw, dict)
    return {str(k): tuple(v) for k, v in raw.items()}


def _describe(cond: Condition) -> str:
    if not cond:
        return "all appointments"
    return "; ".join(f"{col} in ({', '.join(vals)})" for col, vals in cond.items())


@cache
def face_to_face_definitions() -> dict[str, dict[str, object]]:
    text = resources.files("gpaccess.measures").joinpath("face_to_face.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def load_measures(f2f_definition: str = DEFAULT_F2F) -> dict[str, Measure]:
    """All measures, with the face-to-face placeholders filled by the chosen definition."""
    f2f = face_to_face_definitions().get(f2f_definition)
    if f2f is None:
        raise ConfigError(
            f"GPACCESS_F2F_DEFINITION={f2f_definition!r}: expected one of {', '.join(face_to_face_definitions())}"
        )
    folder = resources.files("gpaccess.measures").joinpath("definitions")
    measures = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        raw = tomllib.loads(entry.read_text(encoding="utf-8"))
        name = entry.name.removesuffix(".toml")
        parts = {}
        for side in ("numerator", "denominator"):
            value = raw.get(side, {})
            if isinstance(value, str) and value.startswith("@face_to_face_"):
                value = f2f[side]
            parts[side] = _condition(value)
        m = Measure(
            name=name,
            title=raw["title"],
            kind=raw["kind"],
            direction=raw["direction"],
            why=" ".join(raw["why"].split()),
            source=raw["source"],
            numerator=parts["numerator"],
            denominator=parts["denominator"],
            filter=_condition(raw.get("filter", {})),
            data_quality=raw.get("data_quality", False),
            base=raw.get("base"),
        )
        measures[name] = _with_definition(m, str(f2f["label"]))
    return measures


def _with_definition(m: Measure, f2f_label: str) -> Measure:
    if m.kind == "share":
        text = f2f_label if m.standardisable else f"{_describe(m.numerator)} ÷ {_describe(m.denominator)}"
        if m.filter:
            text += f"; only {_describe(m.filter)}"
    elif m.kind == "rate_per_1000":
        text = "appointments ÷ registered patients × 1,000, per month (months pooled over the window)"
    else:
        text = f"{m.base} over the window ÷ {m.base} over the same calendar months of the baseline year"
    return Measure(**{**m.__dict__, "definition": text})


def get_measure(name: str, f2f_definition: str = DEFAULT_F2F) -> Measure:
    measures = load_measures(f2f_definition)
    if name not in measures:
        raise ConfigError(f"unknown measure {name!r}: expected one of {', '.join(measures)}")
    return measures[name]
