"""A local-data upload as the upload page and the JSON API both take it: the file's name checked, its bytes
written to a private temporary folder, read and stored through the services layer off the event loop, and the
folder removed whatever happens. The caller says how a refusal (`InputFileError`) is shown."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile

from gpaccess.access.principal import Principal
from gpaccess.services import local as local_service
from gpaccess.web.deps import get_app

UPLOAD_SUFFIXES = (".csv", ".xlsx")


def upload_name(file: UploadFile | None) -> str:
    """The uploaded file's own name, without any folder a browser sent; empty when no file came."""
    return Path(file.filename or "").name if file is not None else ""


def accepted(name: str) -> bool:
    """Whether the name is of a kind the upload reads (CSV or XLSX); anything else is refused unread."""
    return name.lower().endswith(UPLOAD_SUFFIXES)


async def store_upload(
    request: Request, file: UploadFile, name: str, *, principal: Principal, icb_code: str, period: str | None
) -> Any:
    """The service's upload result for the file; raises `InputFileError` with every problem located."""
    from starlette.concurrency import run_in_threadpool

    with tempfile.TemporaryDirectory(prefix="gpaccess-upload-") as tmp:
        path = Path(tmp) / name  # read as data only: never executed, never kept after the check
        path.write_bytes(await file.read())
        return await run_in_threadpool(
            local_service.upload, get_app(request), principal=principal, icb_code=icb_code, path=path,
            period=(period or "").strip() or None,
        )  # fmt: skip
