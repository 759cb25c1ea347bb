"""Test helpers for local data: tiny GPAD stores and local files in every accepted layout."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

from gpaccess.ingest.load import ingest_files
from gpaccess.storage.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[3]
GPAD = ROOT / "tests" / "fixtures" / "gpad"
CROSSTAB_HEADER = (
    "APPOINTMENT_MONTH_START_DATE,GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,"
    "SUB_ICB_LOCATION_NAME,HCP_TYPE,APPT_MODE,NATIONAL_CATEGORY,TIME_BETWEEN_BOOK_AND_APPT,"
    "COUNT_OF_APPOINTMENTS,APPT_STATUS"
)
MAPPING_HEADER = (
    "GP_CODE,GP_NAME,SUPPLIER,PCN_CODE,PCN_NAME,SUB_ICB_LOCATION_CODE,SUB_ICB_LOCATION_NAME,ICB_CODE,ICB_NAME,"
    "REGION_CODE,REGION_NAME"
)
SUB_ICB = {"QHM": "16C", "QOP": "14L"}


def ingest_fixture(warehouse: Warehouse) -> None:
    """The repository's July 2024 fixture: ICB QHM with practices A81001 and A81002."""
    ingest_files(
        warehouse,
        [GPAD / "Practice_Level_Crosstab_Jul_24.csv", GPAD / "Mapping_Jul_24.csv"],
        user="tester",
    )


def ingest_practices(warehouse: Warehouse, folder: Path, practices: dict[str, tuple[str, int]]) -> None:
    """A July 2024 month where each practice (code -> (ICB, face-to-face count)) has 100 GP appointments,
    all same day and attended: its GP face-to-face share is count/100 and its telephone share the rest."""
    crosstab, mapping = [CROSSTAB_HEADER], [MAPPING_HEADER]
    for code, (icb, f2f) in practices.items():
        sub = SUB_ICB[icb]
        common = f"01JUL2024,{code},PRACTICE {code},EMIS,U{code[1:]},PCN {code},{sub},SUB ICB {sub}"
        crosstab.append(f"{common},GP,Face-to-Face,General Consultation Routine,Same Day,{f2f},Attended")
        crosstab.append(f"{common},GP,Telephone,Clinical Triage,Same Day,{100 - f2f},Attended")
        mapping.append(
            f"{code},PRACTICE {code},EMIS,U{code[1:]},PCN {code},{sub},SUB ICB {sub},{icb},ICB {icb},Y63,REGION"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Practice_Level_Crosstab_Jul_24.csv").write_text("\n".join(crosstab) + "\n", encoding="utf-8")
    (folder / "Mapping_Jul_24.csv").write_text("\n".join(mapping) + "\n", encoding="utf-8")
    ingest_files(
        warehouse,
        [folder / "Practice_Level_Crosstab_Jul_24.csv", folder / "Mapping_Jul_24.csv"],
        user="tester",
    )


def write_csv(path: Path, rows: list[list[Any]], *, bom: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], *, sheet: str = "Sheet1", before: list[str] = ()) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = before[0] if before else sheet
    for name in before[1:]:
        book.create_sheet(name)
    ws = book.create_sheet(sheet) if before else first
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def stored(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    """Every visible local row, comparable across calls."""
    if not warehouse.snapshot().has("local_indicators"):
        return []
    df: pd.DataFrame = warehouse.snapshot().table("local_indicators").to_pandas()
    cols = ["icb_code", "practice_code", "indicator", "period", "value", "source"]
    return sorted(tuple(r) for r in df[cols].itertuples(index=False))
