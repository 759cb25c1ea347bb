"""Shared by bench/ingest.py and bench/measures.py: options, the synthetic national data, child processes.

Every contender runs in its own child process (`python bench/<script>.py --child TASK SPEC`), so each one's
peak resident memory is its own (`os.wait4` returns the child's `ru_maxrss`), and the parent only compares.
Times are taken inside the child around the work itself (interpreter start-up and imports excluded, the same
for every contender); the child's whole wall time is reported beside them.
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


def options(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--months", type=int, default=24, help="national months (default 24)")
    p.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where generated data and stores go (default {DEFAULT_WORKDIR}); data is reused between runs",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per contender; the median is reported (default 3)")
    p.add_argument("--keep", action="store_true", help="keep the stores and databases the runs built")
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
    seconds: float  # the work itself, timed inside the child
    wall: float  # the child process from start to exit
    peak_mb: float  # the child's peak resident memory (ru_maxrss)
    result: dict[str, Any]


def run_child(script: Path, task: str, spec: dict[str, Any], scratch: Path) -> Run:
    """Run `script --child task spec` in a fresh interpreter and read back its timing and peak memory."""
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"child-{task}-{os.getpid()}-{time.monotonic_ns()}.json"
    args = [sys.executable, str(script), "--child", task, json.dumps({**spec, "result": str(out)})]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {task} failed with exit code {proc.returncode}")
    result = json.loads(out.read_text())
    out.unlink()
    return Run(float(result.pop("seconds")), wall, usage.ru_maxrss / 1024, result)


def child_main(tasks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> bool:
    """In a child: run the task named on the command line, write its result as JSON. False in the parent."""
    if len(sys.argv) < 2 or sys.argv[1] != "--child":
        return False
    task, spec = sys.argv[2], json.loads(sys.argv[3])
    result = tasks[task](spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return True


def median_run(runs: list[Run]) -> Run:
    """The run with the median time (its own memory and result), plus the spread."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def spread(runs: list[Run]) -> str:
    times = sorted(r.seconds for r in runs)
    return f"{times[0]:.2f}-{times[-1]:.2f}" if len(times) > 1 else f"{times[0]:.2f}"


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


def table(headers: list[str], rows: list[list[str]]) -> str:
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
