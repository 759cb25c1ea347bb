"""Publications, their columns and vocabularies, read from the data files beside this module.

Column aliases and category spellings change between releases (APPT_STATUS vs APPOINTMENT_STATUS,
"Unknown / Data Issue" vs "Unknown / Data Quality", double spaces in booking bands); keeping them in
`sources.toml` and `vocabularies.toml` means a new spelling is a one-line data change, not a code change.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from gpaccess.errors import Problem

SOURCES_FILE = "sources.toml"
VOCABULARIES_FILE = "vocabularies.toml"

# Store types per column kind: Ibis type names.
STORE_TYPES = {"month": "date", "code": "string", "text": "string", "category": "string", "count": "int64"}
# Types the CSV reader declares (the file's own dialect is declared, never sniffed: domain.md B1).
READ_TYPES = {
    "month": "VARCHAR",
    "code": "VARCHAR",
    "text": "VARCHAR",
    "category": "VARCHAR",
    "count": "BIGINT",
}


@dataclass(frozen=True)
class Column:
    name: str
    names: tuple[str, ...]
    type: str
    vocabulary: str | None = None
    required: bool = True


@dataclass(frozen=True)
class PublicationSpec:
    name: str
    title: str
    url: str
    signature: tuple[str, ...]
    columns: tuple[Column, ...]
    month_column: str | None
    measure: str | None
    row_filter: tuple[str, str] | None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def store_schema(self, present: list[str]) -> dict[str, str]:
        return {c.name: STORE_TYPES[c.type] for c in self.columns if c.name in present}


def _key(label: str) -> str:
    """Comparison key: case and runs of white space do not distinguish published labels."""
    return re.sub(r"\s+", " ", label).strip().casefold()


@dataclass(frozen=True)
class Vocabulary:
    name: str
    canonical: tuple[str, ...]
    lookup: dict[str, str]  # _key(spelling) -> canonical

    def normalise(self, raw: str | None) -> str | None:
        return None if raw is None else self.lookup.get(_key(raw))


def _data_text(filename: str) -> str:
    return resources.files("gpaccess.ingest").joinpath(filename).read_text(encoding="utf-8")


def data_file_path(filename: str) -> str:
    """Where a data file lives, for error messages that tell the user where to add a spelling."""
    return str(Path(str(resources.files("gpaccess.ingest").joinpath(filename))))


@cache
def vocabularies() -> dict[str, Vocabulary]:
    raw = tomllib.loads(_data_text(VOCABULARIES_FILE))
    out = {}
    for name, values in raw.items():
        lookup: dict[str, str] = {}
        for canonical, aliases in values.items():
            for spelling in [canonical, *aliases]:
                lookup[_key(spelling)] = canonical
        out[name] = Vocabulary(name=name, canonical=tuple(values), lookup=lookup)
    return out


@cache
def publications() -> dict[str, PublicationSpec]:
    raw = tomllib.loads(_data_text(SOURCES_FILE))
    specs = {}
    for name, body in raw.items():
        columns = tuple(
            Column(
                name=col,
                names=tuple(spec["names"]),
                type=spec["type"],
                vocabulary=spec.get("vocabulary"),
                required=spec.get("required", True),
            )
            for col, spec in body["columns"].items()
        )
        flt = body.get("row_filter")
        specs[name] = PublicationSpec(
            name=name,
            title=body["title"],
            url=body["url"],
            signature=tuple(body["signature"]),
            columns=columns,
            month_column=body.get("month_column"),
            measure=body.get("measure"),
            row_filter=(flt["column"], flt["equals"]) if flt else None,
        )
    return specs


@dataclass(frozen=True)
class ResolvedHeader:
    spec: PublicationSpec
    canonical: tuple[str | None, ...]  # per file column, its canonical name (None: a column we don't keep)


def _canonical_of(spec: PublicationSpec) -> dict[str, str]:
    return {_key(alias): c.name for c in spec.columns for alias in c.names}


def resolve_header(header: list[str], file: str) -> ResolvedHeader:
    """Recognise which publication a header belongs to and name its columns, or say precisely what's wrong."""
    scored = []
    for spec in publications().values():
        aliases = _canonical_of(spec)
        canonical = tuple(aliases.get(_key(h)) for h in header)
        present = {c for c in canonical if c}
        scored.append((len(present & set(spec.signature)) / len(spec.signature), len(present), spec, canonical))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    share, _, spec, canonical = scored[0]
    if share < 0.5:
        known = "; ".join(
            f"{s.title} ({', '.join(s.column(c).names[0] for c in s.signature)})" for s in publications().values()
        )
        raise_problems([Problem(file, 1, None, f"a header of a known publication: {known}", ",".join(header)[:200])])
    problems = []
    seen: dict[str, int] = {}
    for idx, name in enumerate(canonical):
        if name and name in seen:
            problems.append(
                Problem(
                    file,
                    1,
                    f"{idx + 1} ({header[idx]})",
                    f"each column once; {name} is also column {seen[name]}",
                )
            )
        if name:
            seen[name] = idx + 1
    for col in spec.columns:
        if col.required and col.name not in seen:
            problems.append(
                Problem(
                    file,
                    1,
                    None,
                    f"a column {' or '.join(col.names)} in the {spec.title} header",
                    ",".join(header)[:200],
                )
            )
    if problems:
        raise_problems(problems)
    return ResolvedHeader(spec=spec, canonical=canonical)


def raise_problems(problems: list[Problem], summary: str | None = None) -> None:
    from gpaccess.errors import InputFileError

    raise InputFileError(problems, summary)
