"""The NHS England return: an ICB's selected practices as keyed pseudonyms with the criteria they met, and
nothing else (no code, name, rank or measure value), checked by the outward-file guard before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gpaccess.access.principal import Principal
from gpaccess.access.pseudonym import load_or_create_key
from gpaccess.services.app import App

if TYPE_CHECKING:
    from gpaccess.services.cohort import CohortRunResult


def write_nhse_return(app: App, *, principal: Principal, result: CohortRunResult, path: Path) -> tuple[Path, Path]:
    """Pseudonymise the run's selected practices with the ICB's own key (made under GPACCESS_HOME on first use)
    and write the guarded return, with its notes beside it (`<name>_notes.txt`: pseudonymous, not anonymous;
    what each criterion column means; what the run stood on): (return, notes)."""
    from gpaccess.cohort.criteria import TITLES
    from gpaccess.publication.nhse_return import build_return, return_notes, write_notes, write_return

    cohort = result.cohort
    code = principal.require_icb(cohort.icb_code)
    frame = build_return(
        cohort.members,
        icb_code=code,
        cycle=result.cycle,
        key=load_or_create_key(app.home, code),
        criteria=list(cohort.settings.criteria.enabled),
    )
    directory = result.session.directory()
    written = write_return(
        frame, path, known_codes=set(directory.practice_code), known_names=set(directory.practice_name.dropna())
    )
    criteria = {name: TITLES.get(name, name) for name in cohort.settings.criteria.enabled}
    stood_on = [line for line in result.basis.lines() if not line.startswith("Data months")]
    notes = return_notes(icb_code=code, cycle=result.cycle, criteria=criteria, stood_on=stood_on)
    return written, write_notes(notes, path.with_name(f"{path.stem}_notes.txt"))
