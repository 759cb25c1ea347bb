"""Table downloads (CSV, XLSX): every text cell neutralised for spreadsheets (= + - @ never evaluated)."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.responses import Response

from gpaccess.errors import NotFoundError
from gpaccess.publication.exports import neutralise_formulas

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_bytes(frame: pd.DataFrame, fmt: str) -> tuple[bytes, str]:
    safe = neutralise_formulas(frame)
    if fmt == "csv":
        return safe.to_csv(index=False).encode("utf-8"), "text/csv; charset=utf-8"
    if fmt == "xlsx":
        buffer = io.BytesIO()
        safe.to_excel(buffer, index=False, sheet_name="table")
        return buffer.getvalue(), XLSX
    raise NotFoundError(f"no download format {fmt!r}")


def table_download(frame: pd.DataFrame, stem: str, fmt: str) -> Response:
    body, media = table_bytes(frame, fmt)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})
