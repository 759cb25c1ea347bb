"""National-scale benchmark (issue 17): five years of national data within fixed memory, and the same measures
on Spark. Not part of the test suite; the machine is shared, so run it under `nice` and only when needed.

1. **60 national months on DuckDB** (`--months`, default 60): one child process ingests the months one release
   at a time (crosstab, Mapping.csv, list sizes), and at each checkpoint (every 12 months) computes every measure
   for every practice over all the months stored and the cohort of every ICB (default window). It reports wall
   and CPU seconds per stage (ingest, measures, cohorts), their shares, the child's own peak memory (VmHWM), and
   least-squares fits: cumulative time against months (linear), peak memory per checkpoint (under 4 GB).
2. **6 months on Spark local mode** (`--spark-months`): every measure over the store's latest 6 months, the fair
   comparison of f2f_gp and every ICB's cohort, once on DuckDB and once with GPACCESS_ENGINE=spark, each in its
   own process on the same store; the session start is reported apart; the ratio Spark/DuckDB is reported, and
   the two engines' tables are compared (counts equal, values within 1e-9 relative). Spark's memory is the
   driver's and its JVM's own VmHWM (the JVM is a child of the Python process), its CPU both processes'.
3. **Measures over 24 months against pandas** reading the 24 monthly CSVs (`bench/measures.py`, target ≥ 10×
   with the practice-month aggregate), run as its own script.

    nice -n 10 .venv/bin/python bench/scale.py                       # all three (about 30 minutes here)
    .venv/bin/python bench/scale.py --months 12 --checkpoint 6 --skip-measures   # a short check
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

TARGET_PEAK_MB = 4096
TARGET_MEASURES_SPEEDUP = 10.0
TOLERANCE = 1e-9
STORE_VERSION = 1


# -- memory and CPU of a process and its children (the Spark JVM) -------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family_usage() -> tuple[float, float]:
    """(peak MB, CPU s) of this process plus its child processes (each one's own VmHWM and utime + stime)."""
    pids = [os.getpid(), *_children(os.getpid())]
    peak = sum(_status_kb(p, "VmHWM") for p in pids) / 1024
    cpu = sum(_cpu_s(p) for p in pids)
    return peak, cpu


# -- children -----------------------------------------------------------------------------------------------------


def _cohorts(session: Any) -> tuple[int, int]:
    """Every ICB's cohort (default settings, not stored) from one measures session; (ICBs, members)."""
    from gpaccess.cohort.run import build_cohort
    from gpaccess.cohort.select import SelectionSettings

    icbs = sorted(session.directory().icb_code.dropna().unique())
    members = 0
    for icb in icbs:
        members += len(build_cohort(session, icb, SelectionSettings()).members)
    return len(icbs), members


def _national(spec: dict[str, Any]) -> dict[str, Any]:
    """Ingest month after month; at each checkpoint, all measures over every stored month and every cohort."""
    from gpaccess.ingest.load import ingest_files
    from gpaccess.measures.service import MeasureSession, MeasureSettings
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    c.preload_engine()
    home = Path(spec["home"])
    shutil.rmtree(home, ignore_errors=True)
    wh = Warehouse(StoreConfig(home=home))
    checkpoints: list[dict[str, Any]] = []
    stages = {"ingest": [0.0, 0.0], "measures": [0.0, 0.0], "cohorts": [0.0, 0.0]}  # [wall, cpu]
    t_start = time.perf_counter()
    done: list[date] = []

    def timed(stage: str, func):
        t0, cpu0 = time.perf_counter(), time.process_time()
        value = func()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stages[stage][0] += wall
        stages[stage][1] += cpu
        return value, wall, cpu

    c.reset_peak_rss()
    for i, (month, paths) in enumerate(spec["months"], 1):
        _, wall, cpu = timed("ingest", lambda paths=paths: ingest_files(wh, [Path(p) for p in paths], user="bench"))
        done.append(date.fromisoformat(f"{month}-01"))
        c.say(f"  ingested {month} ({i}/{len(spec['months'])}): {wall:.1f} s, CPU {cpu:.1f} s")
        if i % spec["checkpoint"] and i != len(spec["months"]):
            continue
        snapshot = wh.snapshot()
        values, m_wall, m_cpu = timed(
            "measures", lambda s=snapshot: MeasureSession(s, MeasureSettings(), months=list(done)).values()
        )
        (n_icbs, members), k_wall, k_cpu = timed("cohorts", lambda s=snapshot: _cohorts(MeasureSession(s)))
        point = {
            "months": i,
            "cumulative_s": time.perf_counter() - t_start,
            "cumulative_cpu_s": sum(v[1] for v in stages.values()),
            "measures_s": m_wall,
            "measures_cpu_s": m_cpu,
            "practices": len(values),
            "cohorts_s": k_wall,
            "cohorts_cpu_s": k_cpu,
            "icbs": n_icbs,
            "members": members,
            "peak_mb": c.peak_rss_mb(),  # since the last checkpoint
            "store_mb": sum(f.stat().st_size for f in (home / "store").rglob("*") if f.is_file()) / 1e6,
        }
        checkpoints.append(point)
        c.say(
            f"  checkpoint {i} months: measures {m_wall:.1f} s ({len(values):,} practices), cohorts of {n_icbs} "
            f"ICBs {k_wall:.1f} s, peak {point['peak_mb']:.0f} MB, store {point['store_mb']:.0f} MB"
        )
        del values
        gc.collect()
        c.reset_peak_rss()
    wh.close()
    return {
        "seconds": time.perf_counter() - t_start,
        "stages": stages,
        "checkpoints": checkpoints,
        "peak_mb": max(p["peak_mb"] for p in checkpoints),
    }


def _engine(spec: dict[str, Any]) -> dict[str, Any]:
    """Measures, the f2f_gp comparison and every ICB's cohort over the latest months, on one engine."""
    from gpaccess.measures.service import MeasureSession, MeasureSettings
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    import_s = c.preload_engine()
    wh = Warehouse(StoreConfig(home=Path(spec["home"]), engine=spec["engine"]))
    t0 = time.perf_counter()
    if spec["engine"] == "spark":
        from gpaccess.storage import spark

        spark.backend(wh.config.spark)
    start_s = time.perf_counter() - t0
    _, cpu_before = family_usage()
    months = [date.fromisoformat(f"{m}-01") for m in spec["months"]]
    stage: dict[str, float] = {}
    t0 = time.perf_counter()
    session = MeasureSession(wh.snapshot(), MeasureSettings(), months=months)
    values = session.values()
    stage["measures"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    compared = len(session.comparison("f2f_gp").table)
    stage["comparison"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    n_icbs, members = _cohorts(MeasureSession(wh.snapshot(), MeasureSettings()))
    stage["cohorts"] = time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    peak_mb, cpu_after = family_usage()
    values.to_parquet(spec["out"])
    return {
        "seconds": seconds,
        "cpu_s": cpu_after - cpu_before,
        "start_s": start_s,
        "import_s": import_s,
        "stages": stage,
        "practices": len(values),
        "compared": compared,
        "icbs": n_icbs,
        "members": members,
        "peak_mb": peak_mb,
    }


TASKS = {"national": _national, "engine": _engine}


# -- parent -------------------------------------------------------------------------------------------------------


def agreement(a_path: Path, b_path: Path) -> tuple[bool, str]:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(a_path).sort_values("practice_code").reset_index(drop=True)
    b = pd.read_parquet(b_path).sort_values("practice_code").reset_index(drop=True)
    if list(a.columns) != list(b.columns) or a.practice_code.tolist() != b.practice_code.tolist():
        return False, "different practices or columns"
    worst = 0.0
    for col in a.columns:
        if col == "practice_code":
            continue
        x, y = a[col].to_numpy(dtype="float64"), b[col].to_numpy(dtype="float64")
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return False, f"{col}: missing in one engine only"
        ok = ~np.isnan(x)
        rel = np.abs(x[ok] - y[ok]) / np.maximum(np.abs(x[ok]), 1e-300)
        worst = max(worst, float(rel.max(initial=0.0)))
    return (
        worst <= TOLERANCE,
        f"{len(a):,} practices × {len(a.columns) - 1} columns, largest relative difference {worst:.1e}",
    )


def relabelled(workdir: Path, months: list[str], generated: int) -> dict[str, c.Month]:
    """`months` of national data from only the latest `generated` generated months: each earlier month is a
    generated month of the same month of the year, its rows copied under the earlier date (the crosstab's
    APPOINTMENT_MONTH_START_DATE, the list sizes' EXTRACT_DATE, the mapping's file name). Same rows and sizes as a
    generated month, for when generating every month (about 7 s a month idle, minutes on a busy machine) is too
    slow; reported as such."""
    from gpaccess.synth.vocab import month_from_index, month_index

    base = c.dataset(workdir, months[-generated:], zipped=False)
    folder = workdir / "data" / f"relabelled-{months[0]}_{months[-1]}"
    marker = folder / "done.json"
    if marker.exists():
        found = json.loads(marker.read_text())
        return {m: c.Month(**{**d, "crosstab": Path(d["crosstab"]), "registrations": Path(d["registrations"])})
                for m, d in found.items()}  # fmt: skip
    (folder / "gpad").mkdir(parents=True, exist_ok=True)
    (folder / "registered_patients").mkdir(parents=True, exist_ok=True)
    out: dict[str, c.Month] = {}
    for m in months:
        if m in base:
            out[m] = base[m]
            continue
        i = month_index(m)
        source = next(month_from_index(i + k) for k in (36, 24, 12) if month_from_index(i + k) in base)
        src = base[source]
        t, s = date.fromisoformat(f"{m}-01"), date.fromisoformat(f"{source}-01")
        crosstab = folder / "gpad" / f"Practice_Level_Crosstab_{t:%b_%y}.csv"
        old, new = f"01{s:%b%Y}".upper().encode(), f"01{t:%b%Y}".upper().encode()
        with open(src.crosstab, "rb") as fin, open(crosstab, "wb") as fout:
            fout.write(fin.readline())
            for line in fin:
                fout.write(new + line[len(old) :] if line.startswith(old) else line)
        mapping = _mapping(src.crosstab)
        shutil.copyfile(mapping, _mapping(crosstab))
        assert src.registrations is not None
        regs = folder / "registered_patients" / f"gp-reg-pat-prac-all_{m}-01.csv"
        regs.write_bytes(src.registrations.read_bytes().replace(f",{source}-01,".encode(), f",{m}-01,".encode()))
        out[m] = c.Month(m, crosstab, regs, src.rows, src.appointments, crosstab.stat().st_size)
        c.say(f"  {m}: the rows of {source}, relabelled")
    marker.write_text(json.dumps({m: {**f.__dict__, "crosstab": str(f.crosstab), "registrations": str(f.registrations)}
                                  for m, f in out.items()}, indent=1))  # fmt: skip
    return out


def add_options(p) -> None:
    p.set_defaults(months=60)
    p.add_argument(
        "--generate-months",
        type=int,
        default=None,
        help="generate only the latest N months and relabel them for the earlier ones (default: generate all)",
    )
    p.add_argument("--checkpoint", type=int, default=12, help="months between checkpoints (default 12)")
    p.add_argument("--spark-months", type=int, default=6, help="months for the Spark comparison (default 6)")
    p.add_argument("--skip-national", action="store_true", help="reuse the national store; skip part 1")
    p.add_argument("--home", type=Path, default=None, help="with --skip-national: the store parts 2 reads")
    p.add_argument("--skip-spark", action="store_true", help="skip part 2")
    p.add_argument("--skip-measures", action="store_true", help="skip part 3 (bench/measures.py)")


def main() -> None:
    opts = c.options(__doc__.split("\n\n")[0], add_options)
    script = Path(__file__).resolve()
    workdir = opts.workdir.resolve()
    runs_dir = workdir / "runs" / "scale"
    started = time.time()
    c.say(f"gpaccess national-scale benchmark, {date.today()}: {c.machine()}")
    c.say(f"load average at start: {c.load()}; niceness {os.nice(0)}")
    months = c.months_ending(c.LAST_MONTH, opts.months)
    if opts.generate_months and opts.generate_months < len(months):
        data = relabelled(workdir, months, opts.generate_months)
        results_note = f"{opts.generate_months} generated months; the earlier ones are their rows relabelled"
    else:
        data = c.dataset(workdir, months, zipped=False)
        results_note = "every month generated"
    c.say(results_note)
    rows = sum(m.rows for m in data.values())
    size = sum(m.csv_bytes for m in data.values())
    c.say(f"{len(months)} national months {months[0]}..{months[-1]}: {rows:,} rows, {size / 1e9:.2f} GB of CSV")
    home = opts.home or workdir / "stores" / f"scale-v{STORE_VERSION}-seed{c.SEED}-{months[0]}_{months[-1]}"
    results: dict[str, Any] = {"date": str(date.today()), "machine": c.machine(), "months": months, "rows": rows,
                               "csv_bytes": size, "data": results_note, "load_start": c.load()}  # fmt: skip

    # 1. the national run on DuckDB
    if not opts.skip_national:
        c.say(f"\n1. {len(months)} national months on DuckDB, checkpoints every {opts.checkpoint} months")
        files = [
            [m, [str(data[m].crosstab), str(_mapping(data[m].crosstab)), str(data[m].registrations)]] for m in months
        ]
        run = c.run_child(script, "national", {"home": str(home), "months": files, "checkpoint": opts.checkpoint},
                          runs_dir)  # fmt: skip
        results["national"] = {**run.result, "process_s": run.wall, "peak_mb": run.peak_mb}
        report_national(results["national"])
        (home / "done.json").write_text(json.dumps({"months": months}))
    elif opts.home is None and not (home / "done.json").exists():
        raise SystemExit(f"--skip-national needs the store {home} a previous run built")

    # 2. the latest months on DuckDB and on Spark local mode, same store
    if not opts.skip_spark:
        latest = months[-opts.spark_months :]
        c.say(f"\n2. {len(latest)} months ({latest[0]}..{latest[-1]}): DuckDB and Spark local mode, same store")
        engines: dict[str, c.Run] = {}
        for engine in ("duckdb", "spark"):
            out = runs_dir / f"values-{engine}.parquet"
            env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
            spec = {"home": str(home), "engine": engine, "months": latest, "out": str(out)}
            engines[engine] = c.run_child(script, "engine", spec, runs_dir, env=env)
            r = engines[engine]
            c.say(
                f"  {engine}: {r.seconds:.1f} s (measures {r.result['stages']['measures']:.1f}, comparison "
                f"{r.result['stages']['comparison']:.1f}, cohorts of {r.result['icbs']} ICBs "
                f"{r.result['stages']['cohorts']:.1f}), CPU {r.result['cpu_s']:.1f} s, session start "
                f"{r.result['start_s']:.1f} s, peak {r.peak_mb:.0f} MB"
            )
        good, note = agreement(runs_dir / "values-duckdb.parquet", runs_dir / "values-spark.parquet")
        ratio = engines["spark"].seconds / engines["duckdb"].seconds
        c.say(f"  same measures on both engines: {'yes' if good else 'NO'} ({note})")
        c.say(f"  Spark / DuckDB: {ratio:.1f}x the time (session start not included)")
        results["engines"] = {
            e: {**r.result, "process_s": r.wall, "peak_mb": r.peak_mb} for e, r in engines.items()
        } | {"ratio": ratio, "agree": good, "agreement": note}

    # 3. measures over 24 months against pandas (its own script, its own report)
    if not opts.skip_measures:
        c.say("\n3. measures over 24 months against pandas reading the monthly CSVs (bench/measures.py)")
        args = [sys.executable, str(script.with_name("measures.py")), "--months", "24", "--repeat", str(opts.repeat),
                "--workdir", str(workdir)]  # fmt: skip
        subprocess.run(args, check=True)
        m = json.loads((workdir / "results-measures.json").read_text())
        results["measures_24"] = {k: m[k] for k in ("speedup", "agree", "gpaccess", "pandas")}
        c.say(f"  {m['speedup']:.1f}x pandas (target >= {TARGET_MEASURES_SPEEDUP:g}x)")

    results["load_end"] = c.load()
    results["elapsed_s"] = time.time() - started
    (workdir / "results-scale.json").write_text(json.dumps(results, indent=1, default=str))
    c.say(f"\nload average at end: {results['load_end']}; results in {workdir / 'results-scale.json'}")


def _mapping(crosstab: Path) -> Path:
    return crosstab.with_name(crosstab.name.replace("Practice_Level_Crosstab_", "Mapping_"))


def report_national(r: dict[str, Any]) -> None:
    points = r["checkpoints"]
    stages = r["stages"]
    total = sum(v[0] for v in stages.values())
    c.say(
        c.table(
            ["stage", "wall s", "share", "CPU s"],
            [[k, f"{v[0]:.1f}", f"{v[0] / total:.0%}", f"{v[1]:.1f}"] for k, v in stages.items()],
        )
    )
    c.say(
        c.table(
            ["months", "cumulative s", "CPU s", "measures s", "cohorts s", "peak MB", "store MB"],
            [
                [
                    str(p["months"]),
                    f"{p['cumulative_s']:.0f}",
                    f"{p['cumulative_cpu_s']:.0f}",
                    f"{p['measures_s']:.1f}",
                    f"{p['cohorts_s']:.1f}",
                    f"{p['peak_mb']:.0f}",
                    f"{p['store_mb']:.0f}",
                ]
                for p in points
            ],
        )
    )
    if len(points) >= 3:
        xs = [float(p["months"]) for p in points]
        slope, intercept, r2 = c.least_squares(xs, [p["cumulative_s"] for p in points])
        c.say(f"cumulative time = {slope:.1f} s/month × months + {intercept:.0f} s, R² {r2:.4f}")
        slope_m, _, r2_m = c.least_squares(xs, [p["measures_s"] for p in points])
        c.say(f"measures over all months = {slope_m:.2f} s/month, R² {r2_m:.4f}")
        slope_p, _, _ = c.least_squares(xs, [p["peak_mb"] for p in points])
        c.say(f"peak memory trend {slope_p:+.1f} MB per month")
    peak = r["peak_mb"]
    c.say(f"peak memory {peak:.0f} MB (target < {TARGET_PEAK_MB} MB) {'OK' if peak < TARGET_PEAK_MB else 'MISSED'}")


if __name__ == "__main__" and not c.child_main(TASKS):
    main()
