"""CSV context files described in `sources.toml`: recognise the header, name its columns, walk the rows.

Column spellings are data (sources.toml), as for GPAD; the readers convert each cell and report a bad one with
its file, line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gpaccess.errors import Problem
from gpaccess.ingest.context.base import BadValueError, FileRead, Probe, column_label, label_key, open_text, rows_of
from gpaccess.ingest.schemas import PublicationSpec, publications

# sources.toml sections read by the context readers (not by the GPAD CSV path).
CONTEXT_SECTIONS = (
    "gpad_system",
    "coverage",
    "ccg_icb_lookup",
    "imd",
    "payments",
    "gpps",
    "workforce",
)


def best_publication(header: list[str]) -> tuple[str, float]:
    """The publication (of all in sources.toml, GPAD included) whose signature the header matches best."""
    keys = [label_key(h) for h in header]
    best, share_best, count_best = "", 0.0, -1
    for spec in publications().values():
        aliases = {label_key(a): c.name for c in spec.columns for a in c.names}
        present = {aliases[k] for k in keys if k in aliases}
        share = len(present & set(spec.signature)) / len(spec.signature)
        if (share, len(present)) > (share_best, count_best):
            best, share_best, count_best = spec.name, share, len(present)
    return best, share_best


@dataclass(frozen=True)
class Resolved:
    spec: PublicationSpec
    header: list[str]
    index: dict[str, int]  # canonical name -> column position


def resolve(spec_name: str, header: list[str], fr: FileRead) -> Resolved | None:
    spec = publications()[spec_name]
    aliases = {label_key(a): c.name for c in spec.columns for a in c.names}
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        name = aliases.get(label_key(h))
        if name is None:
            continue
        if name in index:
            fr.problems.append(
                Problem(fr.display, 1, column_label(i, h), f"each column once; {name} is also column {index[name] + 1}")
            )
            continue
        index[name] = i
    for col in spec.columns:
        if col.required and col.name not in index:
            fr.problems.append(
                Problem(
                    fr.display,
                    1,
                    None,
                    f"a column {' or '.join(col.names)} in the {spec.title} header",
                    ",".join(header)[:200],
                )
            )
    if fr.problems:
        return None
    return Resolved(spec, header, index)


def data_rows(probe: Probe, resolved: Resolved, fr: FileRead) -> Iterator[tuple[int, dict[str, str]]]:
    """Each data row as {canonical name: raw text}; rows of the wrong width are reported, not guessed at."""
    width = len(resolved.header)
    with open_text(probe.path) as fh:
        rows = rows_of(fh)
        next(rows, None)
        for line, fields in rows:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            fr.file_rows += 1
            if len(fields) != width:
                fr.problems.append(Problem(fr.display, line, None, f"a row of {width} fields", f"{len(fields)} fields"))
                continue
            yield line, {name: fields[i] for name, i in resolved.index.items()}


class Cells:
    """Converts one row's cells, recording each bad one as a Problem instead of stopping."""

    def __init__(self, fr: FileRead, resolved: Resolved, line: int, raw: dict[str, str]) -> None:
        self.fr, self.resolved, self.line, self.raw = fr, resolved, line, raw
        self.ok = True

    def get(self, name: str, convert: Callable[[Any], Any], default: Any = None) -> Any:
        if name not in self.raw:
            return default
        try:
            return convert(self.raw[name])
        except BadValueError as exc:
            i = self.resolved.index[name]
            self.fr.problems.append(
                Problem(self.fr.display, self.line, column_label(i, self.resolved.header[i]), str(exc), self.raw[name])
            )
            self.ok = False
            return default

    def require(self, name: str, convert: Callable[[Any], Any], what: str) -> Any:
        value = self.get(name, convert)
        if value is None and self.ok:
            i = self.resolved.index[name]
            self.fr.problems.append(
                Problem(self.fr.display, self.line, column_label(i, self.resolved.header[i]), what, "an empty value")
            )
            self.ok = False
        return value
