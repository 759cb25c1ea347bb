"""The synthetic companion files (context/): each is recognised and loaded by the ordinary context readers, for
the same practices, sub-ICBs and months as the crosstab, and the same options give the same bytes."""

from __future__ import annotations

import csv
import io
import statistics
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from gpaccess.ingest import context
from gpaccess.ingest.context.queries import imd_deciles
from gpaccess.ingest.load import ingest_files
from gpaccess.synth import build, generate, select_icbs
from gpaccess.synth.companions import write_companions

MONTHS = ["2019-08", "2025-09", "2025-10"]
SEED = 7


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("companions"), MONTHS, seed=SEED, icbs=2)


def _crosstab(path: Path) -> dict[str, tuple[str, str]]:
    """GP_CODE -> (GP_NAME, SUB_ICB_LOCATION_CODE) of a crosstab zip, read with the csv module."""
    out: dict[str, tuple[str, str]] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("Practice_Level_Crosstab"):
                with zf.open(name) as fh:
                    for r in csv.DictReader(io.TextIOWrapper(fh, "utf-8")):
                        out.setdefault(r["GP_CODE"], (r["GP_NAME"], r["SUB_ICB_LOCATION_CODE"]))
    return out


@pytest.fixture(scope="module")
def written(synth):
    """What the crosstabs and list sizes say, independently of the companion files."""
    months = {m: _crosstab(mf.crosstab[0]) for m, mf in synth.months.items()}
    sizes = {}
    for m, mf in synth.months.items():
        with open(mf.registrations, newline="") as fh:
            sizes[m] = {r["CODE"]: int(r["NUMBER_OF_PATIENTS"]) for r in csv.DictReader(fh)}
    with open(synth.truth, newline="") as fh:
        truth = {r["practice_code"]: r for r in csv.DictReader(fh)}
    return months, sizes, truth


def test_companions_are_listed_and_detected(synth):
    ctx = synth.out_dir / "context"
    assert sorted(synth.companions) == sorted(ctx.iterdir())
    assert set(synth.companions) <= set(synth.files())
    readers = {p.name: context.detect(p)[1].__name__ for p in synth.companions}  # type: ignore[index]
    assert readers == {
        "fingertips_93553_imd2019_gp.csv": "read_imd",
        "epraccur_2025-10.csv": "read_ods",
        "APPOINTMENTS_GP_COVERAGE.csv": "read_coverage",
        **{f"General_Practice_Practice_Level_{m}.csv": "read_workforce" for m in MONTHS},
        "Cloud Based Telephony Publication Summary October 2025.xlsx": "read_telephony",
        "Submissions via OC Systems in General Practice - October 2025.xlsx": "read_online_consultation",
    }


def test_companions_ingest_consistently_with_the_crosstab(synth, written, warehouse):
    months, sizes, truth = written
    ever = {code for m in months.values() for code in m}
    last = months[MONTHS[-1]]
    result = ingest_files(warehouse, synth.companions, user="t")
    assert result.months == {
        "imd": ["2019"],
        "ods_practices": ["2025-10"],
        "coverage": MONTHS,
        "workforce": MONTHS,
        "telephony": ["2025-10"],
        "telephony_unassigned": ["2025-10"],
        "online_consultation": ["2025-10"],
    }

    def rows(pub: str) -> list[dict]:
        return warehouse.snapshot().table(pub).to_pyarrow().to_pylist()

    # IMD: every practice written with 750 patients or more (at the last month it was written)
    last_size = {code: sizes[m][code] for m in MONTHS for code in months[m]}
    imd = rows("imd")
    assert {r["practice_code"] for r in imd} == {c for c, n in last_size.items() if n >= 750}
    assert len(imd) == sum(n >= 750 for n in last_size.values())
    deciles = imd_deciles(warehouse.snapshot()).to_pyarrow().to_pylist()
    assert {r["decile"] for r in deciles} == set(range(1, 11))
    scores = [r["imd_score"] for r in imd]
    assert min(scores) >= 2.5 and max(scores) <= 75 and 14 < statistics.median(scores) < 32
    assert statistics.mean(scores) > statistics.median(scores)  # skewed to the right

    # ODS: one row per practice ever written; closed (status C, with its close date) exactly when truth.csv
    # has it closed by the extract month; open ones in the last crosstab carry that month's sub-ICB
    ods = {r["practice_code"]: r for r in rows("ods_practices")}
    assert set(ods) == ever and len(ods) == len(ever)
    closed = {c for c in ever if truth[c]["close_month"] and truth[c]["close_month"] <= MONTHS[-1]}
    assert closed, "the sample should hold a closed practice"
    assert {c for c, r in ods.items() if r["status"] == "C"} == closed
    assert all(ods[c]["close_date"] is not None and ods[c]["left_date"] == ods[c]["close_date"] for c in closed)
    assert all(ods[c]["status"] == "A" and ods[c]["close_date"] is None for c in last)
    assert all(ods[c]["name"] == last[c][0] and ods[c]["commissioner_code"] == last[c][1] for c in last)
    assert {r["prescribing_setting"] for r in ods.values()} == {"4"}

    # coverage: one row per sub-ICB and month of the crosstab; patients = the list sizes published
    cov = rows("coverage")
    for m in MONTHS:
        want_p: dict[str, int] = defaultdict(int)
        want_n: dict[str, int] = defaultdict(int)
        for code, (_name, sub) in months[m].items():
            want_p[sub] += 1
            want_n[sub] += sizes[m][code]
        got = {r["sub_icb_code"]: r for r in cov if r["month"].strftime("%Y-%m") == m}
        assert set(got) == set(want_p)
        assert {s: r["included_practices"] for s, r in got.items()} == want_p
        assert {s: r["open_patients"] for s, r in got.items()} == want_n
        assert all(r["coverage"] == 1.0 for r in got.values())

    # workforce: one row per practice of each month, its list size, some NA stored as null
    wf = rows("workforce")
    for m in MONTHS:
        got_w = {r["practice_code"]: r for r in wf if r["month"].strftime("%Y-%m") == m}
        assert set(got_w) == set(months[m])
        assert all(r["total_patients"] == sizes[m][c] for c, r in got_w.items())
    assert any(r["gp_extgl_fte"] is None for r in wf) and any(r["dpc_fte"] is None for r in wf)
    per_1000 = [r["gp_extgl_fte"] / r["total_patients"] * 1000 for r in wf if r["gp_extgl_fte"] is not None]
    assert 0.3 < statistics.median(per_1000) < 0.6

    # the latest month's telephony (a subset of practices) and online consultations (all practices)
    tel = {r["practice_code"] for r in rows("telephony")}
    assert tel < set(last) and len(tel) > 0.5 * len(last)
    oc = {r["practice_code"]: r for r in rows("online_consultation")}
    assert set(oc) == set(last)
    assert all(r["registered_patients"] == sizes[MONTHS[-1]][c] for c, r in oc.items())
    assert all(r["sub_icb_code"] == last[c][1] for c, r in oc.items())


def test_companions_ingest_with_the_main_files(synth, warehouse):
    """The whole output (GPAD, list sizes, context) in one ingest, as the demo does."""
    files = [p for p in synth.files() if p.name != "truth.csv"]
    result = ingest_files(warehouse, files, user="t")
    assert {"gpad_appointments", "imd", "ods_practices", "coverage", "workforce"} <= set(result.months)


def test_companions_are_deterministic_and_independent_of_the_icbs_written(synth, tmp_path):
    s = build(SEED)
    selected = np.isin(np.array(s.icb_code), select_icbs(s, 2))
    again = write_companions(tmp_path / "again", s, SEED, MONTHS, selected)
    assert [p.name for p in again] == [p.name for p in synth.companions]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, synth.companions, strict=True))
    # a practice's IMD score does not depend on which ICBs are written
    more = write_companions(tmp_path / "more", s, SEED, MONTHS, np.isin(np.array(s.icb_code), select_icbs(s, 3)))

    def scores(path: Path) -> dict[str, str]:
        with open(path, newline="") as fh:
            return {r["Area Code"]: r["Value"] for r in csv.DictReader(fh) if r["Area Type"] == "GP"}

    two, three = scores(synth.companions[0]), scores(more[0])
    assert two and all(three[c] == v for c, v in two.items())


def test_no_companions(tmp_path):
    out = generate(tmp_path, ["2025-10"], seed=SEED, icbs=1, registrations=False, companions=False)
    assert out.companions == [] and not (tmp_path / "context").exists()
