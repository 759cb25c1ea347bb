"""One exception hierarchy for the whole package.

A `UserError` is something the person running gpaccess can fix (a bad file, a missing month, a wrong option):
the CLI prints it as one line, without a traceback, and exits with the class's own code; the web application
(a later issue) maps the same classes to HTTP statuses. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class GpaccessError(Exception):
    """Base of every error gpaccess raises on purpose."""


class UserError(GpaccessError):
    exit_code: int = 2
    http_status: int = 400


class ConfigError(UserError):
    exit_code = 3


class NotFoundError(UserError):
    exit_code = 4
    http_status = 404


class StoreBusyError(UserError):
    """Another process holds the store's write lock (one writer at a time)."""

    exit_code = 5
    http_status = 409


class ConflictError(UserError):
    """The change clashes with what is stored (a name taken, a second active override, a later release on top,
    a plan edited by someone else since it was read)."""

    exit_code = 9
    http_status = 409


class DownloadError(UserError):
    exit_code = 6
    http_status = 502


class PolicyError(UserError):
    """An output would break a rule gpaccess enforces (no league tables, no identifying data sent out)."""

    exit_code = 7
    http_status = 422


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as the file allows."""

    file: str
    line: int | None
    column: str | None
    expected: str
    found: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        found = f" (found {self.found!r})" if self.found is not None else ""
        return f"{where}: expected {self.expected}{found}"


class InputFileError(UserError):
    """An input was refused. Carries every problem found, not just the first, so one fix-up pass suffices."""

    exit_code = 8
    http_status = 422
    max_shown = 50

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = problems
        self.summary = summary or f"{len(problems)} problem(s) found; nothing was stored"
        super().__init__(self.render())

    def render(self) -> str:
        shown = [str(p) for p in self.problems[: self.max_shown]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        return self.summary + ":\n  " + "\n  ".join(shown)


class ForbiddenError(UserError):
    """The acting user's role does not allow this action (never used to hide whether named data exists: a
    practice or ICB outside the user's scope is answered exactly as one that does not exist)."""

    exit_code = 11
    http_status = 403
