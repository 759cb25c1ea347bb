"""Inputs to and outputs of the plan store's cohort tables: pydantic, kept apart from the ORM models.

Inputs (`*In`) are validated before anything is written; outputs (`*Out`) are read back detached from the
session, so callers (selection, reports, the web app) never hold live ORM objects.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator, model_validator


class RunStatus(StrEnum):
    DRAFT = "draft"  # recorded, not yet agreed
    CONFIRMED = "confirmed"  # the ICB's cohort for the cycle
    WITHDRAWN = "withdrawn"  # kept for the record, no longer used


class Overridden(StrEnum):
    NONE = "none"
    ADDED = "added"  # selected by an override, whatever the criteria said
    REMOVED = "removed"  # left out by an override, whatever the criteria said


class OverrideAction(StrEnum):
    ADD = "add"
    REMOVE = "remove"


Code = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=16)]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberIn(_In):
    """One practice considered by a cohort run, with why it was (or was not) selected."""

    practice_code: Code
    selected: bool
    criteria_met: JsonValue = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    evidence_strength: float | None = None
    excluded: bool = False
    exclusion_reasons: list[str] = Field(default_factory=list)
    near_miss: bool = False  # "capped out": met a criterion, left out by the cap
    near_limit: bool = False  # between the 95% and 99.8% limits on a criterion, meeting none
    # {criterion: "met" | "near the limit" | "not met" | "not assessed"}: None for runs stored before revision 0003
    criteria_status: dict[str, str] | None = None
    overridden: Overridden = Overridden.NONE
    override_reason: str | None = None

    @field_validator("evidence_strength")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("evidence strength must be a finite number")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        code = self.practice_code
        if self.overridden is Overridden.NONE:
            if self.override_reason is not None:
                raise ValueError(f"{code}: an override reason without an override")
            if self.selected and self.excluded:
                raise ValueError(f"{code}: an excluded practice is selected only by an override")
            return self
        if not (self.override_reason and self.override_reason.strip()):
            raise ValueError(f"{code}: an overridden practice needs the override's reason")
        if self.overridden is Overridden.ADDED and not self.selected:
            raise ValueError(f"{code}: added by an override but not selected")
        if self.overridden is Overridden.REMOVED and self.selected:
            raise ValueError(f"{code}: removed by an override but still selected")
        return self


class RunIn(_In):
    """Everything needed to reproduce a cohort run: parameters, criteria, data months and store releases."""

    icb_code: Code
    cycle: str = Field(min_length=1)
    parameters: dict[str, JsonValue]
    criteria: JsonValue
    data_months: list[Month] = Field(min_length=1)
    data_versions: dict[str, JsonValue]
    members: list[MemberIn]
    cap: int = Field(ge=0)
    eligible: int = Field(ge=0)
    status: RunStatus = RunStatus.DRAFT
    gpaccess_version: str | None = None
    method_version: str | None = None
    store_generation: int | None = None
    pin: str | None = None

    @model_validator(mode="after")
    def _members(self) -> Self:
        counts = Counter(m.practice_code for m in self.members)
        twice = sorted(code for code, n in counts.items() if n > 1)
        if twice:
            raise ValueError(f"practices listed more than once: {', '.join(twice)}")
        by_criteria = sum(1 for m in self.members if m.selected and m.overridden is not Overridden.ADDED)
        if by_criteria > self.cap:
            raise ValueError(
                f"{by_criteria} practices selected by the criteria but the cap is {self.cap}: the selection "
                "never exceeds the cap (practices beyond it are added only by a recorded override)"
            )
        return self


class OverrideIn(_In):
    icb_code: Code
    cycle: str = Field(min_length=1)
    practice_code: Code
    action: OverrideAction
    reason: Reason


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True, populate_by_name=True)


class MemberOut(_Out):
    practice_code: str
    selected: bool
    criteria_met: JsonValue
    reasons: list[str]
    evidence_strength: float | None
    excluded: bool
    exclusion_reasons: list[str]
    near_miss: bool
    near_limit: bool | None
    criteria_status: dict[str, str] | None
    overridden: Overridden
    override_reason: str | None


class RunOut(_Out):
    id: int
    icb_code: str
    cycle: str = Field(validation_alias="cycle_name")
    created_at: datetime
    created_by: str
    parameters: dict[str, JsonValue]
    criteria: JsonValue
    data_months: list[str]
    data_versions: dict[str, JsonValue]
    cap: int
    eligible: int
    status: RunStatus
    members: list[MemberOut]
    gpaccess_version: str | None = None
    method_version: str | None = None
    store_generation: int | None = None
    pin: str | None = None

    @property
    def selected(self) -> list[MemberOut]:
        return [m for m in self.members if m.selected]


class RunSummaryOut(_Out):
    """A stored run without its members, for lists of runs: what it was and how many practices it selected."""

    id: int
    icb_code: str
    cycle: str = Field(validation_alias="cycle_name")
    created_at: datetime
    created_by: str
    data_months: list[str]
    eligible: int
    cap: int
    status: RunStatus
    selected: int = 0


class OverrideOut(_Out):
    id: int
    icb_code: str
    cycle: str = Field(validation_alias="cycle_name")
    practice_code: str
    action: OverrideAction
    reason: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
