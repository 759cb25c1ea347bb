"""Fetching publications from the publishers' sites: a month's practice-level GPAD zip, a Fingertips
indicator. The network settings come from `Settings` here, in one place; what was downloaded can then be
ingested through `services.ingest`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.services.app import App

if TYPE_CHECKING:
    from gpaccess.ingest.download import Month


def downloads_folder(app: App, to: Path | None) -> Path:
    """Where downloads go: `to`, or `<GPACCESS_HOME>/downloads`."""
    return (to or app.home / "downloads").expanduser().resolve()


def gpad_month(
    app: App,
    *,
    principal: Principal,
    month: Month,
    to: Path | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_event: Callable[[str], None] | None = None,
) -> Path:
    """Download the month's practice-level zip from its publication page; returns the saved file."""
    from gpaccess.ingest.download import DownloadConfig, download_month

    principal.require(Permission.INGEST)
    s = app.settings
    config = DownloadConfig(base_url=s.publisher_base_url, retries=s.download_retries, timeout=s.download_timeout)
    return download_month(month, downloads_folder(app, to), config, progress=progress, on_event=on_event)


def fingertips_indicator(
    app: App, *, principal: Principal, indicator: int, area_type: int, to: Path | None = None
) -> Path:
    """Download a Fingertips indicator's CSV for an area type (93553 at type 7: IMD score by GP practice)."""
    from gpaccess.ingest.context.fingertips_api import download_indicator

    principal.require(Permission.INGEST)
    s = app.settings
    return download_indicator(
        s.fingertips_base_url,
        indicator,
        downloads_folder(app, to),
        area_type=area_type,
        timeout=s.download_timeout,
        retries=s.download_retries,
    )
