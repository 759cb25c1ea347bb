"""The JSON API's local data, `/api/v1/icb/{code}/local`: the ICB's local indicators beside its national
measures, and uploads of a local CSV or XLSX, stored whole or refused whole with every problem located (file,
line, column, what was expected), as the upload page does. Shares the API's errors, writer dependencies and
conventions (`routes/api.py`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import InputFileError
from gpaccess.services import local as local_service
from gpaccess.web.deps import get_app, require
from gpaccess.web.routes.api import ERRORS, WRITE_ERRORS, Problem, icb_writer, json_value
from gpaccess.web.uploads import accepted, store_upload, upload_name

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)


class FileProblem(BaseModel):
    file: str
    line: int | None
    column: str | None
    expected: str
    found: str | None


class UploadRefused(BaseModel):
    detail: str
    problems: list[FileProblem]


# -- local data --------------------------------------------------------------------------------------------------
class LocalOut(BaseModel):
    icb_code: str
    window: str
    national: list[str]
    local: list[str]
    local_periods: dict[str, str]
    practices: list[dict[str, Any]]
    correlations: list[dict[str, Any]]
    flags: list[dict[str, Any]]


class UploadOut(BaseModel):
    file: str
    sha256: str
    status: str
    release: str | None
    icb_code: str
    rows: int
    practices: int
    indicators: list[str]
    periods: list[str]


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): json_value(v) for k, v in r.items()} for r in frame.to_dict("records")]


@router.get("/icb/{icb_code}/local", response_model=LocalOut, summary="Local data beside the national measures")
def icb_local(
    request: Request,
    icb_code: str,
    principal: Principal = Depends(require(Permission.READ_NAMED)),  # noqa: B008
) -> LocalOut:
    view = local_service.view(get_app(request), principal=principal, icb_code=icb_code)
    columns = ["practice_code", "practice_name", *view.national, *view.local]
    return LocalOut(
        icb_code=view.icb_code,
        window=view.window,
        national=list(view.national),
        local=list(view.local),
        local_periods=dict(view.local_periods),
        practices=_rows(view.table.reindex(columns=columns)),
        correlations=_rows(view.correlations),
        flags=_rows(view.flags),
    )


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    413: {"model": Problem, "description": "The upload is over the size limit (10 MB, as the pages)"},
    422: {"model": UploadRefused | Problem, "description": "The file was refused (every problem located): no change"},
}


@router.post(
    "/icb/{icb_code}/local",
    response_model=UploadOut,
    responses=UPLOAD_ERRORS,
    summary="Upload local data (CSV or XLSX): stored whole, or refused whole with every problem",
)
async def icb_upload(
    request: Request,
    icb_code: str,
    file: UploadFile = File(description="A .csv or .xlsx of practice_code, indicator, period, value"),  # noqa: B008
    period: str | None = Form(None, max_length=32, description="The period, when the file has no period column"),
    principal: Principal = Depends(icb_writer(Permission.UPLOAD_LOCAL)),  # noqa: B008
) -> Any:
    name = upload_name(file)
    if not accepted(name):
        return _refused(
            "The file was not uploaded", [FileProblem(file=name or "(no name)", line=None, column=None,
                                                      expected="a .csv or .xlsx file", found=None)]
        )  # fmt: skip
    try:
        result = await store_upload(request, file, name, principal=principal, icb_code=icb_code, period=period)
    except InputFileError as exc:
        return _refused(
            exc.summary,
            [FileProblem(file=p.file, line=p.line, column=p.column, expected=p.expected, found=p.found)
             for p in exc.problems],
        )  # fmt: skip
    return UploadOut(
        file=result.file,
        sha256=result.sha256,
        status=result.status,
        release=result.release,
        icb_code=result.icb_code,
        rows=result.rows,
        practices=result.practices,
        indicators=list(result.indicators),
        periods=list(result.periods),
    )


def _refused(summary: str, problems: list[FileProblem]) -> JSONResponse:
    return JSONResponse(UploadRefused(detail=summary, problems=problems).model_dump(), status_code=422)
