"""Reproducing a stored cohort run: its settings read back, tolerant of runs stored by other versions, and its
members compared with a recomputation member by member, reason by reason, figure by figure.

The recomputation itself (the store as of the run's versions, the overrides active when it ran) is composed by
`gpaccess.services.cohort.reproduce_run`; this module holds the pure parts: turning stored parameters back into
settings (an unknown or missing setting is reported, never a TypeError) and listing every difference.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gpaccess.cohort.criteria import CriteriaSettings
from gpaccess.cohort.schemas import RunOut
from gpaccess.cohort.select import Cohort, SelectionSettings
from gpaccess.measures.quality import ExclusionSettings
from gpaccess.measures.service import MeasureSettings

T = TypeVar("T")
MEASURES_KEY = "measures"  # where a run's measure settings sit in its parameters (beside the selection's)


@dataclass
class Reproduction:
    run_id: int
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader should know (versions, settings read back)

    @property
    def identical(self) -> bool:
        return not self.differences


def _from_dict(cls: type[T], data: Any, where: str, notes: list[str]) -> T:
    """Build dataclass `cls` from stored values: defaults for what is missing, unknown keys ignored, each
    reported in `notes` (a run stored by another version of gpaccess must never crash reproduction)."""
    if not isinstance(data, dict):
        notes.append(f"{where}: stored as {data!r}, not a set of settings; defaults used")
        return cls()
    values: dict[str, Any] = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name, f in hints.items():
        if name not in data:
            notes.append(f"setting {where}{name} not recorded with the run: the current default is used")
            continue
        value = data[name]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            value = _from_dict(type(default), value, f"{where}{name}.", notes)
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    for name in sorted(set(data) - set(hints)):
        notes.append(f"setting {where}{name}={data[name]!r} is not one this version knows: ignored")
    return cls(**values)


def settings_from_parameters(parameters: dict[str, Any]) -> tuple[SelectionSettings, MeasureSettings | None, list[str]]:
    """The selection and measure settings a stored run used, with notes on anything not read back exactly.
    Measure settings are None for runs stored before they were recorded (the caller uses the current ones)."""
    notes: list[str] = []
    p = dict(parameters)
    measures_raw = p.pop(MEASURES_KEY, None)
    selection = _from_dict(SelectionSettings, p, "", notes)
    if not isinstance(selection.criteria, CriteriaSettings) or not isinstance(selection.exclusions, ExclusionSettings):
        raise AssertionError("nested settings are rebuilt as dataclasses")  # pragma: no cover
    measures = None
    if measures_raw is None:
        notes.append(
            "the run did not record its measure settings (face-to-face definition, window, funnel): "
            "the current ones are used"
        )
    else:
        raw = dict(measures_raw)
        raw.setdefault("quality", dataclasses.asdict(selection.exclusions))
        measures = _from_dict(MeasureSettings, raw, "measures.", notes)
    return selection, measures, notes


def parameters_of(selection: SelectionSettings, measures: MeasureSettings) -> dict[str, Any]:
    """What a run stores as its parameters: the selection settings, and the measure settings under `measures`
    (their data-quality limits are the selection's exclusions, stored once)."""
    stored = _jsonable(dataclasses.asdict(selection))
    m = _jsonable(dataclasses.asdict(measures))
    m.pop("quality", None)
    stored[MEASURES_KEY] = m
    return stored


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


FIELDS = (
    "selected",
    "criteria_met",
    "reasons",
    "evidence_strength",
    "excluded",
    "exclusion_reasons",
    "near_miss",
    "near_limit",
    "criteria_status",
    "overridden",
    "override_reason",
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def differences(stored: RunOut, again: Cohort, recomputed_members: list[dict[str, Any]]) -> list[str]:
    """Every way a recomputation differs from the stored run: the cap, the eligible count, practices present in
    one only, and each field of each member (reasons compared word for word, figures exactly)."""
    out: list[str] = []
    if stored.cap != again.cap:
        out.append(f"cap: stored {stored.cap}, recomputed {again.cap}")
    if stored.eligible != again.eligible:
        out.append(f"eligible practices: stored {stored.eligible}, recomputed {again.eligible}")
    if list(stored.data_months) != list(again.months):
        out.append(f"data months: stored {stored.data_months}, recomputed {again.months}")
    before = {m.practice_code: m.model_dump() for m in stored.members}
    after = {m["practice_code"]: m for m in recomputed_members}
    for code in sorted(set(before) - set(after)):
        out.append(f"{code}: in the stored run, not in the recomputation")
    for code in sorted(set(after) - set(before)):
        out.append(f"{code}: in the recomputation, not in the stored run")
    for code in sorted(set(before) & set(after)):
        for name in FIELDS:
            a, b = before[code][name], after[code][name]
            if hasattr(a, "value"):
                a = a.value
            if hasattr(b, "value"):
                b = b.value
            if not _same(a, b):
                out.append(f"{code} {name}: stored {a!r}, recomputed {b!r}")
    return out
