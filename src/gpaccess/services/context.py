"""Context that is not named practice data: each system's figures against the baseline year, with coverage."""

from __future__ import annotations

from typing import Any

from gpaccess.access.principal import Principal
from gpaccess.errors import UserError
from gpaccess.services.app import App


def system_baseline(app: App, *, principal: Principal, icb_code: str) -> list[dict[str, Any]]:
    """Each of the ICB's systems (CCGs, sub-ICB locations) by month against the same month of the baseline year
    (by the configured face-to-face definition), with GPAD coverage where the coverage table is loaded."""
    from gpaccess.ingest.context.queries import coverage_for
    from gpaccess.measures.system import system_baseline as baseline

    s = app.settings
    snap = app.warehouse.snapshot()
    code = icb_code.strip().upper()
    if not snap.has("gpad_system"):
        raise UserError("no system-level GPAD stored: ingest the CCG-level Regional_CSV_*.csv(.gz) files first")
    rows = baseline(snap, code, f2f_definition=s.f2f_definition, baseline_year=s.baseline_year)
    if not rows:
        raise UserError(
            f"no system-level months outside {s.baseline_year} stored for ICB {code} (is the CCG to ICB lookup loaded?)"
        )
    for r in rows:
        r["coverage"] = coverage_for(snap, r["system_code"], r["month"], warn_below=s.coverage_warning_threshold)
    return rows
