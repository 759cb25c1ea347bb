"""Fixtures shared by every test category."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpaccess.storage.warehouse import StoreConfig, Warehouse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
GPAD_FIXTURES = FIXTURES / "gpad"


def shared_data_dir() -> Path:
    """../shared/data/real beside the checkout (CI clones with shared/ beside it)."""
    return Path(os.environ.get("GPACCESS_SHARED_DATA", ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real public NHS files. In CI a missing copy fails the test rather than skipping it."""
    path = shared_data_dir()
    if not (path / "PROVENANCE.md").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data missing at {path}: CI must run with ../shared beside the checkout")
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(StoreConfig(home=tmp_path / "home", threads=2, memory_limit="1GB"))
    yield wh
    wh.close()


@pytest.fixture
def gpad_fixtures() -> Path:
    return GPAD_FIXTURES


SYNTH_MONTHS = ["2019-08", "2019-09", "2019-10", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]
SYNTH_ICBS = 8


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """A store of 8 synthetic ICBs (≈1,000 practices): baseline months of 2019 and five recent months, with
    list sizes and the generator's truth. Built once per test session."""
    from gpaccess.ingest.load import ingest_files
    from gpaccess.synth import generate

    base = tmp_path_factory.mktemp("synthetic")
    out = generate(base / "data", SYNTH_MONTHS, seed=7, icbs=SYNTH_ICBS)
    wh = Warehouse(StoreConfig(home=base / "home"))
    ingest_files(wh, [f for f in out.files() if f.name != "truth.csv"], user="tester")
    wh.close()
    return base / "home", out


@pytest.fixture
def own_synthetic_home(synthetic_store, tmp_path) -> Path:
    """A copy of the synthetic store for one test to write in (cohort runs, overrides, ingests), so tests
    never depend on one another's order; the session's store stays as it was built."""
    import shutil

    home, _ = synthetic_store
    copy = tmp_path / "own-home"
    shutil.copytree(home / "store", copy / "store", ignore=shutil.ignore_patterns("write.lock", "tmp"))
    return copy
