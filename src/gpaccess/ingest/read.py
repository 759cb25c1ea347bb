"""Open what the user gave us: a published zip (one or several regional CSVs plus Mapping.csv) or loose CSVs.

Everything here is about files and bytes; turning rows into the store's shape is `normalise`'s job.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gpaccess.errors import NotFoundError, Problem
from gpaccess.ingest.schemas import raise_problems
from gpaccess.storage.files import sha256_file
from gpaccess.storage.manifest import Source

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty zip


@dataclass(frozen=True)
class Member:
    """One CSV to load: where it is on disk now, and how to name it to the user."""

    display: str  # "Practice_Level_Crosstab_Oct_25.zip:Mapping.csv" or the CSV's own path
    path: Path
    source: Source  # the file as given (a zip as a whole): its identity in the store
    header: list[str]
    archive: str | None = None  # the zip's name, for a member of one

    @property
    def name(self) -> str:
        """The file's own name, without folders or the zip's name (what a name-month is read from)."""
        if self.archive is None:
            return self.path.name
        return PurePosixPath(self.display[len(self.archive) + 1 :].replace("\\", "/")).name


def open_inputs(
    paths: Iterable[Path], scratch: Path, digests: Mapping[Path, str] | None = None
) -> list[tuple[Source, list[Member]]]:
    """Hash each input (unless its digest is given) and expand zips into `scratch`; refuse missing, truncated
    or unreadable files."""
    out = []
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            raise NotFoundError(f"{path}: no such file")
        digest = (digests or {}).get(path) or sha256_file(path)
        source = Source(name=path.name, sha256=digest, bytes=path.stat().st_size)
        try:
            members = _expand(path, source, scratch)
        except _RefusedError as exc:
            problems.append(exc.problem)
            continue
        out.append((source, members))
    if problems:
        raise_problems(problems)
    return out


class _RefusedError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def is_zip(path: Path) -> bool:
    """A zip by its bytes, not its name: a zip's magic number (a truncated download keeps it, and is refused
    as truncated) or a readable end record. A CSV named .zip is read as the CSV it is."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    return magic in ZIP_MAGIC or zipfile.is_zipfile(path)


def _expand(path: Path, source: Source, scratch: Path) -> list[Member]:
    if is_zip(path):
        return _expand_zip(path, source, scratch)
    return [Member(display=str(path), path=path, source=source, header=read_header(path, str(path)))]


def _expand_zip(path: Path, source: Source, scratch: Path) -> list[Member]:
    """Copy each CSV member to the scratch folder under its own folder path (sanitised), so members with the
    same file name in different folders are each read, never one written over the other."""
    members = []
    try:
        with zipfile.ZipFile(path) as zf:
            entries = [i for i in zf.infolist() if i.filename.lower().endswith(".csv") and not i.is_dir()]
            if not entries:
                raise _RefusedError(
                    Problem(str(path), None, None, "a zip holding at least one .csv file", str(zf.namelist()[:5]))
                )
            names = [i.filename for i in entries]
            if twice := sorted({n for n in names if names.count(n) > 1}):
                raise _RefusedError(Problem(str(path), None, None, "each member once in the zip", ", ".join(twice)))
            target = scratch / source.sha256[:16]
            used: set[PurePosixPath] = set()
            for info in entries:
                dest = target.joinpath(*_scratch_path(info.filename, used).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as dst:
                    while block := src.read(1 << 20):  # CRC is verified as the member is read to its end
                        dst.write(block)
                display = f"{path.name}:{info.filename}"
                header = read_header(dest, display)
                members.append(Member(display=display, path=dest, source=source, header=header, archive=path.name))
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError) as exc:
        raise _RefusedError(
            Problem(str(path), None, None, "a complete zip archive as published", f"truncated or corrupt: {exc}")
        ) from exc
    return members


def _scratch_path(name: str, used: set[PurePosixPath]) -> PurePosixPath:
    """A member's path inside its zip, safe to write below the scratch folder: no absolute path, drive or `..`
    (a crafted zip cannot write elsewhere). Were sanitising to make two paths one, the later goes in a numbered
    folder, so every member keeps its own copy."""
    given = PurePosixPath(name.replace("\\", "/")).parts
    parts = [p.replace(":", "_") for p in given if p not in ("/", ".", "..")]  # "C:" (a drive) is only a folder
    safe = PurePosixPath(*parts) if parts else PurePosixPath("member.csv")
    candidate, n = safe, 1
    while candidate in used:
        n += 1
        candidate = PurePosixPath(f"_{n}", *safe.parts)
    used.add(candidate)
    return candidate


def read_header(path: Path, display: str) -> list[str]:
    """The first line, parsed as CSV; a BOM is tolerated, other encodings are refused here."""
    with open(path, "rb") as fh:
        first = fh.readline(1 << 16)
    return parse_header(first, display)


def headers_of(path: Path) -> list[tuple[str, list[str]]]:
    """(display name, header) of a loose CSV or of each CSV member of a zip, from its first line alone: what a
    file is can be checked, and a wrong file refused, before anything is extracted or the store is touched.
    Raises `InputFileError` with the same problems the full read would report for these first bytes."""
    try:
        if not is_zip(path):
            return [(str(path), read_header(path, str(path)))]
        with zipfile.ZipFile(path) as zf:
            entries = [i for i in zf.infolist() if i.filename.lower().endswith(".csv") and not i.is_dir()]
            if not entries:
                raise _RefusedError(
                    Problem(str(path), None, None, "a zip holding at least one .csv file", str(zf.namelist()[:5]))
                )
            out = []
            for info in entries:
                display = f"{path.name}:{info.filename}"
                with zf.open(info) as member:
                    out.append((display, parse_header(member.readline(1 << 16), display)))
            return out
    except _RefusedError as exc:
        raise_problems([exc.problem])
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError) as exc:
        problem = Problem(str(path), None, None, "a complete zip archive as published", f"truncated or corrupt: {exc}")
        raise_problems([problem])
    raise AssertionError("unreachable")  # pragma: no cover - raise_problems always raises


def parse_header(first: bytes, display: str) -> list[str]:
    """A first line's bytes as a CSV header, or the reason they cannot be one."""
    if not first.strip():
        raise _RefusedError(Problem(display, 1, None, "a header line naming the columns", "an empty file"))
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _RefusedError(
            Problem(
                display,
                1,
                None,
                "UTF-8 text (re-save the file as UTF-8 CSV)",
                f"undecodable byte at {exc.start}",
            )
        ) from exc
    if "\x00" in text:
        raise _RefusedError(
            Problem(display, 1, None, "UTF-8 text (this looks like UTF-16: re-save as UTF-8 CSV)", None)
        )
    return [h.strip() for h in next(csv.reader(io.StringIO(text)))]


def locate(path: Path, column_index: int, wanted: set[str | None], limit: int = 3) -> dict[str | None, list[int]]:
    """Line numbers where values occur in one column (only on the error path: a Python scan is fine there)."""
    found: dict[str | None, list[int]] = {}
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            value: str | None = row[column_index] if column_index < len(row) else None
            if value == "":
                value = None
            if value in wanted:
                lines = found.setdefault(value, [])
                if len(lines) < limit:
                    lines.append(reader.line_num)
                if len(found) == len(wanted) and all(len(v) >= limit for v in found.values()):
                    break
    return found
