"""Known support effects: chosen practices receive an action type from a start month, and their appointments
change by a known amount from then on (the truth the evaluation's tests check the estimator against).

An `ActionEffect` says which action type, its effect and how many practices of each ICB receive it. Practices
are drawn among those open in every month written, without a data-quality flag in the generator's truth and
with at least `MIN_LIST_SIZE` patients, more often where the practice's own appointment rate is low (as a
support cohort would pick them: a persistent trait, not a month's dip). Each supported practice receives one
action type, from one of the start months (drawn evenly). From its start month on, every row of the practice's
crosstab gains Poisson(count x effect) appointments (effect >= 0) or keeps each appointment with probability
1 + effect (effect < 0): its appointments, and so its appointments per 1,000 patients, change by the factor
1 + effect in expectation, with its mix of modes and categories unchanged. List sizes are untouched.

`generate_supported` writes the usual files (generate.py) with the effects in them, plus `support.csv`: one row
per supported practice (practice, ICB, action type, start month, effect), the generator's record of who was
supported with what. `supported_panel` gives the same practice-month appointments and list sizes in memory,
without writing files (the many-seed coverage tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpaccess.errors import UserError
from gpaccess.synth import model, structure, vocab, write
from gpaccess.synth.generate import AdjustRows, SynthOutput, generate, month_rows, select_icbs
from gpaccess.synth.model import Rows
from gpaccess.synth.structure import SUPPLIERS, Structure

MIN_LIST_SIZE = 1_500
SUPPORT_FILE = "support.csv"
FLAGS = ("flag_unknown_mode", "flag_inconsistent_mapping", "flag_low_volume", "flag_high_volume")


@dataclass(frozen=True)
class ActionEffect:
    action: str  # an action type's key (plans' catalogue)
    effect: float  # relative change in the practice's appointments from its start month (0.06 = +6%)
    per_icb: int  # practices of each ICB that receive it


@dataclass(frozen=True)
class InjectedSupport:
    practice_code: str
    icb_code: str
    action: str
    start_month: str  # YYYY-MM
    effect: float


def choose_support(
    s: Structure,
    seed: int,
    months: Sequence[str],
    icb_codes: Sequence[str],
    actions: Sequence[ActionEffect],
    start_months: Sequence[str],
) -> list[InjectedSupport]:
    """Which practices receive which action type from which month (deterministic for a seed)."""
    if not start_months:
        raise UserError("support effects need at least one start month")
    ts = [vocab.month_index(m) for m in months]
    last = max(ts)
    open_all = np.all([s.is_open(t) for t in ts], axis=0)
    icb = s.icb_at(last)
    ref = vocab.month_index(model.REFERENCE_MONTH)
    clean = np.all([s.params[f][:] == 0 for f in FLAGS], axis=0)
    big = model.list_size(s, np.arange(s.n_practices), ref) >= MIN_LIST_SIZE
    rate = np.log(s.params["rate"])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 41]))
    out: list[InjectedSupport] = []
    for code in icb_codes:
        b = s.icb_code.index(code)
        pool = np.flatnonzero(open_all & clean & big & (icb == b))
        wanted = sum(a.per_icb for a in actions)
        if wanted > len(pool):
            raise UserError(f"ICB {code} has {len(pool)} practices to support, {wanted} were asked for")
        z = (rate[pool] - rate[pool].mean()) / (rate[pool].std() or 1.0)
        weight = np.exp(-z)  # a low own appointment rate makes support likelier
        order = rng.choice(pool, size=wanted, replace=False, p=weight / weight.sum())
        starts = rng.choice(np.array(list(start_months)), size=wanted)
        i = 0
        for a in actions:
            for p, start in zip(order[i : i + a.per_icb], starts[i : i + a.per_icb], strict=True):
                out.append(InjectedSupport(s.code[p], code, a.action, str(start), a.effect))
            i += a.per_icb
    return sorted(out, key=lambda r: r.practice_code)


def support_adjuster(supports: Sequence[InjectedSupport], seed: int) -> AdjustRows:
    """The `adjust` hook for `generate`: each supported practice's rows from its start month changed by its
    effect (drawn from a generator of its own, so the rest of the data is exactly as without effects)."""
    cache: dict[int, np.ndarray] = {}

    def adjust(s: Structure, month: str, rows: Rows, revised: bool) -> Rows:
        t = vocab.month_index(month)
        if t not in cache:
            index = {c: i for i, c in enumerate(s.code)}
            effect = np.zeros(s.n_practices)
            for r in supports:
                if vocab.month_index(r.start_month) <= t:
                    effect[index[r.practice_code]] = r.effect
            cache[t] = effect
        eff = cache[t][rows.practice]
        hit = eff != 0
        if not hit.any():
            return rows
        rng = np.random.default_rng(np.random.SeedSequence([seed, 43, t + 10_000, int(revised)]))
        count = rows.count.copy()
        up = hit & (eff > 0)
        down = hit & (eff < 0)
        count[up] += rng.poisson(count[up] * eff[up])
        count[down] = rng.binomial(count[down], np.clip(1.0 + eff[down], 0.0, 1.0))
        out = Rows(rows.practice, rows.supplier, rows.cell, rows.mode, rows.status, count)
        return out.take(out.count > 0)

    return adjust


def support_csv(supports: Sequence[InjectedSupport]) -> bytes:
    cols = {
        "practice_code": [r.practice_code for r in supports],
        "icb_code": [r.icb_code for r in supports],
        "action": [r.action for r in supports],
        "start_month": [r.start_month for r in supports],
        "effect": [f"{r.effect:.6f}" for r in supports],
    }
    return write.table_csv(cols)


def generate_supported(
    out_dir: Path,
    months: Sequence[str],
    *,
    actions: Sequence[ActionEffect],
    start_months: Sequence[str],
    seed: int = 2021,
    icbs: int | Sequence[str] | None = None,
    **options: Any,
) -> tuple[SynthOutput, list[InjectedSupport]]:
    """`generate` with support effects injected, and `support.csv` beside truth.csv."""
    s = structure.build(seed)
    codes = select_icbs(s, icbs)
    supports = choose_support(s, seed, months, codes, actions, start_months)
    result = generate(out_dir, months, seed=seed, icbs=codes, adjust=support_adjuster(supports, seed), **options)
    write.write_bytes(Path(out_dir) / SUPPORT_FILE, support_csv(supports))
    return result, supports


@dataclass(frozen=True)
class SupportedPanel:
    """Practice-month appointments and list sizes (as the store would give them), the practices' ICB, region
    and supplier, and who was supported with what."""

    panel: pd.DataFrame  # practice_code, month (YYYY-MM), appointments, patients
    directory: pd.DataFrame  # practice_code, icb_code, region_code, supplier
    supports: list[InjectedSupport]


def supported_panel(
    months: Sequence[str],
    *,
    actions: Sequence[ActionEffect],
    start_months: Sequence[str],
    seed: int = 2021,
    icbs: int | Sequence[str] | None = None,
) -> SupportedPanel:
    """The same appointments `generate_supported` writes, summed per practice and month in memory."""
    s = structure.build(seed)
    codes = select_icbs(s, icbs)
    supports = choose_support(s, seed, months, codes, actions, start_months)
    adjust = support_adjuster(supports, seed)
    selected = np.isin(np.array(s.icb_code), codes)
    parts = []
    for month in sorted(months):
        t = vocab.month_index(month)
        want = s.is_open(t) & selected[s.icb_at(t)]
        rows = adjust(s, month, month_rows(s, month, seed, want), False)
        idx = np.flatnonzero(want)
        appointments = np.bincount(rows.practice, weights=rows.count, minlength=s.n_practices)[idx]
        parts.append(
            pd.DataFrame(
                {
                    "practice_code": [s.code[i] for i in idx],
                    "month": month,
                    "appointments": appointments.astype(np.int64),
                    "patients": model.list_size(s, idx, t),
                }
            )
        )
    last = vocab.month_index(max(months))
    ever = np.flatnonzero(selected[s.icb_at(last)] & s.is_open(last))
    icb = s.icb_at(last)
    directory = pd.DataFrame(
        {
            "practice_code": [s.code[i] for i in ever],
            "icb_code": [s.icb_code[icb[i]] for i in ever],
            "region_code": [s.region_code[s.icb_region[icb[i]]] for i in ever],
            "supplier": [SUPPLIERS[s.supplier_at(last)[i]] for i in ever],
        }
    )
    panel = pd.concat(parts, ignore_index=True)
    return SupportedPanel(panel, directory.sort_values("practice_code").reset_index(drop=True), supports)
