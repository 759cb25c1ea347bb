"""What worked: an ICB's evaluation of its support (report, CSV, aggregate return) and the national version
pooled from ICBs' aggregate returns.

Which practice received which action type from which month comes from the plan store's supported actions
(adapted here to the evaluation's own records, so `evaluation` never imports `plans`) or from a support CSV
(practice_code, action, start_month) for support recorded outside gpaccess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import NotFoundError, UserError
from gpaccess.evaluation.evaluate import EvaluationSettings, IcbEvaluation
from gpaccess.evaluation.records import SupportRecord, read_support_csv
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read


@dataclass(frozen=True)
class EvaluationRun:
    evaluation: IcbEvaluation
    icb_name: str
    report_html: Path | None = None
    report_csv: Path | None = None
    aggregate_return: Path | None = None


@dataclass(frozen=True)
class NationalRun:
    pooled: Any  # pandas DataFrame, POOLED_COLUMNS
    icbs: list[str]
    report_html: Path | None = None
    report_csv: Path | None = None


def records_from_plans(rows: Iterable[Any]) -> list[SupportRecord]:
    """Plans' supported actions (`plans.queries.SupportedAction`: practice_code, action_type, start_month
    YYYY-MM, ...) as evaluation records."""
    out = []
    for r in rows:
        action = getattr(r, "action_type", None) or getattr(r, "action", None)
        if action and r.start_month:
            out.append(SupportRecord(str(r.practice_code).upper(), str(action), str(r.start_month)[:7]))
    return out


def support_from_plans(app: App) -> list[SupportRecord]:
    """Every supported action in the plan store (all ICBs: a practice supported anywhere is never a
    comparator)."""
    try:
        from gpaccess.plans import queries
    except ImportError as exc:
        raise UserError(
            "this installation has no support plans to evaluate yet: pass --support FILE "
            "(a CSV with practice_code, action, start_month)"
        ) from exc
    with app.plan_session() as db:
        records = records_from_plans(queries.supported_actions(db))
    if not records:
        raise UserError(
            "no supported actions on record in the plan store: draw up plans (`gpaccess plan create`) or pass "
            "--support FILE (a CSV with practice_code, action, start_month)"
        )
    return records


def evaluate(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    support: Sequence[SupportRecord] | None = None,
    support_file: Path | None = None,
    outcome: str = "appts_per_1000",
    folder: Path | None = None,
    titles: dict[str, str] | None = None,
    settings: EvaluationSettings | None = None,
) -> EvaluationRun:
    """Estimate what worked in one ICB from one snapshot; with `folder`, write the ICB's report, CSV and
    guarded aggregate return there."""
    from gpaccess.evaluation.evaluate import evaluate_icb
    from gpaccess.evaluation.panel import evaluation_data

    code = principal.require_icb(icb_code)
    if support is None:
        support = read_support_csv(support_file) if support_file is not None else support_from_plans(app)
    data = evaluation_data(app.warehouse.snapshot(), outcome, app.settings.f2f_definition)
    mine = data.directory[data.directory.icb_code == code]
    if mine.empty:
        raise NotFoundError(f"no ICB {code!r} in the store (see `gpaccess icbs`)")
    ev = evaluate_icb(data.panel, data.directory, support, code, data.outcome, settings, data.context)
    audit_read(
        app,
        principal=principal,
        action="evaluation.run",
        icb_code=code,
        object_type="evaluation",
        detail={"outcome": outcome, "months": [data.months[0], data.months[-1]], "supported": ev.supported},
    )
    name = str(mine.icb_name.dropna().iloc[0]) if mine.icb_name.notna().any() else ""
    if folder is None:
        return EvaluationRun(ev, name)
    from gpaccess.publication.what_worked import write_icb_what_worked

    files = write_icb_what_worked(
        ev,
        folder,
        icb_name=name,
        titles=titles,
        known_codes=set(data.directory.practice_code),
        known_names=set(data.directory.practice_name.dropna()),
    )
    return EvaluationRun(ev, name, files.html, files.csv, files.aggregate_return)


def pool_national(
    app: App, *, principal: Principal, returns: Sequence[Path], folder: Path | None = None
) -> NationalRun:
    """The national "what worked" from ICBs' aggregate returns (aggregates only: a national role may run it)."""
    from gpaccess.evaluation.pooling import pool_returns, read_returns

    principal.require(Permission.READ_AGGREGATES)
    if not returns:
        raise UserError("give one or more evaluation returns (evaluation_return_<ICB>.csv) to pool")
    frame = read_returns(returns)
    pooled = pool_returns(frame)
    icbs = sorted(set(frame.icb_code.astype(str)))
    if folder is None:
        return NationalRun(pooled, icbs)
    from gpaccess.publication.what_worked import write_national_what_worked

    files = write_national_what_worked(pooled, folder, icbs=icbs)
    return NationalRun(pooled, icbs, files.html, files.csv)
