"""Interactive speed benchmark (issue 13 item 6, "Interactive speed"). Not part of the test suite.

What a user waits for, on a national synthetic store (all 42 ICBs, `--months` consecutive months ending
2025-10, default 24, with Mapping.csv, list sizes and the context files), for one median-size ICB:

- measures for one ICB through the service, in-process (imports and opening the store excluded): < 0.5 s;
- `gpaccess measures --icb X --format csv`, the whole command: < 2 s;
- `gpaccess cohort --icb X --format csv --no-save`, the whole command: < 2 s;
- `gpaccess cohort --icb X --report DIR` (saves the run, writes the report and the NHS England return): < 10 s;
- `gpaccess ingest` refusing an empty file, a PNG, a CSV with an unknown header, and a national crosstab with
  one column renamed: < 1 s each.

Each is timed against the same thing run by the code of the commit before this work (`--before`, a git worktree
of it under the workdir) in the same run: contenders interleaved, `--repeat` times, each run a fresh process
(cold start, as a user runs it), median and range reported, with the ratio after/before. "after" is the
checkout this script is run from (`--repo`). Both run with this interpreter (the same dependencies) and
`PYTHONPATH=<checkout>/src`; every child reports the file `gpaccess` was imported from, and the run stops if it
is not the contender's own. Each contender reads a store built by its own code (`gpaccess ingest`, then
`gpaccess store upgrade` where the code has it) from the same generated files, under its own GPACCESS_HOME;
the data and the stores are kept in the workdir and reused while the code and options are the same, so a rerun
only re-times.

    make bench-interactive                               # or: .venv/bin/python bench/interactive.py
    .venv/bin/python bench/interactive.py --months 6 --repeat 1 --work /tmp/gpb --json /tmp/gpb/i.json
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

BEFORE = "4df9d8009685aa9355a0793cc946d876d785cefd"  # the commit before the interactive-speed work
ENTRY = "gpaccess.cli.main:run"  # what the `gpaccess` console script runs
STORE_LAYOUT = 1  # bump when what the stores are built from changes


@dataclass(frozen=True)
class Target:
    key: str
    title: str
    seconds: float | None  # None: shown for context, no target

    def met(self, run: c.Run) -> bool | None:
        return None if self.seconds is None else run.seconds < self.seconds

    @property
    def limit(self) -> str:
        return "—" if self.seconds is None else f"< {self.seconds:g}"


TARGETS = [
    Target("service", "measures for one ICB through the service (in-process, after imports and store open)", 0.5),
    Target("measures", "gpaccess measures --icb X --format csv (whole command)", 2.0),
    Target(
        "cohort_service", "a cohort run for one ICB through the service (in-process, after imports and store open)", 2.0
    ),
    # The whole command adds the interpreter and the imports of pandas, Ibis, DuckDB, SQLAlchemy and scipy:
    # shown beside the target above for context.
    Target("cohort", "gpaccess cohort --icb X --format csv --no-save (whole command)", None),
    Target("report", "gpaccess cohort --icb X --report DIR (whole command)", 10.0),
    Target("refuse_empty", "gpaccess ingest <an empty crosstab CSV>, refused", 1.0),
    Target("refuse_png", "gpaccess ingest <a PNG>, refused", 1.0),
    Target("refuse_header", "gpaccess ingest <a CSV with an unknown header>, refused", 1.0),
    Target("refuse_national", "gpaccess ingest <a national crosstab, GP_CODE renamed>, refused", 1.0),
    # What every command pays before it does anything: the interpreter and the CLI's imports.
    Target("startup", "gpaccess version (start-up: interpreter and CLI imports; context)", None),
]


@dataclass
class Contender:
    name: str  # "before" or "after"
    checkout: Path
    commit: str
    code_key: str  # the commit, plus a digest of any uncommitted change under src/
    home: Path = Path()  # GPACCESS_HOME, holding a store built by this contender's code

    @property
    def src(self) -> Path:
        return self.checkout / "src"

    @property
    def label(self) -> str:
        dirty = "" if self.code_key == self.commit else " + uncommitted"
        return f"{self.name} ({self.commit[:7]}{dirty})"

    def env(self) -> dict[str, str]:
        """This environment without any GPACCESS_* setting of the caller's, then this contender's code and home."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPACCESS_")}
        return env | {"PYTHONPATH": str(self.src), "GPACCESS_HOME": str(self.home)}


# -- the "measures through the service" call: the one place to adjust when the services layer changes ---------


def measures_call(icb: str, home: Path) -> tuple[Callable[[], Any], Callable[[Any], int], str]:
    """Open the store, then return (call, rows, how): `call()` produces ICB `icb`'s measures table and is what
    gets timed; everything done here (imports, settings, opening the store) is outside the clock, as it is once
    per process in a server. `rows(result)` counts the practices in what `call` returned.

    In order: the services layer (`gpaccess.services.measures.icb_measures(app, *, principal, icb_code,
    months=None)`, the app from `App.from_settings(Settings.from_env())`, a CLI principal); else the snapshot-based
    `MeasureSession(warehouse.snapshot(), MeasureSettings()).icb_table(icb)`; else the older
    `MeasureSession(warehouse, MeasureSettings())`. A missing `gpaccess.services` falls through; any other
    error is raised, as it means this adapter needs adjusting."""
    try:
        from gpaccess.services.measures import icb_measures
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("gpaccess.services"):
            raise
    else:
        from gpaccess.access.principal import cli_principal
        from gpaccess.config import Settings
        from gpaccess.services.app import App

        settings = Settings.from_env() if hasattr(Settings, "from_env") else Settings()
        app = App.from_settings(settings)
        principal = cli_principal(**_arguments_for(cli_principal, settings))
        return (
            lambda: icb_measures(app, principal=principal, icb_code=icb),
            _rows,
            "gpaccess.services.measures.icb_measures(app, principal=cli_principal(...), icb_code=X)",
        )
    from gpaccess.measures.service import MeasureSession, MeasureSettings
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    warehouse = Warehouse(StoreConfig(home=home))
    if "snapshot" in {f.name for f in dataclasses.fields(MeasureSession)}:
        snapshot = warehouse.snapshot()
        return (
            lambda: MeasureSession(snapshot, MeasureSettings()).icb_table(icb),
            _rows,
            "MeasureSession(Warehouse(...).snapshot(), MeasureSettings()).icb_table(X)",
        )
    return (
        lambda: MeasureSession(warehouse, MeasureSettings()).icb_table(icb),
        _rows,
        "MeasureSession(Warehouse(...), MeasureSettings()).icb_table(X)",
    )


def cohort_call(icb: str, home: Path) -> tuple[Callable[[], Any], Callable[[Any], int], str]:
    """As `measures_call`, for one ICB's cohort run (not stored): the services layer's `run_cohort` where it
    exists, else `cohort.run.build_cohort` over a fresh `MeasureSession` (the code before the services layer)."""
    try:
        from gpaccess.services.cohort import run_cohort
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("gpaccess.services"):
            raise
    else:
        from gpaccess.access.principal import cli_principal
        from gpaccess.config import Settings
        from gpaccess.services.app import App

        app = App.from_settings(Settings.from_env())
        app.ensure_plan_store()
        principal = cli_principal()
        return (
            lambda: run_cohort(app, principal=principal, icb_code=icb, save=False),
            lambda result: len(result.cohort.members),
            "gpaccess.services.cohort.run_cohort(app, principal=cli_principal(), icb_code=X, save=False)",
        )
    from gpaccess.cohort.run import build_cohort
    from gpaccess.cohort.select import SelectionSettings
    from gpaccess.measures.service import MeasureSession, MeasureSettings
    from gpaccess.storage.warehouse import StoreConfig, Warehouse

    warehouse = Warehouse(StoreConfig(home=home))
    return (
        lambda: build_cohort(MeasureSession(warehouse, MeasureSettings()), icb, SelectionSettings()),
        lambda result: len(result.members),
        "build_cohort(MeasureSession(Warehouse(...), MeasureSettings()), X, SelectionSettings())",
    )


def _arguments_for(func: Callable[..., Any], settings: Any) -> dict[str, Any]:
    """Arguments for a principal factory whose signature is not settled: settings and the OS user by name."""
    import getpass

    offer = {"settings": settings, "user": getpass.getuser(), "username": getpass.getuser(), "as_user": None}
    params = inspect.signature(func).parameters
    return {name: offer[name] for name, p in params.items() if name in offer and p.default is inspect.Parameter.empty}


def _rows(result: Any) -> int:
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return len(result)
    for attr in ("table", "rows", "practices"):
        if hasattr(result, attr) and not callable(getattr(result, attr)):
            return len(getattr(result, attr))
    return len(result)


# -- children -----------------------------------------------------------------------------------------------------


def _service(spec: dict[str, Any]) -> dict[str, Any]:
    import gpaccess

    import_s = c.preload_engine()
    adapter = cohort_call if spec.get("what") == "cohort" else measures_call
    if adapter is cohort_call:  # the statistics' imports, outside the clock as for every contender's imports
        import scipy.special  # noqa: F401
    call, rows, how = adapter(spec["icb"], Path(spec["home"]))
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = call()
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    t1 = time.perf_counter()
    call()  # a second request in the same process (warm engine and caches): reported, not the target
    again_s = time.perf_counter() - t1
    return {
        "seconds": seconds,
        "cpu_s": cpu_s,
        "again_s": again_s,
        "rows": rows(result),
        "how": how,
        "import_s": import_s,
        "module": gpaccess.__file__,
    }


TASKS = {"service": _service}


# -- inputs -------------------------------------------------------------------------------------------------------


@dataclass
class Inputs:
    months: list[list[Path]]  # per month: crosstab, Mapping.csv, list sizes
    context: list[Path]  # IMD, epraccur, coverage, workforce, telephony, online consultations
    folder: Path  # the generated data set they come from


def inputs(data: dict[str, c.Month]) -> Inputs:
    months = []
    for m in data.values():
        mapping = m.crosstab.with_name(m.crosstab.name.replace("Practice_Level_Crosstab_", "Mapping_"))
        assert mapping.exists() and m.registrations, (m.crosstab, mapping, m.registrations)
        months.append([m.crosstab, mapping, m.registrations])
    folder = next(iter(data.values())).crosstab.parent.parent
    context = sorted((folder / "context").iterdir())
    assert context, f"no context files under {folder / 'context'}"
    return Inputs(months, context, folder)


def median_icb(mapping: Path) -> tuple[str, int, list[int]]:
    """The ICB whose number of practices is the median (the lower middle of an even count; ties by code)."""
    with open(mapping, newline="") as fh:
        sizes = Counter(row["ICB_CODE"] for row in csv.DictReader(fh))
    ordered = sorted(sizes.items(), key=lambda kv: (kv[1], kv[0]))
    code, n = ordered[(len(ordered) - 1) // 2]
    return code, n, sorted(sizes.values())


def wrong_files(folder: Path, national: Path) -> dict[str, Path]:
    """The files each refusal is timed on, written once: named as a crosstab where the name matters."""
    name = national.name
    files = {
        "refuse_empty": folder / "empty" / name,
        "refuse_png": folder / "png" / "funnel_f2f_gp.png",
        "refuse_header": folder / "header" / name,
        "refuse_national": folder / "national" / name,
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["refuse_empty"].write_bytes(b"")
    files["refuse_png"].write_bytes(_png())
    files["refuse_header"].write_text("Practice,Appointments,Month\nA81001,1200,2025-10\n")
    target = files["refuse_national"]
    if not target.exists() or target.stat().st_size != national.stat().st_size + 1:
        with open(national, "rb") as src, open(target.with_suffix(".part"), "wb") as dst:
            header = src.readline()
            assert b",GP_CODE," in header, header
            dst.write(header.replace(b",GP_CODE,", b",GP_CODEX,"))  # one byte longer
            shutil.copyfileobj(src, dst, 1 << 24)
        target.with_suffix(".part").replace(target)
    return files


def _png() -> bytes:
    """A valid 1x1 grey PNG, so the refusal is of a real image rather than of random bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\0\x80")  # filter byte 0, one mid-grey pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# -- contenders and their stores ----------------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def code_key(checkout: Path) -> tuple[str, str]:
    """The checkout's commit, and a key that also changes with any uncommitted change under src/."""
    commit = git("rev-parse", "HEAD", cwd=checkout)
    diff = git("diff", "HEAD", "--", "src", cwd=checkout)
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "src", cwd=checkout).split()
    if not diff and not untracked:
        return commit, commit
    h = hashlib.sha256(diff.encode())
    for name in sorted(untracked):
        h.update(name.encode() + b"\0" + (checkout / name).read_bytes())
    return commit, f"{commit}+{h.hexdigest()[:12]}"


def before_checkout(repo: Path, work: Path, commit: str) -> Path:
    """A detached git worktree of `commit` at <work>/before, made once (and moved to `commit` if it is not)."""
    path = work / "before"
    full = git("rev-parse", commit, cwd=repo)
    if (path / ".git").exists():
        if git("rev-parse", "HEAD", cwd=path) != full:
            c.say(f"moving the worktree {path} to {full[:7]}")
            git("checkout", "--detach", full, cwd=path)
        return path
    c.say(f"creating a git worktree of {full[:7]} at {path}")
    git("worktree", "prune", cwd=repo)  # forget a worktree whose folder was deleted (e.g. /tmp cleaned)
    git("worktree", "add", "--detach", str(path), full, cwd=repo)
    return path


def gpaccess(cont: Contender, args: list[str], scratch: Path, stdout: Path | None = None) -> c.Run:
    """One `gpaccess ...` command of this contender's code, in a fresh process; checks which code ran."""
    run = c.time_entry_point(ENTRY, args, package="gpaccess", env=cont.env(), cwd=scratch, stdout=stdout)
    check_module(cont, run.result["module"])
    return run


def check_module(cont: Contender, module: str | None) -> None:
    if module is None or not Path(module).resolve().is_relative_to(cont.src.resolve()):
        raise SystemExit(f"{cont.label}: gpaccess was imported from {module}, not from {cont.src}")


def succeed(run: c.Run, what: str) -> c.Run:
    if run.result["returncode"] != 0:
        raise SystemExit(f"{what} failed with exit code {run.result['returncode']}:\n{run.result['stderr']}")
    return run


def build_store(cont: Contender, data: Inputs, scratch: Path) -> dict[str, Any]:
    """Ingest the same generated files with the contender's own code, one release a month then the context
    files, and `gpaccess store upgrade` where the code has it. Not timed as a target; reported."""
    shutil.rmtree(cont.home, ignore_errors=True)
    cont.home.mkdir(parents=True)
    t0 = time.perf_counter()
    peaks = []
    for i, month in enumerate(data.months, 1):
        run = succeed(gpaccess(cont, ["ingest", *map(str, month)], scratch), f"{cont.label} ingest {month[0].name}")
        peaks.append(run.peak_mb)
        c.say(f"  {cont.name}: ingested {month[0].name} ({i}/{len(data.months)}, {time.perf_counter() - t0:.0f} s)")
    run = succeed(gpaccess(cont, ["ingest", *map(str, data.context)], scratch), f"{cont.label} ingest context")
    peaks.append(run.peak_mb)
    c.say(f"  {cont.name}: ingested {len(data.context)} context files ({time.perf_counter() - t0:.0f} s)")
    upgraded = has_store_upgrade(cont, scratch)
    if upgraded:
        run = succeed(gpaccess(cont, ["store", "upgrade"], scratch), f"{cont.label} store upgrade")
        c.say(f"  {cont.name}: gpaccess store upgrade ({run.seconds:.1f} s)")
    else:
        c.say(f"  {cont.name}: no `gpaccess store upgrade` in this code")
    size = sum(f.stat().st_size for f in (cont.home / "store").rglob("*") if f.is_file())
    return {"seconds": time.perf_counter() - t0, "peak_mb": max(peaks), "store_upgrade": upgraded, "bytes": size}


def has_store_upgrade(cont: Contender, scratch: Path) -> bool:
    out = scratch / "store-help.txt"
    run = gpaccess(cont, ["store", "--help"], scratch, stdout=out)
    text = out.read_text() + run.result["stderr"]
    if run.result["returncode"] != 0:
        if "No such command" not in text:
            raise SystemExit(f"{cont.label}: `gpaccess store --help` failed:\n{text}")
        return False
    return "upgrade" in text


def ensure_store(cont: Contender, data: Inputs, work: Path, months: list[str], scratch: Path, rebuild: bool) -> None:
    """Each contender's home is keyed by its code and the data: reused while both are the same."""
    params = {"layout": STORE_LAYOUT, "code": cont.code_key, "data": str(data.folder), "months": months}
    key = hashlib.sha256(json.dumps(params).encode()).hexdigest()[:12]
    cont.home = work / "interactive" / f"{cont.name}-{cont.commit[:7]}-{key}"
    marker = cont.home / "bench-store.json"
    if marker.exists() and not rebuild:
        built = json.loads(marker.read_text())
        c.say(f"reusing {cont.label}'s store at {cont.home} ({built['bytes'] / 1e6:.0f} MB)")
        return
    c.say(f"building {cont.label}'s store at {cont.home} with its own code (not timed)...")
    built = build_store(cont, data, scratch)
    marker.write_text(json.dumps({**params, **built}, indent=1))
    c.say(f"  built in {built['seconds']:.0f} s, {built['bytes'] / 1e6:.0f} MB, ingest peak {built['peak_mb']:.0f} MB")


# -- timing -------------------------------------------------------------------------------------------------------


def run_target(target: Target, cont: Contender, icb: str, wrong: dict[str, Path], scratch: Path, i: int) -> c.Run:
    out = scratch / f"{target.key}-{cont.name}-{i}.out"
    if target.key in ("service", "cohort_service"):
        spec = {"icb": icb, "home": str(cont.home), "what": "cohort" if target.key == "cohort_service" else "measures"}
        run = c.run_child(Path(__file__).resolve(), "service", spec, scratch, env=cont.env())
        check_module(cont, run.result["module"])
        return run
    if target.key == "measures":
        run = succeed(gpaccess(cont, ["measures", "--icb", icb, "--format", "csv"], scratch, out), target.title)
    elif target.key == "cohort":
        args = ["cohort", "--icb", icb, "--format", "csv", "--no-save"]
        run = succeed(gpaccess(cont, args, scratch, out), target.title)
    elif target.key == "startup":
        run = succeed(gpaccess(cont, ["version"], scratch, out), target.title)
    elif target.key == "report":
        folder = scratch / f"report-{cont.name}-{i}"
        run = succeed(gpaccess(cont, ["cohort", "--icb", icb, "--report", str(folder)], scratch, out), target.title)
        run.result["files"] = sorted(p.name for p in folder.iterdir())
    else:
        state = store_state(cont.home)
        run = gpaccess(cont, ["ingest", str(wrong[target.key])], scratch, out)
        if run.result["returncode"] == 0:
            raise SystemExit(f"{cont.label} accepted {wrong[target.key]}: expected a refusal")
        run.result["message"] = run.result["stderr"].strip().splitlines()[-1][:160]
        run.result["store_unchanged"] = store_state(cont.home) == state
    if target.key in ("measures", "cohort"):
        with open(out, "rb") as fh:
            run.result["lines"] = sum(1 for _ in fh)
    out.unlink(missing_ok=True)
    return run


def store_state(home: Path) -> list[tuple[str, int, int]]:
    """Every file under the store with its size and modification time: a refusal must leave it as it was."""
    files = (f for f in (home / "store").rglob("*") if f.is_file())
    return sorted((str(f.relative_to(home)), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def verdicts(
    runs: dict[str, dict[str, list[c.Run]]], contenders: list[Contender]
) -> tuple[dict[str, Any], list[list[str]]]:
    """Per target, print each contender's median and range, CPU seconds, met or not and after/before; return
    them for the JSON, and the summary's rows."""
    before, after = contenders
    summary: dict[str, Any] = {}
    rows = []
    for t in TARGETS:
        med = {cont.name: c.median_run(runs[t.key][cont.name]) for cont in contenders}
        ratio = med[after.name].seconds / med[before.name].seconds
        cpu = {name: run.result["cpu_s"] for name, run in med.items()}
        summary[t.key] = {
            "title": t.title,
            "target_s": t.seconds,
            "ratio_after_before": ratio,
            **{
                cont.name: {
                    "median_s": med[cont.name].seconds,
                    "runs_s": [r.seconds for r in runs[t.key][cont.name]],
                    "process_s": med[cont.name].wall,
                    "peak_mb": med[cont.name].peak_mb,
                    "peak_mb_max": max(r.peak_mb for r in runs[t.key][cont.name]),
                    "met": t.met(med[cont.name]),
                    **{k: v for k, v in med[cont.name].result.items() if k not in ("stderr", "returncode")},
                }
                for cont in contenders
            },
        }
        c.say(f"\n{t.title}: " + ("no target" if t.seconds is None else f"target < {t.seconds:g} s"))
        c.say(
            c.table(
                [*c.RUN_HEADERS, "CPU s", "target s", "met", "after/before"],
                [
                    [
                        *c.run_row(cont.label, runs[t.key][cont.name]),
                        f"{cpu[cont.name]:.2f}",
                        t.limit,
                        _yes(t.met(med[cont.name])),
                        f"{ratio:.2f}x" if cont is after else "1.00x",
                    ]
                    for cont in contenders
                ],
            )
        )
        if t.key == "service":
            for cont in contenders:
                r = med[cont.name].result
                c.say(f"  {cont.name}: {r['how']}; {r['rows']} practices; a second call {r['again_s']:.2f} s")
        rows.append(
            [
                t.title,
                t.limit,
                f"{med[before.name].seconds:.2f} ({c.spread(runs[t.key][before.name])})",
                f"{med[after.name].seconds:.2f} ({c.spread(runs[t.key][after.name])})",
                f"{ratio:.2f}×",
                f"{cpu[before.name]:.2f} / {cpu[after.name]:.2f}",
                _yes(t.met(med[after.name])).lower(),
                f"{med[before.name].peak_mb:.0f} / {med[after.name].peak_mb:.0f}",
            ]
        )
    return summary, rows


def _yes(met: bool | None) -> str:
    return "—" if met is None else "yes" if met else "NO"


def agreement(runs: dict[str, dict[str, list[c.Run]]], contenders: list[Contender]) -> list[str]:
    """The contenders did the same work: as many practices and output lines."""
    notes = []
    for key, field in (("service", "rows"), ("measures", "lines"), ("cohort", "lines")):
        found = {cont.name: {r.result[field] for r in runs[key][cont.name]} for cont in contenders}
        same = len({v for vs in found.values() for v in vs}) == 1
        counts = ", ".join(f"{n} {sorted(v)}" for n, v in found.items())
        notes.append(f"{key}: {field} {counts} {'same' if same else 'DIFFERENT'}")
    return notes


def add_options(p: argparse.ArgumentParser) -> None:
    here = Path(__file__).resolve().parents[1]
    p.add_argument("--repo", type=Path, default=here, help=f"the 'after' checkout (default {here})")
    p.add_argument("--before", default=BEFORE, help=f"the 'before' commit (default {BEFORE[:7]})")
    p.add_argument("--icb", help="the ICB to time (default: the median-size ICB of the latest month)")
    p.add_argument("--json", type=Path, help="write the results here (default <workdir>/results-interactive.json)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs of every command first (default 1)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the contenders' stores even if cached")


def main() -> None:
    opts = c.options(__doc__.split("\n\n")[0], add_options)
    if importlib.util.find_spec("pydantic_settings") is None:
        sys.exit("the commit before this work reads its settings with pydantic-settings: pip install -e '.[bench]'")
    repo = opts.repo.resolve()
    work = opts.workdir.resolve()
    scratch = work / "runs" / "interactive"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.time()
    load_before = c.load()
    c.say(f"gpaccess interactive-speed benchmark, {date.today()}: {c.machine()}")
    c.say(f"load average at start: {load_before}")

    months = c.months_ending(c.LAST_MONTH, opts.months)
    data = inputs(c.dataset(work, months, zipped=False))
    icb, n, sizes = median_icb(data.months[-1][1])
    icb = opts.icb or icb
    c.say(
        f"{len(months)} national months {months[0]}..{months[-1]} with Mapping.csv and list sizes, and "
        f"{len(data.context)} context files; ICB {icb}"
        + ("" if opts.icb else f" ({n} practices, the median of {len(sizes)} ICBs: {sizes[0]}..{sizes[-1]})")
    )

    contenders = []
    for name, checkout in (("before", before_checkout(repo, work, opts.before)), ("after", repo)):
        commit, key = code_key(checkout)
        contenders.append(Contender(name, checkout, commit, key))
    for cont in contenders:
        ensure_store(cont, data, work, months, scratch, opts.rebuild)
    wrong = wrong_files(work / "interactive" / "wrong", data.months[-1][0])
    # Every run reads the stores and the wrong files from the page cache, as after an ingest.
    c.warm([*wrong.values(), *(f for cont in contenders for f in (cont.home / "store").rglob("*") if f.is_file())])

    for i in range(opts.warmup):
        c.say(f"warm-up {i + 1}/{opts.warmup} (untimed): every command once per contender")
        for t in TARGETS:
            for cont in contenders:
                run_target(t, cont, icb, wrong, scratch, -1 - i)
    runs: dict[str, dict[str, list[c.Run]]] = {t.key: {cont.name: [] for cont in contenders} for t in TARGETS}
    for i in range(opts.repeat):
        order = contenders if i % 2 == 0 else contenders[::-1]  # neither always goes first
        for t in TARGETS:
            for cont in order:
                run = run_target(t, cont, icb, wrong, scratch, i)
                runs[t.key][cont.name].append(run)
                c.say(f"  run {i + 1}/{opts.repeat} {t.key} {cont.name}: {run.seconds:.2f} s, {run.peak_mb:.0f} MB")

    c.say(f"\nICB {icb}, {len(months)} months stored; median of {opts.repeat}, each run a fresh process:")
    summary, rows = verdicts(runs, contenders)
    notes = agreement(runs, contenders)
    c.say("\nsame work:")
    for line in notes:
        c.say(f"  {line}")
    for key in ("refuse_empty", "refuse_png", "refuse_header", "refuse_national"):
        for cont in contenders:
            unchanged = all(r.result["store_unchanged"] for r in runs[key][cont.name])
            c.say(f"  {key} {cont.name}: store {'unchanged' if unchanged else 'CHANGED'}; "
                  f"{summary[key][cont.name]['message'].strip()}")  # fmt: skip
    headers = [
        "what",
        "target s",
        "before s (range)",
        "after s (range)",
        "after/before",
        "CPU s before / after",
        "after met",
        "peak MB before / after",
    ]
    c.say("\nSummary (Markdown, for docs/performance.md):\n")
    c.say(c.table(headers, rows, markdown=True))

    load_after = c.load()
    results = {
        "date": str(date.today()),
        "machine": c.machine(),
        "load_start": load_before,
        "load_end": load_after,
        "elapsed_s": time.time() - started,
        "months": months,
        "icb": icb,
        "icb_practices": n if not opts.icb else None,
        "repeat": opts.repeat,
        "contenders": {
            cont.name: {
                "checkout": str(cont.checkout),
                "commit": cont.commit,
                "code_key": cont.code_key,
                "home": str(cont.home),
                "store": json.loads((cont.home / "bench-store.json").read_text()),
            }
            for cont in contenders
        },
        "targets": summary,
        "agreement": notes,
    }
    out = opts.json or work / "results-interactive.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    if not opts.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    c.say(f"\nload average at end: {load_after}; {time.time() - started:.0f} s in all; results in {out}")
    judged = [t for t in TARGETS if t.seconds is not None]
    met = sum(summary[t.key]["after"]["met"] for t in judged)
    c.say(f"after meets {met} of {len(judged)} targets")


if __name__ == "__main__" and not c.child_main(TASKS):
    main()
