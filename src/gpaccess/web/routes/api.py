"""The JSON API, `/api/v1/...`: the pages' operations under the same scopes, for scripts and other systems.

Authenticate with `Authorization: Bearer <token>` (`gpaccess users token USER`) or a browser session. Every
response code an operation can give is in the OpenAPI schema (`/openapi.json`); another ICB's or practice's
data answers 404 with the same body as data that does not exist.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.services import cohort as cohort_service
from gpaccess.services import measures as measure_service
from gpaccess.services import national as national_service
from gpaccess.services import publish
from gpaccess.web.deps import Viewer, get_app, require, viewer


class Problem(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not signed in: send a bearer token"},
    403: {"model": Problem, "description": "Your role may not do this"},
    404: {"model": Problem, "description": "Not found (or not within your ICB or practice)"},
    422: {"model": Problem, "description": "The request is not valid"},
}
PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {422: ERRORS[422]}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)
Code = Field(min_length=1, max_length=16)


def _clean(value: Any) -> Any:
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


class StoredRun(BaseModel):
    run_id: int | None
    cycle: str | None
    created_at: str | None
    eligible: int | None
    cap: int | None
    members: list[Member]


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
        Icb(icb_code=r.icb_code, icb_name=_clean(r.icb_name), practices=int(r.practices)) for r in frame.itertuples()
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
            practice_name=_clean(r.get("practice_name")),
            values={n: _clean(r.get(n)) for n in names},
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
        members=[
            Member(
                practice_code=m.practice_code,
                selected=m.selected,
                reasons=m.reasons,
                excluded=m.excluded,
                exclusion_reasons=m.exclusion_reasons,
                capped_out=m.near_miss and not m.selected,
                overridden=str(m.overridden.value),
                override_reason=m.override_reason,
            )
            for m in run.members
        ],
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
        practice_name=_clean(row.get("practice_name")),
        icb_code=_clean(row.get("icb_code")),
        window=found.label,
        values={n: _clean(row.get(n)) for n in found.measures},
    )


@router.get("/national", response_model=National)
def national(request: Request, principal: Principal = Depends(require(Permission.READ_AGGREGATES))) -> National:  # noqa: B008
    s = national_service.national_summary(get_app(request), principal=principal)
    return National(icbs=[NationalIcb(**r) for r in s.icbs], total_supported=s.total_supported)


@router.get("/public", response_model=PublicOut, responses=PUBLIC_ERRORS)
def public(request: Request, v: Viewer = Depends(viewer)) -> PublicOut:  # noqa: B008
    found = publish.public_table(get_app(request), principal=v.principal)
    rows = [{k: _clean(val) for k, val in r.items()} for r in found.table.to_dict("records")]
    return PublicOut(window=found.window, definitions=found.definitions, practices=rows)
