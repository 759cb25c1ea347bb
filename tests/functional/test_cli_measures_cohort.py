"""The CLI as a user runs it: measures, funnel, spc and cohort on a synthetic store and on the real extract."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def gpaccess(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")}
    env["GPACCESS_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "gpaccess", *args], env=env, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def first_icb(home: Path) -> tuple[str, str]:
    from gpaccess.measures.service import MeasureSession
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    d = MeasureSession(Warehouse(StoreConfig(home=home)).snapshot()).directory()
    icb = sorted(d.icb_code.dropna().unique())[0]
    return icb, sorted(d[d.icb_code == icb].practice_code)[0]


@pytest.mark.slow
def test_measures_funnel_spc_and_cohort_on_synthetic_data(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    icb, practice = first_icb(home)
    out = json.loads(gpaccess(home, "measures", "--icb", icb, "--format", "json").stdout)
    codes = [p["practice_code"] for p in out["practices"]]
    assert codes == sorted(codes)  # practice-code order, never by a measure
    assert "Face-to-Face + Home Visit" in out["face_to_face_definition"]

    gpaccess(home, "funnel", "--icb", icb, "--out", str(tmp_path / "f.html"), "--data", str(tmp_path / "f.csv"))
    gpaccess(home, "funnel", "--icb", icb, "--out", str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "f.html").read_text()
    assert "https://cdn" not in html and practice in html
    with open(tmp_path / "f.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"numerator", "denominator", "value", "expected", "lower95", "upper998"} <= set(rows[0])
    assert not any("rank" in c.lower() or "percentile" in c.lower() for c in rows[0])

    gpaccess(home, "spc", "--practice", practice, "--out", str(tmp_path / "s.svg"), "--data", str(tmp_path / "s.csv"))
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<svg")
    with open(tmp_path / "s.csv", newline="") as fh:
        spc_rows = list(csv.DictReader(fh))
    assert {"mean", "lower", "upper", "special_cause", "rule"} <= set(spc_rows[0])

    cohort = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json").stdout)
    selected = [m for m in cohort["members"] if m["selected"]]
    assert len(selected) <= cohort["cap"] == int(0.2 * cohort["eligible"])
    assert cohort["run_id"] is not None

    same = gpaccess(home, "cohort", "reproduce", str(cohort["run_id"]))
    assert "reproduces exactly" in same.stdout
    missing = gpaccess(home, "cohort", "reproduce", "999", check=False)
    assert missing.returncode == 4 and "no cohort run 999" in missing.stderr
    listed = gpaccess(home, "icbs", "--format", "json").stdout
    assert icb in [r["icb_code"] for r in json.loads(listed)]
    lower = json.loads(gpaccess(home, "measures", "--icb", icb.lower(), "--format", "json").stdout)
    assert [p["practice_code"] for p in lower["practices"]] == codes  # codes in any case
    hidden = subprocess.run(
        [sys.executable, "-m", "gpaccess", "measures", "--icb", icb],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")},
            "GPACCESS_HOME": str(home),
            "GPACCESS_SCOPE_ICBS": "QZZ",
        },
        capture_output=True,
        text=True,
    )
    assert hidden.returncode == 4 and f"no ICB {icb!r}" in hidden.stderr  # out of scope reads as missing


@pytest.mark.slow
def test_a_run_that_no_longer_matches_exits_one_with_its_differences(own_synthetic_home):
    import sqlite3

    home = own_synthetic_home
    icb, _ = first_icb(home)
    run = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json").stdout)["run_id"]
    with sqlite3.connect(home / "plans.sqlite3") as db:
        db.execute("UPDATE cohort_runs SET cap = cap + 1 WHERE id = ?", (run,))
    done = gpaccess(home, "cohort", "reproduce", str(run), check=False)
    assert done.returncode == 1
    assert "does not reproduce: 1 difference(s)" in done.stdout and "cap: stored" in done.stdout


@pytest.mark.slow
def test_reads_of_named_data_are_audited_with_the_acting_user(own_synthetic_home):
    import sqlite3

    home = own_synthetic_home
    icb, practice = first_icb(home)
    gpaccess(home, "--as", "visitor", "measures", "--icb", icb, "--format", "csv")
    gpaccess(home, "measures", "--practice", practice, "--format", "json")
    with sqlite3.connect(home / "plans.sqlite3") as db:
        rows = db.execute("SELECT actor, action, icb_code, object_id FROM audit_log ORDER BY id").fetchall()
    assert ("visitor (unverified --as)", "measures.read", icb, None) in rows
    assert any(r[1] == "practice.read" and r[3] == practice and r[2] == icb for r in rows)


@pytest.mark.slow
def test_override_needs_a_reason_and_shows_in_the_cohort(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    icb, practice = first_icb(home)
    refused = gpaccess(
        home,
        "cohort",
        "override",
        "--icb",
        icb,
        "--practice",
        practice,
        "--action",
        "add",
        "--reason",
        " ",
        check=False,
    )
    assert refused.returncode != 0 and "reason" in refused.stderr.lower()
    gpaccess(
        home,
        "--as",
        "analyst.one",
        "cohort",
        "override",
        "--icb",
        icb,
        "--practice",
        practice,
        "--action",
        "add",
        "--reason",
        "Practice asked for support with its new telephony",
    )
    cohort = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json").stdout)
    member = next(m for m in cohort["members"] if m["practice_code"] == practice)
    assert member["selected"] and member["overridden"] == "added"
    assert "new telephony" in member["override_reason"] and "analyst.one" in member["override_reason"]


@pytest.mark.realdata
def test_cli_on_the_real_south_west_extract(real_data, tmp_path):
    home = tmp_path / "home"
    gpaccess(
        home,
        "ingest",
        str(real_data / "gpad" / "practice_level_south_west" / "Practice_Level_Crosstab_Oct_25.zip"),
        str(real_data / "registered_patients" / "gp-reg-pat-prac-all_2025-10-01.csv"),
    )
    table = list(csv.DictReader(io.StringIO(gpaccess(home, "measures", "--icb", "QSL", "--format", "csv").stdout)))
    with_appointments = [r for r in table if r["appointments"] not in ("", "0", "0.0")]
    assert len(with_appointments) == 60  # NHS Somerset's 60 practices in the October 2025 file
    # and the 2 that the list sizes place in Somerset with no appointment rows: listed, not dropped
    assert len(table) == 62
    gpaccess(home, "funnel", "--icb", "QSL", "--out", str(tmp_path / "qsl.html"), "--data", str(tmp_path / "qsl.csv"))
    assert (tmp_path / "qsl.html").stat().st_size > 10_000
    gpaccess(home, "spc", "--practice", "L85001", "--out", str(tmp_path / "spc.html"))
    cohort = gpaccess(home, "cohort", "--icb", "QSL").stdout
    assert "cap" in cohort and "Excluded for data quality" in cohort
