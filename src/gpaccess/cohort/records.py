"""The cohort's tables in the plan store: cohort runs with their members, and overrides (cycles belong to
`plans`: `gpaccess.plans.records.Cycle`).

ORM models only; inputs and outputs are the pydantic schemas in `cohort.schemas`, writes go through
`cohort.commands` and reads through `cohort.queries`. The tables are created by migration 0001
(`gpaccess/storage/migrations/versions/`), never by `create_all`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gpaccess.cohort.schemas import Overridden, OverrideAction, RunStatus
from gpaccess.plans.records import Cycle
from gpaccess.storage.db import Base, JSONDocument, portable_enum

ACTIVE = text("revoked_at IS NULL")


class CohortRun(Base):
    """One run of cohort selection for an ICB and cycle, stored with all it needs to be reproduced."""

    __tablename__ = "cohort_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    icb_code: Mapped[str] = mapped_column(String(16))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    criteria: Mapped[Any] = mapped_column(JSONDocument)
    data_months: Mapped[list[str]] = mapped_column(JSONDocument)
    data_versions: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    cap: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(Integer)
    status: Mapped[RunStatus] = mapped_column(portable_enum(RunStatus, "status"))
    # What the run stood on (migration 0002; None for runs stored before it).
    gpaccess_version: Mapped[str | None] = mapped_column(String(32))
    method_version: Mapped[str | None] = mapped_column(String(32))
    store_generation: Mapped[int | None] = mapped_column(Integer)
    pin: Mapped[str | None] = mapped_column(String(100))

    cycle: Mapped[Cycle] = relationship(lazy="joined")
    members: Mapped[list[CohortMember]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="CohortMember.practice_code"
    )

    __table_args__ = (
        CheckConstraint("cap >= 0", name="cap_not_negative"),
        CheckConstraint("eligible >= 0", name="eligible_not_negative"),
        Index("ix_cohort_runs_icb_cycle", "icb_code", "cycle_id", "created_at"),
    )

    @property
    def cycle_name(self) -> str:
        return self.cycle.name


class CohortMember(Base):
    """One practice in a run: selected or not, and why (criteria met, exclusions, overrides)."""

    __tablename__ = "cohort_members"

    run_id: Mapped[int] = mapped_column(ForeignKey("cohort_runs.id", ondelete="CASCADE"), primary_key=True)
    practice_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    selected: Mapped[bool] = mapped_column(Boolean)
    criteria_met: Mapped[Any] = mapped_column(JSONDocument)
    reasons: Mapped[list[str]] = mapped_column(JSONDocument)
    evidence_strength: Mapped[float | None] = mapped_column(Float)
    excluded: Mapped[bool] = mapped_column(Boolean)
    exclusion_reasons: Mapped[list[str]] = mapped_column(JSONDocument)
    near_miss: Mapped[bool] = mapped_column(Boolean)
    near_limit: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    criteria_status: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    overridden: Mapped[Overridden] = mapped_column(portable_enum(Overridden, "overridden"))
    override_reason: Mapped[str | None] = mapped_column(Text)

    run: Mapped[CohortRun] = relationship(back_populates="members")

    __table_args__ = (
        CheckConstraint(
            "overridden = 'none' OR (override_reason IS NOT NULL AND length(trim(override_reason)) > 0)",
            name="override_has_reason",
        ),
    )


class CohortOverride(Base):
    """An analyst's decision to add or remove a practice for an ICB's cycle, with its reason.

    Never deleted: revoking sets `revoked_at` and `revoked_by`. At most one override per practice is active
    for an ICB and cycle (a partial unique index).
    """

    __tablename__ = "cohort_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    icb_code: Mapped[str] = mapped_column(String(16))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="RESTRICT"))
    practice_code: Mapped[str] = mapped_column(String(16))
    action: Mapped[OverrideAction] = mapped_column(portable_enum(OverrideAction, "action"))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(128))

    cycle: Mapped[Cycle] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_not_empty"),
        CheckConstraint("(revoked_at IS NULL) = (revoked_by IS NULL)", name="revoked_with_who"),
        Index(
            "uq_cohort_overrides_active",
            "icb_code",
            "cycle_id",
            "practice_code",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
    )

    @property
    def cycle_name(self) -> str:
        return self.cycle.name
