"""The local view on a store with GPAD and local data: the table, correlations and flags, and the CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpaccess.cohort.local_view import local_view
from gpaccess.ingest.local import upload
from gpaccess.measures.service import MeasureSession
from gpaccess.storage.warehouse import StoreConfig, Warehouse

# The local-data helpers live beside the reading and upload tests (tests/unit/ingest), which use them most.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from local_helpers import ingest_fixture, ingest_practices, write_csv

# Face-to-face GP appointments out of 100 for six QHM practices, and one practice of another ICB.
PRACTICES = {
    "P00001": ("QHM", 10),
    "P00002": ("QHM", 20),
    "P00003": ("QHM", 30),
    "P00004": ("QHM", 40),
    "P00005": ("QHM", 50),
    "P00006": ("QHM", 60),
    "Q00001": ("QOP", 70),
}
SATISFACTION = {"P00001": 0.90, "P00002": 0.50, "P00003": 0.60, "P00004": 0.70, "P00005": 0.80, "P00006": 0.40}


def _local_file(folder: Path) -> Path:
    rows: list[list[object]] = [["practice", "indicator", "period", "value"]]
    for code, sat in SATISFACTION.items():
        rows.append([code, "patient_satisfaction", "2025-10", sat])
        rows.append([code, "patient_satisfaction", "2025-09", 1 - sat])  # an older period, not shown
    return write_csv(folder / "satisfaction.csv", rows)


@pytest.fixture
def store(warehouse: Warehouse, tmp_path: Path) -> Warehouse:
    ingest_practices(warehouse, tmp_path / "gpad", PRACTICES)
    qhm = set(MeasureSession(warehouse.snapshot()).icb_practices("QHM").practice_code)
    upload(warehouse, _local_file(tmp_path), icb_code="QHM", icb_practices=qhm, user="tester")
    return warehouse


def test_local_view_table_correlations_and_flags(store: Warehouse) -> None:
    view = local_view(MeasureSession(store.snapshot()), "QHM")
    assert list(view.table.practice_code) == list(SATISFACTION)  # practice-code order, this ICB only
    assert view.local == ["patient_satisfaction"]
    assert view.local_periods == {"patient_satisfaction": "2025-10"}
    assert list(view.table.f2f_gp) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert list(view.table.patient_satisfaction) == pytest.approx(list(SATISFACTION.values()))

    corr = view.correlations.set_index(["first", "second"])
    assert corr.loc[("f2f_gp", "patient_satisfaction"), "n"] == 6
    assert corr.loc[("f2f_gp", "patient_satisfaction"), "rho"] == pytest.approx(-3 / 7)  # hand-worked, see stats
    assert corr.loc[("telephone_share", "patient_satisfaction"), "rho"] == pytest.approx(3 / 7)
    assert corr.loc[("f2f_gp", "telephone_share"), "rho"] == pytest.approx(-1.0)
    assert math.isnan(corr.loc[("same_day_share", "patient_satisfaction"), "rho"])  # every practice 100%
    assert math.isnan(corr.loc[("appts_per_1000", "patient_satisfaction"), "rho"])  # no list sizes loaded

    # f2f low P1, P2 / high P5, P6; telephone the mirror; satisfaction low P2, P6 / high P1, P5.
    got = sorted(zip(view.flags.national_measure, view.flags.practice_code, strict=True))
    assert got == [
        ("f2f_all", "P00001"),
        ("f2f_all", "P00006"),
        ("f2f_gp", "P00001"),
        ("f2f_gp", "P00006"),
        ("telephone_share", "P00002"),
        ("telephone_share", "P00005"),
    ]
    first = view.flags[(view.flags.national_measure == "f2f_gp") & (view.flags.practice_code == "P00001")].iloc[0]
    assert first.message == (
        "GP face-to-face share in the lowest quarter of the ICB's practices while local patient satisfaction is "
        "in the highest quarter: local data tells a different story"
    )
    assert (first.practice_name, first.local_period) == ("PRACTICE P00001", "2025-10")
    assert "dna_rate" not in set(view.flags.national_measure)  # only share measures with no good direction


def test_local_view_without_local_data_and_with_two_practices(warehouse: Warehouse) -> None:
    ingest_fixture(warehouse)
    view = local_view(MeasureSession(warehouse.snapshot()), "QHM")
    assert list(view.table.practice_code) == ["A81001", "A81002"]
    assert view.local == [] and view.flags.empty
    assert view.correlations.rho.isna().all()  # fewer than five practices


def test_cli_upload_and_view(store: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpaccess.cli.main import app

    home = store.config.home
    store.close()
    monkeypatch.setenv("GPACCESS_HOME", str(home))
    runner = CliRunner()
    bad = write_csv(
        tmp_path / "bad.csv",
        [["practice", "indicator", "period", "value"], ["Q00001", "x", "2025-10", "1"], ["P00001", "x", "soon", "y"]],
    )
    result = runner.invoke(app, ["local", "upload", "--icb", "QHM", str(bad)])
    assert result.exit_code != 0
    assert "3 problem(s) in bad.csv" in str(result.exception)
    assert "Q00001, a practice of ICB QOP" in str(result.exception)

    result = runner.invoke(app, ["local", "upload", "--icb", "QHM", str(tmp_path / "satisfaction.csv")])
    assert result.exit_code == 0, result.output
    assert "already uploaded" in result.output

    extra = write_csv(
        tmp_path / "calls.csv",
        [["practice", "period", "call_wait"], *[[c, "2025-Q3", i] for i, c in enumerate(SATISFACTION)]],
    )
    result = runner.invoke(app, ["local", "upload", "--icb", "QHM", str(extra)])
    assert result.exit_code == 0, result.output
    assert "6 values for 6 practices of ICB QHM" in result.output

    result = runner.invoke(app, ["local", "view", "--icb", "QHM", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["local_periods"] == {"call_wait": "2025-Q3", "patient_satisfaction": "2025-10"}
    assert len(body["practices"]) == 6 and len(body["flags"]) > 6

    result = runner.invoke(app, ["local", "view", "--icb", "QHM", "--format", "csv", "--part", "flags"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("practice_code,practice_name,national_measure")

    result = runner.invoke(app, ["local", "view", "--icb", "QHM"])
    assert result.exit_code == 0, result.output
    assert "local data tells a different story" in result.output
    assert "Spearman" in result.output
    assert Warehouse(StoreConfig(home=home)).snapshot().periods("local_indicators") == ["QHM"]


def test_cli_view_refuses_unknown_options_and_neutralises_formulas() -> None:
    import pandas as pd

    from gpaccess.publication.exports import neutralise_formulas as neutralise

    frame = pd.DataFrame({"indicator": ["=HYPERLINK(1)", "+1", "ok"], "value": [-1.0, 2.0, 3.0]})
    safe = neutralise(frame.rename(columns={"value": "@value"}))
    assert list(safe.indicator) == ["'=HYPERLINK(1)", "'+1", "ok"]
    assert list(safe.columns) == ["indicator", "'@value"]
    assert list(safe["'@value"]) == [-1.0, 2.0, 3.0]  # numbers stay numbers


def test_cli_view_options(store: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpaccess.cli.main import app

    monkeypatch.setenv("GPACCESS_HOME", str(store.config.home))
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["local", "view", "--icb", "QHM", "--format", "xml"])
    assert "--format 'xml': expected one of" in str(result.exception)
    result = runner.invoke(app, ["local", "view", "--icb", "QHM", "--format", "csv", "--part", "ranks"])
    assert "expected practices, correlations or flags" in str(result.exception)


def test_cli_view_without_flags(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from gpaccess.cli.main import app

    ingest_fixture(warehouse)
    monkeypatch.setenv("GPACCESS_HOME", str(warehouse.config.home))
    warehouse.close()
    result = CliRunner().invoke(app, ["local", "view", "--icb", "QHM"])
    assert result.exit_code == 0, result.output
    assert "no local data uploaded" in result.output
    assert "No practice where local data and GPAD sit in opposite quarters" in result.output
