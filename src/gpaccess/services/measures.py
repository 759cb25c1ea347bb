"""Measures as the CLI and web read them: one snapshot per call, the principal's scope checked, reads audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gpaccess.access.principal import Principal
from gpaccess.access.roles import Permission
from gpaccess.errors import NotFoundError, UserError
from gpaccess.measures.service import MeasureSession
from gpaccess.services.app import App
from gpaccess.services.audit import audit_read
from gpaccess.storage.periods import month_key, parse_months
from gpaccess.storage.snapshot import Snapshot


def measure_session(app: App, *, months: list[str] | None = None, snapshot: Snapshot | None = None) -> MeasureSession:
    """The window's measures (`months` as the CLI takes them; default the latest consecutive months) over one
    snapshot, taken now unless given. A server (`App.reuse_sessions`) reuses its thread's session for the
    default window while the store is unchanged."""
    if app.reuse_sessions and snapshot is None and not months:
        return app.reused_session(lambda snap: MeasureSession(snap, app.measure_settings()))
    return MeasureSession(
        snapshot or app.warehouse.snapshot(), app.measure_settings(), months=parse_months(months or [])
    )


# The measures a practice page charts month by month (the web's SPC charts): a server reads every practice's
# series of these, so an ingest keeps them beside the window's measures.
PAGE_SERIES = ("f2f_gp", "appts_per_1000", "dna_rate")


def keep_measures(app: App, progress: Callable[[str], None] | None = None) -> bool:
    """After the store changed what measures read (an ingest, a rollback, an upgrade): derive the default
    window's measures for every practice once and keep them on disk (`storage/derived.py`), so the next
    command or server starts from them instead of recomputing. Nothing is kept, and nothing fails, when the
    store cannot be measured yet (no appointments, or an aggregate still to build); returns whether it kept."""
    try:
        session = MeasureSession(app.warehouse.snapshot(), app.measure_settings())
    except UserError:
        return False
    if progress:
        progress(f"computing every practice's measures for {session.label}, kept for the next reader")
    session.keep(PAGE_SERIES)
    return True


@dataclass(frozen=True)
class IcbMeasures:
    icb_code: str
    icb_name: str
    window: list[str]
    label: str
    definition: str  # the face-to-face definition every output states
    measures: dict[str, dict[str, str]]  # name -> title, definition, direction, kind
    table: pd.DataFrame  # one row per practice of the ICB, practice-code order
    session: MeasureSession


def _measure_meta(session: MeasureSession) -> dict[str, dict[str, str]]:
    return {
        m.name: {"title": m.title, "definition": m.definition, "direction": m.direction, "kind": m.kind}
        for m in session.measures.values()
    }


def icb_measures(
    app: App,
    *,
    principal: Principal,
    icb_code: str,
    months: list[str] | None = None,
    session: MeasureSession | None = None,
) -> IcbMeasures:
    """Every access measure for an ICB's practices over a window (default: the latest consecutive months)."""
    code = principal.require_icb(icb_code)
    s = session or measure_session(app, months=months)
    table = s.icb_table(code)
    audit_read(
        app,
        principal=principal,
        action="measures.read",
        icb_code=code,
        detail={"window": [month_key(m) for m in s.months], "practices": len(table)},
    )
    return IcbMeasures(
        icb_code=code,
        icb_name=str(table.icb_name.dropna().iloc[0]) if table.icb_name.notna().any() else code,
        window=[month_key(m) for m in s.months],
        label=s.label,
        definition=s.measure("f2f_gp").definition,
        measures=_measure_meta(s),
        table=table,
        session=s,
    )


@dataclass(frozen=True)
class PracticeMeasures:
    practice_code: str
    window: list[str]
    label: str
    definition: str
    measures: dict[str, dict[str, str]]
    row: pd.Series  # the practice's directory entry and window measures
    context: list[dict[str, Any]]  # each context source with its period
    coverage: dict[str, Any] | None
    session: MeasureSession


def practice_measures(
    app: App,
    *,
    principal: Principal,
    practice_code: str,
    months: list[str] | None = None,
    session: MeasureSession | None = None,
) -> PracticeMeasures:
    """One practice's measures with its context from every source that covers it, each with its period (its
    own measures only are computed: one practice's page need not scan the country)."""
    from gpaccess.ingest.context.queries import coverage_for, practice_context

    s = session or measure_session(app, months=months)
    code = practice_code.strip().upper()
    row = s.practice_row(code)
    icb = None if row is None else row["icb_code"]
    code = principal.require_practice(code, None if pd.isna(icb) else str(icb))
    if row is None:
        raise NotFoundError(f"practice {code!r} has no GPAD appointments in {s.label}")
    month = max(s.months)
    # Context data is no measure input: kept per store generation, so a new context release shows at once.
    generation = s.snapshot.generation
    context = s.memo(("practice-context", code, generation), lambda: practice_context(s.snapshot, code, month))
    coverage = None
    if s.snapshot.has("coverage") and isinstance(row.sub_icb_code, str):
        threshold = app.settings.coverage_warning_threshold
        coverage = s.memo(
            ("coverage", row.sub_icb_code, generation, threshold),
            lambda: coverage_for(s.snapshot, row.sub_icb_code, month, warn_below=threshold),
        )
    audit_read(
        app,
        principal=principal,
        action="practice.read",
        icb_code=None if pd.isna(icb) else str(icb),
        object_type="practice",
        object_id=code,
        detail={"window": [month_key(m) for m in s.months]},
    )
    return PracticeMeasures(
        practice_code=code,
        window=[month_key(m) for m in s.months],
        label=s.label,
        definition=s.measure("f2f_gp").definition,
        measures=_measure_meta(s),
        row=row,
        context=context,
        coverage=coverage,
        session=s,
    )


def funnel(app: App, *, principal: Principal, icb_code: str, measure: str = "f2f_gp", months: list[str] | None = None):
    """The ICB's practices on a funnel plot against limits computed nationally (a `publication.figures.Figure`)."""
    from gpaccess.publication.figures import funnel_figure

    code = principal.require_icb(icb_code)
    figure = funnel_figure(measure_session(app, months=months), measure, code)
    audit_read(app, principal=principal, action="funnel.read", icb_code=code, detail={"measure": measure})
    return figure


def spc(
    app: App,
    *,
    principal: Principal,
    practice_code: str,
    measure: str = "f2f_gp",
    session: MeasureSession | None = None,
    chart: bool | str = True,
):
    """A Making Data Count XmR chart of one practice's measure over every stored month (pass `session` to draw
    several charts from one snapshot). `chart`: True, the Altair chart (reports, `gpaccess spc`) as a `Figure`;
    "svg", an `SpcFigure` with the SVG text drawn directly (the web); False, an `SpcFigure` with its table only
    (a page that shows the table and draws the chart in another request)."""
    from gpaccess.publication.figures import Figure, SpcFigure, spc_figure, spc_points, spc_svg_figure

    s = session or measure_session(app)
    code = practice_code.strip().upper()
    entry = s.practice_fields(code)
    icb = str(entry["icb_code"]) if entry is not None and pd.notna(entry["icb_code"]) else None
    code = principal.require_practice(code, icb)
    figure: Figure | SpcFigure
    if chart == "svg":
        figure = spc_svg_figure(s, code, measure)
    elif chart:
        figure = spc_figure(s, code, measure)
    else:
        figure = SpcFigure(None, spc_points(s, code, measure))
    audit_read(
        app,
        principal=principal,
        action="spc.read",
        icb_code=icb,
        object_type="practice",
        object_id=code,
        detail={"measure": measure},
    )
    return figure


def icbs(app: App, *, principal: Principal) -> pd.DataFrame:
    """Every ICB in the store's latest mapping that the principal may see: code, name, practices (code order)."""
    principal.require(Permission.READ_NAMED)
    s = measure_session(app)
    d = s.directory().dropna(subset=["icb_code"])
    out = d.groupby(["icb_code", "icb_name"], dropna=False).practice_code.nunique().reset_index(name="practices")
    out = out[out.icb_code.map(principal.sees_icb)]
    return out.sort_values("icb_code").reset_index(drop=True)


MONTHLY_KINDS = ("share", "rate_per_1000")


def icb_monthly(
    app: App, *, principal: Principal, icb_code: str, months: list[str] | None = None
) -> tuple[pd.DataFrame, MeasureSession]:
    """Every monthly measure for an ICB's practices, month by month over the window (long: practice, name,
    measure, title, month, numerator, denominator, value), for trends; practice-code order, never by a value."""
    code = principal.require_icb(icb_code)
    s = measure_session(app, months=months)
    practices = s.icb_practices(code)[["practice_code", "practice_name"]].drop_duplicates("practice_code")
    names = [m.name for m in s.measures.values() if m.kind in MONTHLY_KINDS]
    long = s.monthly_table(list(practices.practice_code), names)
    titles = {n: s.measure(n).title for n in names}
    long = long.merge(practices, on="practice_code", how="left").assign(title=long.measure.map(titles))
    cols = ["practice_code", "practice_name", "measure", "title", "month", "numerator", "denominator", "value"]
    audit_read(
        app,
        principal=principal,
        action="measures.read",
        icb_code=code,
        detail={"window": [month_key(m) for m in s.months], "by": "month", "practices": len(practices)},
    )
    return long[cols], s


def practice_profile(one: PracticeMeasures):
    """The practice's profile as a person reads it (`publication.profile.Section`s): GPAD beside telephony,
    online consultation, workforce, deprivation and ODS, each with its source and period."""
    from gpaccess.publication.profile import practice_profile as build

    return build(one.row, window=one.label, definition=one.definition, context=one.context, coverage=one.coverage)
