"""A real ingest process killed while it writes Parquet, and again while it swaps the manifest, leaves a store
that answers every query as before; readers keep working while it is paused mid-ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpaccess.ingest.load import ingest_files
from gpaccess.storage.warehouse import StoreConfig, Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ingest"))
from ingest_helpers import answers


def start_paused_ingest(home: Path, file: Path, point: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GPACCESS_HOME": str(home), "GPACCESS_TEST_PAUSE_AT": point}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpaccess", "ingest", str(file)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    for line in proc.stderr:
        if f"GPACCESS-PAUSED-AT {point}" in line:
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    pytest.fail(f"ingest never reached the {point} pause point (exit {proc.wait()})")


@pytest.mark.slow
@pytest.mark.parametrize("point", ["write", "swap"])
def test_killed_ingest_leaves_store_answering_as_before(tmp_path, gpad_fixtures, point):
    home = tmp_path / "home"
    wh = Warehouse(StoreConfig(home=home))
    ingest_files(wh, [gpad_fixtures / "Practice_Level_Crosstab_Aug_24_historic.csv"], user="tester")
    # A republished July would replace rows; the killed process must not make any of it visible.
    ingest_files(wh, [gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv"], user="tester")
    revised = tmp_path / "rev" / "Practice_Level_Crosstab_Jul_24.csv"
    revised.parent.mkdir()
    revised.write_text((gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv").read_text().replace(",120,", ",999,"))
    before = answers(wh)

    proc = start_paused_ingest(home, revised, point)
    try:
        assert answers(Warehouse(StoreConfig(home=home))) == before  # a reader while the writer is mid-ingest
        staged = list((home / "store" / "data").rglob("*.parquet"))
        assert len(staged) > 2, "the paused process has written its new files"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    after = Warehouse(StoreConfig(home=home))
    assert answers(after) == before
    # The lock died with the process: the next ingest goes through and applies the revision.
    ingest_files(after, [revised], user="tester")
    t = after.snapshot().table("gpad_appointments", periods=["2024-07"])
    assert t["count"].sum().to_pyarrow().as_py() == 255 - 120 + 999
