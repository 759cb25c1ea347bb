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
from gpaccess.publication.charts.common import chart_svg
from gpaccess.publication.exports import write_csv
from gpaccess.publication.figures import funnel_figure, spc_figure

_ENV = Environment(loader=PackageLoader("gpaccess.publication", "templates"), autoescape=select_autoescape())


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path


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
) -> ReportFiles:
    folder.mkdir(parents=True, exist_ok=True)
    selected = cohort.selected
    session.prefetch_series(list(selected.practice_code), spc_measure)  # one query for every chart below
    funnel = funnel_figure(session, "f2f_gp", cohort.icb_code, highlight=tuple(selected.practice_code))
    spc = []
    for r in selected.itertuples():
        try:
            spc.append(
                {
                    "code": r.practice_code,
                    "name": r.practice_name,
                    "svg": _svg(spc_figure(session, r.practice_code, spc_measure).chart),
                }
            )
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
        spc=spc,
        local=local_view_html(local_view) if local_view is not None else None,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    html_path = folder / "cohort_report.html"
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(html_path)
    flat = cohort.members.copy()
    for col in ("criteria_met", "reasons", "met_reasons", "exclusion_reasons"):
        flat[col] = flat[col].map("; ".join)
    csv_path = write_csv(flat, folder / "cohort.csv")
    return ReportFiles(html_path, csv_path)


def local_view_html(view) -> str:
    """The local view as HTML tables: flags first (where local data tells a different story), then the
    Spearman correlations across the ICB's practices, then every practice's national and local figures."""
    parts = [
        f"<p class='note'>National measures over {view.window}; each local indicator at its latest period "
        f"({', '.join(f'{k}: {v}' for k, v in view.local_periods.items()) or 'none'}).</p>"
    ]
    parts.append(f"<h3>Where local data tells a different story ({len(view.flags)})</h3>")
    parts.append(
        view.flags.to_html(index=False, escape=True, na_rep="—", border=0) if len(view.flags) else "<p>None.</p>"
    )
    parts.append("<h3>Spearman correlations across the ICB's practices</h3>")
    parts.append(
        view.correlations.to_html(index=False, escape=True, na_rep="—", float_format="{:.2f}".format, border=0)
    )
    parts.append("<h3>Every practice, national and local figures side by side (practice-code order)</h3>")
    parts.append(view.table.to_html(index=False, escape=True, na_rep="—", float_format="{:.3g}".format, border=0))
    return "\n".join(parts)


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    return frame.sort_values("practice_code").to_dict(orient="records")
