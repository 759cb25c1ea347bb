"""The synthetic organisations: regions, ICBs, sub-ICB locations, PCNs and practices, and how they change.

Built once per seed for the whole country (never for a subset), so a practice has the same code, name and
parameters whichever ICBs are written. Codes look like ODS codes (practice `A81001`, PCN `U12345`, sub-ICB
`15N`, ICB `QHM`, region `Y56`) but every name is made up from invented place names, and postcodes use
areas that do not exist (first letter Q, V or X).

Time is counted in months since January 2019 (`t`); changes happen inside 2019-2026 and a practice keeps
its last state after that.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

NEVER = 1_000_000  # a change month that never comes
ALWAYS = -1_000_000  # an open month before any month written
HORIZON = 96  # changes happen in months 1..95 (Feb 2019 - Dec 2026)

REGIONS = (
    ("Y56", "London"),
    ("Y58", "South West"),
    ("Y59", "South East"),
    ("Y60", "Midlands"),
    ("Y61", "East of England"),
    ("Y62", "North West"),
    ("Y63", "North East and Yorkshire"),
)
ICBS_PER_REGION = (5, 7, 6, 11, 6, 3, 4)  # 42, as in England
SUB_ICBS = 106
BASE_PRACTICES = 6_850  # open in January 2019
CLOSING = 760  # of those, closing at some month before the horizon
OPENING = 110  # new practices opening before the horizon
PRACTICES_PER_PCN = 5.5

# Suppliers as written in the SUPPLIER column, and each one's effect on recorded face-to-face (logit scale):
# EMIS's default slot types over-report face-to-face (domain.md B4).
SUPPLIERS = (
    "EMIS",
    "TPP",
    "EMIS/EVERGREENLIFE",
    "TPP/EVERGREENLIFE",
    "TPP/EMIS",
    "EMIS/TPP",
    "MEDICUS",
    "MEDICUS/EMIS",
    "MICROTEST",
    "VISION",
)
SUPPLIER_F2F_LOGIT = np.array([0.30, 0.0, 0.30, 0.0, 0.0, 0.30, 0.0, 0.15, 0.15, -0.10])
_S = {name: i for i, name in enumerate(SUPPLIERS)}

# National booking-band profile of each national category (used by model.py; here because each practice's
# own band spread is drawn around it).
_BAND_PROFILES = {
    #            Same   1Day   2-7   8-14   15-21  22-28  >28    Unknown
    "triage": [0.830, 0.065, 0.060, 0.020, 0.009, 0.005, 0.005, 0.0005],
    "acute": [0.700, 0.080, 0.120, 0.050, 0.020, 0.012, 0.020, 0.0010],
    "mixed": [0.520, 0.090, 0.160, 0.080, 0.040, 0.040, 0.080, 0.0020],
    "routine": [0.200, 0.060, 0.220, 0.200, 0.120, 0.090, 0.110, 0.0005],
    "planned": [0.070, 0.040, 0.155, 0.160, 0.130, 0.125, 0.320, 0.0005],
}
_CAT_BAND = [
    "routine",
    "acute",
    "triage",
    "planned",
    "planned",
    "acute",
    "triage",
    "mixed",
    "acute",
    "acute",
    "mixed",
    "routine",
    "mixed",
    "routine",
    "routine",
    "planned",
    "mixed",
    "mixed",
    "mixed",
]
BAND_GIVEN_CAT = np.array([_BAND_PROFILES[b] for b in _CAT_BAND])
BAND_GIVEN_CAT /= BAND_GIVEN_CAT.sum(axis=1, keepdims=True)

_REGION_LETTERS = {
    "Y56": "EFH",
    "Y58": "JKL",
    "Y59": "GHJK",
    "Y60": "CM",
    "Y61": "DE",
    "Y62": "NP",
    "Y63": "AB",
}
_START = [
    "Ash",
    "Bram",
    "Cal",
    "Dun",
    "Elm",
    "Fen",
    "Gor",
    "Hal",
    "Kes",
    "Lang",
    "Mar",
    "Nor",
    "Oak",
    "Pen",
    "Quen",
    "Ros",
    "Sal",
    "Thorn",
    "Ulver",
    "Wick",
    "Yar",
    "Brack",
    "Chal",
    "Dray",
    "Fal",
    "Glen",
    "Hart",
    "Lin",
    "Mel",
    "Stan",
    "Alder",
    "Birch",
    "Cor",
    "Dal",
    "Eas",
    "Frid",
    "Grim",
    "Hols",
    "Ivy",
    "Kirk",
    "Lox",
    "Mork",
    "Ned",
    "Orm",
    "Pem",
    "Rad",
    "Sel",
    "Tan",
    "Up",
    "Ven",
    "Wes",
    "Yel",
    "Amber",
    "Bex",
    "Crom",
    "Dor",
    "Elv",
    "Frant",
]
_END = [
    "ford",
    "ley",
    "ton",
    "bury",
    "field",
    "wick",
    "mere",
    "combe",
    "dale",
    "stow",
    "worth",
    "by",
    "ham",
    "hurst",
    "minster",
    "brook",
    "gate",
    "well",
    "cliffe",
]
_PRACTICE_FORMS = (
    "{p} MEDICAL CENTRE",
    "{p} SURGERY",
    "THE {p} PRACTICE",
    "{p} HEALTH CENTRE",
    "{p} FAMILY PRACTICE",
    "{p} ROAD SURGERY",
    "{p} GROUP PRACTICE",
    "{p} PARTNERSHIP",
    "{p} MEDICAL PRACTICE",
    "{p} LANE SURGERY",
)
_PCN_FORMS = ("{p} PCN", "{p} AND {q} PCN", "{p} HEALTH PCN", "{p} CENTRAL PCN", "NORTH {p} PCN", "{p} VALE PCN")


@dataclass
class Structure:
    """Every organisation, as parallel numpy arrays (index = position)."""

    region_code: list[str]
    region_name: list[str]
    icb_code: list[str]
    icb_name: list[str]
    icb_region: np.ndarray
    sub_code: list[str]
    sub_name: list[str]
    sub_ons: list[str]
    sub_icb: np.ndarray
    pcn_code: list[str]
    pcn_name: list[str]
    pcn_sub: np.ndarray
    # practices
    code: list[str]
    name: list[str]
    postcode: list[str]
    open_t: np.ndarray
    close_t: np.ndarray
    pcn0: np.ndarray
    pcn1: np.ndarray
    pcn_change_t: np.ndarray
    sup0: np.ndarray
    sup1: np.ndarray
    sup_change_t: np.ndarray
    home_icb: np.ndarray
    params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_practices(self) -> int:
        return len(self.code)

    def is_open(self, t: int) -> np.ndarray:
        return (self.open_t <= t) & (t < self.close_t)

    def pcn_at(self, t: int) -> np.ndarray:
        return np.where(t >= self.pcn_change_t, self.pcn1, self.pcn0)

    def sub_at(self, t: int) -> np.ndarray:
        return self.pcn_sub[self.pcn_at(t)]

    def icb_at(self, t: int) -> np.ndarray:
        return self.sub_icb[self.sub_at(t)]

    def supplier_at(self, t: int) -> np.ndarray:
        return np.where(t >= self.sup_change_t, self.sup1, self.sup0)

    def icb_order(self) -> list[str]:
        """ICB codes in the order `icbs=N` takes them: round-robin over regions, starting with one region of
        each regional file (Midlands, North East and Yorkshire, London), so 3 ICBs fill all three files."""
        first = ("Y60", "Y63", "Y56", "Y62", "Y58", "Y61", "Y59")
        by_region: dict[str, list[int]] = {code: [] for code in first}
        for i, r in enumerate(self.icb_region):
            by_region[self.region_code[int(r)]].append(i)
        order: list[str] = []
        while any(by_region.values()):
            for code in first:
                if by_region[code]:
                    order.append(self.icb_code[by_region[code].pop(0)])
        return order


def _place_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        s = _START[rng.integers(len(_START))] + _END[rng.integers(len(_END))]
        if s not in seen:
            seen.add(s)
            names.append(s)
        elif len(seen) >= len(_START) * len(_END):
            names.append(s)
    return names


def _unique_codes(rng: np.random.Generator, n: int, make, taken: set[str] | None = None) -> list[str]:
    taken = set() if taken is None else taken
    out: list[str] = []
    while len(out) < n:
        c = make(rng)
        if c not in taken:
            taken.add(c)
            out.append(c)
    return out


def _split(rng: np.random.Generator, total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Split `total` into len(weights) integer parts, each >= minimum, roughly proportional to weights."""
    k = len(weights)
    extra = rng.multinomial(total - minimum * k, weights / weights.sum())
    return extra + minimum


@functools.lru_cache(maxsize=4)
def build(seed: int) -> Structure:
    """The national structure for `seed` (deterministic; cached, so treat it as read-only)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))

    # --- regions and ICBs
    icb_region = np.repeat(np.arange(len(REGIONS)), ICBS_PER_REGION)
    n_icb = len(icb_region)
    icb_code = _unique_codes(rng, n_icb, lambda r: "Q" + "".join(r.choice(letters, 2)))
    places = _place_names(rng, 4000)
    pi = iter(places)
    icb_short = []
    for _ in range(n_icb):
        a, b = next(pi), next(pi)
        icb_short.append(f"{a} and {b}" if rng.random() < 0.6 else a)
    icb_name = [f"NHS {s} Integrated Care Board" for s in icb_short]

    n_universe = BASE_PRACTICES + OPENING
    icb_weight = rng.lognormal(0.0, 0.45, n_icb) * np.where(icb_region == 5, 2.2, 1.0)
    icb_prac = _split(rng, n_universe, icb_weight, minimum=40)

    # --- sub-ICB locations: each ICB at least one, big ICBs more
    n_sub = _split(rng, SUB_ICBS, icb_prac.astype(float) ** 1.3, minimum=1)
    sub_icb = np.repeat(np.arange(n_icb), n_sub)
    sub_code = _unique_codes(rng, SUB_ICBS, lambda r: f"{r.integers(0, 100):02d}{r.choice(letters)}")
    sub_name = [f"NHS {icb_short[i]} ICB - {c}" for i, c in zip(sub_icb, sub_code, strict=True)]
    sub_ons = [f"E38{n:06d}" for n in rng.choice(np.arange(100, 999), SUB_ICBS, replace=False)]
    sub_prac = np.concatenate(
        [_split(rng, int(icb_prac[i]), rng.lognormal(0, 0.4, int(n_sub[i])), minimum=8) for i in range(n_icb)]
    )

    # --- PCNs and practices, sub-ICB by sub-ICB
    pcn_sub_l: list[int] = []
    prac_pcn_l: list[int] = []
    for s in range(SUB_ICBS):
        k = max(1, round(int(sub_prac[s]) / PRACTICES_PER_PCN))
        first = len(pcn_sub_l)
        pcn_sub_l.extend([s] * k)
        sizes = _split(rng, int(sub_prac[s]), rng.lognormal(0, 0.35, k), minimum=1)
        prac_pcn_l.extend(np.repeat(np.arange(first, first + k), sizes).tolist())
    pcn_sub = np.array(pcn_sub_l)
    n_pcn = len(pcn_sub)
    pcn_code = _unique_codes(rng, n_pcn, lambda r: f"U{r.integers(0, 100000):05d}")
    pcn_name = []
    for _ in range(n_pcn):
        form = _PCN_FORMS[rng.integers(len(_PCN_FORMS))]
        pcn_name.append(form.format(p=next(pi).upper(), q=next(pi).upper()))

    pcn0 = np.array(prac_pcn_l)
    n = len(pcn0)
    home_icb = sub_icb[pcn_sub[pcn0]]

    # --- opening and closing: the last OPENING practices of the universe are new ones, spread at random
    is_new = np.zeros(n, bool)
    is_new[rng.choice(n, OPENING, replace=False)] = True
    open_t = np.full(n, ALWAYS)
    open_t[is_new] = rng.integers(1, HORIZON, OPENING)
    close_t = np.full(n, NEVER)
    old = np.flatnonzero(~is_new)
    closing = rng.choice(old, CLOSING, replace=False)
    close_t[closing] = rng.integers(1, HORIZON, CLOSING)

    # --- practice codes, names, postcodes
    taken: set[str] = set()
    code = [""] * n
    sub_area: dict[int, str] = {}
    for s in range(SUB_ICBS):
        sub_area[s] = "".join(rng.choice(list("QVX"))) + str(rng.choice(letters))
    sub_digits = rng.integers(10, 100, SUB_ICBS)
    for p in range(n):
        s = int(pcn_sub[pcn0[p]])
        lets = _REGION_LETTERS[REGIONS[int(icb_region[sub_icb[s]])][0]]
        while True:
            if is_new[p]:
                c = f"Y0{rng.integers(0, 10000):04d}"
            else:
                c = f"{lets[rng.integers(len(lets))]}{sub_digits[s]:02d}{rng.integers(0, 1000):03d}"
            if c not in taken:
                break
        taken.add(c)
        code[p] = c
    name = []
    for _p in range(n):
        form = _PRACTICE_FORMS[rng.integers(len(_PRACTICE_FORMS))]
        nm = form.format(p=places[rng.integers(len(places))].upper())
        u = rng.random()
        if u < 0.003:  # a trailing comma, as in "FULWELL MEDICAL CENTRE,"
            nm += ","
        elif u < 0.006:
            nm += ", " + places[rng.integers(len(places))].upper()
        name.append(nm)
    pc_letters = list("ABDEFGHJLNPQRSTUWXYZ")
    postcode = [
        f"{sub_area[int(pcn_sub[pcn0[p]])]}{rng.integers(1, 30)} {rng.integers(0, 10)}"
        f"{rng.choice(pc_letters)}{rng.choice(pc_letters)}"
        for p in range(n)
    ]

    # --- PCN changes (same sub-ICB) and ICB changes (a sub-ICB of another ICB in the same region)
    pcn1 = pcn0.copy()
    pcn_change_t = np.full(n, NEVER)
    movers = rng.choice(n, int(0.06 * n), replace=False)
    for p in movers:
        same = np.flatnonzero(pcn_sub == pcn_sub[pcn0[p]])
        same = same[same != pcn0[p]]
        if len(same):
            pcn1[p] = rng.choice(same)
            pcn_change_t[p] = rng.integers(4, HORIZON)
    icb_movers = rng.choice(np.setdiff1d(np.arange(n), movers), int(0.012 * n), replace=False)
    for p in icb_movers:
        reg = icb_region[home_icb[p]]
        other = np.flatnonzero((icb_region[sub_icb[pcn_sub]] == reg) & (sub_icb[pcn_sub] != home_icb[p]))
        if len(other):
            pcn1[p] = rng.choice(other)
            pcn_change_t[p] = rng.integers(4, HORIZON)

    # --- suppliers: each ICB leans to EMIS or TPP; a few others and combined values, some changes
    icb_tpp = rng.beta(0.7, 0.9, n_icb)
    sup0 = np.where(rng.random(n) < icb_tpp[home_icb], _S["TPP"], _S["EMIS"])
    draw = rng.random(n)
    for lo, hi, sname in (
        (0.000, 0.014, "EMIS/EVERGREENLIFE"),
        (0.014, 0.026, "TPP/EVERGREENLIFE"),
        (0.026, 0.0266, "TPP/EMIS"),
        (0.0266, 0.0271, "EMIS/TPP"),
        (0.0271, 0.0278, "MEDICUS"),
        (0.0278, 0.0280, "MEDICUS/EMIS"),
        (0.030, 0.042, "MICROTEST"),
        (0.042, 0.057, "VISION"),
    ):
        sup0[(draw >= lo) & (draw < hi)] = _S[sname]
    sup1 = sup0.copy()
    sup_change_t = np.full(n, NEVER)
    micro = sup0 == _S["MICROTEST"]
    sup1[micro] = _S["EMIS"]
    sup_change_t[micro] = 25  # Microtest stopped in February 2021 (domain.md B8)
    vision = sup0 == _S["VISION"]
    sup1[vision] = np.where(rng.random(vision.sum()) < 0.6, _S["EMIS"], _S["TPP"])
    sup_change_t[vision] = rng.integers(24, 60, vision.sum())
    switch = (draw >= 0.057) & (draw < 0.077) & ((sup0 == _S["EMIS"]) | (sup0 == _S["TPP"]))
    sup1[switch] = np.where(sup0[switch] == _S["EMIS"], _S["TPP"], _S["EMIS"])
    sup_change_t[switch] = rng.integers(2, HORIZON, switch.sum())

    params = _practice_params(rng, n, home_icb, icb_region, is_new)
    return Structure(
        region_code=[r[0] for r in REGIONS],
        region_name=[r[1] for r in REGIONS],
        icb_code=icb_code,
        icb_name=icb_name,
        icb_region=icb_region,
        sub_code=sub_code,
        sub_name=sub_name,
        sub_ons=sub_ons,
        sub_icb=sub_icb,
        pcn_code=pcn_code,
        pcn_name=pcn_name,
        pcn_sub=pcn_sub,
        code=code,
        name=name,
        postcode=postcode,
        open_t=open_t,
        close_t=close_t,
        pcn0=pcn0,
        pcn1=pcn1,
        pcn_change_t=pcn_change_t,
        sup0=sup0,
        sup1=sup1,
        sup_change_t=sup_change_t,
        home_icb=home_icb,
        params=params,
    )


def _practice_params(
    rng: np.random.Generator, n: int, home_icb: np.ndarray, icb_region: np.ndarray, is_new: np.ndarray
) -> dict[str, np.ndarray]:
    """Each practice's fixed parameters of the generative model (see model.py; written to truth.csv)."""
    p: dict[str, np.ndarray] = {}
    # list size: skewed, mean about 10,000; a few very small practices
    lst = rng.lognormal(np.log(8_600), 0.58, n)
    tiny = rng.random(n) < 0.006
    lst[tiny] = rng.uniform(300, 1_000, tiny.sum())
    p["list_base"] = np.clip(lst, 300, 60_000)
    p["list_growth"] = rng.normal(0.012, 0.02, n)  # per year
    p["new"] = is_new.astype(float)
    # appointments per patient, relative to national; a few volume outliers (data-quality exclusions)
    rate = rng.lognormal(0.0, 0.2, n)
    low = rng.random(n) < 0.004
    high = (rng.random(n) < 0.003) & ~low
    rate[low] *= rng.uniform(0.08, 0.2, low.sum())
    rate[high] *= rng.uniform(4.5, 6.0, high.sum())
    p["rate"] = rate
    p["flag_low_volume"] = low.astype(float)
    p["flag_high_volume"] = high.astype(float)
    # true face-to-face propensity (logit, relative to national): ICB and region effect + practice effect,
    # with a low tail of practices that truly see few patients face to face
    icb_eff = rng.normal(0.0, 0.12, len(icb_region)) + np.where(icb_region == 0, -0.2, 0.0)
    lowtail = rng.random(n) < 0.07
    u = icb_eff[home_icb] + np.where(lowtail, rng.normal(-1.3, 0.45, n), rng.normal(0.0, 0.38, n))
    p["true_f2f_logit"] = u
    p["truly_low_f2f"] = lowtail.astype(float)  # the truth label: drawn from the low tail (DESIGN "Fairness")
    # recording artefact: slot types defaulting to face-to-face
    art = rng.random(n) < 0.03
    p["flag_f2f_default"] = art.astype(float)
    p["artefact_f2f_logit"] = np.where(art, rng.uniform(0.8, 1.6, n), 0.0)
    # appointment mix profile (log-weight tilts; see model.py)
    p["mix_gp"] = rng.normal(0.0, 0.25, n)
    p["mix_triage"] = rng.normal(0.0, 0.6, n)
    p["mix_same_day"] = rng.normal(0.0, 0.3, n)
    p["mix_planned"] = rng.normal(0.0, 0.3, n)
    im = rng.random(n) < 0.05
    p["flag_inconsistent_mapping"] = im.astype(float)
    p["mix_inconsistent"] = rng.normal(0.0, 0.6, n) + np.where(im, rng.uniform(1.8, 3.0, n), 0.0)
    unk = rng.random(n) < 0.03
    p["flag_unknown_mode"] = unk.astype(float)
    p["mix_unmapped"] = rng.normal(0.0, 0.4, n) + np.where(unk, rng.uniform(1.6, 3.0, n), 0.0)
    p["unknown_mode_logit"] = rng.normal(-1.3, 1.4, n) + np.where(unk, rng.uniform(1.5, 3.0, n), 0.0)
    # other practice effects
    p["video_logit"] = rng.normal(0.0, 1.3, n)
    p["dna_logit"] = rng.normal(0.0, 0.35, n)
    p["unknown_status_logit"] = rng.normal(-0.35, 0.7, n)
    p["cell_effect"] = _cell_effects(rng, n)
    # how the practice's slot types set mode cell by cell (re-centred each month so that it leaves the
    # practice's expected face-to-face share unchanged: see model.simulate)
    p["cell_f2f_effect"] = rng.normal(0.0, 3.0, (n, 456)).astype(np.float32)
    # the few cells where a practice books video or online consultations (+1.5 there, -3 elsewhere)
    p["cell_video_effect"] = np.where(rng.random((n, 456)) < 0.25, 1.5, -3.0).astype(np.float32)
    return p


# How often a practice uses each national category at all (the rest of its mix is zero there).
CATEGORY_USE = np.array(
    [0.98, 0.97, 0.84, 0.98, 0.97, 0.34, 0.06, 0.79, 0.25, 0.12, 0.41, 0.40, 0.36, 0.29, 0.29, 0.07, 0.33,
     0.69, 0.99]
)  # fmt: skip
UNUSED = -30.0
BAND_SHARPEN = 1.0  # offsets the flattening of band profiles by the practice noise


def _cell_effects(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fixed per-practice log-weight effects on each of the 456 cells (float32, (n, 456)): which categories
    and staff types the practice uses at all, and how its bookings spread over bands. Cells are
    HCP type x category x band, in that nesting order (see model.py)."""
    n_cat, n_band = len(CATEGORY_USE), 8
    uses = rng.random((n, n_cat)) < CATEGORY_USE
    cat_eff = np.where(uses, rng.normal(0.0, 0.5, (n, n_cat)) - np.log(CATEGORY_USE), UNUSED)
    hcp_use = rng.random((n, 3, n_cat)) < np.array([0.7, 0.75, 0.08])[None, :, None]
    hcp_use[:, 2, 17] = rng.random(n) < 0.9  # Unmapped is mostly staff type Unknown
    neither = ~hcp_use[:, 0, :] & ~hcp_use[:, 1, :]
    pick_gp = rng.random((n, n_cat)) < 0.5
    hcp_use[:, 0, :] |= neither & pick_gp
    hcp_use[:, 1, :] |= neither & ~pick_gp
    hcp_eff = np.where(hcp_use, 0.0, UNUSED)  # (n, 3, n_cat)
    # band spread: noisy, but normalised so each (staff type, category) keeps its total weight
    band_eff = rng.normal(0.0, 3.2, (n, 3, n_cat, n_band)) + BAND_SHARPEN * np.log(BAND_GIVEN_CAT)[None, None]
    band_eff -= band_eff.max(axis=3, keepdims=True)
    band_eff -= np.log((np.exp(band_eff) * BAND_GIVEN_CAT[None, None, :, :]).sum(axis=3, keepdims=True))
    eff = band_eff + (cat_eff[:, None, :] + hcp_eff)[:, :, :, None]
    return np.maximum(eff, UNUSED).reshape(n, -1).astype(np.float32)
