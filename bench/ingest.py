"""Ingest benchmark (issue "Foundation"; DESIGN.md "Performance floors"). Not part of the test suite.

One synthetic national month (about 1M rows, 185 MB of CSV), measured in the same run, each contender in its
own process, `--repeat` times interleaved (median reported):

- floor: DuckDB itself loading the same CSV into a persistent table of an on-disk database, dialect and the
  14 column types declared (`read_csv(..., auto_detect=false)`);
- gpaccess: `ingest_files` of the same CSV into a fresh store (validate, normalise, write Parquet, check totals,
  swap the manifest);
- pandas: `read_csv` + `groupby` of the same file (the analysts' tool today), for context;
- gpaccess zip: the month as published (the zip holding the crosstab and Mapping.csv), reported separately.

Then `--months` months ingested one at a time into one store, in one process: per-month time and peak memory
(VmHWM, reset before each month), with a least-squares fit showing time linear in months and memory flat.

    make bench-ingest                                   # or: .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --months 6 --repeat 1 --workdir /tmp/gpb
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

TARGET_RATIO = 1.5
TARGET_PEAK_MB = 2048
# Linear in months: the per-month time may drift by at most this share of its mean over the whole series (a
# store whose cost grew with its size would drift by 100% or more), and likewise the per-month peak memory.
LINEAR_DRIFT = 0.25
FLAT_DRIFT = 0.25


# -- children -----------------------------------------------------------------------------------------------------


def _floor(spec: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    from gpaccess.synth.vocab import CROSSTAB_COLUMNS

    db = Path(spec["db"])
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    types = {name: "BIGINT" if name == "COUNT_OF_APPOINTMENTS" else "VARCHAR" for name in CROSSTAB_COLUMNS}
    columns = "{" + ", ".join(f"'{n}': '{t}'" for n, t in types.items()) + "}"
    sql = (
        f"CREATE TABLE t AS SELECT * FROM read_csv('{spec['csv']}', header = true, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {columns}, auto_detect = false)"
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    con.execute(sql)
    con.close()  # the table is durable on disk (checkpointed) before the clock stops
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    con = duckdb.connect(str(db), read_only=True)
    rows, total = con.execute("SELECT count(*), sum(COUNT_OF_APPOINTMENTS) FROM t").fetchone()
    con.close()
    size = db.stat().st_size
    db.unlink()
    return {"seconds": seconds, "cpu_s": cpu_s, "rows": rows, "total": int(total), "bytes": size}


def _gpaccess(spec: dict[str, Any]) -> dict[str, Any]:
    from gpaccess.ingest.load import ingest_files
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    home = Path(spec["home"])
    shutil.rmtree(home, ignore_errors=True)
    import_s = c.preload_engine()
    t0, cpu0 = time.perf_counter(), time.process_time()
    wh = Warehouse(StoreConfig(home=home, threads=None, memory_limit="2GB"))
    result = ingest_files(wh, [Path(p) for p in spec["paths"]], user="bench")
    wh.close()
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    size = sum(f.stat().st_size for f in (home / "store" / "data").rglob("*.parquet"))
    if not spec.get("keep"):
        shutil.rmtree(home, ignore_errors=True)
    return {"seconds": seconds, "cpu_s": cpu_s, "rows": result.rows, "bytes": size, "import_s": import_s}


def _pandas(spec: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    t0, cpu0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(spec["csv"])
    grouped = df.groupby(["GP_CODE", "HCP_TYPE", "APPT_MODE"], observed=True)["COUNT_OF_APPOINTMENTS"].sum()
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    return {"seconds": seconds, "cpu_s": cpu_s, "rows": len(df), "total": int(grouped.sum()), "groups": len(grouped)}


def _series(spec: dict[str, Any]) -> dict[str, Any]:
    from gpaccess.ingest.load import ingest_files
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    home = Path(spec["home"])
    shutil.rmtree(home, ignore_errors=True)
    c.preload_engine()
    wh = Warehouse(StoreConfig(home=home, threads=None, memory_limit="2GB"))
    months = []
    t_all = time.perf_counter()
    for month, path in spec["months"]:
        c.reset_peak_rss()
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = ingest_files(wh, [Path(path)], user="bench")
        seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        months.append(
            {
                "month": month,
                "seconds": seconds,
                "cpu_s": cpu_s,
                "rows": result.rows,
                "peak_mb": c.peak_rss_mb(),
                "rss_mb": c.current_rss_mb(),
                "store_bytes": sum(f.stat().st_size for f in (home / "store" / "data").rglob("*.parquet")),
            }
        )
    total = time.perf_counter() - t_all
    wh.close()
    return {"seconds": total, "months": months}


TASKS = {"floor": _floor, "gpaccess": _gpaccess, "pandas": _pandas, "series": _series}


# -- the benchmark ------------------------------------------------------------------------------------------------


def main() -> None:
    opts = c.options(__doc__.split("\n\n")[0])
    script = Path(__file__).resolve()
    workdir = opts.workdir.resolve()
    runs_dir = workdir / "runs" / "ingest"
    shutil.rmtree(runs_dir, ignore_errors=True)
    started = time.time()
    load_before = c.load()
    c.say(f"gpaccess ingest benchmark, {date.today()}: {c.machine()}")
    c.say(f"load average at start: {load_before}")

    months = c.months_ending(c.LAST_MONTH, opts.months)
    data = c.dataset(workdir, months, zipped=False)
    zipped = c.dataset(workdir, months[-1:], zipped=True)
    one = data[months[-1]]
    zip_path = zipped[months[-1]].crosstab
    c.say(
        f"\none national month {one.month}: {one.rows:,} rows, {one.appointments:,} appointments, "
        f"{one.csv_bytes / 1e6:.0f} MB CSV ({zip_path.stat().st_size / 1e6:.0f} MB zip with Mapping.csv)"
    )

    contenders: dict[str, tuple[str, dict[str, Any]]] = {
        "DuckDB floor (CREATE TABLE from read_csv, on disk)": ("floor", {"csv": str(one.crosstab)}),
        "gpaccess ingest (CSV)": ("gpaccess", {"paths": [str(one.crosstab)]}),
        "pandas read_csv + groupby": ("pandas", {"csv": str(one.crosstab)}),
        "gpaccess ingest (published zip)": ("gpaccess", {"paths": [str(zip_path)]}),
    }
    c.warm([one.crosstab, zip_path])  # every contender reads from the page cache, none pays the first read
    runs: dict[str, list[c.Run]] = {name: [] for name in contenders}
    for i in range(opts.repeat):
        for name, (task, spec) in contenders.items():
            where = runs_dir / f"{task}-{i}"
            spec = {**spec, "db": str(where / "floor.duckdb"), "home": str(where / "home"), "keep": opts.keep}
            run = c.run_child(script, task, spec, runs_dir)
            runs[name].append(run)
            c.say(f"  run {i + 1}/{opts.repeat} {name}: {run.seconds:.2f} s, peak {run.peak_mb:.0f} MB")
    med = {name: c.median_run(rs) for name, rs in runs.items()}
    floor = med["DuckDB floor (CREATE TABLE from read_csv, on disk)"]
    ours = med["gpaccess ingest (CSV)"]
    for name, run in med.items():  # every contender read the whole file (the zip holds Mapping.csv's rows too)
        assert run.result["rows"] >= one.rows if "zip" in name else run.result["rows"] == one.rows, (name, run.result)
    rows = [
        [
            *c.run_row(name, runs[name]),
            f"{run.seconds / floor.seconds:.2f}x",
            f"{run.result['cpu_s']:.2f}",
            f"{run.result['cpu_s'] / floor.result['cpu_s']:.2f}x",
        ]
        for name, run in med.items()
    ]
    c.say(f"\nOne national month, median of {opts.repeat} (each in its own process):")
    c.say(c.table([*c.RUN_HEADERS, "vs floor", "CPU s", "CPU vs floor"], rows))

    # -- months one at a time into one store ---------------------------------------------------------------------
    c.say(f"\n{len(months)} months ingested one at a time into one store (one process):")
    series = c.run_child(
        script,
        "series",
        {"home": str(runs_dir / "series" / "home"), "months": [[m, str(data[m].crosstab)] for m in months]},
        runs_dir,
    )
    per = series.result["months"]
    # The child resets its VmHWM before each month, so the peak it reports at exit is the last month's: the
    # whole series' peak is the largest of the months' peaks.
    series.peak_mb = max([series.peak_mb, *(m["peak_mb"] for m in per)])
    for m in per:
        assert m["rows"] == data[m["month"]].rows, m
    xs = [float(i + 1) for i in range(len(per))]
    secs = [m["seconds"] for m in per]
    peaks = [m["peak_mb"] for m in per]
    cumulative = [sum(secs[: i + 1]) for i in range(len(secs))]
    c.say(
        c.table(
            ["month", "s", "CPU s", "cumulative s", "peak MB", "RSS after MB", "store MB"],
            [
                [
                    m["month"],
                    f"{m['seconds']:.2f}",
                    f"{m['cpu_s']:.2f}",
                    f"{cum:.1f}",
                    f"{m['peak_mb']:.0f}",
                    f"{m['rss_mb']:.0f}",
                    f"{m['store_bytes'] / 1e6:.0f}",
                ]
                for m, cum in zip(per, cumulative, strict=True)
            ],
        )
    )
    linear: dict[str, Any] = {"n_months": len(per)}
    if len(per) >= 3:
        slope, intercept, r2 = c.least_squares(xs, cumulative)
        t_slope, _, _ = c.least_squares(xs, secs)
        cpus = [m["cpu_s"] for m in per]
        cpu_slope, _, _ = c.least_squares(xs, cpus)
        cpu_drift = cpu_slope * (len(per) - 1) / statistics.fmean(cpus)
        _, _, cpu_r2 = c.least_squares(xs, [sum(cpus[: i + 1]) for i in range(len(cpus))])
        m_slope, _, _ = c.least_squares(xs, peaks)
        mean_s, mean_peak = statistics.fmean(secs), statistics.fmean(peaks)
        t_drift = t_slope * (len(per) - 1) / mean_s
        m_drift = m_slope * (len(per) - 1) / mean_peak
        linear |= {
            "cumulative_slope_s_per_month": slope,
            "cumulative_intercept_s": intercept,
            "cumulative_r2": r2,
            "per_month_mean_s": mean_s,
            "per_month_median_s": statistics.median(secs),
            "per_month_trend_s_per_month": t_slope,
            "per_month_drift": t_drift,
            "per_month_cpu_mean_s": statistics.fmean(cpus),
            "per_month_cpu_trend_s_per_month": cpu_slope,
            "per_month_cpu_drift": cpu_drift,
            "cumulative_cpu_r2": cpu_r2,
            "peak_mean_mb": mean_peak,
            "peak_trend_mb_per_month": m_slope,
            "peak_drift": m_drift,
        }
        c.say(
            f"least squares, cumulative time = {slope:.3f} s x months + {intercept:.2f} s, R^2 = {r2:.5f}\n"
            f"per-month time: mean {mean_s:.2f} s, median {statistics.median(secs):.2f} s, "
            f"min {min(secs):.2f}, max {max(secs):.2f}; trend {t_slope * 1000:+.1f} ms per month already "
            f"stored ({t_drift:+.1%} over the series)\n"
            f"per-month CPU time (all threads, less sensitive to other load): mean {statistics.fmean(cpus):.2f} s, "
            f"trend {cpu_slope * 1000:+.1f} ms per month ({cpu_drift:+.1%} over the series)\n"
            f"per-month peak memory: mean {mean_peak:.0f} MB, max {max(peaks):.0f} MB; trend "
            f"{m_slope:+.1f} MB per month ({m_drift:+.1%} over the series); whole process peak "
            f"{series.peak_mb:.0f} MB"
        )

    # -- verdicts -------------------------------------------------------------------------------------------------
    ratio = ours.seconds / floor.seconds
    peak_all = max([ours.peak_mb, series.peak_mb, med["gpaccess ingest (published zip)"].peak_mb])
    pandas = med["pandas read_csv + groupby"]
    # Judged on CPU time per month: on a shared machine the wall time also measures everyone else's load.
    is_linear = len(per) < 3 or (abs(linear["per_month_cpu_drift"]) <= LINEAR_DRIFT and linear["cumulative_r2"] >= 0.99)
    is_flat = len(per) < 3 or abs(linear["peak_drift"]) <= FLAT_DRIFT
    load_after = c.load()
    summary = {
        "date": str(date.today()),
        "machine": c.machine(),
        "load_start": load_before,
        "load_end": load_after,
        "elapsed_s": time.time() - started,
        "month": one.month,
        "rows": one.rows,
        "csv_bytes": one.csv_bytes,
        "repeat": opts.repeat,
        "single": {
            name: {
                "median_s": r.seconds,
                "runs_s": [x.seconds for x in runs[name]],
                "process_s": r.wall,
                "peak_mb": r.peak_mb,
                **r.result,
            }
            for name, r in med.items()
        },
        "series": {"peak_mb": series.peak_mb, "total_s": series.seconds, "months": per, **linear},
    }
    (workdir / "results-ingest.json").write_text(json.dumps(summary, indent=1))
    if not opts.keep:
        shutil.rmtree(runs_dir, ignore_errors=True)
    ok = lambda good: "OK" if good else "MISSED"  # noqa: E731
    c.say(f"\nload average at end: {load_after}; results in {workdir / 'results-ingest.json'}")
    c.say(
        f"pandas read_csv+groupby = {pandas.seconds / floor.seconds:.2f}x the floor, "
        f"{pandas.seconds / ours.seconds:.2f}x gpaccess (context, no target)"
    )
    c.say(
        f"gpaccess's engine imports (Ibis DuckDB backend, pandas, pyarrow; before the clock, like the floor's "
        f"`import duckdb`): {ours.result['import_s']:.2f} s; whole processes: gpaccess {ours.wall:.2f} s, "
        f"floor {floor.wall:.2f} s ({ours.wall / floor.wall:.2f}x)"
    )
    c.say(f"zip ingest: {med['gpaccess ingest (published zip)'].seconds:.2f} s (CSV {ours.seconds:.2f} s)")
    if len(per) >= 3:
        c.say(
            f"linear in months: {linear['cumulative_slope_s_per_month']:.2f} s/month, "
            f"R^2 {linear['cumulative_r2']:.4f} wall, {linear['cumulative_cpu_r2']:.4f} CPU; "
            f"per-month drift {linear['per_month_drift']:+.0%} wall, "
            f"{linear['per_month_cpu_drift']:+.0%} CPU "
            f"(target within ±{LINEAR_DRIFT:.0%}) {ok(is_linear)}"
        )
        c.say(
            f"memory flat: per-month peak drift {linear['peak_drift']:+.0%} "
            f"(target within ±{FLAT_DRIFT:.0%}) {ok(is_flat)}"
        )
    c.say(f"peak memory = {peak_all:.0f} MB (target < {TARGET_PEAK_MB} MB) {ok(peak_all < TARGET_PEAK_MB)}")
    c.say(
        f"CPU seconds (all threads): gpaccess {ours.result['cpu_s']:.2f}, floor {floor.result['cpu_s']:.2f} "
        f"({ours.result['cpu_s'] / floor.result['cpu_s']:.2f}x)"
    )
    c.say(
        f"ingest/floor = {ratio:.2f}x ({ours.seconds:.2f} s / {floor.seconds:.2f} s; "
        f"target <= {TARGET_RATIO}x) {ok(ratio <= TARGET_RATIO)}"
    )


if __name__ == "__main__" and not c.child_main(TASKS):
    main()
