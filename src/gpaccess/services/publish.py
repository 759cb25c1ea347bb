"""The public practice-level publication (`gpaccess publish` and the web's `/public`): GPAD-derived figures
that are public per practice already, with intervals and area context, for every practice in the store.

No permission is needed to read it (it is public) and none of it is named confidential data: local data,
cohorts and plans are never in it. The guard checks it before it is returned or written.
"""

from __future__ import annotations

from pathlib import Path

from gpaccess.access.principal import Principal
from gpaccess.publication.public import FORMATS, Publication, build_public_table, write_publication
from gpaccess.services.app import App
from gpaccess.services.measures import measure_session


def public_table(app: App, *, principal: Principal, months: list[str] | None = None) -> Publication:
    from gpaccess.cohort.run import deprivation

    session = measure_session(app, months=months)
    return build_public_table(session, deprivation(session.snapshot))


def publish(
    app: App, *, principal: Principal, folder: Path, months: list[str] | None = None, formats: tuple[str, ...] = FORMATS
) -> list[Path]:
    return write_publication(public_table(app, principal=principal, months=months), folder, formats)
