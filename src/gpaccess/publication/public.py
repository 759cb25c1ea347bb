"""The public practice-level publication: every practice in the store, in practice-code order, with its access
measures over the window (each share with its 95% Wilson interval) and context (list size, deprivation of its
area). No rank, percentile or position of a measure, no cohort column, never sorted by a measure; shares of
practices with too few appointments are withheld (`disclosure`). It passes the outward-file guard before it is
returned or written, and every text cell is neutralised for spreadsheets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gpaccess.measures.service import MeasureSession
from gpaccess.publication import disclosure
from gpaccess.publication.exports import neutralise_formulas, write_csv
from gpaccess.publication.guard import check_outward
from gpaccess.statistics.intervals import wilson_interval

# The shares published, each with its interval: GPAD-derived figures, already public per practice.
PUBLIC_SHARES = ("f2f_gp", "f2f_all", "gp_share", "same_day_share", "dna_rate")
PUBLIC_RATES = ("appts_per_1000",)
FORMATS = ("csv", "xlsx", "html")


@dataclass(frozen=True)
class Publication:
    table: pd.DataFrame  # practice-code order, guarded
    window: str
    definitions: dict[str, str]  # column -> what it means


def build_public_table(session: MeasureSession, deprivation: pd.DataFrame | None) -> Publication:
    directory = session.directory()
    values = session.values()
    table = directory[["practice_code", "practice_name", "icb_code", "icb_name"]].merge(
        values, on="practice_code", how="left"
    )
    appointments = table["gp_share__den"] if "gp_share__den" in table else pd.Series(float("nan"), index=table.index)
    enough = appointments.map(disclosure.enough_appointments)
    out = pd.DataFrame(
        {
            "practice_code": table.practice_code,
            "practice_name": table.practice_name,
            "icb_code": table.icb_code,
            "window": session.label,
            "appointments": appointments.round().astype("Int64"),
            "list_size": pd.to_numeric(table.get("patients", pd.Series(pd.NA, index=table.index)))
            .round()
            .astype("Int64"),
        }
    )
    definitions = {
        "appointments": "appointments in the window (all staff, all modes)",
        "list_size": "registered patients, a month on average over the window",
    }
    for name in PUBLIC_SHARES:
        m = session.measure(name)
        num, den = table[f"{name}__num"].astype(float), table[f"{name}__den"].astype(float)
        lower, upper = wilson_interval(num, den)
        share = (num / den).where(den > 0)
        out[name] = [round(v, 4) if ok and pd.notna(v) else _withheld(ok) for v, ok in zip(share, enough, strict=True)]
        out[f"{name}_ci_lower"] = [
            round(v, 4) if ok and pd.notna(v) else None for v, ok in zip(lower, enough, strict=True)
        ]
        out[f"{name}_ci_upper"] = [
            round(v, 4) if ok and pd.notna(v) else None for v, ok in zip(upper, enough, strict=True)
        ]
        definitions[name] = f"{m.title}: {m.definition} (95% Wilson interval beside it)"
    for name in PUBLIC_RATES:
        m = session.measure(name)
        out[name] = table[name].round(1) if name in table else None
        definitions[name] = f"{m.title}: {m.definition}"
    if deprivation is not None and len(deprivation):
        dep = deprivation.rename(columns={"imd_score": "imd_2019_score", "imd_decile": "imd_2019_decile"})
        out = out.merge(dep[["practice_code", "imd_2019_score", "imd_2019_decile"]], on="practice_code", how="left")
        definitions["imd_2019_score"] = "deprivation of the practice's area (IMD 2019 score): context, not a measure"
        definitions["imd_2019_decile"] = "deprivation tenth of the area (1 = most deprived): context, not a measure"
    out = out.sort_values("practice_code", kind="stable").reset_index(drop=True)
    check_outward(out, kind="public", known_codes=set(directory.practice_code))
    return Publication(out, session.label, definitions)


def _withheld(enough: bool) -> str | None:
    return disclosure.TOO_FEW_APPOINTMENTS if not enough else None


def write_publication(publication: Publication, folder: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write the publication as CSV, XLSX and HTML (formulas neutralised in every cell); the CSV is guarded again
    as written."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "csv" in formats:
        path = write_csv(publication.table, folder / "gp_access_by_practice.csv")
        check_outward(path, kind="public", known_codes=set(publication.table.practice_code))
        written.append(path)
    if "xlsx" in formats:
        path = folder / "gp_access_by_practice.xlsx"
        neutralise_formulas(publication.table).to_excel(path, index=False, sheet_name="practices")
        written.append(path)
    if "html" in formats:
        env = Environment(loader=PackageLoader("gpaccess.publication"), autoescape=select_autoescape())
        html = env.get_template("public.html.j2").render(
            table=neutralise_formulas(publication.table), window=publication.window, definitions=publication.definitions
        )
        path = folder / "gp_access_by_practice.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
