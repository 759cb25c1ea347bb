"""The documentation is tested (STYLE.md): every setting, CLI command and measure is documented.

- every `Settings` field has a row, by its environment variable `GPACCESS_<NAME>`, in the settings table of
  docs/user-guide.md (the `## Settings` section);
- every top-level command of the Typer app, and every subcommand of its groups (`cohort`, `local`), is
  mentioned in docs/user-guide.md as `gpaccess <command>`;
- every measure in `measures/definitions/` and every face-to-face definition in `measures/face_to_face.toml`
  is named in docs/methodology.md.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import typer.main

from gpaccess.cli.main import app
from gpaccess.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _section(text: str, heading: str) -> str:
    """The body of a `## heading` section, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def _table_env_vars(section: str) -> set[str]:
    return set(re.findall(r"^\|\s*`(GPACCESS_[A-Z0-9_]+)`\s*\|", section, flags=re.M))


def _commands() -> list[str]:
    root = typer.main.get_command(app)
    names = []
    for name, command in sorted(root.commands.items()):
        names.append(name)
        for sub in sorted(getattr(command, "commands", {}) or {}):
            names.append(f"{name} {sub}")
    return names


def _measure_names() -> list[str]:
    folder = resources.files("gpaccess.measures").joinpath("definitions")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _f2f_definitions() -> list[str]:
    text = resources.files("gpaccess.measures").joinpath("face_to_face.toml").read_text(encoding="utf-8")
    return sorted(tomllib.loads(text))


@pytest.fixture(scope="module")
def user_guide() -> str:
    return (DOCS / "user-guide.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def methodology() -> str:
    return (DOCS / "methodology.md").read_text(encoding="utf-8")


def test_docs_every_setting_in_user_guide_table(user_guide: str) -> None:
    documented = _table_env_vars(_section(user_guide, "Settings"))
    wanted = {f"GPACCESS_{name.upper()}" for name in Settings.model_fields}
    assert not wanted - documented, f"settings missing from the user guide's settings table: {wanted - documented}"


def test_docs_settings_table_has_no_stale_rows(user_guide: str) -> None:
    documented = _table_env_vars(_section(user_guide, "Settings"))
    wanted = {f"GPACCESS_{name.upper()}" for name in Settings.model_fields}
    assert not documented - wanted, f"the settings table lists settings that no longer exist: {documented - wanted}"


def test_docs_every_cli_command_in_user_guide(user_guide: str) -> None:
    commands = _commands()
    assert {"ingest", "status", "measures", "cohort", "cohort override"} <= set(commands)
    missing = [c for c in commands if not re.search(rf"gpaccess {re.escape(c)}(?![\w-])", user_guide)]
    assert not missing, f"commands not mentioned in docs/user-guide.md (as `gpaccess <command>`): {missing}"


def test_docs_every_measure_in_methodology(methodology: str) -> None:
    measures = _measure_names()
    assert "f2f_gp" in measures
    body = _section(methodology, "Measures")
    missing = [m for m in measures if f"`{m}`" not in body]
    assert not missing, f"measures missing from the '## Measures' part of docs/methodology.md: {missing}"


def test_docs_every_face_to_face_definition_in_methodology(methodology: str) -> None:
    body = _section(methodology, "Measures")
    missing = [d for d in _f2f_definitions() if f"`{d}`" not in body]
    assert not missing, f"face-to-face definitions missing from docs/methodology.md: {missing}"


def test_docs_methodology_keeps_statistics_after_measures(methodology: str) -> None:
    assert methodology.index("\n## Measures") < methodology.index("\n## Statistics")
