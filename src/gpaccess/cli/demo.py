"""`gpaccess demo`: the main job on the bundled synthetic national data, in a store of its own.

synthetic data (with its companion context files: IMD, ODS, coverage, workforce, telephony, online
consultations) → ingest (and a republished month, to show releases) → per-ICB summary, measures tables and
funnel plots. The demo writes under `$GPACCESS_HOME/demo`, never into a real store.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from gpaccess.cli import commands

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from gpaccess.measures.service import MeasureSession

out = commands.console()
BASELINE = ["2019-08", "2019-09", "2019-10"]
RECENT_FROM, RECENT_TO = (2024, 10), (2025, 10)  # 13 months: SPC baselines need 12 points
REPUBLISHED = "2025-10"


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo_months() -> list[str]:
    (y, m), months = RECENT_FROM, list(BASELINE)
    while (y, m) <= RECENT_TO:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def demo(
    ctx: typer.Context,
    icbs: Annotated[int, typer.Option(help="How many synthetic ICBs (the national structure has 42).")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2021,
    fresh: Annotated[bool, typer.Option(help="Delete the demo store first.")] = False,
) -> None:
    """Run the main job on synthetic data: generate, ingest, measure, compare; print where the outputs are."""
    from gpaccess.cli.cohort import run_cohort
    from gpaccess.cli.store import print_result, run_ingest
    from gpaccess.cohort.local_view import local_view
    from gpaccess.measures.service import MeasureSession, icb_summary
    from gpaccess.publication.charts.common import save_chart, write_chart_data
    from gpaccess.publication.exports import write_csv
    from gpaccess.publication.figures import funnel_figure
    from gpaccess.publication.icb_report import write_icb_report

    c = commands.get(ctx)
    home = c.settings.home / "demo"
    if fresh and home.exists():
        shutil.rmtree(home)
    started = time.monotonic()
    data = _synthetic(home / "synthetic", icbs, seed)
    files = sorted(data.glob("gpad/*.zip")) + sorted(data.glob("registered_patients/*.csv"))
    files += sorted(data.glob("context/*"))  # IMD, epraccur, coverage, workforce, telephony, online consultations
    out.print(f"Ingesting {len(files)} files into {home / 'store'}")
    print_result(run_ingest(c, files, home=home))
    out.print("Ingesting the republished month (a later release replaces the practices it revises)")
    print_result(run_ingest(c, sorted(data.glob("gpad/republished/*.zip")), home=home))

    warehouse = c.warehouse(home)
    session = MeasureSession(warehouse.snapshot(), c.measure_settings())
    outputs = home / "outputs"
    summary = icb_summary(session)
    write_csv(summary, outputs / "icb_summary.csv")
    _print_summary(summary)
    icb_codes = [str(i) for i in summary.icb_code.dropna()]
    for icb in icb_codes:
        folder = outputs / icb
        write_csv(session.icb_table(icb), folder / "measures.csv")
        fig = funnel_figure(session, "f2f_gp", icb)
        save_chart(fig.chart, folder / "funnel_f2f_gp.html")
        save_chart(fig.chart, folder / "funnel_f2f_gp.png")
        write_chart_data(fig.data, folder / "funnel_f2f_gp.csv")
        _upload_local(c, warehouse, session, icb, home)
    # The cohorts read one snapshot taken after every ICB's local data is in: one set of measures for all.
    session = MeasureSession(warehouse.snapshot(), c.measure_settings(), months=session.months)
    for icb in icb_codes:
        folder = outputs / icb
        result, cycle, run_id = run_cohort(c, icb, None, None, home=home, session=session)
        view = local_view(session, icb)
        report = write_icb_report(session, result, folder, cycle=cycle, run_id=run_id, local_view=view)
        returned = _nhse_return(c, session, result, cycle, home, outputs / "nhse_returns" / f"{icb}.csv")
        out.print(
            f"{icb}: {len(result.selected)} selected of {result.eligible} eligible (cap {result.cap}), "
            f"{len(result.excluded)} excluded, {len(result.near_misses)} near-misses → {report.html.name}, "
            f"return {returned.name}"
        )
    out.print(f"\nDone in {time.monotonic() - started:.0f} s. Outputs are in [bold]{outputs}[/]:")
    out.print(f"  {outputs / 'icb_summary.csv'}  per-ICB summary")
    out.print(f"  {outputs}/<ICB>/cohort_report.html  confidential ICB report: cohort, reasons, exclusions, charts")
    out.print(f"  {outputs}/<ICB>/cohort.csv, measures.csv  every practice's row (practice-code order)")
    out.print(f"  {outputs}/<ICB>/funnel_f2f_gp.html|png|csv  fair comparison of GP face-to-face share")
    out.print(f"  {outputs}/nhse_returns/<ICB>.csv  pseudonymised return for NHS England (passed the guard)")
    out.print(f"  store: {home / 'store'}  (see it with: GPACCESS_HOME={home} gpaccess status)")


def _upload_local(c: commands.Context, warehouse, session: MeasureSession, icb: str, home: Path) -> None:
    """Synthetic local data an ICB would hold (in-hours NHS 111, A&E, patient experience), uploaded as the ICB
    would upload its own: one long-form CSV, validated against the ICB's practices.

    Plausible, not random: in-hours 111 use is higher where the practice offers fewer appointments per head,
    A&E attendance rises with deprivation, and satisfaction varies. Seeded by the ICB code."""
    import numpy as np
    import pandas as pd

    from gpaccess.ingest.local import upload

    table = session.icb_table(icb)
    rng = np.random.default_rng(sum(map(ord, icb)))
    n = len(table)
    rate = table.appts_per_1000.astype(float)
    z_rate = ((rate - rate.mean()) / (rate.std() or 1.0)).fillna(0.0).to_numpy()
    imd = _imd_scores(session, table.practice_code)
    values = {
        "nhs111_in_hours_per_1000": 22 - 4 * z_rate + rng.normal(0, 3, n),
        "ae_attendances_per_1000": 24 + 0.35 * imd + rng.normal(0, 5, n),
        "patient_satisfaction_pct": 72 + rng.normal(0, 8, n),
    }
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "practice_code": table.practice_code,
                    "indicator": name,
                    "period": "2025-Q3",
                    "value": np.round(np.clip(v, 0, None), 1),
                }
            )
            for name, v in values.items()
        ]
    )
    path = home / "synthetic" / "local" / f"local_indicators_{icb}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, index=False)
    upload(warehouse, path, icb_code=icb, icb_practices=set(table.practice_code), user=c.user)


def _imd_scores(session: MeasureSession, codes: pd.Series) -> np.ndarray:
    """Each practice's IMD score where the (synthetic) Fingertips file is loaded; the mean elsewhere."""
    import numpy as np

    from gpaccess.cohort.run import deprivation

    imd = deprivation(session.snapshot)
    if imd is None:
        return np.full(len(codes), 20.0)
    scores = codes.map(dict(zip(imd.practice_code, imd.imd_score, strict=True)))
    return scores.fillna(scores.mean() if scores.notna().any() else 20.0).to_numpy(dtype=float)


def _nhse_return(c: commands.Context, session: MeasureSession, result, cycle: str, home: Path, path: Path) -> Path:
    from gpaccess.access.pseudonym import load_or_create_key
    from gpaccess.publication.nhse_return import build_return, write_return

    key = load_or_create_key(home, result.icb_code)
    frame = build_return(
        result.members, icb_code=result.icb_code, cycle=cycle, key=key, criteria=list(result.settings.criteria.enabled)
    )
    directory = session.directory()
    return write_return(
        frame, path, known_codes=set(directory.practice_code), known_names=set(directory.practice_name.dropna())
    )


def _synthetic(folder: Path, icbs: int, seed: int) -> Path:
    """Generate once per set of options: the same options give byte-identical files, so reuse them."""
    from gpaccess.synth import generate

    months = demo_months()
    stamp = folder / "synth.json"
    wanted = {"icbs": icbs, "seed": seed, "months": months, "republish": [REPUBLISHED], "companions": True}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    with Progress(console=commands.console(stderr=True), transient=True) as bar:
        task = bar.add_task("synthetic national data", total=len(months))
        generate(
            folder,
            months,
            seed=seed,
            icbs=icbs,
            republish=[REPUBLISHED],
            progress=lambda month, done, total: bar.update(task, completed=done, description=f"synthetic {month}"),
        )
    stamp.write_text(json.dumps(wanted))
    return folder


def _print_summary(summary) -> None:
    t = Table(
        "ICB",
        "name",
        "window",
        "practices",
        "appointments",
        "GP face-to-face",
        "all-staff face-to-face",
        title="Per-ICB summary (face-to-face is context: no target, no ranking)",
    )
    for r in summary.itertuples():
        t.add_row(
            str(r.icb_code),
            str(r.icb_name),
            r.window,
            f"{r.practices:,}",
            f"{r.appointments:,.0f}",
            f"{r.f2f_gp:.1%}",
            f"{r.f2f_all:.1%}",
        )
    out.print(t)
