"""truth.csv: every practice's true propensity and parameters, consistent with what the files show."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict

import numpy as np
import pytest

from gpaccess.synth import generate

MONTHS = ["2024-01", "2024-02"]


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("truth"), MONTHS, seed=2021, icbs=3, registrations=False)


def _truth(res) -> dict[str, dict[str, str]]:
    return {r["practice_code"]: r for r in csv.DictReader(io.StringIO(res.truth.read_text(), newline=""))}


@pytest.fixture(scope="module")
def observed(res) -> dict[str, dict[tuple[str, str, str], list[float]]]:
    return _observed(res)


def _observed(res) -> dict[str, dict[tuple[str, str, str], list[float]]]:
    """Per practice and cell (HCP type, category, band), over the months: [face-to-face incl. home visits,
    appointments with a known mode]."""
    acc: dict[str, dict[tuple[str, str, str], list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for m in MONTHS:
        with zipfile.ZipFile(res.months[m].crosstab[0]) as zf:
            name = next(n for n in zf.namelist() if n != "Mapping.csv")
            for r in csv.DictReader(io.StringIO(zf.read(name).decode(), newline="")):
                if r["APPT_MODE"] == "Unknown":
                    continue
                a = acc[r["GP_CODE"]][(r["HCP_TYPE"], r["NATIONAL_CATEGORY"], r["TIME_BETWEEN_BOOK_AND_APPT"])]
                n = int(r["COUNT_OF_APPOINTMENTS"])
                a[0] += n * (r["APPT_MODE"] in ("Face-to-Face", "Home Visit"))
                a[1] += n
    return acc


def test_truth_lists_every_practice_written(res, observed) -> None:
    truth = _truth(res)
    assert res.truth.name == "truth.csv" and res.truth.parent == res.out_dir
    assert set(observed) <= set(truth)
    row = next(iter(truth.values()))
    for col in (
        "true_f2f_logit",
        "true_f2f_prob",
        "list_size_ref",
        "supplier_f2f_logit_last",
        "artefact_f2f_logit",
        "flag_f2f_default",
        "flag_unknown_mode",
        "flag_inconsistent_mapping",
        "mix_triage",
        "mix_gp",
    ):
        assert col in row
    prob = np.array([float(r["true_f2f_prob"]) for r in truth.values()])
    logit = np.array([float(r["true_f2f_logit"]) for r in truth.values()])
    assert ((prob > 0) & (prob < 1)).all()
    order = np.argsort(logit)
    assert (np.diff(prob[order]) >= -1e-9).all()  # the probability is monotone in the logit


def test_case_mix_adjustment_sees_through_the_mix(res, observed) -> None:
    """Raw shares mix propensity with appointment mix; indirect standardisation by HCP type x category x band
    recovers the true propensity much better (what the fairness tests rely on)."""
    truth, obs = _truth(res), observed
    national: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for cells in obs.values():
        for c, (f, k) in cells.items():
            national[c][0] += f
            national[c][1] += k
    codes, raw, ratio = [], [], []
    for code, cells in obs.items():
        known = sum(k for _, k in cells.values())
        if known < 2_000 or truth[code]["flag_f2f_default"] == "1":
            continue
        observed = sum(f for f, _ in cells.values())
        expected = sum(k * national[c][0] / national[c][1] for c, (_, k) in cells.items())
        codes.append(code)
        raw.append(observed / known)
        ratio.append(observed / expected)
    u = np.array([float(truth[c]["true_f2f_logit"]) for c in codes])
    r_raw = np.corrcoef(u, np.argsort(np.argsort(raw)))[0, 1]
    r_adj = np.corrcoef(u, np.argsort(np.argsort(ratio)))[0, 1]
    assert r_adj > 0.7
    assert r_adj > r_raw + 0.1
    triage = np.array([float(truth[c]["mix_triage"]) for c in codes])
    resid = np.log(raw) - np.polyval(np.polyfit(u, np.log(raw), 1), u)
    assert np.corrcoef(triage, resid)[0, 1] < -0.1  # more triage: lower raw share at the same propensity
