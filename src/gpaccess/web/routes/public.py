"""`/public`: the practice-level publication, without signing in (every practice, practice-code order)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from gpaccess.services import publish
from gpaccess.web.app import render
from gpaccess.web.deps import Viewer, get_app, viewer
from gpaccess.web.exports import table_download

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


@router.get("/public")
def public_page(request: Request, page: int = 1, v: Viewer = Depends(viewer)) -> Response:  # noqa: B008
    found = publish.public_table(get_app(request), principal=v.principal)
    table = found.table
    pages = max(1, -(-len(table) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = table.iloc[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render(
        request,
        "public.jinja",
        title="GP access by practice",
        window=found.window,
        definitions=found.definitions,
        columns=list(table.columns),
        rows=shown.astype(object).where(shown.notna(), None).to_dict("records"),
        page=page,
        pages=pages,
        total=len(table),
    )


@router.get("/public/gp_access_by_practice.{fmt}")
def public_download(request: Request, fmt: str, v: Viewer = Depends(viewer)) -> Response:  # noqa: B008
    found = publish.public_table(get_app(request), principal=v.principal)
    return table_download(found.table, "gp_access_by_practice", fmt)
