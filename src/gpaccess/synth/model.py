"""The generative model: one practice-month of appointments, row by row.

An appointment *cell* is HCP type x national category x booking band (3 x 19 x 8 = 456 cells, the strata of
the fair comparison). For practice p in month t:

1. Volume. N ~ Poisson-ish: expected total = list_size(p, t) / 1000 x rate[p] x V(t), times month noise
   (lognormal, sd 0.05). V(t) is set so the national total matches `VOLUME_LEVEL` x `SEASON` (domain.md B10).
2. Appointment mix. Weight of cell c = national mix pi_c(t) x exp(practice tilts . cell features
   + category noise[p, k] + month noise (sd 0.08)); counts per cell ~ Poisson(N x weight / sum of weights).
   Tilts (truth.csv `mix_*`): `mix_gp` on GP cells, `mix_triage` on Clinical Triage, `mix_same_day` on Same
   Day (half on 1 Day), `mix_planned` on Planned Clinics / Planned Clinical Procedure, `mix_inconsistent` on
   Inconsistent Mapping, `mix_unmapped` on Unmapped and on HCP type Unknown.
3. Mode. Unknown ~ Binomial(n, expit(UNKNOWN_MODE_LOGIT[k] + [HCP Unknown] + unknown_mode_logit[p])).
   Of the rest, face-to-face (Face-to-Face or Home Visit) ~ Binomial with logit

       eta_c(t) + true_f2f_logit[p] + SUPPLIER_F2F_LOGIT[supplier] + artefact_f2f_logit[p] + e(p, t)

   where eta_c(t) = F2F_LOGIT[k] + BAND_F2F_LOGIT[b] + HCP_F2F_LOGIT[h] + delta(t), delta(t) calibrated so
   the national Face-to-Face / all share follows `F2F_SHARE`, and e(p, t) ~ N(0, 0.10) month noise.
   Home Visit is a fixed share of face-to-face by category; the remote rest splits into Video
   Conference/Online (logit VIDEO_LOGIT[k] + video_shift(t) + video_logit[p]) and Telephone.
4. Status. Unknown by booking band and practice; of the rest, DNA by band, mode, practice and period.

So a practice's observed face-to-face share = f(true propensity, its appointment mix, its supplier's and its
own recording artefacts, binomial and month noise); `true_f2f_logit` is the only practice term that is
"how face-to-face the practice really is".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpaccess.synth.structure import BAND_GIVEN_CAT, SUPPLIER_F2F_LOGIT, Structure
from gpaccess.synth.vocab import month_index

N_HCP, N_CAT, N_BAND, N_MODE, N_STATUS = 3, 19, 8, 5, 3
N_CELL = N_HCP * N_CAT * N_BAND
GP, OTHER, UNKNOWN_HCP = 0, 1, 2
CT, PC, PCP, UNMAPPED, IM = 2, 3, 4, 17, 18
F2F, HV, TEL, VIDEO, UNK_MODE = 0, 1, 2, 3, 4
REFERENCE_MONTH = "2024-01"  # truth.csv's true_f2f_prob uses this month's national mix

# --- national appointment mix (rounded from published shares; order as vocab.NATIONAL_CATEGORIES)
HCP_SHARE = np.array([0.48, 0.50, 0.02])
CAT_GIVEN_HCP = np.array(
    [
        # GCR, GCA, CT, PC, PCP, UCA, Walk-in, HV, CHV, CHNA, CHR, SMR, SPS, Ext, NCCW, Group, CRE, Unmapped, IM
        [0.310, 0.215, 0.165, 0.113, 0.058, 0.0096, 0.0006, 0.0077, 0.0045, 0.0013, 0.0087, 0.0007, 0.0001,
         0.0006, 0.0009, 0.0003, 0.0061, 0.0018, 0.070],
        [0.142, 0.0825, 0.097, 0.246, 0.294, 0.0063, 0.0010, 0.0088, 0.0021, 0.0012, 0.0041, 0.0090, 0.0083,
         0.0037, 0.0002, 0.0010, 0.0070, 0.0017, 0.065],
        [0.026, 0.021, 0.039, 0.0147, 0.0141, 0.0011, 0.0001, 0.019, 0.0009, 0.0001, 0.0056, 0.0003, 0.0102,
         0.0001, 0.0003, 0.0001, 0.0056, 0.743, 0.0986],
    ]
)  # fmt: skip

# --- face-to-face (known mode) by category, band and HCP type, logit scale, before delta(t)
_F2F_BY_CAT = np.array(
    [0.70, 0.66, 0.153, 0.86, 0.992, 0.60, 0.94, 0.988, 0.90, 0.55, 0.80, 0.43, 0.51, 0.82, 0.79, 0.985, 0.51,
     0.52, 0.405]
)  # fmt: skip
F2F_LOGIT = np.log(_F2F_BY_CAT / (1 - _F2F_BY_CAT))
BAND_F2F_LOGIT = np.array([-0.30, -0.15, 0.0, 0.15, 0.25, 0.35, 0.50, 0.0])
HCP_F2F_LOGIT = np.array([-0.25, 0.15, -0.5])
HOME_VISIT_SHARE = np.zeros(N_CAT)
HOME_VISIT_SHARE[[7, 8, 9, 10]] = [0.70, 0.55, 0.44, 0.37]
_VIDEO = np.full(N_CAT, 0.12)
_VIDEO[[0, 1, CT, PC, 5, 11, 12, 16, IM]] = [0.035, 0.08, 0.55, 0.10, 0.20, 0.16, 0.17, 0.33, 0.60]
VIDEO_LOGIT = np.log(_VIDEO / (1 - _VIDEO))
_UNK = np.full(N_CAT, 0.0003)
_UNK[[5, 15, 16, UNMAPPED, IM]] = [0.017, 0.016, 0.024, 0.93, 0.057]
UNKNOWN_MODE_LOGIT = np.log(_UNK / (1 - _UNK))
_US = np.array([0.033, 0.037, 0.052, 0.074, 0.092, 0.107, 0.139, 0.13])
UNKNOWN_STATUS_LOGIT = np.log(_US / (1 - _US))
_DNA = np.array([0.014, 0.035, 0.052, 0.064, 0.07, 0.08, 0.092, 0.01])
DNA_LOGIT = np.log(_DNA / (1 - _DNA))
DNA_MODE_LOGIT = np.array([0.1, -0.4, -0.9, -0.6, -0.3])

# --- national time paths (anchors, linearly interpolated by month)
VOLUME_LEVEL = (  # millions a month, before seasonality (practice-CSV basis, domain.md B10)
    ("2019-01", 24.3), ("2020-02", 24.6), ("2020-03", 21.5), ("2020-04", 16.0), ("2020-05", 17.2),
    ("2020-06", 19.8), ("2020-09", 24.0), ("2020-12", 25.5), ("2021-03", 25.0), ("2021-05", 24.0),
    ("2021-08", 25.5), ("2021-10", 28.0), ("2022-06", 27.8), ("2023-06", 28.5), ("2024-06", 29.4),
    ("2025-06", 29.6), ("2026-12", 30.0),
)  # fmt: skip
SEASON = np.array([1.03, 1.00, 1.04, 0.96, 0.99, 1.00, 1.03, 0.94, 1.01, 1.07, 1.03, 0.90])
F2F_SHARE = (  # Face-to-Face / all appointments, national
    ("2019-01", 0.805), ("2020-02", 0.80), ("2020-03", 0.70), ("2020-04", 0.47), ("2020-06", 0.49),
    ("2020-12", 0.53), ("2021-03", 0.54), ("2021-05", 0.553), ("2021-08", 0.58), ("2021-10", 0.62),
    ("2022-03", 0.62), ("2023-09", 0.64), ("2024-03", 0.654), ("2025-06", 0.64), ("2026-12", 0.64),
)  # fmt: skip
TRIAGE_SHIFT = (("2019-01", -0.9), ("2020-02", -0.9), ("2020-04", 0.3), ("2021-03", 0.2), ("2022-06", 0.0))
VIDEO_SHIFT = (("2019-01", -2.8), ("2020-02", -2.8), ("2020-05", -1.4), ("2023-09", -1.4), ("2025-03", 0.6))
DNA_SHIFT = (("2019-01", 0.1), ("2020-02", 0.1), ("2020-04", -0.5), ("2021-06", -0.1), ("2022-06", 0.0))
F2F_MONTH_NOISE = 0.10
CELL_MONTH_NOISE = 0.08
VOLUME_MONTH_NOISE = 0.05
CALIBRATION_SAMPLE = 2_000

# --- cell coordinates and features
CELL_HCP = np.repeat(np.arange(N_HCP), N_CAT * N_BAND)
CELL_CAT = np.tile(np.repeat(np.arange(N_CAT), N_BAND), N_HCP)
CELL_BAND = np.tile(np.arange(N_BAND), N_HCP * N_CAT)
MIX_TILTS = ("mix_gp", "mix_triage", "mix_same_day", "mix_planned", "mix_inconsistent", "mix_unmapped")
CELL_FEATURES = np.stack(
    [
        CELL_HCP == GP,
        CELL_CAT == CT,
        (CELL_BAND == 0) + 0.5 * (CELL_BAND == 1),
        (CELL_CAT == PC) | (CELL_CAT == PCP),
        CELL_CAT == IM,
        (CELL_CAT == UNMAPPED) | (CELL_HCP == UNKNOWN_HCP),
    ],
    axis=1,
).astype(float)  # (N_CELL, 6)


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


def path(anchors: tuple[tuple[str, float], ...], t: int) -> float:
    xs = [month_index(m) for m, _ in anchors]
    return float(np.interp(t, xs, [v for _, v in anchors]))


def national_mix(t: int) -> np.ndarray:
    """pi_c(t): the national share of each cell (sums to 1)."""
    w = HCP_SHARE[CELL_HCP] * CAT_GIVEN_HCP[CELL_HCP, CELL_CAT] * BAND_GIVEN_CAT[CELL_CAT, CELL_BAND]
    w = w * np.exp(path(TRIAGE_SHIFT, t) * (CELL_CAT == CT))
    return w / w.sum()


def base_f2f_logit() -> np.ndarray:
    """eta_c before delta(t)."""
    return F2F_LOGIT[CELL_CAT] + BAND_F2F_LOGIT[CELL_BAND] + HCP_F2F_LOGIT[CELL_HCP]


def list_size(s: Structure, idx: np.ndarray, t: int) -> np.ndarray:
    p = s.params
    years = (t - 48) / 12.0
    size = p["list_base"][idx] * (1.0 + p["list_growth"][idx]) ** years
    since = t - s.open_t[idx]
    ramp = np.where(p["new"][idx] > 0, np.clip(0.3 + 0.7 * since / 24.0, 0.3, 1.0), 1.0)
    return np.maximum(np.rint(size * ramp), 50).astype(np.int64)


def mix_log_weights(s: Structure, idx: np.ndarray, t: int) -> np.ndarray:
    """(len(idx), N_CELL) log cell weights before month noise."""
    p = s.params
    tilts = np.stack([p[k][idx] for k in MIX_TILTS], axis=1)
    return np.log(national_mix(t))[None, :] + tilts @ CELL_FEATURES.T + p["cell_effect"][idx]


def practice_f2f_offset(s: Structure, idx: np.ndarray, t: int) -> np.ndarray:
    """Recorded face-to-face logit offset: true propensity + supplier and practice artefacts (no noise)."""
    p = s.params
    return p["true_f2f_logit"][idx] + SUPPLIER_F2F_LOGIT[s.supplier_at(t)[idx]] + p["artefact_f2f_logit"][idx]


@dataclass(frozen=True)
class MonthContext:
    """Everything national about month t: computed from the whole country, whatever subset is written."""

    t: int
    volume_scale: float  # V(t): appointments per 1,000 patients x rate
    delta: float  # national face-to-face logit shift
    log_mix: np.ndarray
    video_shift: float
    dna_shift: float


def month_context(s: Structure, t: int, seed: int) -> MonthContext:
    open_idx = np.flatnonzero(s.is_open(t))
    target = path(VOLUME_LEVEL, t) * 1e6 * SEASON[t % 12]
    exposure = (list_size(s, open_idx, t) * s.params["rate"][open_idx]).sum() / 1000.0
    # calibrate delta on a fixed sample of open practices, each with its own expected mix and offset
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3, t + 10_000]))
    open_idx = np.sort(rng.choice(open_idx, min(CALIBRATION_SAMPLE, len(open_idx)), replace=False))
    lw = mix_log_weights(s, open_idx, t)
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    w *= (list_size(s, open_idx, t) * s.params["rate"][open_idx] / w.sum(axis=1))[:, None]
    p_unk = expit(
        UNKNOWN_MODE_LOGIT[CELL_CAT][None, :]
        + (CELL_HCP == UNKNOWN_HCP)[None, :]
        + s.params["unknown_mode_logit"][open_idx][:, None]
    )
    wk = w * (1 - p_unk) * (1 - HOME_VISIT_SHARE[CELL_CAT])[None, :]
    eta = base_f2f_logit()[None, :] + practice_f2f_offset(s, open_idx, t)[:, None]
    goal = path(F2F_SHARE, t) * w.sum()
    delta = 0.0
    for _ in range(8):
        q = expit(eta + delta)
        delta += (goal - (wk * q).sum()) / (wk * q * (1 - q)).sum()
    return MonthContext(
        t=t,
        volume_scale=target / exposure,
        delta=float(delta),
        log_mix=np.log(national_mix(t)),
        video_shift=path(VIDEO_SHIFT, t),
        dna_shift=path(DNA_SHIFT, t),
    )


@dataclass
class Rows:
    """Non-zero crosstab rows: practice index, supplier index, cell, mode, status, count."""

    practice: np.ndarray
    supplier: np.ndarray
    cell: np.ndarray
    mode: np.ndarray
    status: np.ndarray
    count: np.ndarray

    def take(self, keep: np.ndarray) -> Rows:
        return Rows(*(getattr(self, f)[keep] for f in _ROW_FIELDS))

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        if not parts:
            e = np.zeros(0, np.int64)
            return Rows(e, e, e, e, e, e)
        return Rows(*(np.concatenate([getattr(r, f) for r in parts]) for f in _ROW_FIELDS))


_ROW_FIELDS = ("practice", "supplier", "cell", "mode", "status", "count")


def merge_rows(rows: Rows) -> Rows:
    """One row per practice, supplier, cell, mode and status, counts summed (as the publisher writes them)."""
    key = np.stack([rows.practice, rows.supplier, rows.cell, rows.mode, rows.status], axis=1)
    unique, inverse = np.unique(key, axis=0, return_inverse=True)
    count = np.bincount(inverse.ravel(), weights=rows.count, minlength=len(unique)).astype(np.int64)
    practice, supplier, cell, mode, status = unique.T
    return Rows(practice, supplier, cell, mode, status, count)


def simulate(
    s: Structure, idx: np.ndarray, ctx: MonthContext, rng: np.random.Generator, *, revised: bool = False
) -> Rows:
    """Rows for practices `idx` (all open in month ctx.t). `revised`: as republished a month later."""
    p, t = s.params, ctx.t
    n_p = len(idx)
    # 1-2. volume and mix
    lw = mix_log_weights(s, idx, t) + rng.normal(0.0, CELL_MONTH_NOISE, (n_p, N_CELL))
    w = np.exp(lw - lw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    expected = list_size(s, idx, t) / 1000.0 * p["rate"][idx] * ctx.volume_scale
    expected = expected * np.exp(rng.normal(0.0, VOLUME_MONTH_NOISE, n_p))
    if revised:
        expected = expected * 1.01  # late-recorded appointments
    counts = rng.poisson(expected[:, None] * w)
    pi, ci = np.nonzero(counts)
    n = counts[pi, ci]
    cat, band, hcp = CELL_CAT[ci], CELL_BAND[ci], CELL_HCP[ci]
    # 3. mode
    n_unk = rng.binomial(n, expit(UNKNOWN_MODE_LOGIT[cat] + (hcp == UNKNOWN_HCP) + p["unknown_mode_logit"][idx][pi]))
    known = n - n_unk
    offset = practice_f2f_offset(s, idx, t) + rng.normal(0.0, F2F_MONTH_NOISE, n_p)
    n_f = rng.binomial(
        known, _f2f_prob(base_f2f_logit()[None, :] + ctx.delta + offset[:, None], w, p["cell_f2f_effect"][idx])[pi, ci]
    )
    n_hv = rng.binomial(n_f, HOME_VISIT_SHARE[cat])
    remote = known - n_f
    vid_logit = VIDEO_LOGIT[cat] + ctx.video_shift + p["video_logit"][idx][pi] + p["cell_video_effect"][idx][pi, ci]
    n_vid = rng.binomial(remote, expit(vid_logit))
    modes = np.stack([n_f - n_hv, n_hv, remote - n_vid, n_vid, n_unk], axis=1)
    j, m = np.nonzero(modes)
    n2 = modes[j, m]
    # 4. status
    us_logit = UNKNOWN_STATUS_LOGIT[band[j]] + p["unknown_status_logit"][idx][pi[j]] - (1.0 if revised else 0.0)
    n_us = rng.binomial(n2, expit(us_logit))
    rest = n2 - n_us
    dna_logit = DNA_LOGIT[band[j]] + DNA_MODE_LOGIT[m] + p["dna_logit"][idx][pi[j]] + ctx.dna_shift
    n_dna = rng.binomial(rest, expit(dna_logit))
    stat = np.stack([rest - n_dna, n_dna, n_us], axis=1)
    r, st = np.nonzero(stat)
    rows_p = idx[pi[j[r]]]
    rows = Rows(
        practice=rows_p,
        supplier=s.supplier_at(t)[rows_p],
        cell=ci[j[r]],
        mode=m[r],
        status=st,
        count=stat[r, st],
    )
    return _split_supplier_changes(s, rows, t, rng)


def _f2f_prob(a: np.ndarray, w: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Face-to-face probability per practice and cell: logit a + z + d, with d per practice and staff type
    chosen so that the practice's expected share over its mix w, within each staff type, equals that with logit
    a alone (z only concentrates modes within cells, as slot types do; it moves neither the practice's share
    nor its GP-only share, so the truth holds for the GP criterion as for all staff)."""
    out = np.empty_like(a)
    for hcp in np.unique(CELL_HCP):
        cols = hcp == CELL_HCP
        aa, ww, zz = a[:, cols], w[:, cols], z[:, cols]
        goal = (ww * expit(aa)).sum(axis=1)
        d = np.zeros(len(a))
        # Newton's method on a strictly increasing function of d, each step bounded so that it cannot overshoot
        # far when the slope is flat (cell effects of sd 3 push many cells to 0 or 1): a few practices need a
        # dozen steps, so it runs until the shares match to 1e-9 (at most 40 steps).
        for _ in range(40):
            q = expit(aa + zz + d[:, None])
            gap = goal - (ww * q).sum(axis=1)
            if np.max(np.abs(gap)) < 1e-9:
                break
            step = gap / np.maximum((ww * q * (1 - q)).sum(axis=1), 1e-12)
            d = np.clip(d + np.clip(step, -1.0, 1.0), -20.0, 20.0)
        out[:, cols] = expit(aa + zz + d[:, None])
    return out


def _split_supplier_changes(s: Structure, rows: Rows, t: int, rng: np.random.Generator) -> Rows:
    """In the month a practice changes supplier its rows come under both suppliers (two Mapping.csv rows)."""
    changing = s.sup_change_t[rows.practice] == t
    if not changing.any():
        return rows
    frac = 0.2 + 0.6 * ((rows.practice[changing] * 7919) % 97) / 96.0  # the new supplier's share of the month
    new = rng.binomial(rows.count[changing], frac)
    old = rows.count[changing] - new
    before = rows.take(changing)
    before.supplier = s.sup0[before.practice]
    before.count = old
    after = rows.take(changing)
    after.supplier = s.sup1[after.practice]
    after.count = new
    out = Rows.concat([rows.take(~changing), before, after])
    return out.take(out.count > 0)


def true_f2f_prob(s: Structure, seed: int) -> np.ndarray:
    """Each practice's known-mode face-to-face share with the national mix of REFERENCE_MONTH, its true
    propensity and nothing else (no supplier or practice artefact, no noise)."""
    t = month_index(REFERENCE_MONTH)
    ctx = month_context(s, t, seed)
    mix = national_mix(t)
    pk = mix * (1 - expit(UNKNOWN_MODE_LOGIT[CELL_CAT] + (CELL_HCP == UNKNOWN_HCP)))
    pk = pk / pk.sum()
    eta = base_f2f_logit() + ctx.delta
    u = s.params["true_f2f_logit"]
    out = np.empty(len(u))
    for a in range(0, len(u), 1000):
        out[a : a + 1000] = expit(eta[None, :] + u[a : a + 1000, None]) @ pk
    return out
