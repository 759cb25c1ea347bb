"""The practice support pack: a short document for the practice (HTML and PDF) with its own trends against its
own expected range, the agreed actions with owners and dates, and the progress notes, in supportive language.

"Expected range" is always about the practice itself: the Making Data Count limits set by its own months before
the plan started, and, for the GP face-to-face share, the share expected for its own appointment mix. Never a
funnel of peers or a position among practices. The visible text passes the guard's league-table vocabulary
(`publication.guard.league_word_in_text`); `visible_text` is what the test reads.

Charts are small server-rendered SVG (no script, no network), each with its table of values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from gpaccess.errors import PolicyError
from gpaccess.publication.guard import league_word_in_text, visible_text

_ENV = Environment(loader=PackageLoader("gpaccess.publication", "templates"), autoescape=select_autoescape())

# What each verdict says to the practice (supportive: a change to look at together, never a judgement).
VERDICT_TEXT = {
    "improvement": "A real change in the hoped-for direction since the plan started.",
    "concern": "A real change away from the hoped-for direction: worth looking at together.",
    "special cause: higher": "A real rise since the plan started (this measure has no better direction).",
    "special cause: lower": "A real fall since the plan started (this measure has no better direction).",
    "common cause": "Within the practice's usual month-to-month range so far.",
    "not enough months yet": "Not enough months before the plan to set the practice's own range yet.",
    "no months since the plan started yet": "No months since the plan started are published yet.",
}


@dataclass(frozen=True)
class OutcomeView:
    measure: str
    title: str
    definition: str
    percent: bool  # a share (shown as %) or a rate
    verdict: str
    detail: dict[str, Any]
    expected_change: str | None  # "higher" / "lower" / None (no direction)


@dataclass(frozen=True)
class ActionView:
    title: str
    description: str
    problem: str
    owner: str
    start: date
    due: date | None
    status: str
    funding: str
    measure: str


@dataclass(frozen=True)
class PackData:
    practice_code: str
    practice_name: str
    icb_code: str
    cycle: str
    plan_id: int
    plan_version: int
    plan_status: str
    summary: str
    starts: date
    actions: list[ActionView]
    outcomes: list[OutcomeView]
    notes: list[dict[str, str]]
    generated_on: date
    f2f_context: dict[str, float] | None = None  # observed and expected GP face-to-face share, own appointment mix
    window: str = ""
    history: list[str] = field(default_factory=list)  # earlier cycles' support


@dataclass(frozen=True)
class PackFiles:
    html: Path
    pdf: Path | None


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.1%}" if percent else f"{value:,.1f}"


def spc_svg(detail: dict[str, Any], percent: bool, width: int = 560, height: int = 170) -> str:
    """The practice's own monthly values with its expected range (limits from the months before the plan)."""
    points = detail.get("points") or []
    if not points:
        return ""
    values = [p["value"] for p in points]
    lo, hi = min([*values, detail["lower"]]), max([*values, detail["upper"]])
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    left, right, top, bottom = 56, 12, 10, 26
    w, h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (w * i / max(len(points) - 1, 1))

    def y(v: float) -> float:
        return top + h * (hi - v) / (hi - lo)

    band = (
        f'<rect x="{left}" y="{y(detail["upper"]):.1f}" width="{w}" '
        f'height="{max(y(detail["lower"]) - y(detail["upper"]), 0):.1f}" fill="#e8edee"/>'
    )
    my = y(detail["mean"])
    mean = f'<line x1="{left}" x2="{left + w}" y1="{my:.1f}" y2="{my:.1f}" stroke="#768692"/>'
    first_after = next((i for i, p in enumerate(points) if p["after_start"]), None)
    start = ""
    if first_after is not None:
        sx = (x(first_after) + x(max(first_after - 1, 0))) / 2
        start = (
            f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{top}" y2="{top + h}" stroke="#005eb8" stroke-dasharray="4 3"/>'
            f'<text x="{sx + 3:.1f}" y="{top + 10}" font-size="10" fill="#005eb8">plan starts</text>'
        )
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    colours = {"special_cause_improvement": "#005eb8", "special_cause_concern": "#ed8b00"}
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(p["value"]):.1f}" r="3" fill="{colours.get(p["type"], "#425563")}"/>'
        for i, p in enumerate(points)
    )
    labels = (
        f'<text x="{left - 4}" y="{y(detail["upper"]) + 4:.1f}" font-size="10" text-anchor="end">'
        f"{_fmt(detail['upper'], percent)}</text>"
        f'<text x="{left - 4}" y="{y(detail["lower"]) + 4:.1f}" font-size="10" text-anchor="end">'
        f"{_fmt(detail['lower'], percent)}</text>"
        f'<text x="{left}" y="{height - 8}" font-size="10">{points[0]["month"]}</text>'
        f'<text x="{left + w}" y="{height - 8}" font-size="10" text-anchor="end">{points[-1]["month"]}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="monthly values with the practice\'s own expected range">{band}{mean}{start}'
        f'<polyline points="{line}" fill="none" stroke="#425563" stroke-width="1.5"/>{dots}{labels}</svg>'
    )


def _chunks(rows: list[dict[str, Any]], size: int = 7) -> list[list[dict[str, Any]]]:
    """A table of months in rows of `size`, so it fits the page."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def render_html(data: PackData) -> str:
    outcomes = [
        {
            "o": o,
            "text": VERDICT_TEXT.get(o.verdict, o.verdict),
            "svg": spc_svg(o.detail, o.percent),
            "rows": _chunks(
                [
                    {"month": p["month"], "value": _fmt(p["value"], o.percent), "after": p["after_start"]}
                    for p in o.detail.get("points", [])
                ]
            ),
            "range": (
                f"{_fmt(o.detail['lower'], o.percent)} to {_fmt(o.detail['upper'], o.percent)}"
                if "lower" in o.detail
                else None
            ),
        }
        for o in data.outcomes
    ]
    html = _ENV.get_template("support_pack.html.j2").render(d=data, outcomes=outcomes, fmt=_fmt)
    # The practice's own name is a name, not a judgement ("Top Farm Surgery"), as the guard treats a cell that is
    # exactly a known name; everything else the pack says is checked.
    text = re.sub(re.escape(data.practice_name), " ", visible_text(html), flags=re.IGNORECASE)
    word = league_word_in_text(text)
    if word:
        raise PolicyError(f"the support pack for {data.practice_code} would contain {word!r}: no league-table words")
    return html


def write_pack(data: PackData, folder: Path, *, pdf: bool = True) -> PackFiles:
    """Write `<practice>_support_pack.html` (and `.pdf` with WeasyPrint) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(data)
    html_path = folder / f"{data.practice_code}_support_pack.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        pdf_path = folder / f"{data.practice_code}_support_pack.pdf"
        write_pdf(html, pdf_path)
    return PackFiles(html_path, pdf_path)


def write_pdf(html: str, path: Path) -> Path:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the pango library is missing
        raise PolicyError(
            f"PDF support packs need WeasyPrint and Debian's pango ({exc}): install gpaccess with the 'plans' extra "
            "and run scripts/system-packages pango"
        ) from exc
    HTML(string=html).write_pdf(path)
    return path


def _pdf_next_to(html_path: Path) -> Path:
    return write_pdf(html_path.read_text(encoding="utf-8"), html_path.with_suffix(".pdf"))


def write_pdfs(html_paths: list[Path], *, workers: int = 2) -> list[Path]:
    """The PDF of each written pack, beside its HTML, rendered by `workers` processes (WeasyPrint's layout is
    the slow part of a pack: about half a second each). Fresh processes, not forks of the caller's."""
    if workers <= 1 or len(html_paths) < 4:
        return [_pdf_next_to(p) for p in html_paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(html_paths) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_pdf_next_to, html_paths, chunksize=chunk))
