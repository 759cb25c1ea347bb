"""The action catalogue (`catalogue.toml`): the kinds of support an ICB can offer, read and checked once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from gpaccess.errors import UserError

Change = Literal["higher", "lower"]
CHANGES: tuple[Change, ...] = ("higher", "lower")
# A plan never sets a face-to-face quota: no action type moves these (DESIGN "Plans"; issue 15).
FACE_TO_FACE_MEASURES = frozenset({"f2f_gp", "f2f_all"})


@dataclass(frozen=True)
class ExpectedMeasure:
    measure: str
    change: Change


@dataclass(frozen=True)
class ActionType:
    key: str
    title: str
    problem: str
    duration: str
    measures: tuple[ExpectedMeasure, ...]
    cost: str  # "" where domain.md gives no figure: never invented
    cost_source: str
    source: str
    context: str

    @property
    def primary_measure(self) -> ExpectedMeasure:
        return self.measures[0]


class UnknownActionTypeError(UserError):
    """An action type that is not in the catalogue."""

    http_status = 422


@cache
def catalogue() -> dict[str, ActionType]:
    """Every action type by key, in the file's order."""
    raw = tomllib.loads(resources.files("gpaccess.plans").joinpath("catalogue.toml").read_text(encoding="utf-8"))
    out: dict[str, ActionType] = {}
    for key, body in raw.items():
        measures = tuple(ExpectedMeasure(m["measure"], m["change"]) for m in body["measures"])
        if not measures:
            raise ValueError(f"catalogue.toml [{key}]: an action type names at least one measure it moves")
        for m in measures:
            if m.change not in CHANGES:
                raise ValueError(f"catalogue.toml [{key}]: change {m.change!r} must be one of {CHANGES}")
            if m.measure in FACE_TO_FACE_MEASURES:
                raise ValueError(f"catalogue.toml [{key}]: {m.measure} is a face-to-face share: never a quota")
        if body["cost"] and not body["cost_source"]:
            raise ValueError(f"catalogue.toml [{key}]: a cost needs its source")
        out[key] = ActionType(
            key=key,
            title=body["title"],
            problem=body["problem"],
            duration=body["duration"],
            measures=measures,
            cost=body["cost"],
            cost_source=body["cost_source"],
            source=body["source"],
            context=body.get("context", ""),
        )
    return out


def action_type(key: str) -> ActionType:
    try:
        return catalogue()[key]
    except KeyError:
        known = ", ".join(catalogue())
        raise UnknownActionTypeError(f"no action type {key!r} in the catalogue; known: {known}") from None
