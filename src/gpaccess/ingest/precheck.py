"""The first look at what a user gave ingest: does each file exist, and is it what gpaccess reads?

It reads only first lines (of a CSV, of each CSV in a zip) and recognises context files by their headers and
sheets, with the same functions and messages as the full read, but before the store is locked, anything is
extracted or the engine is loaded: an empty file, a picture or an unknown layout is refused at once. Files that
pass are read and checked in full by `ingest.load` as ever; nothing here replaces that.
"""

from __future__ import annotations

from pathlib import Path

from gpaccess.errors import InputFileError, NotFoundError, Problem
from gpaccess.ingest import context
from gpaccess.ingest.read import headers_of
from gpaccess.ingest.schemas import resolve_header


def precheck(paths: list[Path]) -> None:
    """Refuse, with every problem found, the files whose first bytes already show they cannot be ingested."""
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            raise NotFoundError(f"{path}: no such file")
        if context.detect(path) is not None:
            continue  # a context reader's own checks run in full later
        try:
            for display, header in headers_of(path):
                resolve_header(header, display)
        except InputFileError as exc:
            problems += exc.problems
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) found; nothing was stored")
