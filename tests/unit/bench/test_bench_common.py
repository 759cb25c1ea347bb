"""bench/_common.py: a child's peak memory is its own (not its parent's), a command's exit is reported rather
than raised, and the result tables render for the terminal and for docs/."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
PARENT_MB = 200


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_common", BENCH / "_common.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


c = _load()


@pytest.fixture
def big_parent():
    """This process holds PARENT_MB resident while it spawns: `ru_maxrss` of the child would report it."""
    held = b"\x01" * (PARENT_MB << 20)
    yield held
    del held


def test_entry_point_reports_its_own_peak_and_module(tmp_path: Path, big_parent: bytes) -> None:
    source = tmp_path / "in.json"
    source.write_text('{"b": [1, 2], "a": null}')
    out = tmp_path / "out.json"
    run = c.time_entry_point(
        "json.tool:main", ["--sort-keys", str(source)], package="json", env={}, cwd=tmp_path / "cwd", stdout=out
    )
    assert run.result["returncode"] == 0
    assert json.loads(out.read_text()) == {"a": None, "b": [1, 2]}
    assert out.read_text().startswith('{\n    "a"')  # json.tool's own output, so the entry point ran
    assert Path(run.result["module"]).parent.name == "json"
    assert 0 < run.peak_mb < PARENT_MB / 2
    assert run.seconds == run.wall > 0
    assert 0 < run.result["cpu_s"] < 10 * run.wall


def test_entry_point_exit_code_and_stderr_come_back(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    run = c.time_entry_point("json.tool:main", [str(missing)], package="json", env={}, cwd=tmp_path)
    assert run.result["returncode"] != 0
    assert "missing.json" in run.result["stderr"]
    assert not list(tmp_path.glob("entry-*"))  # the wrapper's report and stderr files are cleaned up


def test_child_task_reports_its_own_peak(tmp_path: Path, big_parent: bytes) -> None:
    script = tmp_path / "child.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(BENCH)!r})\nimport _common as c\n"
        "def task(spec):\n    return {'seconds': 0.25, 'echo': spec['x']}\n"
        "if not c.child_main({'t': task}):\n    raise SystemExit('not run as a child')\n"
    )
    run = c.run_child(script, "t", {"x": 7}, tmp_path / "scratch", env=None)
    assert run.seconds == 0.25
    assert run.result == {"echo": 7}
    assert 0 < run.peak_mb < PARENT_MB / 2
    assert run.wall > 0


def test_a_failing_child_stops_the_benchmark(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(SystemExit, match="exit code 3"):
        c.run_child(script, "t", {}, tmp_path)


def test_run_row_takes_the_median_run() -> None:
    runs = [c.Run(3.0, 4.0, 30.0, {}), c.Run(1.0, 2.0, 10.0, {}), c.Run(2.0, 2.5, 20.0, {})]
    assert c.RUN_HEADERS == ["contender", "median s", "range s", "process s", "peak MB"]
    assert c.run_row("x", runs) == ["x", "2.00", "1.00-3.00", "2.50", "20"]


def test_table_for_the_terminal_and_for_markdown() -> None:
    rows = [["a|b", "1.00"], ["longer name", "10.25"]]
    assert c.table(["name", "s"], rows).splitlines() == [
        "name             s",
        "-----------  -----",
        "a|b           1.00",
        "longer name  10.25",
    ]
    assert c.table(["name", "s"], rows, markdown=True).splitlines() == [
        "| name | s |",
        "| --- | ---: |",
        "| a\\|b | 1.00 |",
        "| longer name | 10.25 |",
    ]


def test_extra_options_join_the_shared_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["x", "--work", str(tmp_path), "--repeat", "2", "--flag"])
    opts = c.options("d", lambda p: p.add_argument("--flag", action="store_true"))
    assert (opts.workdir, opts.repeat, opts.months, opts.flag) == (tmp_path, 2, 24, True)
