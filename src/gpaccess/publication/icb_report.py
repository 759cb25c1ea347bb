"""The ICB's confidential report: who is selected for support and why, who is excluded and why, near-misses,
local overrides, the funnel plot and each selected practice's SPC chart, and the local view.

Self-contained HTML (charts inlined as SVG, no network) plus a CSV of every practice's row. Confidential: it
names practices, so it stays inside the ICB; what leaves is the pseudonymised return (`nhse_return`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gpaccess.cohort.criteria import TITLES
from gpaccess.cohort.select import Cohort
from gpaccess.measures.service import MeasureSession
from gpaccess.publication.assessment import outward_members
from gpaccess.publication.basis import RunBasis, run_basis
from gpaccess.publication.charts.common import chart_svg
from gpaccess.publication.exports import write_csv
from gpaccess.publication.figures import funnel_figure, latest_consecutive, spc_svg_figure
from gpaccess.publication.tables import write_xlsx

SPC_MIN_POINTS = 6  # DESIGN "SPC points": below 6, no limits and no chart; 6-11 trial limits, labelled
_ENV = Environment(loader=PackageLoader("gpaccess.publication", "templates"), autoescape=select_autoescape())


def _without_title(reason: str) -> str:
    """A reason without its criterion's title in front (the title is shown beside it already)."""
    for title in TITLES.values():
        if reason.startswith(title + ": "):
            return reason[len(title) + 2 :]
    return reason


_ENV.filters["without_title"] = _without_title


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    xlsx: Path


def _svg(chart) -> str:
    return chart_svg(chart)


def write_icb_report(
    session: MeasureSession,
    cohort: Cohort,
    folder: Path,
    *,
    cycle: str,
    run_id: int | None,
    local_view: object | None = None,
    spc_measure: str = "f2f_gp",
    basis: RunBasis | None = None,
) -> ReportFiles:
    folder.mkdir(parents=True, exist_ok=True)
    basis = basis or run_basis(session, cohort)
    selected = cohort.selected
    session.prefetch_series(list(selected.practice_code), spc_measure)  # one query for every chart below
    funnel = funnel_figure(
        session,
        "f2f_gp",
        cohort.icb_code,
        highlight=tuple(selected.practice_code),
        leave_off=tuple(cohort.excluded.practice_code),
    )
    spc = []
    for r in selected.itertuples():
        try:
            months = len(latest_consecutive(session.series(r.practice_code, spc_measure).dropna(subset=["value"])))
            if months < SPC_MIN_POINTS:  # DESIGN "SPC points": fewer than 6 points, no limits: no chart
                why = (
                    f"not enough months for a chart with limits ({months} consecutive month"
                    f"{'s' if months != 1 else ''} stored; {SPC_MIN_POINTS} needed)"
                )
                spc.append({"code": r.practice_code, "name": r.practice_name, "svg": None, "why": why})
                continue
            svg = spc_svg_figure(session, r.practice_code, spc_measure, plain=True, footnote=True).chart
            spc.append({"code": r.practice_code, "name": r.practice_name, "svg": svg})
        except Exception as exc:  # a practice with too few months still gets its row; say why there's no chart
            spc.append({"code": r.practice_code, "name": r.practice_name, "svg": None, "why": str(exc)})
    html = _ENV.get_template("icb_report.html.j2").render(
        cohort=cohort,
        cycle=cycle,
        run_id=run_id,
        icb_name=str(session.icb_practices(cohort.icb_code).icb_name.iloc[0]),
        definition=session.measure("f2f_gp").definition,
        rules=TITLES,
        selected=_rows(selected),
        near=_rows(cohort.near_misses),
        excluded=_rows(cohort.excluded),
        overrides=_rows(cohort.members[cohort.members.overridden != "none"]),
        funnel_svg=_svg(funnel.chart),
        funnel_key=funnel_key(funnel.data, selected),
        basis=basis,
        methods=methods(session),
        f2f_line="solid" if getattr(cohort.settings.criteria, "f2f_level", 0.998) >= 0.998 else "dashed",
        spc=spc,
        local=local_view_html(local_view) if local_view is not None else None,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    html_path = folder / "cohort_report.html"
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(html_path)
    flat = outward_members(cohort.members, cohort.settings.criteria.enabled)  # "not assessed", never False
    csv_path = write_csv(flat, folder / "cohort.csv")
    xlsx_path = write_xlsx(
        {"cohort": flat}, folder / "cohort.xlsx", notes=basis.lines(), notes_title="What it stood on"
    )
    return ReportFiles(html_path, csv_path, xlsx_path)


def funnel_key(points: pd.DataFrame, selected: pd.DataFrame) -> list[dict[str, object]]:
    """The funnel's numbered key: each selected practice drawn on it, numbered in practice-code order (the
    numbers the chart shows), with its name."""
    drawn = points[
        points.value.notna() & points["size"].notna() & points.practice_code.isin(set(selected.practice_code))
    ]
    drawn = drawn.sort_values("practice_code")
    return [
        {"number": i, "code": r.practice_code, "name": r.practice_name}
        for i, r in enumerate(drawn.itertuples(), start=1)
    ]


def methods(session: MeasureSession) -> dict[str, object]:
    """The statistics behind the face-to-face comparison, for the methods appendix (z, φ, τ²)."""
    comparison = session.comparison("f2f_gp")
    return {
        "adjustment": comparison.adjustment,
        "phi": comparison.phi,
        "tau2": comparison.tau2,
        "prior_strength": comparison.prior_strength,
        "practices": len(comparison.table),
    }


def _local_kinds(view) -> dict[str, str]:
    kinds = {"practice_code": "text", "practice_name": "text"}
    for name in view.national:
        kinds[name] = "number" if name.startswith("appts") else "share"
    return kinds


def local_view_html(view) -> str:
    """The local view as HTML tables: flags first (where local data tells a different story), then the
    Spearman correlations across the ICB's practices, then every practice's national and local figures, every
    number formatted and every measure named in words."""
    from gpaccess.publication.readable import formatted, readable_name

    periods = ", ".join(f"{readable_name(k)}: {v}" for k, v in view.local_periods.items()) or "none"
    if not view.local:
        return (
            f"<p class='note'>No local data uploaded for ICB {view.icb_code} yet, so the NHS 111 and A&amp;E criteria "
            f"were not assessed. Upload NHS 111, A&amp;E or patient-experience figures with "
            f"<code>gpaccess local upload "
            f"--icb {view.icb_code} FILE</code> to see them beside GPAD and to use those criteria.</p>"
        )
    parts = [
        f"<p class='note'>National measures over {view.window}; each local indicator at its latest period "
        f"({periods}).</p>"
    ]
    parts.append(f"<h3>Where local data tells a different story ({len(view.flags)})</h3>")
    if len(view.flags):
        flags = view.flags.assign(
            national_measure=view.flags.national_measure.map(readable_name),
            local_indicator=view.flags.local_indicator.map(readable_name),
        ).drop(columns=["message"], errors="ignore")  # the columns say it; the sentence repeats them
        parts.append(
            "<p class='note'>Practices in opposite quarters of the ICB's practices on a national figure and a local "
            "one: worth a look, since the two tell different stories. Neither quarter is better or worse.</p>"
        )
        kinds = {"national_value": "share", "local_value": "number"}
        parts.append(
            f"<details><summary>Show the {len(flags):,} pairs</summary>"
            + formatted(flags, kinds).to_html(index=False, escape=True, border=0)
            + "</details>"
        )
    else:
        parts.append("<p>None.</p>")
    parts.append("<h3 id='correlations'>How the figures move together across the ICB's practices</h3>")
    parts.append(
        "<p class='note'>Spearman's rank correlation (rho) runs from −1 to 1: near 1, practices high on one "
        "figure tend to be high on the other; near −1, high on one and low on the other; near 0, no pattern. "
        "n is the number of practices with both figures.</p>"
    )

    def named(column: str) -> str:
        text = readable_name(column)
        return text[:1].upper() + text[1:]

    corr = view.correlations.assign(
        first=view.correlations["first"].map(named), second=view.correlations["second"].map(named)
    )
    corr = corr.rename(columns={"first": "figure", "second": "compared with", "rho": "correlation (rho)"})
    parts.append(
        formatted(corr, {"n": "count", "correlation (rho)": "correlation", "p_value": "p_value"}).to_html(
            index=False, escape=True, border=0
        )
    )
    parts.append("<h3>Every practice, national and local figures side by side (practice-code order)</h3>")
    parts.append(
        f"<details><summary>Show all {len(view.table):,} practices</summary>"
        + formatted(view.table, _local_kinds(view)).to_html(index=False, escape=True, border=0)
        + "</details>"
    )
    return "\n".join(parts)


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    return frame.sort_values("practice_code").to_dict(orient="records")
