"""Measures benchmark (issue "Access measures"; DESIGN.md "Performance floors"). Not part of the test suite.

Every measure for every national practice over `--months` synthetic months (default 24), each contender in its
own process, `--repeat` times interleaved (median reported):

- gpaccess: `MeasureSession(warehouse.snapshot(), MeasureSettings(), months=[...]).values()` on a store holding
  the months (crosstab and list sizes; built once and reused, not timed);
- pandas: what an analyst does today: read the monthly CSVs one at a time (`read_csv` with the columns needed),
  compute each practice's numerators and denominators for the same measure definitions (the
  `measures/definitions/*.toml` conditions, applied with `isin`), add the month's list sizes, and pool the
  months per practice.

The two results are compared practice by practice (every share's numerator and denominator exactly, the values
of f2f_gp, dna_rate, same_day_share and every other share and appts_per_1000 to 1e-9), so both do the same work.
`.comparison("f2f_gp")` (the case-mix standardised funnel, a second scan) is timed beside it for information.

    make bench-measures                                  # or: .venv/bin/python bench/measures.py
    .venv/bin/python bench/measures.py --months 6 --repeat 1 --workdir /tmp/gpb
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

TARGET_SPEEDUP = 10.0  # with the practice-month aggregate (DESIGN "Performance floors"; it was 5x before it)
TARGET_PEAK_MB = 2048
TOLERANCE = 1e-9
STORE_VERSION = 1
# Store column -> the crosstab's published column.
CSV_COLUMN = {
    "hcp_type": "HCP_TYPE",
    "appt_mode": "APPT_MODE",
    "national_category": "NATIONAL_CATEGORY",
    "time_band": "TIME_BETWEEN_BOOK_AND_APPT",
    "appt_status": "APPT_STATUS",
}


# -- children -----------------------------------------------------------------------------------------------------


def _build_store(spec: dict[str, Any]) -> dict[str, Any]:
    """The store the measures read: each month's crosstab and list sizes, one release a month (not timed)."""
    from gpaccess.ingest.load import ingest_files
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    home = Path(spec["home"])
    shutil.rmtree(home, ignore_errors=True)
    wh = Warehouse(StoreConfig(home=home))
    t0 = time.perf_counter()
    for month, paths in spec["months"]:
        ingest_files(wh, [Path(p) for p in paths], user="bench")
        c.say(f"  stored {month} ({time.perf_counter() - t0:.0f} s)")
    wh.close()
    return {"seconds": time.perf_counter() - t0}


def _gpaccess(spec: dict[str, Any]) -> dict[str, Any]:
    from gpaccess.measures.service import MeasureSession, MeasureSettings
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    months = [date.fromisoformat(f"{m}-01") for m in spec["months"]]
    import_s = c.preload_engine()
    t0, cpu0 = time.perf_counter(), time.process_time()
    wh = Warehouse(StoreConfig(home=Path(spec["home"]), threads=None, memory_limit="2GB"))
    session = MeasureSession(wh.snapshot(), MeasureSettings(), months=months)
    values = session.values()
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    t1 = time.perf_counter()
    comparison = session.comparison("f2f_gp")
    comparison_s = time.perf_counter() - t1
    compared = len(comparison.table)
    del comparison, session  # the session's cached engine table is dropped while the connection is open
    gc.collect()
    wh.close()
    values.to_parquet(spec["out"])
    return {
        "seconds": seconds,
        "cpu_s": cpu_s,
        "comparison_s": comparison_s,
        "practices": len(values),
        "compared": compared,
        "import_s": import_s,
    }


def _pandas(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from gpaccess.measures.definitions import load_measures

    measures = load_measures()
    shares = [m for m in measures.values() if m.kind == "share"]
    labels = list(CSV_COLUMN.values())
    t0, cpu0 = time.perf_counter(), time.process_time()
    parts = []
    for crosstab, registrations in spec["files"]:
        df = pd.read_csv(
            crosstab,
            usecols=["GP_CODE", *labels, "COUNT_OF_APPOINTMENTS"],
            dtype={"GP_CODE": "string", **dict.fromkeys(labels, "category"), "COUNT_OF_APPOINTMENTS": "int64"},
        )
        # Published labels vary in spacing ("8  to 14 Days"): compare them with runs of spaces collapsed.
        for col in labels:
            df[col] = df[col].cat.rename_categories(lambda s: " ".join(s.split()))
        count = df["COUNT_OF_APPOINTMENTS"].to_numpy()

        def where(cond: dict[str, tuple[str, ...]], df: pd.DataFrame = df) -> np.ndarray:
            mask = np.ones(len(df), bool)
            for col, values in cond.items():
                mask &= df[CSV_COLUMN[col]].isin(values).to_numpy()
            return mask

        cols: dict[str, np.ndarray] = {"appointments": count}
        for m in shares:
            base = where(m.filter) & where(m.denominator)
            cols[f"{m.name}__den"] = np.where(base, count, 0)
            cols[f"{m.name}__num"] = np.where(base & where(m.numerator), count, 0)
        month = pd.DataFrame(cols).groupby(df["GP_CODE"].to_numpy()).sum()
        regs = pd.read_csv(registrations, dtype={"CODE": "string", "SEX": "string", "AGE": "string"})
        regs = regs[(regs.TYPE == "GP") & (regs.SEX == "ALL") & (regs.AGE == "ALL")]
        month["patients"] = regs.groupby("CODE")["NUMBER_OF_PATIENTS"].sum().reindex(month.index)
        month["rate__num"] = month["appointments"].where(month["patients"].notna(), 0)
        parts.append(month)
    stacked = pd.concat(parts)
    pooled = stacked.groupby(level=0).agg(
        {
            "appointments": "sum",
            "rate__num": "sum",
            "patients": "mean",
            **{k: "sum" for k in stacked.columns if k.endswith(("__num", "__den"))},
        }
    )
    pooled["months"] = stacked.groupby(level=0).size()
    pooled["rate__den"] = stacked.groupby(level=0)["patients"].sum(min_count=1)
    for m in shares:
        den = pooled[f"{m.name}__den"]
        pooled[m.name] = (pooled[f"{m.name}__num"] / den).where(den > 0)
    pooled["appts_per_1000"] = (pooled["rate__num"] * 1000.0 / pooled["rate__den"]).where(pooled["rate__den"] > 0)
    out = pooled.rename_axis("practice_code").reset_index().sort_values("practice_code")
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    out.to_parquet(spec["out"])
    return {"seconds": seconds, "cpu_s": cpu_s, "practices": len(out)}


TASKS = {"store": _build_store, "gpaccess": _gpaccess, "pandas": _pandas}


# -- agreement ----------------------------------------------------------------------------------------------------


def agreement(ours_path: Path, theirs_path: Path) -> tuple[bool, list[str]]:
    """Same practices; every share's numerator and denominator equal; values equal to 1e-9."""
    import numpy as np
    import pandas as pd

    from gpaccess.measures.definitions import load_measures

    ours = pd.read_parquet(ours_path)
    theirs = pd.read_parquet(theirs_path)
    notes = [f"practices: gpaccess {len(ours):,}, pandas {len(theirs):,}"]
    good = set(ours.practice_code) == set(theirs.practice_code)
    both = ours.merge(theirs, on="practice_code", suffixes=("", "_pd"), how="inner")
    shares = [m.name for m in load_measures().values() if m.kind == "share"]
    exact = ["appointments", "months", "rate__num", "rate__den"] + [f"{n}__{s}" for n in shares for s in ("num", "den")]
    bad_exact = [
        col
        for col in exact
        if not np.array_equal(
            both[col].to_numpy("float64", na_value=np.nan),
            both[f"{col}_pd"].to_numpy("float64", na_value=np.nan),
            equal_nan=True,
        )
    ]
    good &= not bad_exact
    notes.append(f"{len(exact)} integer numerators/denominators equal for every practice: {not bad_exact}")
    if bad_exact:
        notes.append(f"  differ: {', '.join(bad_exact)}")
    first = ["f2f_gp", "dna_rate", "same_day_share"]
    for name in [*first, *(n for n in shares if n not in first), "appts_per_1000"]:
        a, b = both[name].to_numpy("float64", na_value=np.nan), both[f"{name}_pd"].to_numpy("float64", na_value=np.nan)
        same_null = bool((np.isnan(a) == np.isnan(b)).all())
        diff = float(np.nanmax(np.abs(a - b))) if (~np.isnan(a)).any() else 0.0
        ok = same_null and diff <= TOLERANCE
        good &= ok
        notes.append(f"{name:20s} max |gpaccess - pandas| = {diff:.1e} over {int((~np.isnan(a)).sum()):,} practices"
                     f"{'' if same_null else ' (nulls differ)'} {'OK' if ok else 'DIFFERENT'}")  # fmt: skip
    return good, notes


# -- the benchmark ------------------------------------------------------------------------------------------------


def main() -> None:
    opts = c.options(__doc__.split("\n\n")[0])
    script = Path(__file__).resolve()
    workdir = opts.workdir.resolve()
    runs_dir = workdir / "runs" / "measures"
    shutil.rmtree(runs_dir, ignore_errors=True)
    started = time.time()
    load_before = c.load()
    c.say(f"gpaccess measures benchmark, {date.today()}: {c.machine()}")
    c.say(f"load average at start: {load_before}")

    months = c.months_ending(c.LAST_MONTH, opts.months)
    data = c.dataset(workdir, months, zipped=False)
    rows = sum(m.rows for m in data.values())
    size = sum(m.csv_bytes for m in data.values())
    c.say(f"{len(months)} national months {months[0]}..{months[-1]}: {rows:,} rows, {size / 1e9:.2f} GB of CSV")

    home = workdir / "stores" / f"measures-v{STORE_VERSION}-seed{c.SEED}-{months[0]}_{months[-1]}"
    marker = home / "done.json"
    if marker.exists():
        c.say(f"reusing the store at {home}")
    else:
        c.say(f"building the store at {home} (not timed)...")
        spec = {"home": str(home), "months": [[m, [str(data[m].crosstab), str(data[m].registrations)]] for m in months]}
        built = c.run_child(script, "store", spec, runs_dir)
        marker.write_text(json.dumps({"seconds": built.seconds, "peak_mb": built.peak_mb}))
        c.say(f"  built in {built.seconds:.0f} s, peak {built.peak_mb:.0f} MB")

    files = [[str(data[m].crosstab), str(data[m].registrations)] for m in months]
    runs: dict[str, list[c.Run]] = {"gpaccess": [], "pandas": []}
    outputs: dict[str, Path] = {}
    for i in range(opts.repeat):
        for name in runs:
            out = runs_dir / f"{name}-{i}.parquet"
            spec = {"home": str(home), "months": months, "files": files, "out": str(out)}
            run = c.run_child(script, name, spec, runs_dir)
            runs[name].append(run)
            outputs[name] = out
            extra = f" (+ comparison f2f_gp {run.result['comparison_s']:.2f} s)" if name == "gpaccess" else ""
            c.say(f"  run {i + 1}/{opts.repeat} {name}: {run.seconds:.2f} s{extra}, peak {run.peak_mb:.0f} MB")
    med = {name: c.median_run(rs) for name, rs in runs.items()}
    ours, pandas = med["gpaccess"], med["pandas"]

    good, notes = agreement(outputs["gpaccess"], outputs["pandas"])
    c.say("\nagreement (last run of each):")
    for line in notes:
        c.say(f"  {line}")

    c.say(f"\nAll measures, every national practice, {len(months)} months; median of {opts.repeat}, own processes:")
    c.say(
        c.table(
            c.RUN_HEADERS,
            [
                c.run_row("gpaccess MeasureSession.values()", runs["gpaccess"]),
                c.run_row(f"pandas, {len(months)} CSVs one at a time", runs["pandas"]),
            ],
        )
    )
    comparison = sorted(r.result["comparison_s"] for r in runs["gpaccess"])[len(runs["gpaccess"]) // 2]
    c.say(f"then .comparison('f2f_gp') (case-mix standardised funnel, a second scan): median {comparison:.2f} s")

    speedup = pandas.seconds / ours.seconds
    c.say(
        f"CPU seconds (all threads, less sensitive to other load): gpaccess {ours.result['cpu_s']:.2f}, "
        f"pandas {pandas.result['cpu_s']:.2f} ({pandas.result['cpu_s'] / ours.result['cpu_s']:.1f}x); "
        f"gpaccess engine imports before the clock {ours.result['import_s']:.2f} s"
    )
    peak = max(r.peak_mb for r in runs["gpaccess"])
    load_after = c.load()
    summary = {
        "date": str(date.today()),
        "machine": c.machine(),
        "load_start": load_before,
        "load_end": load_after,
        "elapsed_s": time.time() - started,
        "months": months,
        "rows": rows,
        "csv_bytes": size,
        "repeat": opts.repeat,
        "gpaccess": {"median_s": ours.seconds, "runs_s": [r.seconds for r in runs["gpaccess"]],
                     "process_s": ours.wall, "peak_mb": ours.peak_mb, "comparison_f2f_gp_s": comparison,
                     **ours.result},
        "pandas": {"median_s": pandas.seconds, "runs_s": [r.seconds for r in runs["pandas"]],
                   "process_s": pandas.wall, "peak_mb": pandas.peak_mb, **pandas.result},
        "agree": good,
        "agreement": notes,
        "speedup": speedup,
    }  # fmt: skip
    (workdir / "results-measures.json").write_text(json.dumps(summary, indent=1))
    if not opts.keep:
        shutil.rmtree(runs_dir, ignore_errors=True)
    ok = lambda cond: "OK" if cond else "MISSED"  # noqa: E731
    c.say(f"\nload average at end: {load_after}; results in {workdir / 'results-measures.json'}")
    c.say(f"same results: {'yes' if good else 'NO'} (to {TOLERANCE:g})")
    c.say(f"peak memory = {peak:.0f} MB (target < {TARGET_PEAK_MB} MB) {ok(peak < TARGET_PEAK_MB)}")
    c.say(
        f"measures: gpaccess {ours.seconds:.1f} s, pandas {pandas.seconds:.1f} s: {speedup:.1f}x faster "
        f"(target >= {TARGET_SPEEDUP:g}x) {ok(speedup >= TARGET_SPEEDUP and good)}"
    )
    if not good:
        raise SystemExit(1)


if __name__ == "__main__" and not c.child_main(TASKS):
    main()
