"""Suggestions from a practice's own profile: named, pure rules, each proposing actions with a plain reason.

The profile is built by `services` from the practice's measures, data-quality flags, mode mix, telephony and
online-consultation context, local indicators and the cohort's criteria; the rules here only read it. The
analyst accepts, edits or rejects each suggestion: nothing is applied automatically, and a rejection is kept
with its reason (`plans.commands.create_plan`).

The rules run in order and the first to propose an action type gives its reason, so the order is the advice:
recording support first when the data are unreliable (the low figure may be a recording artefact), capacity
before mode when patients are not getting appointments. Comparisons are with the practice's own figures, its
baseline, and its ICB's typical (median) practice as context: never a position among practices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gpaccess.plans.catalogue import action_type

# Thresholds, named so the reasons and the docs can state them.
UNKNOWN_MODE_HIGH = 0.05  # Unknown mode: about 2.3% of appointments nationally (domain.md B10, May 2025)
UNMAPPED_HIGH = 0.20  # Unmapped + Inconsistent Mapping: about 11% of a region's appointments (domain.md B5)
BELOW_BASELINE = 0.90  # appointments per 1,000 under 90% of the same months of the baseline year
HIGHER_THAN_TYPICAL = 1.20  # a local rate 20% above the ICB's typical practice
MISSED_CALLS_HIGH = 0.20  # a fifth of inbound calls missed
ONLINE_LOW_PER_1000 = 10.0  # online consultation submissions per 1,000 patients a month
DNA_ABOVE_TYPICAL = 0.01  # a DNA rate one percentage point above the ICB's typical practice
SEVERAL = 3  # criteria met at once: intensive support

NHS111 = "nhs111_in_hours_per_1000"
AE = "ae_attendances_per_1000"


@dataclass(frozen=True)
class PracticeProfile:
    """What the rules read about one practice (built by `services.profiles.practice_profiles`)."""

    practice_code: str
    icb_code: str
    window: str  # e.g. "Aug–Oct 2025"
    measures: Mapping[str, float | None]  # window values by measure name (None: not assessed)
    icb_typical: Mapping[str, float | None] = field(default_factory=dict)  # the ICB's median practice, context only
    quality_flags: tuple[str, ...] = ()
    criteria_met: tuple[str, ...] = ()  # the cohort's criteria this practice met
    local: Mapping[str, float | None] = field(default_factory=dict)  # local indicators per 1,000 a month
    local_typical: Mapping[str, float | None] = field(default_factory=dict)
    telephony_loaded: bool = False  # the store holds cloud telephony data at all
    telephony: Mapping[str, float] | None = None  # this practice's latest month: inbound, answered, missed, ...
    telephony_period: str | None = None
    online_rate_per_1000: float | None = None
    online_period: str | None = None


@dataclass(frozen=True)
class Suggestion:
    rule: str
    action_type: str
    reason: str

    @property
    def title(self) -> str:
        return action_type(self.action_type).title


Rule = Callable[[PracticeProfile], list[Suggestion]]


def _value(mapping: Mapping[str, float | None], key: str) -> float | None:
    v = mapping.get(key)
    return None if v is None or v != v else float(v)  # NaN is "not assessed", never a number


def recording_first(p: PracticeProfile) -> list[Suggestion]:
    unknown = _value(p.measures, "unknown_mode_share")
    unmapped = _value(p.measures, "unmapped_share")
    parts = []
    if unknown is not None and unknown >= UNKNOWN_MODE_HIGH:
        parts.append(f"{unknown:.0%} of its appointments have no recorded mode (Unknown)")
    if unmapped is not None and unmapped >= UNMAPPED_HIGH:
        parts.append(f"{unmapped:.0%} are unmapped or inconsistently mapped")
    if not parts:
        return []
    reason = (
        f"Over {p.window}, {' and '.join(parts)}: the practice's figures may partly be a recording artefact, so "
        "recording support comes first and the other measures are read once the recording is sound."
    )
    return [Suggestion("recording_first", "recording_support", reason)]


def capacity_before_mode(p: PracticeProfile) -> list[Suggestion]:
    use = _value(p.local, NHS111)
    typical_use = _value(p.local_typical, NHS111)
    high_111 = "high_111_use" in p.criteria_met or (
        use is not None and typical_use is not None and use > HIGHER_THAN_TYPICAL * typical_use
    )
    rate = _value(p.measures, "appts_per_1000")
    typical_rate = _value(p.icb_typical, "appts_per_1000")
    low_rate = "appointments_below_baseline" in p.criteria_met or (
        rate is not None and typical_rate is not None and rate < typical_rate
    )
    if not (high_111 and low_rate):
        return []
    use_text = f"{use:,.1f} in-hours NHS 111 contacts per 1,000 patients" if use is not None else "high NHS 111 use"
    rate_text = (
        f"{rate:,.0f} appointments per 1,000 patients a month (the ICB's typical practice: {typical_rate:,.0f})"
        if rate is not None and typical_rate is not None
        else "fewer appointments than before the pandemic"
    )
    reason = (
        f"Patients use NHS 111 in surgery hours ({use_text}) while the practice offers {rate_text}: patients may "
        "not be getting appointments, so capacity comes before how appointments are offered."
    )
    return [
        Suggestion("capacity_before_mode", "extra_sessions_locums", reason),
        Suggestion("capacity_before_mode", "additional_roles", reason),
    ]


def below_baseline(p: PracticeProfile) -> list[Suggestion]:
    ratio = _value(p.measures, "appts_vs_baseline")
    if "appointments_below_baseline" not in p.criteria_met and (ratio is None or ratio >= BELOW_BASELINE):
        return []
    shown = f"{ratio:.0%} of" if ratio is not None else "below"
    reason = (
        f"Over {p.window} the practice offered {shown} the appointments per 1,000 patients of the same months "
        "before the pandemic: extra sessions would bring patients' access back towards that level."
    )
    return [Suggestion("below_baseline", "extra_sessions_locums", reason)]


def urgent_demand_elsewhere(p: PracticeProfile) -> list[Suggestion]:
    value = _value(p.local, AE)
    typical = _value(p.local_typical, AE)
    high = "high_ae_use" in p.criteria_met or (
        value is not None and typical is not None and value > HIGHER_THAN_TYPICAL * typical
    )
    if not high:
        return []
    shown = f" ({value:,.1f} A&E attendances per 1,000 patients)" if value is not None else ""
    reason = (
        f"The practice's patients attend A&E more than its ICB's typical practice's{shown}: more same-day "
        "capacity, at the practice or a hub, and community pharmacy for minor illness, give them another route."
    )
    return [
        Suggestion("urgent_demand_elsewhere", "extended_hours_hubs", reason),
        Suggestion("urgent_demand_elsewhere", "community_pharmacy", reason),
    ]


def getting_through(p: PracticeProfile) -> list[Suggestion]:
    if not p.telephony_loaded:
        return []  # no telephony data at all: not assessed, nothing suggested
    if p.telephony is None:
        reason = (
            f"The practice has no cloud telephony figures for {p.telephony_period or 'the latest month'}: it may "
            "still use an analogue phone system (ask the practice); cloud telephony with call-back helps patients "
            "get through."
        )
        return [Suggestion("getting_through", "cloud_telephony", reason)]
    inbound = float(p.telephony.get("inbound") or 0.0)
    missed = float(p.telephony.get("missed") or 0.0)
    if inbound <= 0 or missed / inbound < MISSED_CALLS_HIGH:
        return []
    reason = (
        f"{missed / inbound:.0%} of {inbound:,.0f} inbound calls were missed in {p.telephony_period}: call-back and "
        "queue handling would help patients get through."
    )
    return [Suggestion("getting_through", "cloud_telephony", reason)]


def online_route(p: PracticeProfile) -> list[Suggestion]:
    rate = p.online_rate_per_1000
    if rate is None or rate >= ONLINE_LOW_PER_1000:
        return []
    reason = (
        f"{rate:,.1f} online consultation submissions per 1,000 patients in {p.online_period}: a working online "
        "route with triage and care navigation gives patients a way in besides the phone."
    )
    return [
        Suggestion("online_route", "online_consultation", reason),
        Suggestion("online_route", "care_navigation", reason),
    ]


def missed_appointments(p: PracticeProfile) -> list[Suggestion]:
    dna = _value(p.measures, "dna_rate")
    typical = _value(p.icb_typical, "dna_rate")
    if dna is None or typical is None or dna < typical + DNA_ABOVE_TYPICAL:
        return []
    reason = (
        f"{dna:.1%} of appointments with a known status were missed over {p.window} (the ICB's typical practice: "
        f"{typical:.1%}): clearer communication and easy cancelling free those appointments for other patients."
    )
    return [Suggestion("missed_appointments", "patient_communications", reason)]


def mode_mix_support(p: PracticeProfile) -> list[Suggestion]:
    if "f2f_gp_low" not in p.criteria_met:
        return []
    reason = (
        "The GP face-to-face share is lower than expected for the practice's appointment mix. Hands-on support "
        "helps the practice understand its demand and how patients are offered appointments; the practice decides "
        "the right mix for its patients (there is no face-to-face target)."
    )
    return [
        Suggestion("mode_mix_support", "improvement_intermediate", reason),
        Suggestion("mode_mix_support", "peer_support", reason),
    ]


def several_at_once(p: PracticeProfile) -> list[Suggestion]:
    if len(p.criteria_met) < SEVERAL:
        return []
    reason = (
        f"The practice met {len(p.criteria_met)} of the cohort's criteria at once: sustained, tailored support "
        "with a practice-level improvement plan fits better than separate pieces."
    )
    return [Suggestion("several_at_once", "improvement_intensive", reason)]


def universal_offer(p: PracticeProfile) -> list[Suggestion]:
    reason = "Offered to every practice in the cohort: the national guides and webinars on improving access."
    return [Suggestion("universal_offer", "improvement_universal", reason)]


RULES: tuple[Rule, ...] = (
    recording_first,
    capacity_before_mode,
    below_baseline,
    urgent_demand_elsewhere,
    getting_through,
    online_route,
    missed_appointments,
    mode_mix_support,
    several_at_once,
    universal_offer,
)


def suggest(profile: PracticeProfile, rules: tuple[Rule, ...] = RULES) -> list[Suggestion]:
    """Every rule's suggestions in rule order, one per action type (the first rule to propose it gives the reason)."""
    out: dict[str, Suggestion] = {}
    for rule in rules:
        for s in rule(profile):
            action_type(s.action_type)  # a rule never proposes something the catalogue lacks
            out.setdefault(s.action_type, s)
    return list(out.values())
