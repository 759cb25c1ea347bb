"""The plans' tables in the plan store: cycles, plans, their actions, versions, notes, the analyst's decisions
on suggestions, and progress verdicts.

ORM models only; inputs and outputs are the pydantic schemas in `plans.schemas`, writes go through
`plans.commands` and reads through `plans.queries`. Cycles were created by migration 0001 (they moved here from
the cohort, DESIGN "Plans"); the rest by migration 0004.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gpaccess.plans.schemas import ActionStatus, Change, Decision, PlanStatus
from gpaccess.storage.db import Base, JSONDocument, portable_enum


class Cycle(Base):
    """A support cycle, e.g. "winter 2021/22"; a new one may carry forward an earlier one's open actions and
    the evaluation's lessons (`gpaccess cycle new --from`)."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    carried_from: Mapped[str | None] = mapped_column(String(64))  # migration 0004
    lessons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)  # migration 0004

    __table_args__ = (CheckConstraint("ends >= starts", name="ends_after_starts"),)


class Plan(Base):
    """One practice's plan for one cycle. `version` counts its changes: an update names the version it was
    made from and is refused if another was saved since (optimistic concurrency)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    icb_code: Mapped[str] = mapped_column(String(16), index=True)
    practice_code: Mapped[str] = mapped_column(String(16))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="RESTRICT"))
    status: Mapped[PlanStatus] = mapped_column(portable_enum(PlanStatus, "status"))
    version: Mapped[int] = mapped_column(Integer)
    starts: Mapped[date] = mapped_column(Date)  # the plan's first month: progress limits rest on the months before
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128))
    carried_from_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))

    cycle: Mapped[Cycle] = relationship(lazy="joined")
    actions: Mapped[list[PlanAction]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanAction.position"
    )
    notes: Mapped[list[PlanNote]] = relationship(cascade="all, delete-orphan", order_by="PlanNote.id")
    suggestions: Mapped[list[PlanSuggestion]] = relationship(cascade="all, delete-orphan", order_by="PlanSuggestion.id")

    __table_args__ = (
        UniqueConstraint("practice_code", "cycle_id", name="uq_plans_practice_cycle"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    @property
    def cycle_name(self) -> str:
        return self.cycle.name


class PlanAction(Base):
    __tablename__ = "plan_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(48))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128))
    start: Mapped[date] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(portable_enum(ActionStatus, "status"))
    funding_source: Mapped[str | None] = mapped_column(String(128))
    funding_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    outcome_measure: Mapped[str] = mapped_column(String(48))
    expected_change: Mapped[Change | None] = mapped_column(portable_enum(Change, "expected_change", length=8))
    notes: Mapped[str | None] = mapped_column(Text)
    carried_from_action_id: Mapped[int | None] = mapped_column(Integer)  # an action of an earlier cycle's plan

    plan: Mapped[Plan] = relationship(back_populates="actions")

    __table_args__ = (
        CheckConstraint("due IS NULL OR due >= start", name="due_after_start"),
        CheckConstraint("funding_amount IS NULL OR funding_amount >= 0", name="funding_not_negative"),
    )


class PlanVersion(Base):
    """Every saved state of a plan, with who saved it, when and why (never changed)."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (
        UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_version"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_not_empty"),
    )


class PlanNote(Base):
    """A progress update or comment on a plan or one of its actions."""

    __tablename__ = "plan_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("plan_actions.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)  # the plan version the note was saved with

    __table_args__ = (CheckConstraint("length(trim(text)) > 0", name="text_not_empty"),)


class PlanSuggestion(Base):
    """A suggestion the analyst decided on when drawing up the plan: accepted, edited or rejected (with why)."""

    __tablename__ = "plan_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str] = mapped_column(Text)
    decision: Mapped[Decision] = mapped_column(portable_enum(Decision, "decision"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime]
    decided_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (
        CheckConstraint(
            "decision <> 'rejected' OR (decision_reason IS NOT NULL AND length(trim(decision_reason)) > 0)",
            name="rejection_has_reason",
        ),
    )


class PlanProgress(Base):
    """One outcome measure's verdict for a plan, computed from one snapshot (its releases recorded)."""

    __tablename__ = "plan_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(48))
    verdict: Mapped[str] = mapped_column(String(64))
    pre_months: Mapped[int] = mapped_column(Integer)
    post_months: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    data_versions: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    gpaccess_version: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime]
    computed_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_plan_progress_plan_measure", "plan_id", "measure", "computed_at"),)
