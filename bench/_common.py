"""Shared by the benchmarks in bench/: options, the synthetic national data, child processes, tables.

Every contender runs in its own child process (`python bench/<script>.py --child TASK SPEC`, or a command's
entry point through `time_entry_point`), and the parent only compares. Each child reports its own peak
resident memory, the kernel's high-water mark `VmHWM` read from its own `/proc/self/status` as it finishes:
not `ru_maxrss` from `os.wait4`, which also counts the memory of the parent that spawned it (subprocess forks
or vforks the parent, and Linux folds the parent's peak into the child's `maxrss` at `exec`: a 10 MB child of
an 800 MB parent reports 800 MB). Times are taken inside the child around the work itself (interpreter
start-up and imports excluded, the same for every contender); the child's whole wall time is reported beside.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 2021
LAST_MONTH = "2025-10"  # the newest synthetic month; a window of N months ends here
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "gpaccess-bench"
DATA_VERSION = 1  # bump when the layout of the cached data changes


def options(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The options every benchmark takes (so `make bench BENCH_ARGS=...` suits them all), plus `extra`'s."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--months", type=int, default=24, help="national months (default 24)")
    p.add_argument(
        "--workdir",
        "--work",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where generated data and stores go (default {DEFAULT_WORKDIR}); data is reused between runs",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per contender; the median is reported (default 3)")
    p.add_argument("--keep", action="store_true", help="keep the stores and databases the runs built")
    if extra is not None:
        extra(p)
    return p.parse_args()


def say(msg: str) -> None:
    print(msg, flush=True)


def months_ending(last: str, n: int) -> list[str]:
    from gpaccess.synth import month_range
    from gpaccess.synth.vocab import month_from_index, month_index

    return month_range(month_from_index(month_index(last) - n + 1), last)


# -- data ---------------------------------------------------------------------------------------------------------


@dataclass
class Month:
    month: str
    crosstab: Path  # the plain CSV (or the zip, for a zipped data set)
    registrations: Path | None
    rows: int
    appointments: int
    csv_bytes: int


def dataset(workdir: Path, months: list[str], *, zipped: bool) -> dict[str, Month]:
    """National synthetic months (every ICB), generated once and reused while the options are the same."""
    kind = "zip" if zipped else "csv"
    prefix = f"v{DATA_VERSION}-seed{SEED}-"
    folder = workdir / "data" / f"{prefix}{months[0]}_{months[-1]}-{kind}"
    # Any earlier data set of the same kind holding every month asked for will do (a month's bytes depend
    # only on the seed and the month).
    for marker in sorted((workdir / "data").glob(f"{prefix}*-{kind}/done.json")):
        found = {m: Month(**{**d, "crosstab": Path(d["crosstab"]), "registrations": _path(d["registrations"])})
                 for m, d in json.loads(marker.read_text()).items()}  # fmt: skip
        if set(months) <= set(found) and all(found[m].crosstab.exists() for m in months):
            say(f"reusing {len(months)} generated national month(s) in {marker.parent}")
            return {m: found[m] for m in months}
    shutil.rmtree(folder, ignore_errors=True)
    from gpaccess.synth import generate

    say(f"generating {len(months)} national month(s) ({kind}) into {folder} (about 7 s a month)...")
    t0 = time.perf_counter()
    out = generate(
        folder,
        months,
        seed=SEED,
        icbs=None,
        zipped=zipped,
        progress=lambda m, i, n: say(f"  generated {m} ({i}/{n}, {time.perf_counter() - t0:.0f} s)"),
    )
    found = {}
    for m, mf in out.months.items():
        assert len(mf.crosstab) == 1, mf.crosstab
        found[m] = Month(m, mf.crosstab[0], mf.registrations, mf.rows, mf.appointments, mf.crosstab[0].stat().st_size)
    (folder / "done.json").write_text(
        json.dumps(
            {
                m: {**f.__dict__, "crosstab": str(f.crosstab), "registrations": str(f.registrations or "") or None}
                for m, f in found.items()
            },
            indent=1,
        )
    )
    return found


def warm(paths: list[Path]) -> None:
    """Read files once so that every timed run finds them in the page cache."""
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# -- child processes ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # the work itself, timed inside the child (for a whole command: its wall time)
    wall: float  # the child process from start to exit
    peak_mb: float  # the child's own peak resident memory (its VmHWM as it finished)
    result: dict[str, Any]


def run_child(script: Path, task: str, spec: dict[str, Any], scratch: Path, env: dict[str, str] | None = None) -> Run:
    """Run `script --child task spec` in a fresh interpreter (with `env`, default this one's environment) and
    read back its timing and peak memory."""
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"child-{task}-{os.getpid()}-{time.monotonic_ns()}.json"
    args = [sys.executable, str(script), "--child", task, json.dumps({**spec, "result": str(out)})]
    t0 = time.perf_counter()
    returncode = subprocess.call(args, env=env)
    wall = time.perf_counter() - t0
    if returncode != 0:
        raise SystemExit(f"child {task} failed with exit code {returncode}")
    result = json.loads(out.read_text())
    out.unlink()
    return Run(float(result.pop("seconds")), wall, float(result.pop("peak_mb")), result)


def child_main(tasks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> bool:
    """In a child: run the task named on the command line, write its result (and the child's own peak memory)
    as JSON. False in the parent."""
    if len(sys.argv) < 2 or sys.argv[1] != "--child":
        return False
    task, spec = sys.argv[2], json.loads(sys.argv[3])
    result = tasks[task](spec)
    result.setdefault("peak_mb", peak_rss_mb())
    Path(spec["result"]).write_text(json.dumps(result))
    return True


REPORT_ENV = "BENCH_CHILD_REPORT"  # where the entry-point wrapper writes its peak memory and module file
# Run an entry point as its console script does (`sys.exit(func())`), first arranging that at exit the process
# writes its own VmHWM and the file its package was imported from (so the parent can check which code ran).
_ENTRY_WRAPPER = """\
import atexit, json, os, sys
def _bench_report():
    with open("/proc/self/status") as fh:
        kb = next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), -1)
    module = sys.modules.get({package!r})
    with open(os.environ[{env!r}], "w") as fh:
        json.dump({{"peak_kb": kb, "module": getattr(module, "__file__", None)}}, fh)
atexit.register(_bench_report)
sys.argv[0] = {prog!r}
from {module} import {func} as _entry
sys.exit(_entry())
"""


def time_entry_point(
    entry: str,
    args: list[str],
    *,
    package: str,
    env: dict[str, str],
    cwd: Path,
    stdout: Path | None = None,
) -> Run:
    """Run `entry` ("module:function", e.g. a console script's target) with `args` in a fresh interpreter, as a
    user runs the command: the whole process's wall time is the figure. Its own peak memory, CPU seconds (user
    and system, all threads, from `os.wait4`: unlike its `ru_maxrss`, these are the child's alone), exit code,
    stderr and the file `package` was imported from come back; it is not an error to exit non-zero (a refusal
    is timed too)."""
    module, func = entry.split(":")
    cwd.mkdir(parents=True, exist_ok=True)
    stem = cwd / f"entry-{os.getpid()}-{time.monotonic_ns()}"
    report, errors = stem.with_suffix(".json"), stem.with_suffix(".err")
    code = _ENTRY_WRAPPER.format(package=package, env=REPORT_ENV, prog=package, module=module, func=func)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        err = stack.enter_context(open(errors, "wb"))  # a file, not a pipe: nothing can block on a full pipe
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], env={**env, REPORT_ENV: str(report)}, cwd=cwd, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    found = json.loads(report.read_text()) if report.exists() else {"peak_kb": -1, "module": None}
    report.unlink(missing_ok=True)
    stderr = errors.read_text("utf-8", "replace")
    errors.unlink()
    peak = found["peak_kb"] / 1024 if found["peak_kb"] >= 0 else float("nan")
    result = {"returncode": proc.returncode, "stderr": stderr, "module": found["module"]}
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return Run(wall, wall, peak, result)


def median_run(runs: list[Run]) -> Run:
    """The run with the median time (its own memory and result), plus the spread."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def spread(runs: list[Run]) -> str:
    times = sorted(r.seconds for r in runs)
    return f"{times[0]:.2f}-{times[-1]:.2f}" if len(times) > 1 else f"{times[0]:.2f}"


RUN_HEADERS = ["contender", "median s", "range s", "process s", "peak MB"]


def run_row(name: str, runs: list[Run]) -> list[str]:
    """One contender's cells under RUN_HEADERS: the median run's time, the range, its whole process time and
    its peak memory; callers append their own columns."""
    med = median_run(runs)
    return [name, f"{med.seconds:.2f}", spread(runs), f"{med.wall:.2f}", f"{med.peak_mb:.0f}"]


def preload_engine() -> float:
    """Import the engine modules gpaccess loads on first use (Ibis's DuckDB backend, pandas, pyarrow) and
    return the seconds it took. Imports are a per-process constant, not ingest or query work, and every other
    contender imports its library before its clock starts (`import duckdb`, `import pandas`), so the children
    do the same for gpaccess; the import time is reported beside the results, and each child's whole process
    time (interpreter start and imports included) is reported too."""
    t0 = time.perf_counter()
    import ibis
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    _ = ibis.duckdb  # the backend is imported lazily on first attribute access
    return time.perf_counter() - t0


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last `reset_peak_rss` (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each month gets its own peak."""
    with contextlib.suppress(OSError):  # not Linux, or not permitted: peaks are then cumulative
        Path("/proc/self/clear_refs").write_text("5")


# -- reporting ----------------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import pandas

    return (
        f"{os.cpu_count()} CPU ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pandas.__version__}"
    )


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def table(headers: list[str], rows: list[list[str]], *, markdown: bool = False) -> str:
    """Aligned columns for the terminal (the first left, the rest right), or a Markdown table for docs/."""
    if markdown:
        cells = [headers, ["---", *(["---:"] * (len(headers) - 1))], *rows]
        return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Slope, intercept and R² of y = a·x + b."""
    slope, intercept = statistics.linear_regression(xs, ys)
    mean = statistics.fmean(ys)
    ss_tot = sum((y - mean) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, 1 - ss_res / ss_tot if ss_tot else 1.0
