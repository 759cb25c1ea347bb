"""The main job on the bundled synthetic national data (`gpaccess demo`), in a store of its own.

synthetic data (with its companion context files: IMD, ODS, coverage, workforce, telephony, online
consultations) → ingest (and a republished month, to show releases) → per-ICB summary, measures tables and
funnel plots → each ICB's local data uploaded → one snapshot → every ICB's cohort, report and pseudonymised
return → plans from the suggestions → later months simulated with a known effect for the planned practices and
ingested → support packs (with months since the plans started) → each ICB's "what worked" report and aggregate
return, and the national version pooled from them. It writes under `<home>/demo`, never into a real store; the
CLI only prints what it reports.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gpaccess.access.principal import Principal
from gpaccess.ingest.load import IngestResult
from gpaccess.measures.service import MeasureSession, icb_summary
from gpaccess.services.app import App

BASELINE = ["2019-08", "2019-09", "2019-10"]
RECENT_FROM, RECENT_TO = (2024, 10), (2025, 10)  # 13 months: SPC baselines need 12 points
REPUBLISHED = "2025-10"
# The months after the plans start (the cohort's cycle, winter 2025/26, starts in November 2025), simulated with
# every planned practice's appointments rising by DEMO_EFFECT from its actions' first start month.
LATER_MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
DEMO_EFFECT = 0.08

Say = Callable[[str], None]
Progress = Callable[[str, int, int], None]  # (what, done, total)


def demo_months() -> list[str]:
    (y, m), months = RECENT_FROM, list(BASELINE)
    while (y, m) <= RECENT_TO:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


@dataclass(frozen=True)
class IcbOutcome:
    icb_code: str
    selected: int
    eligible: int
    cap: int
    excluded: int
    capped_out: int
    report: Path
    nhse_return: Path
    plans: int = 0
    packs: Path | None = None  # the folder of the ICB's practice support packs (HTML and PDF)
    what_worked: Path | None = None  # the ICB's "what worked" report (HTML; CSV and aggregate return beside it)


@dataclass
class MainJobResult:
    home: Path
    outputs: Path
    ingests: list[IngestResult] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    icbs: list[IcbOutcome] = field(default_factory=list)
    seconds: float = 0.0
    pack_seconds: float = 0.0
    national_what_worked: Path | None = None
    later_cpu_seconds: float = 0.0  # CPU (this process and its children) of the later months and evaluation


def run_main_job(
    app: App,
    *,
    principal: Principal,
    icbs: int = 3,
    seed: int = 2021,
    fresh: bool = False,
    say: Say | None = None,
    progress: Progress | None = None,
) -> MainJobResult:
    """Run the whole job in `app`'s home (the CLI passes an `App` over `<GPACCESS_HOME>/demo`)."""
    from gpaccess.publication.charts.common import save_chart, write_chart_data
    from gpaccess.publication.exports import write_csv
    from gpaccess.publication.figures import funnel_figure
    from gpaccess.services import cohort as cohort_service
    from gpaccess.services import ingest as ingest_service
    from gpaccess.services import local as local_service
    from gpaccess.services.measures import measure_session

    tell = say or (lambda _m: None)
    home = app.home
    if fresh and home.exists():
        app.close()
        shutil.rmtree(home)
    started = time.monotonic()
    data = synthetic_data(home / "synthetic", icbs, seed, progress)
    result = MainJobResult(home=home, outputs=home / "outputs")
    files = sorted(data.glob("gpad/*.zip")) + sorted(data.glob("registered_patients/*.csv"))
    files += sorted(data.glob("context/*"))  # IMD, epraccur, coverage, workforce, telephony, online consultations
    tell(f"Ingesting {len(files)} files into {home / 'store'}")
    result.ingests.append(ingest_service.ingest(app, principal=principal, paths=files))
    tell("Ingesting the republished month (a later release replaces the practices it revises)")
    republished = sorted(data.glob("gpad/republished/*.zip"))
    result.ingests.append(ingest_service.ingest(app, principal=principal, paths=republished))

    outputs = result.outputs
    # The window ends before the plans start, on every run: the later months simulated below are never in it.
    session = measure_session(app, months=demo_months()[-app.measure_settings().window_months :])
    result.summary = icb_summary(session)
    write_csv(result.summary, outputs / "icb_summary.csv")
    codes = [str(i) for i in result.summary.icb_code.dropna()]
    latest = measure_session(app)  # what an upload is checked against: on a re-run, the later months' practices
    for icb in codes:
        folder = outputs / icb
        write_csv(session.icb_table(icb), folder / "measures.csv")
        fig = funnel_figure(session, "f2f_gp", icb)
        save_chart(fig.chart, folder / "funnel_f2f_gp.html")
        save_chart(fig.chart, folder / "funnel_f2f_gp.png")
        write_chart_data(fig.data, folder / "funnel_f2f_gp.csv")
        known = set(latest.icb_practices(icb).practice_code)
        path = write_synthetic_local(session, icb, home / "synthetic" / "local", known)
        local_service.upload(app, principal=principal, icb_code=icb, path=path)
    # The cohorts read one snapshot taken after every ICB's local data is in: one set of measures for all.
    session = measure_session(app, months=[f"{m:%Y-%m}" for m in session.months])
    for icb in codes:
        run = cohort_service.run_cohort(app, principal=principal, icb_code=icb, session=session)
        files_out = cohort_service.write_outputs(app, principal=principal, result=run, folder=outputs / icb)
        returned = outputs / "nhse_returns" / f"{icb}.csv"
        returned.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(files_out.nhse_return, returned)
        shutil.move(files_out.nhse_notes, returned.with_name(f"{icb}_notes.txt"))
        c = run.cohort
        plan_ids = plans_for_cohort(app, principal=principal, run=run)
        result.icbs.append(
            IcbOutcome(
                icb,
                len(c.selected),
                c.eligible,
                c.cap,
                len(c.excluded),
                len(c.near_misses),
                files_out.report_html,
                returned,
                plans=len(plan_ids),
                packs=outputs / icb / "support_packs",
            )
        )
    cpu_started = _cpu_seconds()
    later = later_data(app, home / "synthetic" / "later", icbs, seed)
    tell(f"Ingesting {len(LATER_MONTHS)} later months (planned practices' appointments +{DEMO_EFFECT:.0%})")
    result.ingests.append(ingest_service.ingest(app, principal=principal, paths=later))
    result.later_cpu_seconds = _cpu_seconds() - cpu_started
    packs_started = time.monotonic()
    session = measure_session(app)  # the latest months, the later ones included: months since each plan started
    write_support_packs(app, principal=principal, session=session, outputs=outputs, say=tell)
    result.pack_seconds = time.monotonic() - packs_started
    cpu_started = _cpu_seconds()
    result.icbs, result.national_what_worked = what_worked(app, principal=principal, icbs=result.icbs, say=tell)
    result.later_cpu_seconds += _cpu_seconds() - cpu_started
    result.seconds = time.monotonic() - started
    return result


# The demo's analyst takes up every suggestion but one, to show a rejection kept with its reason.
DEMO_REJECTIONS = {"peer_support": "no partner practice has offered peer support this winter yet"}


def plans_for_cohort(app: App, *, principal: Principal, run) -> list[int]:
    """A plan for each selected practice of a stored cohort run, from its suggestions (the demo's decisions:
    every suggestion accepted but `DEMO_REJECTIONS`, each kept with its reason). An existing plan is kept."""
    from gpaccess.errors import ConflictError
    from gpaccess.services import plans as plan_service
    from gpaccess.services import profiles

    members = run.cohort.members
    selected = list(run.cohort.selected.practice_code)
    if not selected:
        return []
    met = {str(r.practice_code): list(r.criteria_met) for r in members.itertuples()}
    found = profiles.suggest_for_icb(
        app,
        principal=principal,
        icb_code=run.cohort.icb_code,
        cycle=run.cycle,
        practice_codes=selected,
        session=run.session,
        criteria_met=met,
    )
    ids = []
    for practice in found:
        reject = {k: v for k, v in DEMO_REJECTIONS.items() if k in {s.action_type for s in practice.suggestions}}
        try:
            ids.append(
                plan_service.create_plan(
                    app,
                    principal=principal,
                    icb_code=run.cohort.icb_code,
                    practice=practice,
                    cycle=run.cycle,
                    reject=reject,
                )
            )
        except ConflictError:  # the demo ran before: its plan stands
            ids.append(
                plan_service.find_plan(app, principal=principal, practice_code=practice.practice_code, cycle=run.cycle)
            )
    return ids


def write_support_packs(app: App, *, principal: Principal, session: MeasureSession, outputs: Path, say: Say) -> int:
    """Recompute every open plan's progress from the session's snapshot, then write each plan's support pack
    (HTML, then every PDF on two processes) and CSV under `<outputs>/<ICB>/support_packs/`."""
    from gpaccess.publication.support_pack import write_pdfs
    from gpaccess.services import plans as plan_service
    from gpaccess.services import progress as progress_service

    progress = progress_service.recompute(app, principal=principal, session=session)
    say(f"Writing {len(progress)} practice support packs (HTML and PDF)")
    written = [
        plan_service.export_plan(
            app,
            principal=principal,
            plan_id=r.plan_id,
            folder=outputs / r.icb_code / "support_packs",
            session=session,
            pdf=False,
            verdicts=r.results,
        ).html
        for r in progress
    ]
    write_pdfs(written, workers=min(2, os.cpu_count() or 1))
    return len(progress)


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def later_data(app: App, folder: Path, icbs: int, seed: int) -> list[Path]:
    """`LATER_MONTHS` of the same synthetic practices, with every practice planned in the store receiving
    `DEMO_EFFECT` from its first action's start month (`synth.effects`; the record is `support.csv`).
    Generated once per set of options and planned practices."""
    from gpaccess.plans import queries
    from gpaccess.synth import generate
    from gpaccess.synth.effects import SUPPORT_FILE, InjectedSupport, support_adjuster, support_csv

    with app.plan_session() as db:
        actions = queries.supported_actions(db)
    first: dict[str, InjectedSupport] = {}
    for a in actions:
        if a.practice_code not in first or a.start_month < first[a.practice_code].start_month:
            first[a.practice_code] = InjectedSupport(
                a.practice_code, a.icb_code, a.action_type, a.start_month, DEMO_EFFECT
            )
    supports = sorted(first.values(), key=lambda r: r.practice_code)
    stamp = folder / "synth.json"
    wanted = {
        "icbs": icbs,
        "seed": seed,
        "months": LATER_MONTHS,
        "supports": [list(vars(r).values()) for r in supports],
    }
    if not (stamp.exists() and json.loads(stamp.read_text()) == wanted):
        shutil.rmtree(folder, ignore_errors=True)
        generate(folder, LATER_MONTHS, seed=seed, icbs=icbs, companions=False, adjust=support_adjuster(supports, seed))
        (folder / SUPPORT_FILE).write_bytes(support_csv(supports))
        stamp.write_text(json.dumps(wanted))
    return sorted(folder.glob("gpad/*.zip")) + sorted(folder.glob("registered_patients/*.csv"))


def what_worked(
    app: App, *, principal: Principal, icbs: list[IcbOutcome], say: Say
) -> tuple[list[IcbOutcome], Path | None]:
    """Each ICB's "what worked" (report, CSV, guarded aggregate return) from the plan store's supported
    actions, and the national version pooled from the ICBs' returns, under `<outputs>/what_worked_national`."""
    from dataclasses import replace

    from gpaccess.services import evaluation as evaluation_service

    say(f"Evaluating what worked in {len(icbs)} ICB(s), and nationally from their returns")
    out, returns = [], []
    for r in icbs:
        run = evaluation_service.evaluate(
            app, principal=principal, icb_code=r.icb_code, folder=r.report.parent / "what_worked"
        )
        out.append(replace(r, what_worked=run.report_html))
        if run.aggregate_return is not None:
            returns.append(run.aggregate_return)
    if not returns:
        return out, None
    national = evaluation_service.pool_national(
        app, principal=principal, returns=returns, folder=icbs[0].report.parent.parent / "what_worked_national"
    )
    return out, national.report_html


def write_synthetic_local(session: MeasureSession, icb: str, folder: Path, known: set[str] | None = None) -> Path:
    """Synthetic local data an ICB would hold (in-hours NHS 111, A&E, patient experience), written as the ICB
    would upload its own: one long-form CSV for its practices.

    Plausible, not random: in-hours 111 use is higher where the practice offers fewer appointments per head,
    A&E attendance rises with deprivation, and satisfaction varies. Seeded by the ICB code. With `known`, only
    those practices (the ones an upload is checked against; a practice closed since the window is left out)."""
    table = session.icb_table(icb)
    if known is not None:
        table = table[table.practice_code.isin(known)].reset_index(drop=True)
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
    path = folder / f"local_indicators_{icb}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, index=False)
    return path


def _imd_scores(session: MeasureSession, codes: pd.Series) -> np.ndarray:
    """Each practice's IMD score where the (synthetic) Fingertips file is loaded; the mean elsewhere."""
    from gpaccess.cohort.run import deprivation

    imd = deprivation(session.snapshot)
    if imd is None:
        return np.full(len(codes), 20.0)
    scores = codes.map(dict(zip(imd.practice_code, imd.imd_score, strict=True)))
    return scores.fillna(scores.mean() if scores.notna().any() else 20.0).to_numpy(dtype=float)


def synthetic_data(folder: Path, icbs: int, seed: int, progress: Progress | None = None) -> Path:
    """Generate once per set of options: the same options give byte-identical files, so reuse them."""
    from gpaccess.synth import generate

    months = demo_months()
    stamp = folder / "synth.json"
    wanted = {"icbs": icbs, "seed": seed, "months": months, "republish": [REPUBLISHED], "companions": True}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    report = progress or (lambda _w, _d, _t: None)
    generate(
        folder,
        months,
        seed=seed,
        icbs=icbs,
        republish=[REPUBLISHED],
        progress=lambda month, done, total: report(f"synthetic {month}", done, total),
    )
    stamp.write_text(json.dumps(wanted))
    return folder
