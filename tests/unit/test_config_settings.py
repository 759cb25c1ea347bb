"""Settings read from the environment: an empty home is refused rather than read as the current folder."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from gpaccess.config import Settings


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_home_is_refused(value):
    with pytest.raises(ValidationError, match="GPACCESS_HOME is empty"):
        Settings.from_env({"GPACCESS_HOME": value})


def test_a_named_home_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"GPACCESS_HOME": "here"}).home == tmp_path / "here"


def test_the_command_line_says_so_and_writes_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "gpaccess", "status"],
        cwd=tmp_path,
        env={"GPACCESS_HOME": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "GPACCESS_HOME is empty" in done.stderr
    assert list(tmp_path.iterdir()) == []
