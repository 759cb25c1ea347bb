"""The "what worked" outputs: an ICB's report (HTML and CSV), its aggregate return, and the national version
pooled from returns (DESIGN "Evaluation data").

The ICB's report and CSV name no practice (counts and estimates only) but describe the ICB's own support, so
they stay in the ICB. The aggregate return and the national files pass the outward-file guard as
``aggregate``: no practice code or name, counts of practices rounded to 5 and at least 5, no league-table
words. Action types read as their keys unless a title is given (plans' catalogue holds the titles).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gpaccess.evaluation.evaluate import ESTIMATED, Estimate, IcbEvaluation
from gpaccess.publication.exports import write_csv
from gpaccess.publication.guard import check_outward

_ENV = Environment(loader=PackageLoader("gpaccess.publication", "templates"), autoescape=select_autoescape())
ICB_COLUMNS = [
    "icb_code",
    "outcome",
    "unit",
    "action",
    "status",
    "practices",
    "in_estimate",
    "comparators",
    "comparators_elsewhere_in_region",
    "left_out_no_close_comparator",
    "effect",
    "lower",
    "upper",
    "supported_change",
    "comparison_change",
    "reading",
    "note",
]


@dataclass(frozen=True)
class WhatWorkedFiles:
    html: Path
    csv: Path
    aggregate_return: Path | None = None


def reading(effect: float | None, lower: float | None, upper: float | None, unit: str) -> str:
    """A plain reading of an estimate and its 95% interval."""
    if effect is None or lower is None or upper is None:
        return "not estimated"
    if lower > 0:
        return f"a rise: the whole interval is above no change ({unit})"
    if upper < 0:
        return f"a fall: the whole interval is below no change ({unit})"
    return "no clear change: the interval includes no change"


def share_of_change(supported: float | None, comparison: float | None) -> str:
    """How much of the supported practices' change the comparison practices also show, in words."""
    if supported is None or comparison is None or not math.isfinite(supported) or not math.isfinite(comparison):
        return "—"
    if abs(supported) < 1e-9:
        return "the supported practices did not change on average"
    if (comparison > 0) != (supported > 0) or comparison == 0:
        return "the comparison practices did not move the same way"
    share = comparison / supported
    return f"{share:.0%} of it" if share <= 1 else f"all of it and more ({min(share, 9.99):.0%})"


def _title(action: str, titles: Mapping[str, str]) -> str:
    return titles.get(action, action.replace("_", " "))


def _outcome_title(name: str) -> str:
    """The measure's title for an outcome named by its key (the returns carry keys)."""
    from gpaccess.measures.definitions import load_measures

    found = load_measures().get(name)
    return found.title if found is not None else name


def _row(ev: IcbEvaluation, e: Estimate) -> dict[str, object]:
    shown = e.status == ESTIMATED
    return {
        "icb_code": ev.icb_code,
        "outcome": ev.outcome.name,
        "unit": ev.outcome.unit,
        "action": e.action,
        "status": e.status,
        "practices": e.practices,
        "in_estimate": e.matched,
        "comparators": e.comparators,
        "comparators_elsewhere_in_region": e.from_region,
        "left_out_no_close_comparator": e.unmatched,
        "effect": e.effect if shown else None,
        "lower": e.lower if shown else None,
        "upper": e.upper if shown else None,
        "supported_change": e.supported_change if shown else None,
        "comparison_change": e.comparison_change if shown else None,
        "reading": reading(e.effect, e.lower, e.upper, ev.outcome.unit) if shown else e.status,
        "note": e.note,
    }


def icb_table(ev: IcbEvaluation) -> pd.DataFrame:
    """One row per estimate: any support first, then action types in key order."""
    return pd.DataFrame([_row(ev, e) for e in ev.estimates], columns=ICB_COLUMNS)


def write_icb_what_worked(
    ev: IcbEvaluation,
    folder: Path,
    *,
    icb_name: str = "",
    titles: Mapping[str, str] | None = None,
    known_codes: Iterable[str] = (),
    known_names: Iterable[str] = (),
) -> WhatWorkedFiles:
    """`what_worked.html` and `what_worked.csv` for the ICB, and `evaluation_return_<ICB>.csv` (guarded)."""
    titles = titles or {}
    folder.mkdir(parents=True, exist_ok=True)
    table = icb_table(ev)
    rows = []
    for e, r in zip(ev.estimates, table.to_dict(orient="records"), strict=True):
        rows.append(
            {
                **r,
                "title": _title(e.action, titles),
                "share": share_of_change(e.supported_change, e.comparison_change),
                "balance": e.balance.to_dict(orient="records")
                if e.balance is not None and e.status == ESTIMATED
                else [],
            }
        )
    html = _ENV.get_template("what_worked.html.j2").render(
        national=False,
        icb_code=ev.icb_code,
        icb_name=icb_name,
        outcome=ev.outcome,
        months=ev.months,
        rows=rows,
        supported=ev.supported,
        limitations=ev.limitations,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    html_path = folder / "what_worked.html"
    html_path.write_text(html, encoding="utf-8")
    csv_path = write_csv(table, folder / "what_worked.csv")
    returned = write_aggregate(
        ev.return_rows(), folder / f"evaluation_return_{ev.icb_code}.csv", known_codes, known_names
    )
    return WhatWorkedFiles(html_path, csv_path, returned)


def write_aggregate(frame: pd.DataFrame, path: Path, known_codes: Iterable[str], known_names: Iterable[str]) -> Path:
    """Guard, then write, an aggregate file (a return or the national version); checked again as written."""
    codes, names = set(known_codes), set(known_names)
    check_outward(frame, kind="aggregate", known_codes=codes, known_names=names)
    written = write_csv(frame, path)
    check_outward(written, kind="aggregate", known_codes=codes, known_names=names)
    return written


def write_national_what_worked(
    pooled: pd.DataFrame, folder: Path, *, icbs: Iterable[str], titles: Mapping[str, str] | None = None
) -> WhatWorkedFiles:
    """`national_what_worked.html` and `.csv` from pooled returns: types shown with at least 20 practices
    pooled; no practice named (the returns carry none)."""
    titles = titles or {}
    folder.mkdir(parents=True, exist_ok=True)
    shown = pooled.copy()
    hidden = shown.status != ESTIMATED
    for col in ("effect", "lower", "upper", "coefficient", "std_error", "i_squared"):
        shown[col] = shown[col].astype(float).where(~hidden)
    csv_path = write_aggregate(shown, folder / "national_what_worked.csv", (), ())
    rows = [
        {
            **r,
            "title": _title(str(r["action"]), titles),
            "outcome_title": _outcome_title(str(r["outcome"])),
            "reading": reading(r["effect"], r["lower"], r["upper"], str(r["unit"]))
            if r["status"] == ESTIMATED
            else r["status"],
        }
        for r in shown.to_dict(orient="records")
    ]
    html = _ENV.get_template("what_worked.html.j2").render(
        national=True,
        rows=rows,
        icbs=sorted(set(icbs)),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    html_path = folder / "national_what_worked.html"
    html_path.write_text(html, encoding="utf-8")
    return WhatWorkedFiles(html_path, csv_path)
