"""The JSON API, `/api/v1/...`: the pages' operations under the same scopes, for scripts and other systems.

Reads take `Authorization: Bearer <token>` (`gpaccess users token USER`) or a browser session. Writes (running
the cohort, overrides, uploads, plan changes) take a bearer token only: a browser session is refused (401), so
a page on another site can never make a signed-in browser write through the API, and the API needs no CSRF
token. Each operation calls the same service function as its page, with the token user's principal; the
services check scope and audit. Every response code an operation can give is in the OpenAPI schema
(`/openapi.json`); another ICB's or practice's data answers 404 with the same body as data that does not exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import UserError
from gpaccess.services import cohort as cohort_service
from gpaccess.services import measures as measure_service
from gpaccess.services import national as national_service
from gpaccess.services import plans as plan_service
from gpaccess.services import publish
from gpaccess.web.deps import Viewer, get_app, principal_of, require, viewer


class Problem(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in: send a bearer token"},
    403: {"model": Problem, "description": "Your role may not do this"},
    404: {"model": Problem, "description": "Not found (or not within your ICB or practice)"},
    422: {"model": Problem, "description": "The request is not valid"},
}
PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {422: ERRORS[422]}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No bearer token (API writes take a bearer token, never a browser session)"},
    400: {"model": Problem, "description": "The change cannot be made as asked: the message says why"},
    409: {"model": Problem, "description": "The change clashes with what is stored, or the store is busy"},
}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)
Code = Field(min_length=1, max_length=16)


def json_value(value: Any) -> Any:
    """A table cell as JSON holds it: a missing or non-finite number as null, a date or other object as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    icb_code: str | None
    practice_code: str | None


class Icb(BaseModel):
    icb_code: str
    icb_name: str | None
    practices: int


class PracticeValues(BaseModel):
    practice_code: str
    practice_name: str | None
    values: dict[str, float | None]


class IcbMeasures(BaseModel):
    icb_code: str
    window: str
    definition: str
    practices: list[PracticeValues]


class Member(BaseModel):
    practice_code: str
    selected: bool
    reasons: list[str]
    excluded: bool
    exclusion_reasons: list[str]
    capped_out: bool
    overridden: str
    override_reason: str | None


class OverrideOut(BaseModel):
    id: int
    cycle: str
    practice_code: str
    action: str
    reason: str
    created_at: str
    created_by: str


class StoredRun(BaseModel):
    run_id: int | None
    cycle: str | None
    created_at: str | None
    eligible: int | None
    cap: int | None
    members: list[Member]
    overrides: list[OverrideOut] = Field(default_factory=list, description="Overrides in force for the run's cycle")


class PracticeOut(BaseModel):
    practice_code: str
    practice_name: str | None
    icb_code: str | None
    window: str
    values: dict[str, float | None]


class NationalIcb(BaseModel):
    icb_code: str
    cycle: str
    run_on: str
    eligible: int | str
    supported: int | str
    criteria: dict[str, int | str]


class National(BaseModel):
    icbs: list[NationalIcb]
    total_supported: int | str


class PublicOut(BaseModel):
    window: str
    definitions: dict[str, str]
    practices: list[dict[str, Any]]


@router.get("/me", response_model=Me)
def me(v: Viewer = Depends(viewer)) -> Me:  # noqa: B008
    from gpaccess.web.deps import NotSignedInError

    if v.account is None:
        raise NotSignedInError("sign in first")
    a = v.account
    return Me(
        username=a.username,
        display_name=a.display_name,
        role=a.role,
        icb_code=a.icb_code,
        practice_code=a.practice_code,
    )


@router.get("/icbs", response_model=list[Icb])
def icbs(request: Request, principal: Principal = Depends(require(Permission.READ_NAMED))) -> list[Icb]:  # noqa: B008
    frame = measure_service.icbs(get_app(request), principal=principal)
    return [
        Icb(icb_code=r.icb_code, icb_name=json_value(r.icb_name), practices=int(r.practices))
        for r in frame.itertuples()
    ]


@router.get("/icb/{icb_code}/measures", response_model=IcbMeasures)
def icb_measures(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> IcbMeasures:
    found = measure_service.icb_measures(get_app(request), principal=principal, icb_code=icb_code)
    names = list(found.measures)
    rows = [
        PracticeValues(
            practice_code=r["practice_code"],
            practice_name=json_value(r.get("practice_name")),
            values={n: json_value(r.get(n)) for n in names},
        )
        for r in found.table.to_dict("records")
    ]
    return IcbMeasures(icb_code=found.icb_code, window=found.label, definition=found.definition, practices=rows)


@router.get("/icb/{icb_code}/cohort", response_model=StoredRun)
def icb_cohort(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> StoredRun:
    stored = cohort_service.stored_cohort(get_app(request), principal=principal, icb_code=icb_code)
    run = stored.run
    if run is None:
        return StoredRun(run_id=None, cycle=None, created_at=None, eligible=None, cap=None, members=[])
    return StoredRun(
        run_id=run.id,
        cycle=run.cycle,
        created_at=run.created_at.isoformat(),
        eligible=run.eligible,
        cap=run.cap,
        members=[_member(m) for m in run.members],
        overrides=[
            OverrideOut(
                id=o.id,
                cycle=o.cycle,
                practice_code=o.practice_code,
                action=o.action.value,
                reason=o.reason,
                created_at=o.created_at.isoformat(),
                created_by=o.created_by,
            )
            for o in stored.overrides
        ],
    )


def _member(m: Any) -> Member:
    """A stored member (`MemberOut`) or a new run's (`MemberIn`): the same fields."""
    return Member(
        practice_code=m.practice_code,
        selected=m.selected,
        reasons=m.reasons,
        excluded=m.excluded,
        exclusion_reasons=m.exclusion_reasons,
        capped_out=m.near_miss and not m.selected,
        overridden=str(m.overridden.value),
        override_reason=m.override_reason,
    )


@router.get("/practice/{practice_code}", response_model=PracticeOut)
def practice(
    request: Request,
    practice_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> PracticeOut:
    found = measure_service.practice_measures(get_app(request), principal=principal, practice_code=practice_code)
    row = found.row
    return PracticeOut(
        practice_code=found.practice_code,
        practice_name=json_value(row.get("practice_name")),
        icb_code=json_value(row.get("icb_code")),
        window=found.label,
        values={n: json_value(row.get(n)) for n in found.measures},
    )


@router.get("/national", response_model=National)
def national(request: Request, principal: Principal = Depends(require(Permission.READ_AGGREGATES))) -> National:  # noqa: B008
    s = national_service.national_summary(get_app(request), principal=principal)
    return National(icbs=[NationalIcb(**r) for r in s.icbs], total_supported=s.total_supported)


@router.get("/public", response_model=PublicOut, responses=PUBLIC_ERRORS)
def public(request: Request, v: Viewer = Depends(viewer)) -> PublicOut:  # noqa: B008
    found = publish.public_table(get_app(request), principal=v.principal)
    rows = [{k: json_value(val) for k, val in r.items()} for r in found.table.to_dict("records")]
    return PublicOut(window=found.window, definitions=found.definitions, practices=rows)


# -- writes: bearer tokens only ----------------------------------------------------------------------------------
class TokenRequiredError(UserError):
    """An API write without a bearer token (a browser session cannot write through the API)."""

    exit_code = 12
    http_status = 401


def writer(permission: Permission) -> Callable[..., Any]:
    """The bearer token's user, refused (403) without `permission`. A browser session is refused (401): API
    writes carry no CSRF token, so they must not be reachable with a cookie another site's page could send."""

    async def dependency(v: Viewer = Depends(viewer)) -> Principal:  # noqa: B008 - reads the viewer only
        if not (v.via_token and v.signed_in):
            raise TokenRequiredError(
                "API writes take Authorization: Bearer <token> (`gpaccess users token USER`); "
                "a browser session cannot write through the API"
            )
        return principal_of(v, permission)

    return dependency


def icb_writer(permission: Permission) -> Callable[..., Principal]:
    """`writer(permission)` with the path's ICB checked before the body is read: another ICB's or a missing
    one's write answers 404 whatever the body holds."""

    def dependency(icb_code: str, principal: Principal = Depends(writer(permission))) -> Principal:  # noqa: B008
        principal.require_icb(icb_code)
        return principal

    return dependency


def practice_writer(permission: Permission) -> Callable[..., Principal]:
    """`writer(permission)` with the path's practice checked before the body is read (as `icb_writer`)."""

    def dependency(
        request: Request,
        practice_code: str,
        principal: Principal = Depends(writer(permission)),  # noqa: B008
    ) -> Principal:
        plan_service.visible_practice(get_app(request), principal=principal, practice_code=practice_code)
        return principal

    return dependency


class RunCreated(BaseModel):
    run_id: int
    icb_code: str
    cycle: str
    window: str
    eligible: int
    cap: int
    notes: list[str]
    members: list[Member]


class RunSummary(BaseModel):
    run_id: int
    cycle: str
    created_at: str
    created_by: str
    status: str
    data_months: list[str]
    eligible: int
    cap: int
    selected: int


@router.post(
    "/icb/{icb_code}/cohort/runs",
    status_code=201,
    response_model=RunCreated,
    responses=WRITE_ERRORS,
    summary="Run and store the ICB's cohort",
)
def run_cohort(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(writer(Permission.RUN_COHORT)),  # noqa: B008
) -> RunCreated:
    from gpaccess.cohort.run import member_rows

    result = cohort_service.run_cohort(get_app(request), principal=principal, icb_code=icb_code)
    c = result.cohort
    assert result.run_id is not None  # saved
    return RunCreated(
        run_id=result.run_id,
        icb_code=c.icb_code,
        cycle=result.cycle,
        window=c.window,
        eligible=c.eligible,
        cap=c.cap,
        notes=list(c.notes),
        members=[_member(m) for m in member_rows(c)],
    )


@router.get("/icb/{icb_code}/cohort/runs", response_model=list[RunSummary], summary="The ICB's stored cohort runs")
def cohort_runs(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> list[RunSummary]:
    stored = cohort_service.stored_cohort(get_app(request), principal=principal, icb_code=icb_code)
    return [
        RunSummary(
            run_id=r.id,
            cycle=r.cycle,
            created_at=r.created_at.isoformat(),
            created_by=r.created_by,
            status=r.status.value,
            data_months=r.data_months,
            eligible=r.eligible,
            cap=r.cap,
            selected=r.selected,
        )
        for r in stored.runs
    ]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    practice_code: str = Field(min_length=1, max_length=16)
    action: Literal["add", "remove"]
    reason: str = Field(min_length=1, max_length=2000, description="Why the practice is added or removed (kept)")
    cycle: str | None = Field(default=None, min_length=1, max_length=64, description="Default: the current cycle")


class OverrideCreated(BaseModel):
    id: int
    cycle: str
    practice_code: str
    action: str


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=2000)


class Revoked(BaseModel):
    id: int
    revoked: bool


@router.post(
    "/icb/{icb_code}/overrides",
    status_code=201,
    response_model=OverrideCreated,
    responses=WRITE_ERRORS,
    summary="Add a practice to the cohort, or remove it, with a reason",
)
def add_override(
    request: Request,
    icb_code: str,
    body: OverrideIn,
    principal: Principal = Depends(icb_writer(Permission.OVERRIDE)),  # noqa: B008
) -> OverrideCreated:
    oid, cycle = cohort_service.add_override(
        get_app(request), principal=principal, icb_code=icb_code, practice_code=body.practice_code,
        action=body.action, reason=body.reason, cycle=body.cycle,
    )  # fmt: skip
    return OverrideCreated(id=oid, cycle=cycle, practice_code=body.practice_code.upper(), action=body.action)


@router.post(
    "/icb/{icb_code}/overrides/{override_id}/revoke",
    response_model=Revoked,
    responses=WRITE_ERRORS,
    summary="Revoke an override (kept, marked revoked)",
)
def revoke_override(
    request: Request,
    icb_code: str,
    override_id: int = PathParam(ge=1, le=2**31 - 1),
    body: RevokeIn | None = None,
    principal: Principal = Depends(icb_writer(Permission.OVERRIDE)),  # noqa: B008
) -> Revoked:
    reason = body.reason if body is not None else None
    cohort_service.revoke_override(
        get_app(request), principal=principal, icb_code=icb_code, override_id=override_id, reason=reason or None
    )
    return Revoked(id=override_id, revoked=True)
