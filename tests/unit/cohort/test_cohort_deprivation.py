"""Deprivation beside the cohort: each practice's latest IMD year, with the store's one decile computation."""

from __future__ import annotations

from pathlib import Path

from gpaccess.cohort.run import deprivation
from gpaccess.ingest.load import ingest_files
from gpaccess.storage.warehouse import Warehouse

HEADER = "IndicatorID,Year,AreaCode,AreaName,IsAreaCurrent,Value\n"


def test_no_deprivation_data_gives_none(warehouse: Warehouse) -> None:
    assert deprivation(warehouse.snapshot()) is None


def test_latest_year_per_practice_with_deciles_across_that_year(warehouse: Warehouse, tmp_path: Path) -> None:
    rows = [
        "93553,2015,A81001,A,0,10",
        "93553,2015,A81002,B,0,40",  # not scored in 2019: its 2015 score and 2015 decile
        "93553,2015,A81003,C,0,20",
        "93553,2019,A81001,A,1,35",
        "93553,2019,A81003,C,1,35",  # ties A in 2019: they share a decile
        "93553,2019,A81004,D,1,5",
        "93553,2019,A81005,E,1,",  # no score: no decile
    ]
    path = tmp_path / "imd.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    ingest_files(warehouse, [path], user="tester")
    got = deprivation(warehouse.snapshot())
    assert got is not None
    assert list(got.columns) == ["practice_code", "imd_score", "imd_decile"]
    by_code = {r.practice_code: (r.imd_score, r.imd_decile) for r in got.itertuples()}
    # 2019: three scored; A and C (35) have none above them -> 1; D has two above -> ⌊10 × 2 ÷ 3⌋ + 1 = 7.
    # 2015: B (40) is the highest of three -> 1.
    assert by_code == {"A81001": (35.0, 1), "A81002": (40.0, 1), "A81003": (35.0, 1), "A81004": (5.0, 7)}
