"""The JSON API's support plans, `/api/v1/practice/{code}/plans...`: read a practice's plans and change an action
with optimistic concurrency (a stale version answers 409 with the plan as stored), under the same scopes as the
plan page. Shares the API's errors, writer dependencies and conventions (`routes/api.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import NotFoundError
from gpaccess.plans.schemas import ActionStatus
from gpaccess.services import plans as plan_service
from gpaccess.web.deps import get_app, require
from gpaccess.web.routes.api import ERRORS, WRITE_ERRORS, Problem, practice_writer

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)


# -- support plans -----------------------------------------------------------------------------------------------
class ActionOut(BaseModel):
    id: int
    action_type: str
    title: str
    description: str
    owner: str
    start: date
    due: date | None
    status: ActionStatus
    outcome_measure: str
    outcome_title: str
    notes: str | None


class NoteOut(BaseModel):
    at: str
    by: str
    text: str
    action_id: int | None


class ProgressOut(BaseModel):
    measure: str
    title: str
    verdict: str
    pre_months: int
    post_months: int


class PlanOut(BaseModel):
    id: int
    icb_code: str
    practice_code: str
    cycle: str
    status: str
    version: int = Field(description="Send it back as `expected_version` when you change the plan")
    starts: date
    summary: str
    updated_at: str
    updated_by: str
    actions: list[ActionOut]
    notes: list[NoteOut]
    progress: list[ProgressOut]


class ActionPatch(BaseModel):
    """The fields to change (leave a field out to keep it); `due` and `notes` may be null to clear them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expected_version: int = Field(ge=1, le=2**31 - 1, description="The plan version you read")
    status: ActionStatus = Field(default=None)  # type: ignore[assignment]  # leave out to keep; never null
    owner: str = Field(default=None, min_length=1, max_length=128)  # type: ignore[assignment]
    due: date | None = None
    notes: str | None = Field(default=None, max_length=5000)
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="Kept with the version")


class PlanSaved(BaseModel):
    changed: bool = Field(description="False: the values were already so; nothing saved, no new version")
    version: int
    plan: PlanOut


class PlanConflict(BaseModel):
    detail: str
    current_version: int
    plan: PlanOut


API_CHANGES = "edited through the JSON API"


def _plan_out(view: plan_service.PlanView) -> PlanOut:
    from gpaccess.plans.catalogue import action_type
    from gpaccess.web.app import measure_title as title

    p = view.plan
    return PlanOut(
        id=p.id,
        icb_code=p.icb_code,
        practice_code=p.practice_code,
        cycle=p.cycle_name,
        status=p.status.value,
        version=p.version,
        starts=p.starts,
        summary=p.summary,
        updated_at=p.updated_at.isoformat(),
        updated_by=p.updated_by,
        actions=[
            ActionOut(
                id=a.id,
                action_type=a.action_type,
                title=action_type(a.action_type).title,
                description=a.description,
                owner=a.owner,
                start=a.start,
                due=a.due,
                status=a.status,
                outcome_measure=a.outcome_measure,
                outcome_title=title(a.outcome_measure),
                notes=a.notes,
            )
            for a in p.actions
        ],
        notes=[NoteOut(at=n.at.isoformat(), by=n.by, text=n.text, action_id=n.action_id) for n in p.notes],
        progress=[
            ProgressOut(
                measure=g.measure,
                title=title(g.measure),
                verdict=g.verdict,
                pre_months=g.pre_months,
                post_months=g.post_months,
            )
            for g in view.progress
        ],
    )


@router.get("/practice/{practice_code}/plans", response_model=list[PlanOut], summary="The practice's support plans")
def practice_plans(
    request: Request,
    practice_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> list[PlanOut]:
    views = plan_service.known_practice_plans(get_app(request), principal=principal, practice_code=practice_code)
    return [_plan_out(v) for v in views]


@router.patch(
    "/practice/{practice_code}/plans/{plan_id}/actions/{action_id}",
    response_model=PlanSaved,
    responses={**WRITE_ERRORS, 409: {"model": PlanConflict | Problem, "description": "Someone saved the plan "
               "since the version you read (the body has the current version and plan); nothing stored"}},
    summary="Change an action of a plan (status, owner, due date, notes), from the version you read",
)  # fmt: skip
def update_plan_action(
    request: Request,
    practice_code: str,
    body: ActionPatch,
    plan_id: int = PathParam(ge=1, le=2**31 - 1),
    action_id: int = PathParam(ge=1, le=2**31 - 1),
    principal: Principal = Depends(practice_writer(Permission.EDIT_PLANS)),  # noqa: B008
) -> Any:
    from gpaccess.plans.commands import PlanConflictError

    app = get_app(request)
    view = _plan_view(app, principal, practice_code, plan_id)
    if action_id not in {a.id for a in view.plan.actions}:
        raise NotFoundError(f"plan {plan_id} has no action {action_id}")
    given = body.model_dump(include={"owner", "due", "notes"}, exclude_unset=True)
    fields = {k: "" if v is None else (v.isoformat() if isinstance(v, date) else str(v)) for k, v in given.items()}
    status = body.status.value if body.status is not None else None
    try:
        version = plan_service.update_plan(
            app, principal=principal, plan_id=plan_id, expected_version=body.expected_version,
            reason=body.reason or API_CHANGES, action_status={action_id: status} if status else None,
            action_fields={action_id: fields} if fields else None,
        )  # fmt: skip
    except PlanConflictError as exc:
        current = _plan_view(app, principal, practice_code, plan_id)
        conflict = PlanConflict(detail=str(exc), current_version=current.plan.version, plan=_plan_out(current))
        return JSONResponse(conflict.model_dump(mode="json"), status_code=409)
    saved = _plan_view(app, principal, practice_code, plan_id)
    return PlanSaved(changed=version != body.expected_version, version=version, plan=_plan_out(saved))


def _plan_view(app: Any, principal: Principal, practice_code: str, plan_id: int) -> plan_service.PlanView:
    """The practice's plan `plan_id`; a missing or out-of-scope practice, or a plan of another practice, is 404."""
    for v in plan_service.known_practice_plans(app, principal=principal, practice_code=practice_code):
        if v.plan.id == plan_id:
            return v
    raise NotFoundError(f"no plan {plan_id} for practice {practice_code.strip().upper()}")
