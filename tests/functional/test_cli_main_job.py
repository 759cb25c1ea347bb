"""The main job and the store commands as a user runs them (real subprocesses, real files)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpaccess.publication.guard import check_outward, league_word_in_text, visible_text
from gpaccess.services.main_job import DEMO_EFFECT


def gpaccess(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")}
    env["GPACCESS_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "gpaccess", *args], env=env, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One main job over three ICBs for this module's tests (a run takes minutes): its home and its output.
    The tests below run in file order on it: outputs, then a second run on the same data, then next winter."""
    home = tmp_path_factory.mktemp("main-job")
    return home, gpaccess(home, "demo", "--icbs", "3")


@pytest.mark.slow
def test_main_job_writes_every_output_and_a_guarded_return(demo_run):
    tmp_path, done = demo_run
    outputs = tmp_path / "demo" / "outputs"
    assert str(outputs) in done.stdout
    with open(outputs / "icb_summary.csv", newline="") as fh:
        summaries = list(csv.DictReader(fh))
    assert len(summaries) == 3
    summary = summaries[0]
    icb = summary["icb_code"]
    assert all(int(s["practices"]) > 50 and 0.3 < float(s["f2f_gp"]) < 0.9 for s in summaries)
    folder = outputs / icb
    report = (folder / "cohort_report.html").read_text()
    assert "Selected for support" in report and "Excluded for data quality" in report and "<svg" in report
    assert "https://cdn" not in report  # self-contained
    assert "decile" in report  # deprivation from the synthetic companion files is shown
    for name in ("measures.csv", "cohort.csv", "funnel_f2f_gp.html", "funnel_f2f_gp.png", "funnel_f2f_gp.csv"):
        assert (folder / name).stat().st_size > 0, name
    returned = outputs / "nhse_returns" / f"{icb}.csv"
    with open(folder / "cohort.csv", newline="") as fh:
        members = list(csv.DictReader(fh))
    check_outward(
        returned,
        kind="nhse_return",
        known_codes={m["practice_code"] for m in members},
        known_names={m["practice_name"] for m in members},
    )
    with open(returned, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(m["selected"] == "True" for m in members)

    # every cohort practice has a plan and a support pack, HTML and PDF, with no league-table word anywhere
    packs = folder / "support_packs"
    selected = sorted(m["practice_code"] for m in members if m["selected"] == "True")
    assert sorted(p.name.split("_")[0] for p in packs.glob("*_support_pack.html")) == selected
    assert f"{packs}" in done.stdout or "support_packs" in done.stdout
    for code in selected:
        assert (packs / f"{code}_support_pack.pdf").read_bytes()[:5] == b"%PDF-"
        text = visible_text((packs / f"{code}_support_pack.html").read_text())
        assert league_word_in_text(text) is None, code
        with open(packs / f"{code}_plan.csv", newline="") as fh:
            cells = [v for row in csv.DictReader(fh) for v in row.values()]
        assert cells and all(league_word_in_text(v) is None for v in cells), code

    # later months simulated with a known effect for the planned practices: what worked, per ICB and nationally
    worked = folder / "what_worked"
    assert str(worked / "what_worked.html") in done.stdout
    with open(worked / "what_worked.csv", newline="") as fh:
        table = {r["action"]: r for r in csv.DictReader(fh)}
    anyone = table["any support"]
    # an ICB's handful of cohort practices (fewer than 20): no estimate is shown for it, and none is written as 0
    assert 1 <= int(anyone["practices"]) < 20
    assert anyone["status"] == "too few in this ICB" and anyone["effect"] == ""
    returned_ev = worked / f"evaluation_return_{icb}.csv"
    check_outward(
        returned_ev,
        kind="aggregate",
        known_codes={m["practice_code"] for m in members},
        known_names={m["practice_name"] for m in members},
    )
    national = outputs / "what_worked_national"
    assert str(national / "national_what_worked.html") in done.stdout
    for html in (worked / "what_worked.html", national / "national_what_worked.html"):
        assert league_word_in_text(visible_text(html.read_text())) is None, html
    national_csv = (national / "national_what_worked.csv").read_text()
    assert not any(m["practice_code"] in national_csv for m in members)
    synthetic = tmp_path / "demo" / "synthetic" / "gpad"  # the same files again: each already ingested
    again = gpaccess(tmp_path / "demo", "ingest", *map(str, sorted(synthetic.glob("*.zip"))))
    assert "already ingested" in again.stdout
    status = json.loads(gpaccess(tmp_path / "demo", "status", "--format", "json").stdout)
    appointments = next(p for p in status["publications"] if p["name"] == "gpad_appointments")
    october = next(p for p in appointments["periods"] if p["period"] == "2025-10")
    assert october["history"] == 1  # the republished October replaced the first release's rows


@pytest.mark.slow
def test_main_job_recovers_the_injected_effect_and_next_winter_carries_it(demo_run):
    """Three ICBs: the planned practices' appointments rise by DEMO_EFFECT in the later months; the national
    what worked finds it, and `cycle new --from` stores it as a lesson and shows it."""
    tmp_path, _ = demo_run
    outputs = tmp_path / "demo" / "outputs"
    with open(outputs / "what_worked_national" / "national_what_worked.csv", newline="") as fh:
        national = {r["action"]: r for r in csv.DictReader(fh)}
    anyone = national["any support"]
    assert anyone["status"] == "estimated"
    assert 0 < float(anyone["lower"]) <= 100 * DEMO_EFFECT <= float(anyone["upper"])
    nxt = gpaccess(
        tmp_path / "demo", "cycle", "new", "winter 2026/27", "--start", "2026-11", "--end", "2027-04",
        "--from", "winter 2025/26",
    )  # fmt: skip
    assert "Lessons carried forward" in nxt.stdout
    [line] = [x for x in nxt.stdout.splitlines() if "any support" in x]
    assert "estimated" in line and "yes" in line and f"{float(anyone['effect']):+.1f}" in line
    listed = gpaccess(tmp_path / "demo", "cycle", "list").stdout
    [row] = [x for x in listed.splitlines() if "winter 2026/27" in x]
    assert "winter 2025/26" in row  # carried from
    # the winter after: no outcome month after 2026-11 is stored, so there is nothing to learn yet, and it says so
    later = gpaccess(
        tmp_path / "demo", "cycle", "new", "winter 2027/28", "--start", "2027-11", "--end", "2028-04",
        "--from", "winter 2026/27",
    )  # fmt: skip
    assert "0 lesson(s)" in later.stdout and "no lessons: too little to estimate" in later.stdout


def test_ingest_status_and_rollback_from_the_command_line(tmp_path, gpad_fixtures):
    crosstab = gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv"
    first = gpaccess(tmp_path, "ingest", str(crosstab), str(gpad_fixtures / "Mapping_Jul_24.csv"))
    assert "ingested: Practice_Level_Crosstab_Jul_24.csv" in first.stdout
    table = gpaccess(tmp_path, "status").stdout
    assert "gpad_appointments" in table and "2024-07" in table
    broken = tmp_path / "bad" / crosstab.name
    broken.parent.mkdir()
    broken.write_text(crosstab.read_text().replace(",80,", ",eighty,"))
    refused = gpaccess(tmp_path, "ingest", str(broken), check=False)
    assert refused.returncode == 8
    assert "line 3, column 13 (COUNT_OF_APPOINTMENTS): expected a whole number" in refused.stderr
    assert "Traceback" not in refused.stderr
    shown = gpaccess(tmp_path, "ingest", "--rollback", "2024-07", "--dry-run")
    assert "Mapping_Jul_24.csv" in shown.stdout and "gpad_mapping 2024-07" in shown.stdout
    assert "dry run: nothing was undone" in shown.stdout
    unconfirmed = gpaccess(tmp_path, "ingest", "--rollback", "2024-07", check=False)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    assert "gpad_appointments" in gpaccess(tmp_path, "status").stdout  # nothing undone without --yes
    rolled = gpaccess(tmp_path, "ingest", "--rollback", "2024-07", "--yes")
    assert "Rolled back release" in rolled.stdout
    assert "empty" in gpaccess(tmp_path, "status").stdout
    usage = gpaccess(tmp_path, "ingest", check=False)
    assert usage.returncode == 2 and "name at least one file" in usage.stderr


def test_a_republication_prints_its_changes_and_a_cut_needs_partial(tmp_path, gpad_fixtures):
    crosstab = gpad_fixtures / "Practice_Level_Crosstab_Jul_24.csv"
    gpaccess(tmp_path, "ingest", str(crosstab))
    header, *rows = crosstab.read_text().splitlines(keepends=True)
    revised = tmp_path / "revised" / crosstab.name
    revised.parent.mkdir()
    revised.write_text(header + "".join(r.replace(",40,", ",44,") for r in rows))  # A81001: 240 -> 244
    done = gpaccess(tmp_path, "ingest", str(revised))
    assert "2024-07 republished: 0 practice(s) added, 1 revised, 1 unchanged" in done.stdout
    assert "appointments 255 → 259 (+4)" in done.stdout
    assert "revised A81001: 240 → 244 appointments, 3 → 3 rows" in done.stdout
    cut = tmp_path / "cut" / crosstab.name
    cut.parent.mkdir()
    cut.write_text(header + "".join(r for r in rows if ",A81002," in r or ",Same Day,120," in r))
    refused = gpaccess(tmp_path, "ingest", str(cut), check=False)
    assert refused.returncode == 8 and "Traceback" not in refused.stderr
    assert "practice A81001 to keep at least 80%" in refused.stderr and "--partial" in refused.stderr
    meant = gpaccess(tmp_path, "ingest", "--partial", str(cut))
    assert "--partial: A81001: 244 → 120 appointments, 3 → 1 rows" in meant.stdout


def test_synth_command_writes_published_formats(tmp_path):
    done = gpaccess(tmp_path, "synth", str(tmp_path / "out"), "--from", "2025-09", "--to", "2025-10", "--icbs", "1")
    assert "Wrote 2 month(s)" in done.stdout
    assert (tmp_path / "out" / "gpad" / "Practice_Level_Crosstab_Oct_25.zip").exists()
    assert (tmp_path / "out" / "truth.csv").exists()


@pytest.mark.realdata
def test_system_baseline_from_the_real_ccg_files(real_data, tmp_path):
    gpaccess(
        tmp_path,
        "ingest",
        str(real_data / "gpad" / "ccg_regional_monthly" / "Regional_CSV_Dorset.csv.gz"),
        str(real_data / "lookups" / "CCG_ICB_code.csv"),
    )
    rows = json.loads(gpaccess(tmp_path, "baseline", "--icb", "QVV", "--format", "json").stdout)
    april_2020 = next(r for r in rows if r["month"] == "2020-04")
    assert april_2020["baseline"]["month"] == "2019-04"
    assert april_2020["f2f_share"] < april_2020["baseline"]["f2f_share"]  # the first pandemic spring
    assert gpaccess(tmp_path, "baseline", "--icb", "QVV").stdout.count("2019") > 0
