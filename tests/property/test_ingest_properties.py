"""Invariants of ingest, checked with Hypothesis on small crosstabs in the real published format: re-ingesting
any release changes nothing, ingest then rollback returns every query's answer, and the republication guard
refuses exactly the releases that cut a stored practice by more than a fifth (leaving the store as it was)."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gpaccess.errors import InputFileError
from gpaccess.ingest.load import ingest_files
from gpaccess.ingest.rollback import rollback
from gpaccess.ingest.schemas import vocabularies
from gpaccess.storage.warehouse import StoreConfig, Warehouse
from ingest_helpers import answers

# Each example builds a store in a temporary folder and ingests two or three releases: a handful is enough.
BOUNDED = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = (
    "APPOINTMENT_MONTH_START_DATE,GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,"
    "SUB_ICB_LOCATION_NAME,HCP_TYPE,APPT_MODE,NATIONAL_CATEGORY,TIME_BETWEEN_BOOK_AND_APPT,COUNT_OF_APPOINTMENTS,"
    "APPT_STATUS"
)
MAPPING_HEADER = (
    "GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ICB_CODE,ICB_NAME,"
    "REGION_CODE,REGION_NAME"
)
PRACTICES = ("A81001", "A81002", "A81003", "B82001")
MONTHS = (date(2024, 7, 1), date(2024, 8, 1))
_V = vocabularies()
CELL = st.tuples(*(st.sampled_from(_V[v].canonical) for v in ("hcp_type", "appt_mode", "national_category")))
BAND_STATUS = st.tuples(st.sampled_from(_V["time_band"].canonical), st.sampled_from(_V["appt_status"].canonical))

Release = dict[tuple[date, str], dict[tuple[str, ...], int]]  # (month, practice) -> {row's labels: count}


@st.composite
def releases(draw: st.DrawFn) -> tuple[Release, bool, bool]:
    """A release: each practice-month's rows (distinct label combinations, counts from 1), and how it is
    published: split into two regional CSVs or not, in a zip with its Mapping.csv or loose."""
    labels = st.builds(lambda c, b: (*c, *b), CELL, BAND_STATUS)
    month_rows = st.dictionaries(labels, st.integers(1, 400), min_size=1, max_size=5)
    keys = st.tuples(st.sampled_from(MONTHS), st.sampled_from(PRACTICES))
    release = draw(st.dictionaries(keys, month_rows, min_size=1, max_size=5))
    return release, draw(st.booleans()), draw(st.booleans())


def crosstab(rows: Release, practices: set[str]) -> str:
    lines = [HEADER]
    for (month, code), cells in sorted(rows.items()):
        if code not in practices:
            continue
        geo = f"{code},SURGERY {code},TPP,U0{code[-1]},PCN {code[-1]},16C,NHS North East ICB - 16C"
        for (hcp, mode, cat, band, status), count in sorted(cells.items()):
            lines.append(f"{month:%d%b%Y}".upper() + f",{geo},{hcp},{mode},{cat},{band},{count},{status}")
    return "\r\n".join(lines) + "\r\n"


def mapping(rows: Release) -> str:
    lines = [MAPPING_HEADER]
    for code in sorted({c for _, c in rows}):
        lines.append(f"{code},SURGERY {code},TPP,U0{code[-1]},PCN {code[-1]},16C,SUB 16C,QHM,NENC ICB,Y63,NE and Y")
    return "\r\n".join(lines) + "\r\n"


def write_release(folder: Path, drawn: tuple[Release, bool, bool]) -> list[Path]:
    """The release's files as published: regional parts hold disjoint practices."""
    rows, split, zipped = drawn
    folder.mkdir(parents=True)
    codes = sorted({c for _, c in rows})
    parts = [set(codes[::2]), set(codes[1::2])] if split and len(codes) > 1 else [set(codes)]
    members = {f"Practice_Level_Crosstab_Part{i}.csv": crosstab(rows, p) for i, p in enumerate(parts)}
    if zipped and len({m for m, _ in rows}) == 1:  # a Mapping.csv takes its month from a one-month zip
        path = folder / "Practice_Level_Crosstab.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, text in {**members, "Mapping.csv": mapping(rows)}.items():
                zf.writestr(name, text)
        return [path]
    for name, text in members.items():
        (folder / name).write_text(text, newline="")
    return [folder / name for name in members]


@contextmanager
def store() -> Iterator[tuple[Warehouse, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(StoreConfig(home=Path(tmp) / "home", threads=1, memory_limit="512MB"))
        try:
            yield wh, Path(tmp)
        finally:
            wh.close()


def seen(wh: Warehouse) -> dict[str, Any]:
    """Every query's answer but the manifest's generation (a rollback is a write: it moves on)."""
    return {k: v for k, v in answers(wh).items() if k != "manifest_generation"}


@BOUNDED
@given(base=releases(), release=releases())
def test_reingesting_any_release_is_a_no_op(base, release):
    with store() as (wh, tmp):
        ingest_files(wh, write_release(tmp / "base", base), user="t", partial=True)
        files = write_release(tmp / "release", release)
        ingest_files(wh, files, user="t", partial=True)
        before = answers(wh)  # with the manifest's generation: not even a new manifest is written
        again = ingest_files(wh, files, user="t")
        assert again.release is None
        assert {f.status for f in again.files} == {"already ingested"}
        assert answers(wh) == before


@BOUNDED
@given(base=releases(), release=releases())
def test_ingest_then_rollback_returns_every_answer(base, release):
    with store() as (wh, tmp):
        ingest_files(wh, write_release(tmp / "base", base), user="t", partial=True)
        before = seen(wh)
        done = ingest_files(wh, write_release(tmp / "release", release), user="t", partial=True)
        assume(done.release is not None)  # the same bytes as the base: nothing was ingested to undo
        month = min(m for ms in done.months.values() for m in ms)
        undone = rollback(wh, month, user="t")
        assert undone.release.id == done.release
        assert seen(wh) == before


def cuts_a_practice(base: Release, release: Release) -> bool:
    """What the guard must refuse, worked out from the drawn rows alone: a practice-month in both releases
    whose appointments or rows fall by more than a fifth."""
    for key, new in release.items():
        old = base.get(key)
        if old is None:
            continue
        before, after = sum(old.values()), sum(new.values())
        if before - after > 0.2 * before or len(old) - len(new) > 0.2 * len(old):
            return True
    return False


@BOUNDED
@given(base=releases(), release=releases())
def test_the_guard_refuses_exactly_the_releases_that_cut_a_practice(base, release):
    with store() as (wh, tmp):
        ingest_files(wh, write_release(tmp / "base", base), user="t")
        before = answers(wh)
        files = write_release(tmp / "release", release)
        assume(not {f.read_bytes() for f in files} & {f.read_bytes() for f in (tmp / "base").iterdir()})
        if cuts_a_practice(base[0], release[0]):
            with pytest.raises(InputFileError, match="--partial"):
                ingest_files(wh, files, user="t")
            assert answers(wh) == before  # refused as a whole
        else:
            ingest_files(wh, files, user="t")
            assert answers(wh)["manifest_generation"] == before["manifest_generation"] + 1
