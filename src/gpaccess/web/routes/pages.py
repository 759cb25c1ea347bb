"""The signed-in ICB and national pages: the ICB dashboard and its sub-pages, what worked, the national page
(the practice page and its plan are `routes.practice`).

Each route takes the signed-in user's principal from one dependency (`require`), calls the same service
functions as the CLI with it, and renders what they return. Scope is the services' to check: another ICB's
or practice's page answers exactly as a missing one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import InputFileError, UserError
from gpaccess.services import audit as audit_service
from gpaccess.services import cohort as cohort_service
from gpaccess.services import local as local_service
from gpaccess.services import measures as measure_service
from gpaccess.services import national as national_service
from gpaccess.web.app import render
from gpaccess.web.charts import svg_response
from gpaccess.web.deps import check_csrf, get_app, require
from gpaccess.web.uploads import accepted, store_upload, upload_name

router = APIRouter(include_in_schema=False)
Named = Depends(require(Permission.READ_NAMED))
Aggregates = Depends(require(Permission.READ_AGGREGATES))


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts for a template, missing values as None (column by column: a page builds several)."""
    names = list(frame.columns) if columns is None else columns
    cells = [
        frame[c].to_numpy(dtype=object) if c in frame.columns else np.full(len(frame), None, dtype=object)
        for c in names
    ]
    rows = zip(*cells, strict=True)
    return [{c: (None if pd.isna(v) else v) for c, v in zip(names, row, strict=True)} for row in rows]


# -- the ICB dashboard ---------------------------------------------------------------------------------------
@router.get("/icb/{icb_code}")
def icb_dashboard(request: Request, icb_code: str, principal: Principal = Named) -> Response:
    app = get_app(request)
    with audit_service.audit_together(app):
        stored = cohort_service.stored_cohort(app, principal=principal, icb_code=icb_code)
        measures = measure_service.icb_measures(app, principal=principal, icb_code=stored.icb_code)
    names = dict(zip(measures.table.practice_code, measures.table.practice_name, strict=True))
    run = stored.run
    members = [] if run is None else [m.model_dump() | {"name": names.get(m.practice_code)} for m in run.members]
    return render(
        request,
        "icb_dashboard.jinja",
        title=f"{measures.icb_name} ({stored.icb_code})",
        icb=stored.icb_code,
        icb_name=measures.icb_name,
        practices=len(measures.table),
        window=measures.label,
        definition=measures.definition,
        run=run,
        selected=[m for m in members if m["selected"]],
        capped_out=[m for m in members if m["near_miss"] and not m["selected"]],
        excluded=[m for m in members if m["excluded"]],
        overrides=stored.overrides,
        names=names,
        can_override=principal.can(Permission.OVERRIDE),
        can_run=principal.can(Permission.RUN_COHORT),
        saved=request.query_params.get("saved"),
    )


@router.post("/icb/{icb_code}/cohort", dependencies=[Depends(check_csrf)])
def icb_run_cohort(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.RUN_COHORT)),  # noqa: B008
) -> Response:
    result = cohort_service.run_cohort(get_app(request), principal=principal, icb_code=icb_code)
    return RedirectResponse(f"/icb/{result.cohort.icb_code}?saved=run-{result.run_id}", status_code=303)


@router.post("/icb/{icb_code}/overrides", dependencies=[Depends(check_csrf)])
def icb_add_override(
    request: Request,
    icb_code: str,
    practice_code: str = Form(""),
    action: str = Form("add"),
    reason: str = Form(""),
    principal: Principal = Depends(require(Permission.OVERRIDE)),  # noqa: B008
) -> Response:
    app = get_app(request)
    if not reason.strip():
        raise UserError("an override needs its reason: say why the practice is added or removed")
    oid, _ = cohort_service.add_override(
        app, principal=principal, icb_code=icb_code, practice_code=practice_code, action=action, reason=reason
    )
    return RedirectResponse(f"/icb/{icb_code.upper()}?saved=override-{oid}", status_code=303)


@router.post("/icb/{icb_code}/overrides/{override_id}/revoke", dependencies=[Depends(check_csrf)])
def icb_revoke_override(
    request: Request,
    icb_code: str,
    override_id: int,
    reason: str = Form(""),
    principal: Principal = Depends(require(Permission.OVERRIDE)),  # noqa: B008
) -> Response:
    cohort_service.revoke_override(
        get_app(request), principal=principal, icb_code=icb_code, override_id=override_id, reason=reason or None
    )
    return RedirectResponse(f"/icb/{icb_code.upper()}?saved=revoked-{override_id}", status_code=303)


@router.get("/icb/{icb_code}/funnel")
def icb_funnel(request: Request, icb_code: str, q: str = "", principal: Principal = Named) -> Response:
    app = get_app(request)
    figure = measure_service.funnel(app, principal=principal, icb_code=icb_code)
    data = figure.data
    search = q.strip().lower()
    if search:
        hit = data.practice_code.str.lower().str.contains(search, regex=False) | data.practice_name.fillna(
            ""
        ).str.lower().str.contains(search, regex=False)
        data = data[hit]
    return render(
        request,
        "funnel.jinja",
        title="Fair comparison of GP face-to-face share",
        icb=icb_code.upper(),
        q=q,
        rows=records(data),
        columns=list(data.columns),
        total=len(figure.data),
        back=f"/icb/{icb_code.upper()}",
    )


@router.get("/icb/{icb_code}/funnel.svg")
def icb_funnel_svg(request: Request, icb_code: str, principal: Principal = Named) -> Response:
    return svg_response(measure_service.funnel(get_app(request), principal=principal, icb_code=icb_code).chart)


@router.get("/icb/{icb_code}/local")
def icb_local(request: Request, icb_code: str, principal: Principal = Named) -> Response:
    view = local_service.view(get_app(request), principal=principal, icb_code=icb_code)
    columns = ["practice_code", "practice_name", *view.national, *view.local]
    return render(
        request,
        "local.jinja",
        title="Local data beside GPAD",
        icb=view.icb_code,
        view=view,
        columns=columns,
        rows=records(view.table, columns),
        flags=records(view.flags),
        can_upload=principal.can(Permission.UPLOAD_LOCAL),
        back=f"/icb/{view.icb_code}",
    )


@router.get("/icb/{icb_code}/local/upload")
def icb_upload_page(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.UPLOAD_LOCAL)),  # noqa: B008
) -> Response:
    code = principal.require_icb(icb_code)
    return render(request, "upload.jinja", title="Upload local data", icb=code, problems=None, result=None)


@router.post("/icb/{icb_code}/local/upload", dependencies=[Depends(check_csrf)])
async def icb_upload(
    request: Request,
    icb_code: str,
    file: UploadFile | None = File(None),  # noqa: B008 - optional so that scope is checked before the form
    period: str = Form(""),
    principal: Principal = Depends(require(Permission.UPLOAD_LOCAL)),  # noqa: B008
) -> Response:
    code = principal.require_icb(icb_code)
    name = upload_name(file)
    if file is None or not accepted(name):
        return render(
            request, "upload.jinja", 422, title="Upload local data", icb=code, result=None,
            problems=[f"{name or 'no file chosen'}: expected a .csv or .xlsx file"],
            summary="The file was not uploaded",
        )  # fmt: skip
    try:
        result = await store_upload(request, file, name, principal=principal, icb_code=code, period=period)
    except InputFileError as exc:
        return render(
            request, "upload.jinja", 422, title="Upload local data", icb=code, result=None,
            problems=[str(p) for p in exc.problems], summary=exc.summary,
        )  # fmt: skip
    return render(request, "upload.jinja", title="Upload local data", icb=code, problems=None, result=result)


@router.get("/icb/{icb_code}/runs")
def icb_runs(request: Request, icb_code: str, principal: Principal = Named) -> Response:
    stored = cohort_service.stored_cohort(get_app(request), principal=principal, icb_code=icb_code)
    return render(
        request,
        "runs.jinja",
        title="Cohort runs",
        icb=stored.icb_code,
        runs=stored.runs,
        back=f"/icb/{stored.icb_code}",
    )


@router.get("/icb/{icb_code}/audit")
def icb_audit(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.READ_AUDIT)),  # noqa: B008
) -> Response:
    events = audit_service.audit_log(get_app(request), principal=principal, icb_code=icb_code)
    return render(
        request, "audit.jinja", title="Audit log", icb=icb_code.upper(), events=events, back=f"/icb/{icb_code.upper()}"
    )


@router.get("/icb/{icb_code}/measures.{fmt}")
def icb_measures_export(request: Request, icb_code: str, fmt: str, principal: Principal = Named) -> Response:
    from gpaccess.web.exports import table_download

    found = measure_service.icb_measures(get_app(request), principal=principal, icb_code=icb_code)
    return table_download(found.table, f"measures_{found.icb_code}", fmt)


# -- what worked -----------------------------------------------------------------------------------------------
@router.get("/icb/{icb_code}/evaluation")
def icb_evaluation(request: Request, icb_code: str, principal: Principal = Named) -> Response:
    from gpaccess.errors import ForbiddenError, NotFoundError
    from gpaccess.plans.catalogue import action_type
    from gpaccess.services import evaluation as evaluation_service

    code = icb_code.strip().upper()
    try:
        run = evaluation_service.evaluate(get_app(request), principal=principal, icb_code=code)
    except (NotFoundError, ForbiddenError):
        raise
    except UserError as exc:  # no support on record yet
        return render(
            request, "evaluation.jinja", title="What worked", icb=code, run=None, reason=str(exc), back=f"/icb/{code}"
        )

    def title(key: str) -> str:
        try:
            return action_type(key).title
        except UserError:
            return key.capitalize()  # "any support": no catalogue entry

    return render(
        request,
        "evaluation.jinja",
        title="What worked",
        icb=code,
        run=run,
        ev=run.evaluation,
        titles={e.action: title(e.action) for e in run.evaluation.estimates},
        back=f"/icb/{code}",
    )


# -- national -------------------------------------------------------------------------------------------------
@router.get("/national")
def national_page(request: Request, principal: Principal = Aggregates) -> Response:
    summary = national_service.national_summary(get_app(request), principal=principal)
    return render(request, "national.jinja", title="National overview", summary=summary)
