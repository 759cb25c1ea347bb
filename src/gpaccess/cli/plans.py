"""`gpaccess plan`, `gpaccess progress` and `gpaccess cycle`: support plans drawn up from suggestions, tracked
month by month and carried into the next cycle. Thin: each command parses, calls `services.plans` /
`services.progress` with the CLI's principal, and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gpaccess.cli import commands
from gpaccess.errors import UserError

out = commands.console()
plan_app = typer.Typer(help="Support plans: suggest, create, show, update, export.", no_args_is_help=True)
cycle_app = typer.Typer(help="Support cycles (e.g. 'winter 2025/26'): new, list.", no_args_is_help=True)

Icb = Annotated[str, typer.Option(help="ICB code, e.g. QSL.")]
Cycle = Annotated[str | None, typer.Option(help="Support cycle (default: the winter after the latest window).")]


def register(root: typer.Typer) -> None:
    root.add_typer(plan_app, name="plan")
    root.add_typer(cycle_app, name="cycle")
    root.command(name="progress")(progress)


def _cycle_name(c: commands.Context, cycle: str | None) -> str:
    if cycle:
        return cycle
    from gpaccess.cohort.run import default_cycle
    from gpaccess.services.measures import measure_session

    return default_cycle(measure_session(c.app).months)


@plan_app.command()
def suggest(
    ctx: typer.Context,
    icb: Icb,
    practice: Annotated[list[str] | None, typer.Option(help="Practice code(s) (default: the ICB's cohort).")] = None,
    cycle: Cycle = None,
) -> None:
    """Suggest actions for each practice of the ICB's cohort (or the practices named), each with its reason.
    Nothing is applied: `gpaccess plan create` takes the ones you accept."""
    from gpaccess.services import profiles

    c = commands.get(ctx)
    found = profiles.suggest_for_icb(c.app, principal=c.principal, icb_code=icb, cycle=cycle, practice_codes=practice)
    for p in found:
        t = Table("action type", "suggested", "why", title=f"{p.practice_code} {p.practice_name}", title_justify="left")
        for s in p.suggestions:
            t.add_row(s.action_type, s.title, s.reason)
        out.print(t)


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    found = {}
    for v in values or []:
        key, sep, reason = v.partition("=")
        if not sep or not reason.strip():
            raise UserError(f"{what} {v!r}: give TYPE=REASON (a rejection keeps its reason)")
        found[key.strip()] = reason.strip()
    return found


@plan_app.command()
def create(
    ctx: typer.Context,
    icb: Icb,
    practice: Annotated[str, typer.Option(help="Practice code.")],
    cycle: Cycle = None,
    accept: Annotated[
        list[str] | None, typer.Option(help="A suggested action type to take up ('all': every one not rejected).")
    ] = None,
    reject: Annotated[list[str] | None, typer.Option(help="TYPE=REASON: a suggestion turned down (kept).")] = None,
    edit: Annotated[
        list[str] | None, typer.Option(help="TYPE=DESCRIPTION: a suggestion taken up with the description agreed.")
    ] = None,
    add: Annotated[list[str] | None, typer.Option(help="An action type that was not suggested.")] = None,
    owner: Annotated[str, typer.Option(help="Who leads the actions.")] = "ICB primary care team",
) -> None:
    """Draw up a practice's plan from its suggestions: every suggestion accepted, edited or rejected (with a
    reason)."""
    from gpaccess.services import plans as service
    from gpaccess.services import profiles

    c = commands.get(ctx)
    if not accept and not reject and not edit:
        raise UserError("say which suggestions to take up: --accept TYPE (or --accept all) and --reject TYPE=REASON")
    cycle_name = _cycle_name(c, cycle)
    (found,) = profiles.suggest_for_icb(
        c.app, principal=c.principal, icb_code=icb, cycle=cycle_name, practice_codes=[practice]
    )
    edits = _pairs(edit, "--edit")
    accepted = None if accept == ["all"] else [*(accept or []), *edits]
    plan_id = service.create_plan(
        c.app,
        principal=c.principal,
        icb_code=icb,
        practice=found,
        cycle=cycle_name,
        accept=accepted,
        reject=_pairs(reject, "--reject"),
        edit=edits,
        extra=add or [],
        owner=owner,
    )
    out.print(f"plan {plan_id} for {found.practice_code} in {cycle_name}: version 1, recorded by {c.user}")


@plan_app.command()
def show(
    ctx: typer.Context,
    plan_id: Annotated[int | None, typer.Argument(help="The plan's id.")] = None,
    practice: Annotated[str | None, typer.Option(help="Or: the practice's code (with --cycle).")] = None,
    cycle: Cycle = None,
    history: Annotated[bool, typer.Option(help="Also list every version with who, when and why.")] = False,
) -> None:
    """A plan: its actions, notes, the suggestions decided, its latest progress and (with --history) versions."""
    from gpaccess.services import plans as service

    c = commands.get(ctx)
    if plan_id is None:
        if not practice:
            raise UserError("give the plan's id, or --practice CODE")
        plan_id = service.find_plan(c.app, principal=c.principal, practice_code=practice, cycle=_cycle_name(c, cycle))
    view = service.show_plan(c.app, principal=c.principal, plan_id=plan_id)
    p = view.plan
    out.print(
        f"[bold]plan {p.id}[/] · {p.practice_code} · {p.icb_code} · {p.cycle_name} · version {p.version} · "
        f"{p.status.value} · from {p.starts:%Y-%m} · last saved by {p.updated_by} {p.updated_at:%Y-%m-%d %H:%M}"
    )
    out.print(p.summary)
    t = Table(
        "id",
        "action",
        "owner",
        "start",
        "due",
        "status",
        "funding",
        "outcome measure",
        title="Actions",
        title_justify="left",
    )
    for a in p.actions:
        funding = " ".join(x for x in (a.funding_source or "", str(a.funding_amount or "")) if x) or "—"
        t.add_row(
            str(a.id),
            a.action_type,
            a.owner,
            a.start.isoformat(),
            a.due.isoformat() if a.due else "open",
            a.status.value,
            funding,
            f"{a.outcome_measure} ({a.expected_change or 'no direction'})",
        )
    out.print(t)
    for s in p.suggestions:
        why = f" — {s.decision_reason}" if s.decision_reason else ""
        out.print(f"  suggestion {s.action_type} ({s.rule}): {s.decision.value}{why}")
    for n in p.notes:
        out.print(f"  note {n.at:%Y-%m-%d} {n.by} (v{n.version}): {n.text}")
    for r in view.progress:
        out.print(
            f"  progress {r.measure}: {r.verdict} ({r.pre_months} months before, {r.post_months} since; "
            f"{r.computed_at:%Y-%m-%d %H:%M})"
        )
    if history:
        for v in view.versions:
            out.print(f"  version {v.version} {v.at:%Y-%m-%d %H:%M:%S} {v.by}: {v.reason}")


@plan_app.command()
def update(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(help="The plan's id.")],
    version: Annotated[int, typer.Option(help="The version you read (`plan show`): refused if saved since.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the new version).")],
    status: Annotated[str | None, typer.Option(help="draft, agreed, closed or withdrawn.")] = None,
    note: Annotated[str | None, typer.Option(help="A progress update or comment.")] = None,
    note_action: Annotated[int | None, typer.Option(help="The action the note is about.")] = None,
    action_status: Annotated[
        list[str] | None, typer.Option(help="ACTION_ID=STATUS (planned, in_progress, done, stopped).")
    ] = None,
    set_field: Annotated[
        list[str] | None,
        typer.Option("--set", help="ACTION_ID.FIELD=VALUE, e.g. 3.owner=Practice manager, 3.funding_amount=5000."),
    ] = None,
    add: Annotated[list[str] | None, typer.Option(help="An action type to add.")] = None,
) -> None:
    """Change a plan: every change is a new version with user, time and reason; a change made from an older
    version than the stored one is refused (someone else saved first), so no update is lost."""
    from gpaccess.services import plans as service

    c = commands.get(ctx)
    statuses = {}
    for k, v in _pairs(action_status, "--action-status").items():
        if not k.isdigit():
            raise UserError(f"--action-status {k}={v}: the action's id is a number (see `plan show`)")
        statuses[int(k)] = v
    fields: dict[int, dict[str, str]] = {}
    for key, value in _pairs(set_field, "--set").items():
        action, dot, name = key.partition(".")
        if not dot or not action.isdigit():
            raise UserError(f"--set {key}={value}: give ACTION_ID.FIELD=VALUE (the action's id: see `plan show`)")
        fields.setdefault(int(action), {})[name] = value
    new = service.update_plan(
        c.app,
        principal=c.principal,
        plan_id=plan_id,
        expected_version=version,
        reason=reason,
        status=status,
        note=note,
        note_action=note_action,
        action_status=statuses,
        action_fields=fields,
        add=add or [],
    )
    if new == version:
        out.print(f"nothing changed: plan {plan_id} is still version {version} (nothing was saved)")
    else:
        out.print(f"plan {plan_id} saved as version {new} by {c.user}")


@plan_app.command()
def export(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(help="The plan's id.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the support pack and the plan's CSV.")],
    pdf: Annotated[bool, typer.Option(help="Also write the PDF (WeasyPrint).")] = True,
) -> None:
    """Write the practice's support pack (HTML and PDF) and the plan's actions as CSV."""
    from gpaccess.services import plans as service

    c = commands.get(ctx)
    files = service.export_plan(c.app, principal=c.principal, plan_id=plan_id, folder=out_dir, pdf=pdf)
    for f in (files.html, files.pdf, files.csv):
        if f is not None:
            out.print(str(f))


def progress(
    ctx: typer.Context,
    icb: Annotated[list[str] | None, typer.Option(help="ICB code(s) (default: every ICB in scope).")] = None,
) -> None:
    """Recompute every open plan's outcome measures from the latest months: each shows its Making Data Count
    verdict against limits fixed on the months before the plan started, or 'not enough months yet'."""
    from gpaccess.services import progress as service

    c = commands.get(ctx)
    results = service.recompute(c.app, principal=c.principal, icb_codes=icb)
    if not results:
        out.print("no open plans")
        return
    t = Table("plan", "practice", "ICB", "outcome measure", "verdict", title="Progress of open plans (practice order)")
    for r in results:
        for measure, verdict in r.verdicts.items():
            t.add_row(str(r.plan_id), r.practice_code, r.icb_code, measure, verdict)
    out.print(t)


@cycle_app.command("new")
def cycle_new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. 'winter 2026/27'.")],
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")],
    end: Annotated[str, typer.Option(help="Last month, YYYY-MM.")],
    from_cycle: Annotated[
        str | None, typer.Option("--from", help="Carry forward this cycle's open actions and lessons.")
    ] = None,
) -> None:
    """Start a cycle (or fill one a cohort run created that has no plans yet), carrying forward open actions and
    the evaluation's lessons from --from."""
    from gpaccess.services import plans as service

    c = commands.get(ctx)
    r = service.new_cycle(c.app, principal=c.principal, name=name, start=start, end=end, from_cycle=from_cycle)
    made = "created" if r.created else "filled (it existed without plans)"
    carried = f"; from {from_cycle}: {r.plans} plan(s), {r.actions} open action(s), {r.lessons} lesson(s)"
    out.print(f"cycle {r.name!r} {made}{carried if from_cycle else ''}")
    if from_cycle:  # the lessons as stored with the new cycle
        stored = next(cyc for cyc, _n in service.list_cycles(c.app, principal=c.principal) if cyc.name == r.name)
        _print_lessons(stored.lessons or [])


def _print_lessons(lessons: list[dict[str, Any]]) -> None:
    from gpaccess.services.plans import LESSONS_NONE

    if not lessons:
        out.print(LESSONS_NONE)
        return
    t = Table("action type", "estimate", "95% interval", "unit", "practices", "ICBs", "status", "showed an effect",
              title="Lessons carried forward from the evaluation (action-type order)")  # fmt: skip
    for x in lessons:
        shown = x["estimate"] is not None and x["status"] == "estimated"
        t.add_row(
            x["action_type"],
            f"{x['estimate']:+.1f}" if shown else "not shown",
            f"{x['low']:+.1f} to {x['high']:+.1f}" if shown else "—",
            x["unit"],
            str(x["practices"]),
            str(x["icbs"]),
            x["status"],
            ("yes" if x["showed_effect"] else "no") if shown else "not assessed",
        )
    out.print(t)


@cycle_app.command("list")
def cycle_list(ctx: typer.Context) -> None:
    """Every cycle, latest first, with its months and how many plans it holds."""
    from gpaccess.services import plans as service

    c = commands.get(ctx)
    t = Table("cycle", "starts", "ends", "plans", "carried from", "lessons")
    for cyc, n in service.list_cycles(c.app, principal=c.principal):
        t.add_row(
            cyc.name,
            f"{cyc.starts:%Y-%m}",
            f"{cyc.ends:%Y-%m}",
            str(n),
            cyc.carried_from or "—",
            str(len(cyc.lessons or [])),
        )
    out.print(t)
