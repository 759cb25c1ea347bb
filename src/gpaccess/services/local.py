"""An ICB's own local indicators: uploaded beside GPAD (validated against the ICB's practices) and viewed side
by side with the national measures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read
from gpaccess.services.measures import measure_session

if TYPE_CHECKING:
    from gpaccess.measures.service import MeasureSession


def upload(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    path: Path,
    sheet: str | None = None,
    period: str | None = None,
):
    """Check every row of a local-indicator file against the ICB's practices and store it as one release, or
    refuse it whole with every problem located. Both are audited (`local.uploaded`, `local.refused`)."""
    from gpaccess.errors import InputFileError
    from gpaccess.ingest.local import upload as store_upload

    code = principal.require_icb(icb_code)
    principal.require(Permission.UPLOAD_LOCAL)
    s = measure_session(app)
    practices = set(s.icb_practices(code).practice_code)
    directory = s.directory().dropna(subset=["icb_code"])
    criteria = app.selection_settings().criteria
    try:
        result = store_upload(
            app.warehouse,
            path,
            icb_code=code,
            icb_practices=practices,
            user=principal.actor,
            practice_icbs=dict(zip(directory.practice_code, directory.icb_code, strict=True)),
            sheet=sheet,
            period=period,
            rate_indicators=(criteria.local_111_indicator, criteria.local_ae_indicator),
        )
    except InputFileError as exc:
        audit_read(
            app, principal=principal, action="local.refused", icb_code=code, object_type="local_upload",
            object_id=path.name, detail={"problems": len(exc.problems)},
        )  # fmt: skip
        raise
    audit_read(
        app,
        principal=principal,
        action="local.uploaded",
        icb_code=code,
        object_type="local_upload",
        object_id=result.release,
        detail={"file": result.file, "sha256": result.sha256, "status": result.status, "rows": result.rows},
    )
    return result


def view(app: App, *, principal: Principal, icb_code: str):
    """Every practice of the ICB with national measures and local indicators side by side, correlations, and
    where the two tell different stories."""
    from gpaccess.cohort.local_view import local_view

    code = principal.require_icb(icb_code)
    result = local_view(measure_session(app), code)
    audit_read(app, principal=principal, action="local.read", icb_code=code, detail={"practices": len(result.table)})
    return result


def practice_local(
    app: App, *, principal: Principal, practice_code: str, icb_code: str | None, session: MeasureSession | None = None
):
    """One practice's stored local indicators (every period), uploaded by its ICB: indicator, period, value,
    source, uploaded_at. Empty when the ICB has uploaded none for it. With `session` (a page's), read from its
    snapshot, and the ICB's rows once per store generation for every page of its practices."""
    import pandas as pd

    from gpaccess.ingest.local import stored_local

    code = principal.require_practice(practice_code, icb_code)
    if not icb_code:
        return pd.DataFrame(columns=["indicator", "period", "value"])
    if session is None:
        rows = stored_local(app.warehouse.snapshot(), icb_code)
    else:
        snapshot = session.snapshot
        rows = session.memo(("local", icb_code, snapshot.generation), lambda: stored_local(snapshot, icb_code))
    rows = rows[rows.practice_code == code] if len(rows) else rows
    audit_read(
        app,
        principal=principal,
        action="local.practice_read",
        icb_code=icb_code,
        object_type="practice",
        object_id=code,
    )
    return rows.sort_values(["indicator", "period"]).reset_index(drop=True) if len(rows) else rows
