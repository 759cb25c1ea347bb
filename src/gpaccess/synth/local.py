"""Local indicators with known truth: NHS 111 in-hours contacts and A&E attendances per 1,000 patients a month.

An ICB uploads these itself (`gpaccess local upload`); GPAD has no such figures. The generator writes, for each
ICB written, one upload file per *world* under `local/<world>/<ICB>.csv` (long form: practice, indicator,
period, value) and `local/truth.csv`:

* `null`: no practice is unusual: every practice's true rate is the indicator's base rate x exp(deprivation
  effect + practice effect), the practice effect N(0, PRACTICE_SD) on the log scale;
* `unusual`: the same practices, with UNUSUAL_SHARE of them (drawn independently per indicator) truly at
  UNUSUAL_FACTOR times that rate.

The value written is the observed monthly rate: Poisson(true rate x list size / 1,000) / (list size / 1,000),
for the last month generated, rounded to 2 decimals. Deprivation enters as exp(DEPRIVATION_SLOPE x z), z the
practice's standardised log IMD score (the companion IMD file's), so the optional deprivation adjustment of the
local rules has something real to adjust for. truth.csv says, for each world, indicator and practice, the true
rate and whether it was drawn unusual (`truly_high`): the fairness tests' truth (DESIGN "Fairness measures").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gpaccess.synth import companions, model, vocab, write
from gpaccess.synth.structure import Structure

INDICATORS = {"nhs111_in_hours_per_1000": 12.0, "ae_attendances_per_1000": 30.0}  # base rate per 1,000 a month
PRACTICE_SD = 0.12
DEPRIVATION_SLOPE = 0.08
UNUSUAL_SHARE = 0.06
UNUSUAL_FACTOR = 2.0
WORLDS = ("null", "unusual")
LOCAL_DIR = "local"


def true_rates(s: Structure, seed: int) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """{world: {indicator: (true rate per practice, truly-high flag per practice)}} for the whole country."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 70]))
    imd = np.log(companions.imd_scores(s, seed))
    z = (imd - imd.mean()) / imd.std()
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {w: {} for w in WORLDS}
    for name, base in INDICATORS.items():
        rate = base * np.exp(DEPRIVATION_SLOPE * z + rng.normal(0.0, PRACTICE_SD, s.n_practices))
        high = rng.random(s.n_practices) < UNUSUAL_SHARE
        out["null"][name] = (rate, np.zeros(s.n_practices, bool))
        out["unusual"][name] = (np.where(high, rate * UNUSUAL_FACTOR, rate), high)
    return out


def write_local(out_dir: Path, s: Structure, seed: int, month: str, selected: np.ndarray) -> list[Path]:
    """Write each world's upload file per ICB written (practices open in `month`) and local/truth.csv."""
    out_dir = Path(out_dir)
    t = vocab.month_index(month)
    open_now = s.is_open(t) & selected[s.icb_at(t)]
    idx = np.flatnonzero(open_now)
    sizes = model.list_size(s, idx, t).astype(float)
    icb_of = s.icb_at(t)[idx]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 71, t]))
    truth: dict[str, list[str]] = {k: [] for k in ("world", "icb_code", "practice_code", "indicator")}
    truth |= {"list_size": [], "true_rate": [], "truly_high": []}
    paths: list[Path] = []
    for world, rates in true_rates(s, seed).items():
        values = {}
        for name, (rate, high) in rates.items():
            exposure = sizes / 1000.0
            values[name] = rng.poisson(rate[idx] * exposure) / exposure
            for j, i in enumerate(idx):
                truth["world"].append(world)
                truth["icb_code"].append(s.icb_code[icb_of[j]])
                truth["practice_code"].append(s.code[i])
                truth["indicator"].append(name)
                truth["list_size"].append(str(int(sizes[j])))
                truth["true_rate"].append(f"{rate[i]:.4f}")
                truth["truly_high"].append(str(int(high[i])))
        for icb in sorted(set(icb_of.tolist())):
            rows = sorted(np.flatnonzero(icb_of == icb).tolist(), key=lambda j: s.code[idx[j]])
            body = [(s.code[idx[j]], {k: float(v[j]) for k, v in values.items()}) for j in rows]
            path = out_dir / LOCAL_DIR / world / f"{s.icb_code[icb]}.csv"
            write.write_bytes(path, _upload_csv(body, month))
            paths.append(path)
    truth_path = out_dir / LOCAL_DIR / "truth.csv"
    write.write_bytes(truth_path, write.table_csv(truth))
    return [*paths, truth_path]


def _upload_csv(rows: Sequence[tuple[str, dict[str, float]]], month: str) -> bytes:
    lines = ["practice_code,indicator,period,value"]
    for code, values in rows:
        lines += [f"{code},{name},{month},{value:.2f}" for name, value in values.items()]
    return ("\n".join(lines) + "\n").encode()
