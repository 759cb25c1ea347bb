"""Web load benchmark (issue 16 item 7). Not part of the test suite.

`gpaccess serve` on 127.0.0.1 over a national synthetic store (all 42 ICBs, `--months` months ending 2025-10,
default 24, with list sizes), and `--clients` (default 20) concurrent clients in a closed loop with no think
time for `--duration` seconds (default 60). Each client signs in as an ICB analyst (the analysts belong to
`--icbs` different ICBs, default 6) and loops: its ICB's dashboard one time in five, otherwise one of many
practice pages of its ICB (each a different practice, drawn at random) followed by that page's first SPC
chart (the SVG a browser then fetches). A third of the way in, `gpaccess ingest` of a new national month
(2025-11) starts in another process, as a monthly load would while people read, at the server's priority
(`--ingest-nice 10` runs it below, as the user guide advises for the job that loads a month: it then takes
longer, and may still be running when the clients stop).

Reported: p50/p95/p99 latency per kind of request, throughput, errors (any status other than 200, or a
failed connection), how long the ingest took, p95 before, during and after it, and a reference loop's time
(the machine's speed in this run, to compare runs of different days by). Targets (issue 16): zero errors, p95
under 300 ms for practice pages and under 1 s for the dashboard, on this 2-core machine.

    make bench-web                           # or: .venv/bin/python bench/web.py
    .venv/bin/python bench/web.py --months 6 --duration 20 --json /tmp/web.json

The generated data and the store are kept in the workdir and reused (the store is copied fresh for each run,
so the ingest always adds a month). Every request goes to loopback only, and every loop stops at the deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

import _common as c

PASSWORD = "bench password for the web"
Row = tuple[str, float, int, str | None, float]  # kind, milliseconds, status (-1: no answer), practice, sent at
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_MONTH = "2025-11"


def _gpaccess(home: Path, *args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    full = {**os.environ, "GPACCESS_HOME": str(home), **(env or {})}
    return subprocess.run([sys.executable, "-m", "gpaccess", *args], env=full, check=True, **kwargs)


def build_store(workdir: Path, months: list[str]) -> Path:
    """A national store of the months (ingested once, reused while the months are the same)."""
    data = c.dataset(workdir, months, zipped=False)
    base = workdir / "web" / f"store-{months[0]}_{months[-1]}"
    if (base / "done").exists():
        c.say(f"reusing the national store in {base}")
        return base
    shutil.rmtree(base, ignore_errors=True)
    files: list[Path] = []
    for m in data.values():
        files.append(m.crosstab)
        mapping = sorted(m.crosstab.parent.glob(f"Mapping_{_mon(m.month)}.csv"))
        files += mapping
        if m.registrations:
            files.append(m.registrations)
    c.say(f"ingesting {len(files)} files into {base} ...")
    t0 = time.perf_counter()
    _gpaccess(base, "ingest", *map(str, files), stdout=subprocess.DEVNULL)
    c.say(f"  ingested in {time.perf_counter() - t0:.0f} s")
    (base / "done").write_text("ok")
    return base


def _mon(month: str) -> str:
    import calendar

    y, m = month.split("-")
    return f"{calendar.month_abbr[int(m)]}_{y[2:]}"


def new_month_files(workdir: Path) -> list[Path]:
    data = c.dataset(workdir, [NEW_MONTH], zipped=False)[NEW_MONTH]
    mapping = sorted(data.crosstab.parent.glob(f"Mapping_{_mon(NEW_MONTH)}.csv"))
    return [data.crosstab, *mapping, *([data.registrations] if data.registrations else [])]


def analysts(home: Path, n_icbs: int) -> dict[str, tuple[str, list[str]]]:
    """Analyst users of `n_icbs` ICBs spread over the country: name -> (ICB, its practice codes)."""
    from gpaccess.access.principal import cli_principal
    from gpaccess.config import Settings
    from gpaccess.services import accounts
    from gpaccess.services.app import App
    from gpaccess.services.measures import measure_session

    app = App.from_settings(Settings(home=home))
    directory = measure_session(app).directory().dropna(subset=["icb_code"])
    icbs = sorted(directory.icb_code.unique())
    step = max(1, len(icbs) // n_icbs)
    chosen = icbs[::step][:n_icbs]
    out = {}
    for i, icb in enumerate(chosen):
        name = f"bench-analyst-{i}"
        accounts.add_user(
            app, principal=cli_principal("bench"), username=name, display_name=name, role="icb_analyst",
            password=PASSWORD, icb_code=icb,
        )  # fmt: skip
        out[name] = (icb, sorted(directory[directory.icb_code == icb].practice_code))
    app.close()
    return out


async def client_loop(
    base: str, user: str, icb: str, practices: list[str], deadline: float, rows: list[Row], seed: int
) -> None:
    """One client: aiohttp, whose CPU per request (0.7 ms for a practice page here) is a quarter of httpx's
    (2.6 ms); the clients share the server's two CPUs, so a heavier client would be measured as server time.
    Redirects are not followed (a 303 to the sign-in page is an error), and every body is read in full."""
    import aiohttp

    rnd = random.Random(seed)
    jar = aiohttp.CookieJar(unsafe=True)  # the server is an IP address: aiohttp keeps its cookies only so
    async with aiohttp.ClientSession(base, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.get("/login") as page:
            token = CSRF.search(await page.text()).group(1)
        form = {"username": user, "password": PASSWORD, "csrf_token": token, "next": ""}
        async with http.post("/login", data=form, allow_redirects=False) as signed_in:
            await signed_in.read()
        while time.perf_counter() < deadline:
            code = None
            if rnd.random() < 0.2:
                targets = [("dashboard", f"/icb/{icb}")]
            else:
                code = rnd.choice(practices)
                targets = [("practice", f"/practice/{code}"), ("chart", f"/practice/{code}/spc/f2f_gp.svg")]
            for kind, url in targets:
                t0 = time.perf_counter()
                try:
                    async with http.get(url, allow_redirects=False) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    status = -1
                rows.append((kind, (time.perf_counter() - t0) * 1000, status, code, t0))
                if time.perf_counter() >= deadline:
                    break


def _practices_in_window(home: Path) -> list[str]:
    """The practices with appointments in the store's default window, as the server now reads it."""
    from gpaccess.config import Settings
    from gpaccess.services.app import App
    from gpaccess.services.measures import measure_session

    app = App.from_settings(Settings(home=home))
    try:
        return list(measure_session(app).directory().practice_code)
    finally:
        app.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    def extra(p):
        p.add_argument("--clients", type=int, default=20)
        p.add_argument("--duration", type=float, default=60.0)
        p.add_argument("--icbs", type=int, default=6, help="ICBs the analysts belong to")
        p.add_argument("--threads", type=int, default=8, help="requests each server process serves at once")
        p.add_argument("--workers", type=int, default=0, help="server processes (default: gpaccess serve's own)")
        p.add_argument("--no-ingest", action="store_true", help="no ingest during the run")
        p.add_argument(
            "--ingest-nice",
            type=int,
            default=0,
            help="run the ingest at this niceness (e.g. 10, as the user guide advises for the job that loads a "
            "month); 0, the default, runs it at the server's priority",
        )
        p.add_argument("--json", type=Path, help="write the figures here too")

    args = c.options(__doc__.splitlines()[0], extra)
    months = c.months_ending(c.LAST_MONTH, args.months)
    store = build_store(args.workdir, months)
    extra_files = [] if args.no_ingest else new_month_files(args.workdir)
    home = args.workdir / "web" / "run"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(store, home, ignore=shutil.ignore_patterns("write.lock", "tmp"))
    users = analysts(home, args.icbs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--threads", str(args.threads), "--workers", str(args.workers)]
    server = subprocess.Popen(
        [sys.executable, "-m", "gpaccess", *serve],
        env={**os.environ, "GPACCESS_HOME": str(home)},
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # A server that has been up a while has its measures computed: one signed-in page first, timed apart.
        t_warm = time.perf_counter()
        with httpx.Client(base_url=base, timeout=600) as http:
            name = next(iter(users))
            token = CSRF.search(http.get("/login").text).group(1)
            http.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token, "next": ""})
            http.get(f"/icb/{users[name][0]}")
        cold_start = time.perf_counter() - t_warm
        c.say(f"first page after start (every practice's measures computed once): {cold_start:.1f} s")
        c.say(
            f"{args.clients} clients for {args.duration:.0f} s against {base} ({len(users)} ICBs, {args.months} months)"
        )
        rows: list[Row] = []
        ingest_info: dict[str, float | int | None] = {"started_s": None, "seconds": None, "exit": None,
                                                      "nice": args.ingest_nice}  # fmt: skip
        clock: dict[str, float] = {}
        reference_before = reference_ms()

        async def run() -> None:
            start = clock["start"] = time.perf_counter()
            deadline = start + args.duration
            names = list(users)
            tasks = [
                asyncio.create_task(
                    client_loop(base, names[i % len(names)], *users[names[i % len(names)]], deadline, rows, i)
                )
                for i in range(args.clients)
            ]
            if extra_files:
                await asyncio.sleep(args.duration / 3)
                ingest_info["started_s"] = round(time.perf_counter() - start, 1)
                t0 = time.perf_counter()
                nice = ["nice", "-n", str(args.ingest_nice)] if args.ingest_nice else []
                proc = await asyncio.create_subprocess_exec(
                    *nice, sys.executable, "-m", "gpaccess", "ingest", *map(str, extra_files),
                    env={**os.environ, "GPACCESS_HOME": str(home)},
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                ingest_info["exit"] = await proc.wait()
                ingest_info["seconds"] = round(time.perf_counter() - t0, 1)
            await asyncio.gather(*tasks)

        t0 = time.perf_counter()
        asyncio.run(run())
        elapsed = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures: dict[str, object] = {"machine": c.machine(), "load": c.load(), "clients": args.clients,
                                  "seconds": round(elapsed, 1), "months": args.months, "icbs": len(users),
                                  "ingest": ingest_info, "first_page_s": round(cold_start, 1),
                                  "reference_ms": [reference_before, reference_ms()]}  # fmt: skip
    # A practice with no appointments in the new month's window (it closed, or left the data) answers 404 once
    # the ingest lands, as it should: counted apart, not as an error.
    gone = sorted(set(c for _, _, _, c, _ in rows if c) - set(_practices_in_window(home))) if extra_files else []
    expected = [(k, s, c) for k, _, s, c, _ in rows if s == 404 and c in gone]
    failed = [(k, s) for k, _, s, c, _ in rows if s != 200 and not (s == 404 and c in gone)]
    figures["left_the_window"] = {"practices": len(gone), "answers_404": len(expected)}
    table = []
    for kind in ("dashboard", "practice", "chart"):
        times = [ms for k, ms, _, _, _ in rows if k == kind]
        errors = sum(1 for k, _ in failed if k == kind)
        figures[kind] = {"requests": len(times), "errors": errors, "p50": _pct(times, 50), "p95": _pct(times, 95),
                         "p99": _pct(times, 99)}  # fmt: skip
        table.append([kind, f"{len(times)}", f"{errors}", *(f"{_pct(times, q):.0f}" for q in (50, 95, 99))])
    total = len(rows)
    figures["throughput_per_s"] = round(total / elapsed, 1)
    figures["errors"] = len(failed)
    figures["error_statuses"] = {str(k): n for k, n in Counter(failed).items()}
    if failed:
        c.say(f"errors (request, status; -1 = no answer): {figures['error_statuses']}")
    if expected:
        c.say(f"{len(expected)} answer(s) 404 for {len(gone)} practice(s) with no appointments in the new window")
    c.say(c.table(["request", "count", "errors", "p50 ms", "p95 ms", "p99 ms"], table, markdown=True))
    c.say(f"throughput {total / elapsed:.1f} requests/s over {elapsed:.0f} s; errors {figures['errors']}; "
          f"ingest of {NEW_MONTH} started at {ingest_info['started_s']} s, took {ingest_info['seconds']} s "
          f"(exit {ingest_info['exit']})")  # fmt: skip
    phases = _phases(rows, clock.get("start", 0.0), ingest_info)
    if phases:
        figures["p95_by_phase"] = phases
        c.say(c.table(["request", *(f"p95 ms {name}" for name in phases)],
                      [[k, *(_ms(phases[name][k]) for name in phases)] for k in ("dashboard", "practice", "chart")],
                      markdown=True))  # fmt: skip
    c.say(f"reference loop {figures['reference_ms'][0]:.0f} ms before, {figures['reference_ms'][1]:.0f} ms after "
          "(the machine's speed in this run: the same loop takes longer on a slower or busier machine)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))


def reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop, best of five: how fast this machine runs Python now (it has
    varied 2.5-fold between days here), to read the latencies beside."""
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - t0)
    return round(best * 1000, 1)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"  # no request in that phase (the ingest ran to the end)


def _p95_or_none(times: list[float]) -> float | None:
    return _pct(times, 95) if times else None  # JSON has no NaN: a phase without requests is null


def _phases(rows: list[Row], start: float, ingest: dict[str, float | int | None]) -> dict[str, dict[str, float | None]]:
    """p95 of each kind of request sent before the ingest, while it ran, and after it (none without one)."""
    began, took = ingest.get("started_s"), ingest.get("seconds")
    if began is None or took is None:
        return {}
    edges = {"before the ingest": (0.0, float(began)), "during it": (float(began), float(began) + float(took)),
             "after it": (float(began) + float(took), float("inf"))}  # fmt: skip
    out: dict[str, dict[str, float | None]] = {}
    for name, (lo, hi) in edges.items():
        out[name] = {kind: _p95_or_none([ms for k, ms, _, _, at in rows if k == kind and lo <= at - start < hi])
                     for kind in ("dashboard", "practice", "chart")}  # fmt: skip
    return out


if __name__ == "__main__":
    main()
