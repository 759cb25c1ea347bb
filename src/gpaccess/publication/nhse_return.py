"""The NHS England return: the ICB's cohort for a cycle, pseudonymised (what the 2021 process collected).

One row per practice the ICB has selected for support (practices added by an override included, ones removed
by an override left out), with its pseudonym, the criteria it met and, for every criterion of the run, "met",
"not met" or "not assessed" (a criterion with no data is never written as false); no code, no name, no rank, no
measure value. Rows are in pseudonym order, which says nothing about any measure. `write_return` runs the outward-file
guard before anything is written and writes atomically with spreadsheet formulas neutralised
(docs/governance.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from gpaccess.access.pseudonym import pseudonymise
from gpaccess.publication.assessment import CriterionStatus, status_of
from gpaccess.publication.exports import write_csv
from gpaccess.publication.guard import check_outward

CRITERION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CRITERIA_SEPARATOR = ";"
RETURN_COLUMNS = ("icb_code", "cycle", "pseudonym", "criteria_met")
TRUE_TEXT = frozenset({"true", "1", "yes", "y"})
FALSE_TEXT = frozenset({"false", "0", "no", "n", ""})


def _as_bool(value: Any, code: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    raise ValueError(f"{code}: 'selected' should be true or false, not {value!r}")


def _criteria_met(value: Any) -> list[str]:
    """Criterion names from a list, a `;`-joined string, or a {name: bool} mapping; blanks mean none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        items: Iterable[Any] = value.split(CRITERIA_SEPARATOR)
    elif isinstance(value, dict):
        items = [name for name, met in value.items() if met]
    else:
        items = value
    return sorted({str(item).strip() for item in items if str(item).strip()})


def build_return(members: pd.DataFrame, *, icb_code: str, cycle: str, key: bytes, criteria: list[str]) -> pd.DataFrame:
    """The return for one ICB and cycle from its cohort members.

    `members` has ``practice_code``, ``selected`` (bool) and ``criteria_met`` (list of names or a `;`-joined
    string), and may have ``overridden`` (none/added/removed) and ``assessed_<name>`` (bool: False where the
    criterion had no data). `criteria` names every criterion the run used; each becomes a ``criterion_<name>``
    column holding met, not met or not assessed. Columns: icb_code, cycle, pseudonym, criteria_met
    (sorted, `;`-joined), criterion_<name>...; rows sorted by pseudonym.
    """
    missing = {"practice_code", "selected", "criteria_met"} - set(members.columns)
    if missing:
        raise ValueError(f"cohort members lack column(s) {sorted(missing)}")
    names = list(dict.fromkeys(criteria))
    bad = [c for c in names if not CRITERION_NAME.match(c)]
    if bad:
        raise ValueError(f"criterion names must be lower_snake_case: {bad}")
    icb = icb_code.strip().upper()
    overridden = members["overridden"] if "overridden" in members.columns else pd.Series("none", index=members.index)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    assessed = {
        name: members[f"assessed_{name}"] if f"assessed_{name}" in members.columns else pd.Series(True, members.index)
        for name in names
    }
    for i, (code_value, selected_value, met_value, override) in enumerate(
        zip(members["practice_code"], members["selected"], members["criteria_met"], overridden, strict=True)
    ):
        code = str(code_value).strip().upper()
        selected = _as_bool(selected_value, code)
        override = str(getattr(override, "value", override)).strip().lower()
        if (override == "added" and not selected) or (override == "removed" and selected):
            raise ValueError(f"{code}: {override} by an override but selected={selected}")
        if not selected:
            continue
        if code in seen:
            raise ValueError(f"{code}: listed twice among the selected practices")
        seen.add(code)
        met = _criteria_met(met_value)
        unknown = [m for m in met if m not in names]
        if unknown:
            raise ValueError(f"{code}: criteria met {unknown} are not among the run's criteria {names}")
        row: dict[str, Any] = {
            "icb_code": icb,
            "cycle": str(cycle),
            "pseudonym": pseudonymise(key, code, icb_code=icb),
            "criteria_met": CRITERIA_SEPARATOR.join(met),
        }
        for name in names:
            status = status_of(name in met, assessed[name].iloc[i])
            if status is CriterionStatus.NOT_ASSESSED and name in met:
                raise ValueError(f"{code}: criterion {name} is both met and not assessed")
            row[f"criterion_{name}"] = str(status)
        rows.append(row)
    columns = [*RETURN_COLUMNS, *(f"criterion_{name}" for name in names)]
    out = pd.DataFrame(rows, columns=columns)
    out = out.astype({c: "object" for c in [*RETURN_COLUMNS, *(f"criterion_{n}" for n in names)]})
    return out.sort_values(["pseudonym"], kind="stable").reset_index(drop=True)


def write_return(df: pd.DataFrame, path: Path | str, *, known_codes: Iterable[str], known_names: Iterable[str]) -> Path:
    """Check the return with the outward-file guard, then write it (atomic, formulas neutralised).

    `known_codes` and `known_names` are the ICB's practices: the guard refuses a return holding any of them.
    Nothing is written when the guard refuses.
    """
    check_outward(df, kind="nhse_return", known_codes=known_codes, known_names=known_names)
    return write_csv(df, Path(path))


def return_notes(*, icb_code: str, cycle: str, criteria: dict[str, str], stood_on: Iterable[str] = ()) -> list[str]:
    """The notes that travel with the return: what it is, that it is pseudonymous and not anonymous, what each
    criterion column means, and what the run stood on. `criteria` maps each criterion's name to its title."""
    lines = [
        f"NHS England return: ICB {icb_code.strip().upper()}, {cycle}. One row per practice selected for support.",
        "PSEUDONYMOUS, NOT ANONYMOUS. Each practice appears under a keyed pseudonym, not its code or name. "
        "The selection rules are published and GPAD is published per practice, so anyone who recomputes the "
        "cohort could work out which practice a pseudonym stands for. Handle this file as personal-level "
        "(practice-level) confidential information: do not publish it or pass it on (see docs/governance.md).",
        "criterion_<name> columns: 'met', 'not met', or 'not assessed' (the data to judge that criterion were not "
        "available; never read 'not assessed' as 'not met').",
    ]
    lines += [f"  criterion_{name}: {title}" for name, title in criteria.items()]
    stood_on = list(stood_on)
    if stood_on:
        lines += ["What the run stood on:", *(f"  {line}" for line in stood_on)]
    return lines


def write_notes(lines: Iterable[str], path: Path | str) -> Path:
    """Write the return's notes beside it (plain text; no practice code or name in them)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
