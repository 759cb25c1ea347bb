"""Support plans as the CLI and web use them: drawing up and changing plans (from the suggestions of
`services.profiles`), showing and exporting them, and cycles. Every function takes the acting principal
(keyword-only), checks its scope and permission, and audits reads of named data. Writes go through
`plans.commands` (change and audit event in one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import NotFoundError, UserError
from gpaccess.measures.definitions import load_measures
from gpaccess.measures.service import MeasureSession
from gpaccess.plans import commands, queries
from gpaccess.plans.catalogue import action_type
from gpaccess.plans.schemas import (
    ActionChange,
    ActionIn,
    CycleOut,
    Decision,
    NoteIn,
    PlanOut,
    ProgressIn,
    ProgressOut,
    SuggestionDecisionIn,
    VersionOut,
)
from gpaccess.plans.suggest import Suggestion
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read
from gpaccess.services.profiles import PracticeSuggestions, as_number
from gpaccess.storage.periods import parse_month

DEFAULT_OWNER = "ICB primary care team"


# -- lessons from the evaluation ------------------------------------------------------------------------------------


def evaluation_lessons(app: App, *, principal: Principal, cycle: str) -> list[dict[str, Any]]:
    """What the evaluation learned from `cycle`: for each action type its plans gave, the estimate pooled over
    the ICBs in the principal's scope (each ICB's aggregate return, `services.evaluation`, pooled by inverse
    variance) as [{action_type, estimate, low, high, unit, practices, icbs, status, showed_effect}];
    `showed_effect` is true where the 95% interval excludes no change. Empty where the cycle has no supported
    action or too little to estimate (`LESSONS_NONE` says so); `cycle new --from` stores what this returns."""
    from gpaccess.evaluation.pooling import pool_returns
    from gpaccess.services import evaluation as evaluation_service

    principal.require(Permission.READ_AGGREGATES)
    with app.plan_session() as db:
        rows = [r for r in queries.supported_actions(db, cycle=cycle) if principal.sees_icb(r.icb_code)]
    support = evaluation_service.records_from_plans(rows)
    returns = []
    for icb in sorted({r.icb_code for r in rows}):
        try:
            run = evaluation_service.evaluate(app, principal=principal, icb_code=icb, support=support)
        except NotFoundError:  # no outcome data for the ICB in the store
            continue
        rows_returned = run.evaluation.return_rows()
        if not rows_returned.empty:
            returns.append(rows_returned)
    if not returns:
        return []
    pooled = pool_returns(pd.concat(returns, ignore_index=True))
    return [
        {
            "action_type": str(r.action),
            "estimate": as_number(r.effect),
            "low": as_number(r.lower),
            "high": as_number(r.upper),
            "unit": str(r.unit),
            "practices": int(r.practices),
            "icbs": int(r.icbs),
            "status": str(r.status),
            "showed_effect": bool(r.lower > 0 or r.upper < 0),
            "from_cycle": cycle,
        }
        for r in pooled.itertuples()
    ]


LESSONS_NONE = (
    "no lessons: too little to estimate (fewer than 5 practices with an action type and outcome months "
    "after its start in the store; see `gpaccess evaluate`)"
)


def draft_action(suggestion: Suggestion, *, start: date, due: date | None, owner: str = DEFAULT_OWNER) -> ActionIn:
    """An accepted suggestion as an action: the catalogue's title and the suggestion's reason, its first measure."""
    kind = action_type(suggestion.action_type)
    primary = kind.primary_measure
    return ActionIn(
        action_type=kind.key,
        description=f"{kind.title}. {suggestion.reason}",
        owner=owner,
        start=start,
        due=due,
        outcome_measure=primary.measure,
        expected_change=primary.change,  # type: ignore[arg-type]
    )


# -- plans ------------------------------------------------------------------------------------------------------

SUMMARY = "Patients of {name} can get the care they need, when they need it, by a route that suits them."


def create_plan(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    practice: PracticeSuggestions,
    cycle: str,
    accept: Iterable[str] | None = None,
    reject: Mapping[str, str] | None = None,
    edit: Mapping[str, str] | None = None,
    extra: Iterable[str] = (),
    owner: str = DEFAULT_OWNER,
    starts: date | None = None,
    summary: str | None = None,
) -> int:
    """Draw up a practice's plan from its suggestions: `accept` the action types to take up (None: every
    suggestion not rejected), `reject` others with a reason each (kept), `edit` accepted ones with the
    description agreed instead (recorded as edited), `extra` action types not suggested.
    Every suggestion must be decided: one neither accepted nor rejected is refused, so nothing is applied
    without the analyst's say."""
    code = principal.require_icb(icb_code)
    principal.require(Permission.EDIT_PLANS)
    rejected = {k: v for k, v in (reject or {}).items()}
    suggested = {s.action_type: s for s in practice.suggestions}
    unknown = sorted((set(rejected) | set(accept or ()) | set(edit or {})) - set(suggested))
    if unknown:
        raise UserError(f"{', '.join(unknown)} was not suggested for {practice.practice_code}: add it with --add")
    accepted = [k for k in suggested if k not in rejected] if accept is None else list(dict.fromkeys(accept))
    undecided = [k for k in suggested if k not in accepted and k not in rejected]
    if undecided:
        raise UserError(
            f"decide on every suggestion for {practice.practice_code}: {', '.join(undecided)} "
            "neither accepted nor rejected (--accept TYPE or --reject TYPE=REASON)"
        )
    with app.plan_session() as db:
        cycle_row = queries.cycle(db, cycle)
    start = (starts or cycle_row.starts).replace(day=1)
    due = cycle_row.ends
    edited = dict(edit or {})
    actions = [draft_action(suggested[k], start=start, due=due, owner=owner) for k in accepted]
    for i, k in enumerate(accepted):
        if k in edited:
            actions[i] = actions[i].model_copy(update={"description": edited[k]})
    for k in extra:
        kind = action_type(k)
        actions.append(
            draft_action(Suggestion("added by the analyst", k, kind.problem), start=start, due=due, owner=owner)
        )
    decisions = [
        SuggestionDecisionIn(
            rule=s.rule,
            action_type=s.action_type,
            reason=s.reason,
            decision=Decision.REJECTED
            if s.action_type in rejected
            else Decision.EDITED
            if s.action_type in edited
            else Decision.ACCEPTED,
            decision_reason=rejected.get(s.action_type),
        )
        for s in practice.suggestions
    ]
    if not actions:
        raise UserError(f"a plan for {practice.practice_code} needs at least one action")
    with app.plan_session() as db:
        return commands.create_plan(
            db,
            icb_code=code,
            practice_code=practice.practice_code,
            cycle=cycle,
            starts=start,
            summary=summary or SUMMARY.format(name=_title_name(practice.practice_name)),
            actions=actions,
            decisions=decisions,
            user=principal.actor,
        )


def _title_name(name: str) -> str:
    return name.title() if name.isupper() else name


@dataclass(frozen=True)
class PlanView:
    plan: PlanOut
    cycle: CycleOut
    versions: list[VersionOut]
    progress: list[ProgressOut]
    practice_name: str = ""


def _visible_plan(app: App, principal: Principal, plan_id: int) -> tuple[PlanOut, CycleOut]:
    with app.plan_session() as db:
        try:
            plan = queries.plan_by_id(db, plan_id)
        except NotFoundError:
            raise NotFoundError(f"no plan {plan_id}") from None
        cycle = queries.cycle(db, plan.cycle_name)
    try:
        principal.require_practice(plan.practice_code, plan.icb_code)
    except NotFoundError:
        raise NotFoundError(f"no plan {plan_id}") from None  # another ICB's plan: answered as a missing one
    return plan, cycle


def find_plan(app: App, *, principal: Principal, practice_code: str, cycle: str) -> int:
    """The id of a practice's plan for a cycle (NotFoundError, in the same words, for none or out of scope)."""
    with app.plan_session() as db:
        plan = queries.plan_for(db, practice_code=practice_code, cycle=cycle)
    if plan is None or not principal.sees_practice(plan.practice_code, plan.icb_code):
        raise NotFoundError(f"no plan for {practice_code.upper()} in {cycle!r}")
    return plan.id


def show_plan(app: App, *, principal: Principal, plan_id: int) -> PlanView:
    """A plan with its versions and latest progress (a practice user sees their own practice's only)."""
    plan, cycle = _visible_plan(app, principal, plan_id)
    with app.plan_session() as db:
        history = queries.versions(db, plan_id)
        progress = queries.latest_progress(db, plan_id)
    audit_read(
        app, principal=principal, action="plan.read", icb_code=plan.icb_code, object_type="plan", object_id=plan_id
    )
    return PlanView(plan, cycle, history, progress)


def practice_plans(app: App, *, principal: Principal, practice_code: str) -> list[PlanView]:
    """A practice's plans, earliest cycle first, each with its versions and latest progress; none for a practice
    out of scope (so the caller answers as for a practice without plans)."""
    code = practice_code.strip().upper()
    principal.require(Permission.READ_NAMED)
    with app.plan_session() as db:
        found = queries.plans(db, icb_codes=None, practice_codes=[code]) if queries.has_plans(db, code) else []
    return [
        show_plan(app, principal=principal, plan_id=p.id)
        for p in found
        if principal.sees_practice(p.practice_code, p.icb_code)
    ]


def visible_practice(app: App, *, principal: Principal, practice_code: str) -> str:
    """The practice's code if the store knows it and the principal may see it; otherwise the same
    `NotFoundError` for a missing practice and one outside scope."""
    from gpaccess.services.measures import measure_session

    code = practice_code.strip().upper()
    directory = measure_session(app).directory()
    known = directory[directory.practice_code == code]
    icb = None if known.empty or pd.isna(known.icb_code.iloc[0]) else str(known.icb_code.iloc[0])
    return principal.require_practice(code, icb)


def known_practice_plans(app: App, *, principal: Principal, practice_code: str) -> list[PlanView]:
    """`practice_plans` for a practice the store knows and the principal may see (none is an empty list);
    a practice not in the store or outside scope is the same `NotFoundError` (the API's answer for both)."""
    code = visible_practice(app, principal=principal, practice_code=practice_code)
    return practice_plans(app, principal=principal, practice_code=code)


def list_plans(
    app: App, *, principal: Principal, icb_code: str, cycle: str | None = None, open_only: bool = False
) -> list[PlanOut]:
    code = principal.require_icb(icb_code)
    with app.plan_session() as db:
        found = queries.plans(db, icb_codes=[code], cycle=cycle, open_only=open_only)
    audit_read(app, principal=principal, action="plan.listed", icb_code=code, detail={"cycle": cycle})
    return found


def update_plan(
    app: App,
    *,
    principal: Principal,
    plan_id: int,
    expected_version: int,
    reason: str,
    status: str | None = None,
    note: str | None = None,
    note_action: int | None = None,
    action_status: Mapping[int, str] | None = None,
    action_fields: Mapping[int, Mapping[str, str]] | None = None,
    add: Iterable[str] = (),
    owner: str = DEFAULT_OWNER,
) -> int:
    """Save a change to a plan made from the version the user read; refused (`PlanConflictError`) if someone
    saved it since. A practice user may only add notes (comment) on their own practice's plan. Returns the new
    version, or `expected_version` itself when the change leaves the plan as it was (nothing is saved)."""
    plan, cycle = _visible_plan(app, principal, plan_id)
    add = list(add)
    edits = status is not None or bool(action_status) or bool(action_fields) or bool(add)
    principal.require(
        Permission.EDIT_PLANS if edits or not principal.can(Permission.COMMENT_PLANS) else Permission.COMMENT_PLANS
    )
    start = max(plan.starts, date.today().replace(day=1))
    added = [
        draft_action(
            Suggestion("added by the analyst", k, action_type(k).problem),
            start=start,
            due=cycle.ends if cycle.ends >= start else None,
            owner=owner,
        )
        for k in add
    ]
    with app.plan_session() as db:
        return commands.update_plan(
            db,
            plan_id=plan_id,
            icb_code=plan.icb_code,
            expected_version=expected_version,
            reason=reason,
            status=status,
            add_actions=added,
            changes=_changes(action_status or {}, action_fields or {}),
            note=None if note is None else NoteIn(text=note, action_id=note_action),
            user=principal.actor,
        )


EDITABLE = (
    "description",
    "owner",
    "start",
    "due",
    "status",
    "funding_source",
    "funding_amount",
    "outcome_measure",
    "expected_change",
    "notes",
)


def _changes(statuses: Mapping[int, str], fields: Mapping[int, Mapping[str, str]]) -> list[ActionChange]:
    """Each action's changes (status, and any field given as text) as one validated change per action."""
    out = []
    for action_id in sorted(set(statuses) | set(fields)):
        data: dict[str, Any] = dict(fields.get(action_id, {}))
        bad = sorted(set(data) - set(EDITABLE))
        if bad:
            raise UserError(f"action {action_id}: {', '.join(bad)} cannot be changed; fields: {', '.join(EDITABLE)}")
        if action_id in statuses:
            data["status"] = statuses[action_id]
        measure = data.get("outcome_measure")
        if measure and measure not in load_measures():
            raise UserError(f"action {action_id}: no measure {measure!r}; measures: {', '.join(load_measures())}")
        data = {k: (None if v == "" else v) for k, v in data.items()}
        try:
            out.append(ActionChange(action_id=action_id, **data))
        except ValidationError as exc:
            problems = "; ".join(
                (f"{'.'.join(str(x) for x in e['loc'])}: " if e["loc"] else "") + e["msg"] for e in exc.errors()
            )
            raise UserError(f"action {action_id}: {problems}") from exc
    return out


# -- cycles -----------------------------------------------------------------------------------------------------


def list_cycles(app: App, *, principal: Principal) -> list[tuple[CycleOut, int]]:
    """Every cycle, latest first, with how many plans it holds (in the principal's scope)."""
    principal.require(Permission.READ_NAMED)
    with app.plan_session() as db:
        found = queries.cycles(db)
        plans = queries.plans(db, icb_codes=None)
    counts: dict[str, int] = {}
    for p in plans:
        if principal.sees_icb(p.icb_code):
            counts[p.cycle_name] = counts.get(p.cycle_name, 0) + 1
    return [(c, counts.get(c.name, 0)) for c in found]


def new_cycle(
    app: App, *, principal: Principal, name: str, start: str, end: str, from_cycle: str | None = None
) -> commands.CycleStarted:
    """`gpaccess cycle new NAME --start YYYY-MM --end YYYY-MM [--from OLD]`: start a cycle (or fill one a cohort
    run made that has no plans yet), carrying forward the old cycle's open actions and the evaluation's lessons."""
    principal.require(Permission.EDIT_PLANS)
    starts, ends = parse_month(start), parse_month(end)
    if starts is None or ends is None:
        raise UserError(f"--start and --end take YYYY-MM months (got {start!r}, {end!r})")
    last_day = (pd.Timestamp(ends) + pd.offsets.MonthEnd(0)).date()
    lessons = evaluation_lessons(app, principal=principal, cycle=from_cycle) if from_cycle else []
    with app.plan_session() as db:
        return commands.start_cycle(
            db, name=name, starts=starts, ends=last_day, from_cycle=from_cycle, lessons=lessons, user=principal.actor
        )


@dataclass
class SupportHistory:
    """Which practices were supported in earlier cycles, and with what (for a cohort run of a new cycle)."""

    by_practice: dict[str, list[str]] = field(default_factory=dict)  # practice -> ["winter 2025/26: title", ...]


def support_history(app: App, *, principal: Principal, icb_code: str, before: str | None = None) -> SupportHistory:
    """Every earlier cycle's actions for the ICB's practices (all cycles except `before`)."""
    code = principal.require_icb(icb_code)
    with app.plan_session() as db:
        rows = queries.supported_actions(db, icb_codes=[code])
    out = SupportHistory()
    for r in rows:
        if r.cycle == before:
            continue
        out.by_practice.setdefault(r.practice_code, []).append(f"{r.cycle}: {action_type(r.action_type).title}")
    return out


# -- support packs and exports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFiles:
    html: Path
    pdf: Path | None
    csv: Path


def pack_data(
    app: App,
    *,
    principal: Principal,
    plan_id: int,
    session: MeasureSession | None = None,
    verdicts: Iterable[ProgressIn] | None = None,
):
    """Everything a practice's support pack shows, from one snapshot (a `publication.support_pack.PackData`);
    `verdicts`, when given, are the plan's outcome verdicts just computed from the same snapshot."""
    from gpaccess.publication.support_pack import ActionView, OutcomeView, PackData
    from gpaccess.services.measures import measure_session
    from gpaccess.services.progress import plan_verdicts

    plan, _cycle = _visible_plan(app, principal, plan_id)
    s = session or measure_session(app)
    names = s.directory().set_index("practice_code").practice_name.to_dict()
    stated = {a.outcome_measure: (a.expected_change.value if a.expected_change else None) for a in plan.actions}
    outcomes = []
    for found in plan_verdicts(s, plan) if verdicts is None else verdicts:
        m = s.measure(found.measure)
        direction = found.detail.get("direction", "neutral")
        outcomes.append(
            OutcomeView(
                measure=m.name,
                title=m.title,
                definition=m.definition,
                percent=m.kind == "share",
                verdict=found.verdict,
                detail=found.detail,
                expected_change=stated.get(m.name) if direction != "neutral" else None,
            )
        )
    f2f = None
    try:
        table = s.comparison("f2f_gp").table
        row = table[table.practice_code == plan.practice_code]
        if len(row) and pd.notna(row.expected_share.iloc[0]):
            f2f = {"observed": float(row.observed_share.iloc[0]), "expected": float(row.expected_share.iloc[0])}
    except UserError:
        f2f = None
    history = support_history(app, principal=principal, icb_code=plan.icb_code, before=plan.cycle_name)
    actions = []
    for a in plan.actions:
        kind = action_type(a.action_type)
        funding = ", ".join(x for x in (a.funding_source, f"£{a.funding_amount:,.2f}" if a.funding_amount else "") if x)
        actions.append(
            ActionView(
                title=kind.title,
                description=a.description,
                problem=kind.problem,
                owner=a.owner,
                start=a.start,
                due=a.due,
                status=a.status.value,
                funding=funding,
                measure=s.measure(a.outcome_measure).title,
            )
        )
    return PackData(
        practice_code=plan.practice_code,
        practice_name=_title_name(str(names.get(plan.practice_code, plan.practice_code))),
        icb_code=plan.icb_code,
        cycle=plan.cycle_name,
        plan_id=plan.id,
        plan_version=plan.version,
        plan_status=plan.status.value,
        summary=plan.summary,
        starts=plan.starts,
        actions=actions,
        outcomes=outcomes,
        notes=[{"at": f"{n.at:%Y-%m-%d}", "by": n.by, "text": n.text} for n in plan.notes],
        generated_on=date.today(),
        f2f_context=f2f,
        window=s.label,
        history=history.by_practice.get(plan.practice_code, []),
    )


def plan_table(plan: PlanOut) -> pd.DataFrame:
    """The plan's actions as rows (the plan export's CSV), in the plan's order."""
    return pd.DataFrame(
        [
            {
                "plan_id": plan.id,
                "version": plan.version,
                "practice_code": plan.practice_code,
                "icb_code": plan.icb_code,
                "cycle": plan.cycle_name,
                "plan_status": plan.status.value,
                "action_id": a.id,
                "action_type": a.action_type,
                "action": action_type(a.action_type).title,
                "description": a.description,
                "owner": a.owner,
                "start": a.start.isoformat(),
                "due": a.due.isoformat() if a.due else "",
                "status": a.status.value,
                "funding_source": a.funding_source or "",
                "funding_amount": "" if a.funding_amount is None else str(a.funding_amount),
                "outcome_measure": a.outcome_measure,
                "expected_change": a.expected_change.value if a.expected_change else "no direction",
            }
            for a in plan.actions
        ]
    )


def export_plan(
    app: App,
    *,
    principal: Principal,
    plan_id: int,
    folder: Path,
    pdf: bool = True,
    session: MeasureSession | None = None,
    verdicts: Iterable[ProgressIn] | None = None,
) -> ExportFiles:
    """The practice's support pack (HTML, and PDF unless `pdf` is False) and the plan's actions as CSV."""
    from gpaccess.publication.exports import write_csv
    from gpaccess.publication.support_pack import write_pack

    data = pack_data(app, principal=principal, plan_id=plan_id, session=session, verdicts=verdicts)
    files = write_pack(data, folder, pdf=pdf)
    plan, _cycle = _visible_plan(app, principal, plan_id)
    csv = write_csv(plan_table(plan), folder / f"{plan.practice_code}_plan.csv")
    audit_read(
        app,
        principal=principal,
        action="plan.exported",
        icb_code=plan.icb_code,
        object_type="plan",
        object_id=plan_id,
        detail={"folder": str(folder), "pdf": pdf},
    )
    return ExportFiles(files.html, files.pdf, csv)
