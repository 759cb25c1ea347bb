"""Practice profiles and the plan suggestions drawn from them, as the CLI and web use them: each profile reads
the practice's measures, data-quality flags, cohort criteria, local indicators and its telephony and online
consultation context over one snapshot; the named rules in `plans.suggest` turn it into suggested actions.
Every function takes the acting principal (keyword-only), checks its scope and audits the read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from gpaccess.access.principal import Principal
from gpaccess.errors import NotFoundError
from gpaccess.measures.service import MeasureSession
from gpaccess.plans.suggest import AE, NHS111, PracticeProfile, Suggestion, suggest
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read
from gpaccess.storage.periods import month_key

PROFILE_MEASURES = (
    "f2f_gp",
    "f2f_all",
    "appts_per_1000",
    "appts_vs_baseline",
    "dna_rate",
    "unknown_mode_share",
    "unmapped_share",
    "within_14_days",
    "same_day_share",
    "telephone_share",
    "video_online_share",
)


def _typical(table: pd.DataFrame, columns: Iterable[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for c in columns:
        if c in table:
            known = pd.to_numeric(table[c], errors="coerce").dropna()
            out[c] = float(known.median()) if len(known) else None
    return out


def _latest_period(session: MeasureSession, source: str) -> str | None:
    snap = session.snapshot
    if not snap.has(source):
        return None
    window_end = month_key(max(session.months))
    periods = sorted(p for p in snap.periods(source) if p <= window_end)
    return periods[-1] if periods else None


def _context_rows(session: MeasureSession, source: str, codes: list[str], columns: list[str]) -> pd.DataFrame:
    period = _latest_period(session, source)
    if period is None:
        return pd.DataFrame(columns=["practice_code", *columns])
    t = session.snapshot.table(source, periods=[period])
    t = t.filter(t.practice_code.isin(codes)).select("practice_code", *columns)
    return t.to_pandas().assign(period=period)


def practice_profiles(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    session: MeasureSession,
    criteria_met: Mapping[str, list[str]] | None = None,
    practice_codes: Iterable[str] | None = None,
) -> dict[str, PracticeProfile]:
    """The profile the suggestion rules read, for the ICB's practices (or some of them), from one snapshot:
    window measures, data-quality flags, the cohort's criteria met, local indicators, telephony and online
    consultations in the latest month of the window, and the ICB's typical (median) practice as context."""
    from gpaccess.cohort.local_view import latest_local
    from gpaccess.cohort.run import local_indicators

    code = principal.require_icb(icb_code)
    table = session.icb_table(code)
    typical = _typical(table, PROFILE_MEASURES)
    wanted = list(table.practice_code) if practice_codes is None else [c.upper() for c in practice_codes]
    rows = table[table.practice_code.isin(wanted)]
    quality = session.quality(app.exclusion_settings(), list(rows.practice_code)).set_index("practice_code")
    local, _periods = latest_local(local_indicators(session.snapshot, code))
    local = local.set_index("practice_code") if "practice_code" in local else local
    local_typical = _typical(local, (NHS111, AE))
    phones = _context_rows(session, "telephony", wanted, ["inbound", "answered", "missed", "callback_requested"])
    phones = phones.drop_duplicates("practice_code").set_index("practice_code")
    online = _context_rows(session, "online_consultation", wanted, ["rate_per_1000"])
    online = online.drop_duplicates("practice_code").set_index("practice_code")
    telephony_loaded = session.snapshot.has("telephony")
    phone_period = _latest_period(session, "telephony")
    met = criteria_met or {}
    out: dict[str, PracticeProfile] = {}
    for r in rows.itertuples():
        pc = str(r.practice_code)
        phone = None
        if pc in phones.index:
            phone = {k: float(phones.at[pc, k]) for k in ("inbound", "answered", "missed", "callback_requested")}
        online_rate = None
        if pc in online.index and pd.notna(online.at[pc, "rate_per_1000"]):
            online_rate = float(online.at[pc, "rate_per_1000"])
        out[pc] = PracticeProfile(
            practice_code=pc,
            icb_code=code,
            window=session.label,
            measures={m: as_number(getattr(r, m, None)) for m in PROFILE_MEASURES},
            icb_typical=typical,
            quality_flags=tuple(quality.at[pc, "quality_flags"]) if pc in quality.index else (),
            criteria_met=tuple(met.get(pc, ())),
            local={k: as_number(local.at[pc, k]) for k in (NHS111, AE) if k in local and pc in local.index},
            local_typical=local_typical,
            telephony_loaded=telephony_loaded,
            telephony=phone,
            telephony_period=phone_period,
            online_rate_per_1000=online_rate,
            online_period=_latest_period(session, "online_consultation"),
        )
    return out


def as_number(v: object) -> float | None:
    """A figure as a float, or None when it is missing or not a number (never 0 for "not known")."""
    if v is None:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if f != f else f


@dataclass(frozen=True)
class PracticeSuggestions:
    practice_code: str
    practice_name: str
    profile: PracticeProfile
    suggestions: list[Suggestion]


def _cohort_criteria(app: App, icb_code: str, cycle: str) -> tuple[list[str], dict[str, list[str]]]:
    """The selected practices of the ICB's latest stored cohort run for the cycle, and every member's criteria."""
    from gpaccess.cohort import queries as cohort_queries

    with app.plan_session() as db:
        try:
            run = cohort_queries.latest_run(db, icb_code=icb_code, cycle=cycle)
        except NotFoundError:
            run = None
    if run is None:
        return [], {}
    met = {m.practice_code: [str(c) for c in (m.criteria_met or [])] for m in run.members}  # type: ignore[union-attr]
    return sorted(m.practice_code for m in run.members if m.selected), met


def suggest_for_icb(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    cycle: str | None = None,
    practice_codes: Iterable[str] | None = None,
    session: MeasureSession | None = None,
    criteria_met: Mapping[str, list[str]] | None = None,
) -> list[PracticeSuggestions]:
    """Suggestions for the ICB's cohort (the selected practices of its latest stored run for the cycle), or for
    the practices given; in practice-code order."""
    from gpaccess.cohort.run import default_cycle
    from gpaccess.services.measures import measure_session

    code = principal.require_icb(icb_code)
    s = session or measure_session(app)
    cycle_name = cycle or default_cycle(s.months)
    selected, stored_met = _cohort_criteria(app, code, cycle_name)
    met = dict(criteria_met) if criteria_met is not None else stored_met
    wanted = sorted({c.upper() for c in practice_codes}) if practice_codes is not None else selected
    if not wanted:
        raise NotFoundError(
            f"no cohort stored for {code} in {cycle_name!r}: run `gpaccess cohort --icb {code}` first, or name "
            "the practices (--practice)"
        )
    profiles = practice_profiles(
        app, principal=principal, icb_code=code, session=s, criteria_met=met, practice_codes=wanted
    )
    missing = sorted(set(wanted) - set(profiles))
    if missing:
        raise NotFoundError(f"no practice {missing[0]!r} among {code}'s practices in {s.label}")
    names = s.icb_practices(code).set_index("practice_code").practice_name.to_dict()
    out = [PracticeSuggestions(pc, str(names.get(pc, pc)), profiles[pc], suggest(profiles[pc])) for pc in wanted]
    audit_read(
        app,
        principal=principal,
        action="plan.suggested",
        icb_code=code,
        detail={"cycle": cycle_name, "practices": wanted},
    )
    return out
