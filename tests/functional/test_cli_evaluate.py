"""End to end: synthetic files with known support effects → ingest → `gpaccess evaluate` for each ICB → the
national version pooled from the ICBs' aggregate returns with `gpaccess evaluate pool`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gpaccess.publication.guard import check_outward, league_word_in_html
from gpaccess.synth import month_range
from gpaccess.synth.effects import ActionEffect, generate_supported

ACTIONS = [
    ActionEffect("extra_sessions_locums", 0.06, 25),
    ActionEffect("care_navigation", 0.0, 20),
    ActionEffect("peer_support", 0.03, 8),  # too few in each ICB; enough pooled
]


def gpaccess(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")}
    env["GPACCESS_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "gpaccess", *args], env=env, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_evaluate_from_generated_files_through_ingest(tmp_path):
    from gpaccess.ingest.load import ingest_files
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    out, supports = generate_supported(
        tmp_path / "data",
        month_range("2024-10", "2025-06"),
        actions=ACTIONS,
        start_months=["2025-02", "2025-03", "2025-04"],
        seed=11,
        icbs=3,
    )
    assert len(supports) >= 100
    home = tmp_path / "home"
    wh = Warehouse(StoreConfig(home=home))
    ingest_files(wh, [f for f in out.files() if f.name != "truth.csv"], user="tester")
    wh.close()
    support = tmp_path / "data" / "support.csv"

    refused = gpaccess(home, "evaluate", "--icb", out.icbs[0], check=False)
    assert refused.returncode == 2 and "--support FILE" in refused.stderr

    returns = []
    for icb in out.icbs:
        done = gpaccess(home, "evaluate", "--icb", icb, "--support", str(support), "--report", str(tmp_path / icb))
        assert "extra_sessions_locums" in done.stdout
        report = tmp_path / icb / "what_worked.html"
        assert league_word_in_html(report.read_text()) is None
        table = pd.read_csv(tmp_path / icb / "what_worked.csv").set_index("action")
        assert list(table.index) == ["any support", "care_navigation", "extra_sessions_locums", "peer_support"]
        assert table.loc["peer_support", "status"] == "too few in this ICB"
        assert pd.isna(table.loc["peer_support", "effect"])
        assert table.loc["extra_sessions_locums", "status"] == "estimated"
        returned = tmp_path / icb / f"evaluation_return_{icb}.csv"
        codes = {s.practice_code for s in supports}
        check_outward(returned, kind="aggregate", known_codes=codes)
        assert "peer_support" in set(pd.read_csv(returned).action)  # at least 5 practices: in the return
        returns.append(str(returned))

    gpaccess(home, "evaluate", "pool", *returns, "--report", str(tmp_path / "national"))
    national = pd.read_csv(tmp_path / "national" / "national_what_worked.csv").set_index("action")
    es, cn, ps = national.loc["extra_sessions_locums"], national.loc["care_navigation"], national.loc["peer_support"]
    assert es.lower <= 100 * math.expm1(math.log1p(0.06)) <= es.upper and es.lower > 0
    assert cn.lower <= 0 <= cn.upper
    assert ps.status == "estimated" and ps.practices >= 20  # pooled across ICBs, shown nationally
    assert league_word_in_html((tmp_path / "national" / "national_what_worked.html").read_text()) is None
    assert not any(code in (tmp_path / "national" / "national_what_worked.csv").read_text() for code in codes)
