"""`generate`: write synthetic months in the published formats, plus `truth.csv`.

Layout under `out_dir`:

    gpad/Practice_Level_Crosstab_Oct_25.zip          crosstab CSV + Mapping.csv (or regional CSVs + Mapping.csv)
    gpad/republished/Practice_Level_Crosstab_Oct_25.zip   the month as republished (about 5% of practices differ)
    registered_patients/gp-reg-pat-prac-all_2025-10-01.csv
    context/...                                      companion files (IMD, epraccur, coverage, workforce,
                                                     telephony, online consultations): see companions.py
    truth.csv                                        each practice's true parameters (see model.py)
    local/<world>/<ICB>.csv, local/truth.csv         local indicators to upload, with known truth (local.py)

With `zipped=False` the crosstab CSV(s) and a loose `Mapping_Oct_25.csv` are written into `gpad/` instead.

Months before October 2022 (2019 included) are written in today's practice-level layout although no such
real file exists: the publisher's practice-level series starts in October 2022.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gpaccess.errors import UserError
from gpaccess.synth import companions as companion_files
from gpaccess.synth import local as local_files
from gpaccess.synth import model, structure, vocab, write
from gpaccess.synth.model import Rows
from gpaccess.synth.structure import NEVER, SUPPLIER_F2F_LOGIT, SUPPLIERS, Structure

REPUBLISH_SHARE = 0.05
# A republication adds late-recorded appointments to the practices it revises: each of their appointments
# drawn again is late with this probability (about +3% a practice; the real one ranged -0.05% to +7%).
LATE_SHARE = 0.03

Progress = Callable[[str, int, int], None]
# A change to each month's rows before they are written (the injected support effects of synth/effects.py):
# (structure, month, rows, revised) -> rows.
AdjustRows = Callable[[Structure, str, Rows, bool], Rows]


@dataclass
class MonthFiles:
    month: str
    crosstab: list[Path] = field(default_factory=list)  # zips, or CSVs when not zipped
    mapping: Path | None = None  # loose Mapping_<Mon>_<YY>.csv when not zipped
    registrations: Path | None = None
    republished: list[Path] = field(default_factory=list)
    practices: int = 0
    rows: int = 0
    appointments: int = 0


@dataclass
class SynthOutput:
    out_dir: Path
    seed: int
    icbs: list[str]
    months: dict[str, MonthFiles]
    truth: Path
    companions: list[Path] = field(default_factory=list)  # context/ files (companions.py)
    local: list[Path] = field(default_factory=list)  # local/ upload files and their truth (local.py): not ingested

    def files(self) -> list[Path]:
        out: list[Path] = []
        for mf in self.months.values():
            out += mf.crosstab + ([mf.mapping] if mf.mapping else [])
            out += [mf.registrations] if mf.registrations else []
            out += mf.republished
        return [*out, *self.companions, self.truth]


def select_icbs(s: Structure, icbs: int | Sequence[str] | None) -> list[str]:
    if icbs is None:
        return list(s.icb_code)
    if isinstance(icbs, int):
        if not 1 <= icbs <= len(s.icb_code):
            raise UserError(f"--icbs must be between 1 and {len(s.icb_code)}, got {icbs}")
        return s.icb_order()[:icbs]
    unknown = sorted(set(icbs) - set(s.icb_code))
    if unknown:
        raise UserError(f"unknown ICB code(s) {', '.join(unknown)}; this seed's ICBs: {', '.join(s.icb_code)}")
    return [c for c in s.icb_code if c in set(icbs)]


def month_rows(s: Structure, month: str, seed: int, want: np.ndarray, *, revised: bool = False) -> Rows:
    """Rows of the practices in `want` for `month`. Randomness is drawn per home-ICB block for every open
    practice of the block, so a practice's rows do not depend on which ICBs are written."""
    t = vocab.month_index(month)
    ctx = model.month_context(s, t, seed)
    is_open = s.is_open(t)
    redo = np.zeros(s.n_practices, bool)
    if revised:
        redo = np.random.default_rng(np.random.SeedSequence([seed, 2, t + 10_000])).random(s.n_practices)
        redo = redo < REPUBLISH_SHARE
    parts: list[Rows] = []
    for b in np.unique(s.home_icb[want]):
        idx = np.flatnonzero(is_open & (s.home_icb == b))
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, t + 10_000, int(b)]))
        r = model.simulate(s, idx, ctx, rng)
        if revised:
            again = idx[redo[idx]]
            if len(again):
                rng2 = np.random.default_rng(np.random.SeedSequence([seed, 1, t + 10_000, int(b), 1]))
                late = model.simulate(s, again, ctx, rng2, revised=True)
                late.count = rng2.binomial(late.count, LATE_SHARE)
                r = model.merge_rows(Rows.concat([r, late.take(late.count > 0)]))
        parts.append(r.take(want[r.practice]))
    return write.order_rows(s, Rows.concat(parts))


def _crosstab_members(s: Structure, rows: Rows, month: str, regional: bool) -> list[tuple[str, bytes]]:
    tag = vocab.file_tag(month)
    if not regional:
        return [(f"Practice_Level_Crosstab_{tag}.csv", write.crosstab_csv(s, rows, month))]
    t = vocab.month_index(month)
    region = np.array(s.region_code)[s.icb_region[s.icb_at(t)]]
    out = []
    for part, codes in vocab.REGIONAL_PARTS.items():
        keep = np.isin(region[rows.practice], codes)
        if keep.any():
            out.append((f"Practice_Level_Crosstab_{part}_{tag}.csv", write.crosstab_csv(s, rows.take(keep), month)))
    return out


def _write_month(
    s: Structure, rows: Rows, month: str, folder: Path, *, regional: bool, zipped: bool
) -> tuple[list[Path], Path | None]:
    t = vocab.month_index(month)
    tag = vocab.file_tag(month)
    pairs = sorted({(int(p), int(u)) for p, u in zip(rows.practice, rows.supplier, strict=True)})
    members = _crosstab_members(s, rows, month, regional)
    mapping = write.mapping_csv(s, pairs, t)
    if zipped:
        path = folder / f"Practice_Level_Crosstab_{tag}.zip"
        write.write_zip(path, [*members, ("Mapping.csv", mapping)], month)
        return [path], None
    paths = []
    for name, data in members:
        write.write_bytes(folder / name, data)
        paths.append(folder / name)
    mpath = folder / f"Mapping_{tag}.csv"
    write.write_bytes(mpath, mapping)
    return paths, mpath


def generate(
    out_dir: Path,
    months: Sequence[str],
    *,
    seed: int = 2021,
    icbs: int | Sequence[str] | None = None,
    regional: bool = False,
    zipped: bool = True,
    republish: Sequence[str] = (),
    registrations: bool = True,
    companions: bool = True,
    progress: Progress | None = None,
    adjust: AdjustRows | None = None,
) -> SynthOutput:
    """Write synthetic GPAD practice-level months (and list sizes and truth.csv) under `out_dir`.

    `months` are "YYYY-MM" (any month; 2019 is written in today's practice-level layout, which no real file
    has). `icbs`: None for all 42, N for the first N of a fixed round-robin-over-regions order, or ICB codes.
    `republish`: months also written "as republished" into gpad/republished/ (about 5% of practices gain
    late-recorded appointments, as a real republication revises practices: it never cuts them).
    `companions`: also write context files for the same practices and months under context/ (IMD, epraccur,
    coverage, workforce, telephony, online consultations). Same seed and options give byte-identical files.
    `adjust`: changes each month's rows before they are written (`synth.effects` injects support effects).
    """
    out_dir = Path(out_dir)
    try:
        todo = sorted({vocab.month_from_index(vocab.month_index(m)) for m in months})
        again = {vocab.month_from_index(vocab.month_index(m)) for m in republish}
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if not todo:
        raise UserError("no months to generate")
    missing = sorted(again - set(todo))
    if missing:
        raise UserError(f"--republish month(s) {', '.join(missing)} are not among the months generated")
    s = structure.build(seed)
    chosen = select_icbs(s, icbs)
    selected = np.isin(np.array(s.icb_code), chosen)
    gpad = out_dir / "gpad"
    result: dict[str, MonthFiles] = {}
    ever = np.zeros(s.n_practices, bool)
    for i, month in enumerate(todo):
        t = vocab.month_index(month)
        want = s.is_open(t) & selected[s.icb_at(t)]
        ever |= want
        rows = month_rows(s, month, seed, want)
        if adjust is not None:
            rows = adjust(s, month, rows, False)
        mf = MonthFiles(month, practices=int(want.sum()), rows=len(rows.count), appointments=int(rows.count.sum()))
        mf.crosstab, mf.mapping = _write_month(s, rows, month, gpad, regional=regional, zipped=zipped)
        del rows
        if month in again:
            rrows = month_rows(s, month, seed, want, revised=True)
            if adjust is not None:
                rrows = adjust(s, month, rrows, True)
            mf.republished, _ = _write_month(s, rrows, month, gpad / "republished", regional=regional, zipped=zipped)
        if registrations:
            idx = np.flatnonzero(want)
            path = out_dir / "registered_patients" / f"gp-reg-pat-prac-all_{month}-01.csv"
            write.write_bytes(path, write.registrations_csv(s, idx, model.list_size(s, idx, t), month))
            mf.registrations = path
        result[month] = mf
        if progress is not None:
            progress(month, i + 1, len(todo))
    truth = out_dir / "truth.csv"
    write.write_bytes(truth, truth_csv(s, seed, np.flatnonzero(ever)))
    extra: list[Path] = []
    local: list[Path] = []
    if companions:
        extra = companion_files.write_companions(out_dir / companion_files.CONTEXT_DIR, s, seed, todo, selected)
        local = local_files.write_local(out_dir, s, seed, todo[-1], selected)
    return SynthOutput(
        out_dir=out_dir, seed=seed, icbs=chosen, months=result, truth=truth, companions=extra, local=local
    )


def _month_or_blank(t: int) -> str:
    return "" if abs(t) >= NEVER else vocab.month_from_index(int(t))


def truth_csv(s: Structure, seed: int, idx: np.ndarray) -> bytes:
    """truth.csv: one row per practice written, in code order. See model.py for how each column enters."""
    p = s.params
    prob = model.true_f2f_prob(s, seed)
    ref = vocab.month_index(model.REFERENCE_MONTH)
    sizes = model.list_size(s, np.arange(s.n_practices), ref)
    idx = np.array(sorted(idx.tolist(), key=lambda i: s.code[i]), dtype=np.int64)
    f6 = lambda a: [f"{v:.6f}" for v in a[idx]]  # noqa: E731
    flag = lambda a: [str(int(v)) for v in a[idx]]  # noqa: E731
    cols: dict[str, list[str]] = {
        "practice_code": [s.code[i] for i in idx],
        "practice_name": [s.name[i] for i in idx],
        "home_icb_code": [s.icb_code[s.home_icb[i]] for i in idx],
        "open_month": [_month_or_blank(s.open_t[i]) for i in idx],
        "close_month": [_month_or_blank(s.close_t[i]) for i in idx],
        "pcn_change_month": [_month_or_blank(s.pcn_change_t[i]) for i in idx],
        "supplier_first": [SUPPLIERS[s.sup0[i]] for i in idx],
        "supplier_last": [SUPPLIERS[s.sup1[i]] for i in idx],
        "supplier_change_month": [_month_or_blank(s.sup_change_t[i]) for i in idx],
        "list_size_ref": [str(int(v)) for v in sizes[idx]],
        "list_growth": f6(p["list_growth"]),
        "appointment_rate": f6(p["rate"]),
        "true_f2f_logit": f6(p["true_f2f_logit"]),
        "true_f2f_prob": f6(prob),
        "truly_low_f2f": flag(p["truly_low_f2f"]),
        "supplier_f2f_logit_first": f6(SUPPLIER_F2F_LOGIT[s.sup0]),
        "supplier_f2f_logit_last": f6(SUPPLIER_F2F_LOGIT[s.sup1]),
        "artefact_f2f_logit": f6(p["artefact_f2f_logit"]),
        "flag_f2f_default": flag(p["flag_f2f_default"]),
        "flag_unknown_mode": flag(p["flag_unknown_mode"]),
        "flag_inconsistent_mapping": flag(p["flag_inconsistent_mapping"]),
        "flag_low_volume": flag(p["flag_low_volume"]),
        "flag_high_volume": flag(p["flag_high_volume"]),
        **{k: f6(p[k]) for k in model.MIX_TILTS},
        "unknown_mode_logit": f6(p["unknown_mode_logit"]),
        "video_logit": f6(p["video_logit"]),
        "dna_logit": f6(p["dna_logit"]),
        "unknown_status_logit": f6(p["unknown_status_logit"]),
    }
    return write.table_csv(cols)
