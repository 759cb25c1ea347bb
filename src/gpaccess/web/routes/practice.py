"""The practice page (measures, SPC charts with their tables, local indicators, context, plans) and the
practice's support plan: viewing, editing with optimistic concurrency, and downloads.

As on the ICB pages (`routes.pages`), each route takes the signed-in user's principal from `require` and calls
the same service functions as the CLI; a practice out of scope answers exactly as a missing one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import UserError
from gpaccess.services import audit as audit_service
from gpaccess.services import local as local_service
from gpaccess.services import measures as measure_service
from gpaccess.services import plans as plan_service
from gpaccess.web.app import cell_html, render
from gpaccess.web.charts import svg_response
from gpaccess.web.deps import check_csrf, get_app
from gpaccess.web.routes.pages import Named, records

router = APIRouter(include_in_schema=False)
PRACTICE_MEASURES = ("f2f_gp", "f2f_all", "appts_per_1000", "dna_rate", "same_day_share", "gp_share")
SPC_MEASURES = measure_service.PAGE_SERIES


# -- the practice page ---------------------------------------------------------------------------------------
@router.get("/practice/{practice_code}")
def practice_page(request: Request, practice_code: str, principal: Principal = Named) -> Response:
    app = get_app(request)
    with audit_service.audit_together(app):  # the page's reads: one audit transaction, an event for each
        session = measure_service.measure_session(app)  # one snapshot for the page's measures and charts
        found = measure_service.practice_measures(
            app, principal=principal, practice_code=practice_code, session=session
        )
        row = found.row
        icb = row.get("icb_code") if isinstance(row.get("icb_code"), str) else None
        local = local_service.practice_local(
            app, principal=principal, practice_code=found.practice_code, icb_code=icb, session=session
        )
        figures = {
            name: measure_service.spc(
                app, principal=principal, practice_code=found.practice_code, measure=name, session=session, chart=False
            )
            for name in SPC_MEASURES
        }
        spc_html = session.memo(  # every viewer's alike for the store generation: rendered once
            ("page-spc-html", found.practice_code), lambda: _spc_section(request, found, figures)
        )
        plans = plan_service.practice_plans(app, principal=principal, practice_code=found.practice_code)
    measures = [{"name": n, "value": row.get(n), **found.measures[n]} for n in PRACTICE_MEASURES if n in found.measures]
    return render(
        request,
        "practice.jinja",
        title=f"{row.get('practice_name') or found.practice_code} ({found.practice_code})",
        code=found.practice_code,
        name=row.get("practice_name"),
        icb=icb,
        window=found.label,
        definition=found.definition,
        measures=measures,
        spc_html=spc_html,
        context=found.context,
        coverage=found.coverage,
        local=records(local),
        plans=plans,
        back=f"/icb/{icb}" if principal.role.scope == "icb" and icb else None,
    )


def _spc_section(request: Request, found: Any, figures: dict[str, Any]) -> Markup:
    """The SPC charts with their tables (`_practice_spc.jinja`)."""
    spc = {
        name: {
            "title": found.measures[name]["title"],
            "kind": found.measures[name]["kind"],
            "body": _spc_table_body(fig.table.rows(SPC_TABLE_COLUMNS)),
        }
        for name, fig in figures.items()
    }
    template = request.app.state.templates.get_template("_practice_spc.jinja")
    return Markup(template.render(code=found.practice_code, spc=spc))


SPC_TABLE_COLUMNS = ("month", "value", "mean", "lower", "upper", "special_cause")
_SPC_ROW = '<tr class="nhsuk-table__row">' + '<td class="nhsuk-table__cell">{}</td>' * len(SPC_TABLE_COLUMNS) + "</tr>"


def _spc_table_body(rows: list[dict[str, Any]]) -> Markup:
    """The rows of a chart's table (month, value, mean, limits, signal) as HTML, each value escaped: formatted
    here as plain text and made `Markup` once, not cell by cell in Jinja, where a call per cell for three tables
    of 24 months took a sixth of a practice page's time."""
    words: dict[Any, str] = {}  # months and signals, each escaped once

    def word(value: Any) -> str:
        found = words.get(value)
        if found is None:
            found = words[value] = str(escape(value))
        return found

    cells = ((r["month"], r["value"], r["mean"], r["lower"], r["upper"], r["special_cause"]) for r in rows)
    return Markup(
        "".join(
            _SPC_ROW.format(word(m), cell_html(v), cell_html(mean), cell_html(lo), cell_html(hi), word(sig))
            for m, v, mean, lo, hi, sig in cells
        )
    )


@router.get("/practice/{practice_code}/spc/{measure}.svg")
def practice_spc_svg(request: Request, practice_code: str, measure: str, principal: Principal = Named) -> Response:
    if measure not in SPC_MEASURES:
        from gpaccess.errors import NotFoundError

        raise NotFoundError("no such chart")
    fig = measure_service.spc(
        get_app(request), principal=principal, practice_code=practice_code, measure=measure, chart="svg"
    )
    return svg_response(fig.chart)


# -- the practice's support plan -------------------------------------------------------------------------------
PLAN_CHANGES = "edited in the web application"
PACK_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def _plan_of(request: Request, principal: Principal, practice_code: str, cycle: str | None):
    """The practice's plan for `cycle` (default: its latest); a practice out of scope, or one without a plan,
    answers as a missing page."""
    from gpaccess.errors import NotFoundError

    found = plan_service.practice_plans(get_app(request), principal=principal, practice_code=practice_code)
    chosen = [v for v in found if cycle is None or v.plan.cycle_name == cycle]
    if not chosen:
        raise NotFoundError("no plan")
    return chosen[-1]


def _plan_page(request: Request, principal: Principal, view, status: int = 200, **extra: Any) -> Response:
    from gpaccess.plans.catalogue import action_type
    from gpaccess.plans.schemas import ActionStatus

    plan = view.plan
    return render(
        request,
        "plan.jinja",
        status,
        title=f"Support plan for {plan.practice_code}, {plan.cycle_name}",
        plan=plan,
        cycle=view.cycle,
        progress=view.progress,
        titles={a.id: action_type(a.action_type).title for a in plan.actions},
        statuses=[s.value for s in ActionStatus],
        can_edit=principal.can(Permission.EDIT_PLANS) and plan.is_open,
        back=f"/practice/{plan.practice_code}",
        **extra,
    )


@router.get("/practice/{practice_code}/plan")
def practice_plan(request: Request, practice_code: str, cycle: str | None = None, principal: Principal = Named):
    view = _plan_of(request, principal, practice_code, cycle)
    q = request.query_params
    return _plan_page(request, principal, view, saved=q.get("saved"), unchanged=q.get("unchanged"))


@router.post("/practice/{practice_code}/plan", dependencies=[Depends(check_csrf)])
def practice_plan_edit(
    request: Request,
    practice_code: str,
    cycle: str = Form(""),
    version: str = Form(""),
    action_id: str = Form(""),
    status: str = Form(""),
    owner: str = Form(""),
    due: str = Form(""),
    notes: str = Form(""),
    principal: Principal = Named,
) -> Response:
    from gpaccess.plans.commands import PlanConflictError

    view = _plan_of(request, principal, practice_code, cycle or None)  # scope first: out of scope is missing
    principal.require(Permission.EDIT_PLANS)
    plan = view.plan
    try:
        expected, action = int(version), int(action_id)
    except ValueError:
        raise UserError("the form lost the plan's version or the action: reload the plan and try again") from None
    if action not in {a.id for a in plan.actions}:
        raise UserError(f"the plan has no action {action}: reload the plan and try again")
    fields = {"owner": owner.strip(), "due": due.strip(), "notes": notes.strip()}
    app = get_app(request)
    try:
        saved = plan_service.update_plan(
            app, principal=principal, plan_id=plan.id, expected_version=expected, reason=PLAN_CHANGES,
            action_status={action: status} if status else None,
            action_fields={action: {k: v for k, v in fields.items() if v or k == "notes"}},
        )  # fmt: skip
    except PlanConflictError as exc:
        current = _plan_of(request, principal, practice_code, plan.cycle_name)
        return _plan_page(request, principal, current, 409, conflict=str(exc), attempted=expected)
    except UserError as exc:
        if exc.http_status in (403, 404):
            raise
        current = _plan_of(request, principal, practice_code, plan.cycle_name)
        return _plan_page(request, principal, current, 422, problem=str(exc), problem_action=action)
    outcome = f"unchanged={expected}" if saved == expected else f"saved={saved}"  # the same values: no version
    return RedirectResponse(
        f"/practice/{plan.practice_code}/plan?cycle={quote(plan.cycle_name)}&{outcome}", status_code=303
    )


@router.get("/practice/{practice_code}/plan.{fmt}")
def practice_plan_download(
    request: Request, practice_code: str, fmt: str, cycle: str | None = None, principal: Principal = Named
) -> Response:
    """The support pack (HTML or PDF) or the plan's actions (CSV), made by the service as the CLI makes them."""
    from gpaccess.errors import NotFoundError

    view = _plan_of(request, principal, practice_code, cycle)
    if fmt not in PACK_TYPES:
        raise NotFoundError("no such download")
    with tempfile.TemporaryDirectory(prefix="gpaccess-pack-") as tmp:
        files = plan_service.export_plan(
            get_app(request), principal=principal, plan_id=view.plan.id, folder=Path(tmp), pdf=fmt == "pdf"
        )
        path = {"html": files.html, "pdf": files.pdf, "csv": files.csv}[fmt]
        assert path is not None
        body = path.read_bytes()
        name = path.name
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        body, media_type=PACK_TYPES[fmt], headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )
