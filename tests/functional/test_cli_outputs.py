"""What the analyst's everyday commands write: documents alone on standard output, "not assessed" never False,
workbooks that open, what a run stood on, stored runs listed, shown and compared, the report a board reads."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from test_cli_measures_cohort import first_icb, gpaccess


@pytest.mark.slow
def test_cohort_documents_say_not_assessed_and_stdout_holds_only_the_document(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    icb, _ = first_icb(home)
    done = gpaccess(home, "cohort", "--icb", icb.lower(), "--months", "2025-10", "--format", "json")
    doc = json.loads(done.stdout)  # nothing but the document on standard output
    assert "One month only" in done.stderr and "not assessed" in done.stderr.lower()
    stood = doc["stood_on"]
    assert stood["months"] == ["2025-10"] and stood["configured_window_months"] == 3
    local = {c["name"]: c for c in stood["criteria"]}["high_111_use"]
    assert local["status"] == "not assessed" and local["assessed_practices"] == 0 and local["why_not_assessed"]
    assert stood["reference_practices"] > 100 and len(stood["reference_regions"]) == 7
    statuses = {m["criterion_high_111_use"] for m in doc["members"]}
    assert statuses == {"not assessed"}
    assert {m["criterion_f2f_gp_low"] for m in doc["members"]} <= {"met", "not met", "not assessed"}
    assert not any("assessed_high_111_use" in m for m in doc["members"])

    done = gpaccess(home, "cohort", "--icb", icb, "--months", "2025-10", "--format", "csv", "--no-save")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and {r["criterion_high_ae_use"] for r in rows} == {"not assessed"}
    criteria = [c for c in rows[0] if c.startswith("criterion_")]
    assert len(criteria) == 4 and all(r[c] in {"met", "not met", "not assessed"} for r in rows for c in criteria)

    report = tmp_path / "report"
    out = tmp_path / "cohort.xlsx"
    gpaccess(
        home, "cohort", "--icb", icb, "--months", "2025-10", "--no-save", "--out", str(out), "--report", str(report)
    )
    from openpyxl import load_workbook

    book = load_workbook(out)
    assert book.sheetnames == ["Notes", "cohort"]
    assert any("One month only" in str(c.value) for c in book["Notes"]["A"])
    header = [c.value for c in book["cohort"][1]]
    col = header.index("criterion_high_111_use")
    assert {r[col].value for r in book["cohort"].iter_rows(min_row=2)} == {"not assessed"}
    returned = (report / f"nhse_return_{icb}.csv").read_text()
    assert "not assessed" in returned and "False" not in returned and "True" not in returned
    notes = (report / f"nhse_return_{icb}_notes.txt").read_text()
    assert "PSEUDONYMOUS, NOT ANONYMOUS" in notes and "One month only" in notes
    cohort_csv = (report / "cohort.csv").read_text()
    assert "not assessed" in cohort_csv and "assessed_high_111_use" not in cohort_csv

    html = " ".join((report / "cohort_report.html").read_text().split())
    main, _, appendix = html.partition('id="methods"')
    assert "What this run stood on" in main and "One month only" in main and "not assessed" in main
    assert "decile 1 is the most deprived" in main and "Key to the numbers" in main
    for technical in ("z units", "τ²", "2σ"):
        assert technical not in main, technical  # kept for the methods appendix
    assert "τ²" in appendix and "2σ" in appendix
    assert not re.search(r"\d\.\d+e[+-]\d\d", html)  # no 1.77e+03
    assert "left off" in main  # excluded practices are said to be left off the funnel


@pytest.mark.slow
def test_runs_list_show_diff_and_analyst_conveniences(own_synthetic_home, tmp_path):
    home = own_synthetic_home
    icb, practice = first_icb(home)
    one = json.loads(gpaccess(home, "cohort", "--icb", icb, "--months", "2025-10", "--format", "json").stdout)
    three = json.loads(gpaccess(home, "cohort", "--icb", icb, "--format", "json").stdout)
    listed = json.loads(gpaccess(home, "cohort", "runs", "list", "--icb", icb.lower(), "--format", "json").stdout)
    assert [r["run_id"] for r in listed][:2] == [three["run_id"], one["run_id"]]  # newest first
    shown = json.loads(gpaccess(home, "cohort", "runs", "show", str(one["run_id"]), "--format", "json").stdout)
    assert shown["months"] == "2025-10" and len(shown["members"]) == len(one["members"])
    table = gpaccess(home, "cohort", "runs", "show", str(one["run_id"])).stdout
    assert f"run {one['run_id']}" in table and practice in table
    diff = json.loads(
        gpaccess(home, "cohort", "runs", "diff", str(one["run_id"]), str(three["run_id"]), "--format", "json").stdout
    )
    assert any(line.startswith("months: 2025-10 → 2025-08 to 2025-10") for line in diff["stood_on"])
    same = gpaccess(home, "cohort", "runs", "diff", str(one["run_id"]), str(one["run_id"])).stdout
    assert "no differences" in same
    missing = gpaccess(home, "cohort", "runs", "show", "999", check=False)
    assert missing.returncode == 4 and "cohort runs list" in missing.stderr

    long = gpaccess(home, "measures", "--icb", icb, "--by", "month", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(long)))
    assert {r["month"] for r in rows} == {"2025-08", "2025-09", "2025-10"}
    assert {"f2f_gp", "appts_per_1000", "dna_rate"} <= {r["measure"] for r in rows}
    assert [r["practice_code"] for r in rows] == sorted(r["practice_code"] for r in rows)  # code order, never a value

    profile = gpaccess(home, "measures", "--practice", practice.lower()).stdout
    for heading in ("Appointments (GPAD)", "Telephony", "Online consultation", "Deprivation"):
        assert heading in profile, heading
    assert "1 = most deprived" in profile and not re.search(r"\d\.\d{4,}", profile)  # formatted, no raw decimals

    gpaccess(home, "icbs", "--out", str(tmp_path / "icbs.xlsx"))
    gpaccess(home, "measures", "--icb", icb, "--out", str(tmp_path / "m.xlsx"))
    gpaccess(home, "funnel", "--icb", icb, "--out", str(tmp_path / "f.svg"), "--data", str(tmp_path / "f.xlsx"))
    from openpyxl import load_workbook

    assert load_workbook(tmp_path / "icbs.xlsx")["icbs"]["A2"].value == icb
    assert load_workbook(tmp_path / "m.xlsx")["measures"].max_row > 10
    header = [c.value for c in load_workbook(tmp_path / "f.xlsx")["chart data"][1]]
    for column in ("z", "position95", "position998", "shrunk_share", "shrunk_lower", "shrunk_upper",
                   "observed_share", "expected_share"):  # fmt: skip
        assert column in header, column
    binary = gpaccess(home, "icbs", "--format", "xlsx", check=False)
    assert binary.returncode == 2 and "--out FILE.xlsx" in binary.stderr

    status = json.loads(gpaccess(home, "status", "--publication", "GPAD_APPOINTMENTS", "--format", "json").stdout)
    assert [p["name"] for p in status["publications"]] == ["gpad_appointments"]
    unknown = gpaccess(home, "status", "--publication", "nope", check=False)
    assert unknown.returncode == 4 and "gpad_appointments" in unknown.stderr
    no_icb = gpaccess(home, "measures", "--icb", "QZZ", check=False)
    assert no_icb.returncode == 4 and icb in no_icb.stderr and "gpaccess icbs" in no_icb.stderr
    no_practice = gpaccess(home, "measures", "--practice", "Z99999", check=False)
    assert no_practice.returncode == 4 and "gpaccess icbs" in no_practice.stderr
