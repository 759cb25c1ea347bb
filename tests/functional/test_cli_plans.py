"""Plans from the CLI, as a user runs them on a synthetic store: suggest, create, show, update (and a stale
update refused), export the support pack (HTML, PDF, CSV) with no league-table word in it, progress, and the
next cycle carrying open actions forward."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from test_cli_measures_cohort import first_icb, gpaccess

from gpaccess.publication.guard import league_word_in_text, visible_text


@pytest.mark.slow
def test_plans_from_suggestion_to_support_pack_and_next_cycle(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    icb, _ = first_icb(home)
    cohort = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json").stdout)
    practice = next(m["practice_code"] for m in cohort["members"] if m["selected"])
    cycle = cohort["cycle"]

    suggested = gpaccess(home, "plan", "suggest", "--icb", icb, "--practice", practice).stdout
    assert "improvement_universal" in suggested and practice in suggested
    refused = gpaccess(home, "plan", "create", "--icb", icb, "--practice", practice, check=False)
    assert refused.returncode == 2 and "--accept" in refused.stderr  # nothing is applied without a decision
    made = gpaccess(home, "plan", "create", "--icb", icb, "--practice", practice, "--accept", "all").stdout
    assert f"plan 1 for {practice} in {cycle}: version 1" in made

    shown = gpaccess(home, "plan", "show", "1").stdout
    assert "version 1" in shown and "improvement_universal" in shown
    saved = gpaccess(
        home,
        "plan",
        "update",
        "1",
        "--version",
        "1",
        "--reason",
        "agreed",
        "--status",
        "agreed",
        "--note",
        "first meeting held",
    ).stdout
    assert "saved as version 2" in saved
    stale = gpaccess(home, "plan", "update", "1", "--version", "1", "--reason", "late", "--note", "x", check=False)
    assert stale.returncode == 9 and "PlanConflictError" in stale.stderr and "now version 2" in stale.stderr
    history = gpaccess(home, "plan", "show", "--practice", practice, "--cycle", cycle, "--history").stdout
    assert "version 2" in history and "agreed" in history and "first meeting held" in history

    progress = gpaccess(home, "progress", "--icb", icb).stdout
    assert "not enough months yet" in progress  # the store's latest run of months is 5 before the plan

    out = tmp_path / "pack"
    gpaccess(home, "plan", "export", "1", "--out", str(out))
    html = (out / f"{practice}_support_pack.html").read_text()
    assert (out / f"{practice}_support_pack.pdf").read_bytes()[:5] == b"%PDF-"
    text = visible_text(html)
    assert "own expected range" in text or "Not enough months before the plan" in text
    assert league_word_in_text(text) is None
    with open(out / f"{practice}_plan.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(league_word_in_text(v) is None for r in rows for v in r.values())
    assert not any(league_word_in_text(c.replace("_", " ")) for c in rows[0])

    started = gpaccess(
        home, "cycle", "new", "winter 2026/27", "--start", "2026-11", "--end", "2027-04", "--from", cycle
    ).stdout
    assert "created" in started and "1 plan(s)" in started
    listed = gpaccess(home, "cycle", "list").stdout
    assert "winter 2026/27" in listed and cycle in listed
    again = gpaccess(home, "cohort", "--icb", icb, "--cycle", "winter 2026/27").stdout
    assert "Supported in earlier cycles" in again and f"{practice}: {cycle}: " in again

    hidden = subprocess.run(
        [sys.executable, "-m", "gpaccess", "plan", "show", "1"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")},
            "GPACCESS_HOME": str(home),
            "GPACCESS_SCOPE_ICBS": "QZZ",
        },
        capture_output=True,
        text=True,
    )
    assert hidden.returncode == 4 and "no plan 1" in hidden.stderr  # another ICB's plan: answered as missing
