"""Inputs and outputs of the plan store: validated pydantic schemas, separate from the ORM models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class PlanStatus(StrEnum):
    DRAFT = "draft"  # being drawn up with the practice
    AGREED = "agreed"  # agreed with the practice and under way
    CLOSED = "closed"  # finished
    WITHDRAWN = "withdrawn"  # stopped before it ran (kept, never deleted)


OPEN_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.AGREED)


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STOPPED = "stopped"


OPEN_ACTION_STATUSES = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)


class Change(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class CycleIn(_In):
    name: str = Field(min_length=1, max_length=64)
    starts: date
    ends: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ends < self.starts:
            raise ValueError(f"cycle ends ({self.ends}) before it starts ({self.starts})")
        return self


class CycleOut(_Out):
    id: int
    name: str
    starts: date
    ends: date
    created_at: datetime
    created_by: str
    carried_from: str | None = None
    lessons: list[dict[str, Any]] | None = None


class ActionIn(_In):
    """One agreed action. `outcome_measure` is the GPAD measure it is expected to move (for access for
    patients), `expected_change` which way where that measure has a direction."""

    action_type: str = Field(min_length=1, max_length=48)
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1, max_length=128)
    start: date
    due: date | None = None
    status: ActionStatus = ActionStatus.PLANNED
    funding_source: str | None = Field(default=None, max_length=128)
    funding_amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    outcome_measure: str = Field(min_length=1, max_length=48)
    expected_change: Change | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.due is not None and self.due < self.start:
            raise ValueError(f"an action is due ({self.due}) before it starts ({self.start})")
        return self


class ActionChange(_In):
    """A change to one action: only the fields given change."""

    action_id: int
    description: str | None = Field(default=None, min_length=1)
    owner: str | None = Field(default=None, min_length=1, max_length=128)
    start: date | None = None
    due: date | None = None
    status: ActionStatus | None = None
    funding_source: str | None = Field(default=None, max_length=128)
    funding_amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    outcome_measure: str | None = Field(default=None, min_length=1, max_length=48)
    expected_change: Change | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        """A field every action has may be changed, never emptied (the others may be cleared with None)."""
        cleared = sorted(f for f in REQUIRED_ACTION_FIELDS & self.model_fields_set if getattr(self, f) is None)
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be blank: every action has one")
        return self


REQUIRED_ACTION_FIELDS = frozenset({"description", "owner", "start", "status", "outcome_measure"})


class SuggestionDecisionIn(_In):
    """What the analyst decided about one suggestion: accepted or edited (it became an action) or rejected
    (kept with its reason)."""

    rule: str = Field(min_length=1, max_length=64)
    action_type: str = Field(min_length=1, max_length=48)
    reason: str = Field(min_length=1)
    decision: Decision
    decision_reason: str | None = None

    @field_validator("decision_reason")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v if v and v.strip() else None

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> Self:
        if self.decision == Decision.REJECTED and not self.decision_reason:
            raise ValueError(f"rejecting the suggestion {self.action_type} ({self.rule}) needs a reason")
        return self


class NoteIn(_In):
    text: str = Field(min_length=1)
    action_id: int | None = None


class ProgressIn(_In):
    """One outcome measure's verdict for a plan, as services computed it from one snapshot."""

    measure: str = Field(min_length=1, max_length=48)
    verdict: str = Field(min_length=1, max_length=64)
    pre_months: int = Field(ge=0)
    post_months: int = Field(ge=0)
    detail: dict[str, Any] = Field(default_factory=dict)


class ActionOut(_Out):
    id: int
    position: int
    action_type: str
    description: str
    owner: str
    start: date
    due: date | None
    status: ActionStatus
    funding_source: str | None
    funding_amount: Decimal | None
    outcome_measure: str
    expected_change: Change | None
    notes: str | None
    carried_from_action_id: int | None


class NoteOut(_Out):
    id: int
    action_id: int | None
    at: datetime
    by: str
    text: str
    version: int


class VersionOut(_Out):
    version: int
    at: datetime
    by: str
    reason: str
    state: dict[str, Any]


class SuggestionOut(_Out):
    id: int
    rule: str
    action_type: str
    reason: str
    decision: Decision
    decision_reason: str | None
    decided_at: datetime
    decided_by: str


class ProgressOut(_Out):
    id: int
    measure: str
    verdict: str
    pre_months: int
    post_months: int
    detail: dict[str, Any]
    data_versions: dict[str, Any]
    computed_at: datetime
    computed_by: str


class PlanOut(_Out):
    id: int
    icb_code: str
    practice_code: str
    cycle_name: str
    status: PlanStatus
    version: int
    starts: date
    summary: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    carried_from_plan_id: int | None
    actions: list[ActionOut]
    notes: list[NoteOut]
    suggestions: list[SuggestionOut]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PLAN_STATUSES

    @property
    def outcome_measures(self) -> list[str]:
        """Each measure the plan's actions are expected to move, once, in the actions' order."""
        return list(dict.fromkeys(a.outcome_measure for a in self.actions if a.status != ActionStatus.STOPPED))
