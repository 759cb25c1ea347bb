"""The one guard every outward file passes: no league tables, nothing that names a practice where it must not.

Three kinds of outward file (DESIGN.md, "Outward files"; docs/governance.md):
- ``nhse_return``: the pseudonymised cohort sent to NHS England. Only the allowed columns; a pseudonym per
  row, rows in pseudonym order; no practice code or name; no measure value (no decimal or percentage, no
  integer other than a year).
- ``public``: the practice-level publication. Every practice, in practice-code order; no cohort, selection,
  support or flag column.
- ``aggregate``: an evaluation's aggregate return or the national "what worked" (DESIGN "Evaluation data",
  "National and public"): estimates allowed, but no practice code or name, and every count of practices (the
  ``practices`` column) a multiple of 5 and at least 5.
All: no rank, percentile (or any -ile), position, order, league or score column, and no "worst", "best",
"top", "bottom", "underperforming" or "failing" in a column name or a cell.

The league-table vocabulary lives here and only here: `JUDGEMENT_WORDS`, `RANKING_WORDS`, `RANKING_FRAGMENTS`
and `RANKING_TEXT_WORDS`, read through `league_word_in_name` (column names, chart fields),
`league_word_in_text` (cells, chart labels, messages) and `league_word_in_html` (a report's visible text). The
charts and the tests use these, never a list of their own.

`check_outward` reads a DataFrame or a CSV file (as text: every cell a string) and raises one `PolicyError`
listing every breach, so one fix-up pass suffices. It never repeats a refused cell's text in the message:
it names the column and the first rows.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from gpaccess.access.pseudonym import PSEUDONYM_PATTERN
from gpaccess.errors import PolicyError
from gpaccess.publication.assessment import OUTWARD

Kind = Literal["nhse_return", "public", "aggregate"]
KINDS: tuple[Kind, ...] = ("nhse_return", "public", "aggregate")
AGGREGATE_COUNT_COLUMN = "practices"
AGGREGATE_MIN_PRACTICES = 5

# The league-table vocabulary (PEERS.md §4: "worst" was found offensive, "top or bottom 10%" confusing; DESIGN.md:
# never a rank or percentile). Judgements of a practice, refused as whole words everywhere: column names, cells,
# chart labels, reasons and messages.
JUDGEMENT_WORDS = ("worst", "best", "top", "bottom", "underperforming", "failing")
# Column-name words (whole words of the name, split at _, -, spaces, digits and camelCase; a plural "s" counts).
RANKING_WORDS = frozenset(
    {"rank", "ranking", "ranked", "pctrank", "percentrank", "denserank", "position", "order", "ordering", "score",
     "standing", "place"}
)  # fmt: skip
# Fragments refused anywhere in a column name: every quantile-like word contains one of them.
RANKING_FRAGMENTS = ("ntile", "decile", "quartile", "quintile", "league")
# In free text "order", "position" or "score" can mean something else ("practice-code order"); these cannot, so
# they are refused as whole words (a plural "s" counts) in text as well as in names.
RANKING_TEXT_WORDS = ("rank", "ranked", "ranking", "league", "percentile")
# Public publication: nothing that says which practices are in the cohort.
COHORT_WORDS = frozenset(
    {
        "cohort",
        "selected",
        "selection",
        "support",
        "supported",
        "flag",
        "flagged",
        "chosen",
        "override",
        "overridden",
        "candidate",
    }
)
# Area context the public publication may carry although its name holds a ranking fragment (DESIGN "National
# and public"): deprivation of the practice's area, never a rank or position of a measure.
PUBLIC_CONTEXT_COLUMNS = frozenset({"imd_2019_score", "imd_2019_decile"})
ODS_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
ODS_PRACTICE_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][0-9]{5}(?![A-Za-z0-9])")
MIN_NAME_LENGTH = 6
NHSE_RETURN_COLUMNS = frozenset({"icb_code", "cycle", "pseudonym", "criteria_met", "run_id", "generated_on"})
NHSE_REQUIRED_COLUMNS = ("pseudonym", "criteria_met")
CRITERION_COLUMN = re.compile(r"^criterion_[a-z0-9_]+$")
IDENTIFIER_COLUMNS = frozenset({"run_id"})  # an integer here identifies the run, it is not a measure
YEARS = range(1990, 2101)
PUBLIC_CODE_COLUMN = "practice_code"
# A criterion column says met, not met or not assessed: true/false would write "no data" as "not met".
CRITERION_TEXT = frozenset(str(s) for s in OUTWARD)
NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?P<fraction>\.\d*)?(?:[eE][+-]?\d+)?(?P<percent>\s*%)?$")
EXAMPLE_ROWS = 3

_TEXT_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join((*JUDGEMENT_WORDS, *RANKING_TEXT_WORDS)) + r")s?(?![A-Za-z0-9])", re.IGNORECASE
)
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@dataclass
class _Table:
    """An outward file as the guard sees it: column names, each column's cells, and each column's kind."""

    columns: list[str]
    cells: list[list[Any]]  # one list per column
    kinds: list[str]  # "text" | "float" | "int" | "bool" | "other"


class OutwardFileError(PolicyError):
    """An outward file broke the guard's rules. `breaches` lists each one."""

    def __init__(self, kind: str, breaches: list[str], source: str) -> None:
        self.kind = kind
        self.breaches = breaches
        summary = f"{source} refused as {kind}: {len(breaches)} breach(es) of the outward-file rules"
        super().__init__(summary + ":\n  " + "\n  ".join(breaches) + "\n(see docs/governance.md)")


def _column_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        return "float"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "text"
    return "other"


def _from_frame(df: pd.DataFrame) -> _Table:
    columns = [str(c) for c in df.columns]
    cells = [df.iloc[:, i].tolist() for i in range(df.shape[1])]
    kinds = [_column_kind(df.iloc[:, i]) for i in range(df.shape[1])]
    return _Table(columns, cells, kinds)


def _from_csv(path: Path, breaches: list[str]) -> _Table:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        breaches.append("the file is empty: an outward file starts with a header row")
        return _Table([], [], [])
    header, body = rows[0], rows[1:]
    width = len(header)
    ragged = [i for i, row in enumerate(body, start=1) if len(row) != width]
    if ragged:
        breaches.append(f"rows {_rows(ragged)} do not have the header's {width} cells")
    body = [(row + [""] * width)[:width] for row in body]
    cells = [[row[i] for row in body] for i in range(width)]
    return _Table(header, cells, ["text"] * width)


def _rows(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:EXAMPLE_ROWS])
    return shown + (f" and {len(rows) - EXAMPLE_ROWS} more" if len(rows) > EXAMPLE_ROWS else "")


def _text(value: Any) -> str | None:
    """A cell as the text a reader would see, or None for blanks and non-text values."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("'"):  # a neutralised formula: judge what follows
            text = text[1:].strip()
        return text or None
    return None


def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _name_words(name: str) -> list[str]:
    return [w.lower() for w in _NAME_WORDS.findall(name)]


def _has_word(name: str, words: Iterable[str]) -> str | None:
    wanted = set(words)
    for word in _name_words(name):
        if word in wanted:
            return word
        if word.endswith("s") and word[:-1] in wanted:
            return word[:-1]
    return None


def league_word_in_name(name: str) -> str | None:
    """The league-table word in a column name (or a chart's field name), or None: a ranking fragment anywhere,
    or a ranking or judgement word as a whole word of the name."""
    lowered = name.lower()
    for fragment in RANKING_FRAGMENTS:
        if fragment in lowered:
            return fragment
    return _has_word(name, RANKING_WORDS) or _has_word(name, JUDGEMENT_WORDS)


def league_word_in_text(text: str) -> str | None:
    """The league-table word in free text (a cell, a chart's label, a reason), as written, or None: a judgement
    word or an unambiguous ranking word, as a whole word in any case."""
    found = _TEXT_WORDS.search(text)
    return found.group(0) if found else None


class _Visible(HTMLParser):
    """Collects the text outside scripts and styles (entities decoded by the parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(document: str) -> str:
    """What a reader sees of an HTML document (its title included): scripts and styles removed, tags
    stripped, entities decoded, whitespace collapsed. A parser, not a pattern, so a `>` inside an attribute
    cannot hide text."""
    parser = _Visible()
    parser.feed(document)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def league_word_in_html(document: str) -> str | None:
    """The league-table word in an HTML document's visible text (a report, a pack, an export), or None."""
    return league_word_in_text(visible_text(document))


def _check_column_names(table: _Table, breaches: list[str], allowed: frozenset[str] = frozenset()) -> None:
    seen: set[str] = set()
    for name in table.columns:
        word = None if name.strip().lower() in allowed else league_word_in_name(name)
        if word:
            breaches.append(f"column {name!r} looks like a ranking ({word!r}): no league tables outside the ICB")
        if name in seen:
            breaches.append(f"column {name!r} appears twice")
        seen.add(name)


def _check_judgement_words(table: _Table, names: set[str], breaches: list[str]) -> None:
    """A league-table word in any cell; a cell that is exactly a practice's name is a name."""
    for name, column in zip(table.columns, table.cells, strict=True):
        found = [
            (i, word.lower())
            for i, v in enumerate(column, start=1)
            if (t := _text(v)) and (word := league_word_in_text(t)) and _normalise_name(t) not in names
        ]
        if found:
            words = ", ".join(f"'{w}'" for w in sorted({w for _, w in found}))
            breaches.append(
                f"column {name!r}, rows {_rows([i for i, _ in found])}: {words} in the text "
                "(practices are compared, never ranked)"
            )


def _check_codes(table: _Table, known_codes: set[str], breaches: list[str]) -> None:
    for name, column in [("(header)", table.columns), *zip(table.columns, table.cells, strict=True)]:
        rows = []
        for i, value in enumerate(column, start=1):
            text = _text(value)
            if text is None:
                continue
            upper = text.upper()
            tokens = {m.upper() for m in ODS_PRACTICE_CODE_IN_TEXT.findall(text)}
            if upper in known_codes or ODS_PRACTICE_CODE.match(upper) or tokens or known_codes & _tokens(upper):
                rows.append(i)
        if rows:
            where = f"column {name!r}, rows {_rows(rows)}" if name != "(header)" else "the header"
            breaches.append(f"{where}: a practice code (the return carries pseudonyms only)")


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[A-Z0-9]+", text))


def _normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_names(table: _Table, names: set[str], breaches: list[str]) -> None:
    index = _names_by_opening({n for n in names if len(n) >= MIN_NAME_LENGTH})
    if not index:
        return
    for name, column in [("(header)", table.columns), *zip(table.columns, table.cells, strict=True)]:
        rows = [
            i for i, v in enumerate(column, start=1) if (t := _text(v)) and _holds_a_name(_normalise_name(t), index)
        ]
        if rows:
            where = f"column {name!r}, rows {_rows(rows)}" if name != "(header)" else "the header"
            breaches.append(f"{where}: a practice name (the return carries pseudonyms only)")


def _names_by_opening(names: set[str]) -> dict[str, list[str]]:
    """The names by their first three characters. Why not one regular expression of every name: compiling the
    alternation of a country's 6,300 practice names took a second per outward file, longer than the rest of it."""
    index: dict[str, list[str]] = {}
    for n in names:
        index.setdefault(n[:3], []).append(n)
    return index


def _holds_a_name(text: str, index: dict[str, list[str]]) -> bool:
    """Whether any name occurs anywhere in `text` (as a regular expression search would find it): a name found
    at a position begins with the three characters there, so only the names indexed by those are compared."""
    return any(n in text for i in range(len(text) - 2) for n in index.get(text[i : i + 3], ()))


def _number_kind(value: Any) -> str | None:
    """'decimal' for a number with a fraction (or a percentage), 'integer' for a whole number, else None."""
    if isinstance(value, bool) or _is_blank(value):
        return None
    if isinstance(value, numbers.Integral):  # Python and numpy integers
        return "integer"
    if isinstance(value, numbers.Number):
        return "decimal"
    text = _text(value)
    if text is None or not any(ch.isdigit() for ch in text):
        return None
    match = NUMBER.match(text)
    if not match:
        return None
    if match.group("fraction") or match.group("percent") or "e" in text.lower():
        return "decimal"
    return "integer"


def _is_year(value: Any) -> bool:
    text = _text(value) if isinstance(value, str) else str(value)
    return text is not None and text.isdigit() and int(text) in YEARS


def _check_nhse_columns(table: _Table, breaches: list[str]) -> None:
    for name in table.columns:
        if name not in NHSE_RETURN_COLUMNS and not CRITERION_COLUMN.match(name):
            breaches.append(
                f"column {name!r} is not allowed in the NHS England return (allowed: "
                f"{', '.join(sorted(NHSE_RETURN_COLUMNS))} and criterion_<name>)"
            )
    for name in NHSE_REQUIRED_COLUMNS:
        if name not in table.columns:
            breaches.append(f"column {name!r} is missing from the NHS England return")


def _check_nhse_values(table: _Table, breaches: list[str]) -> None:
    for name, column, kind in zip(table.columns, table.cells, table.kinds, strict=True):
        if CRITERION_COLUMN.match(name):
            bad = [
                i
                for i, v in enumerate(column, start=1)
                if isinstance(v, bool) or str(v).strip().lower() not in CRITERION_TEXT
            ]
            if bad:
                breaches.append(
                    f"column {name!r}, rows {_rows(bad)}: a criterion column holds only met, not met or not assessed"
                )
            continue
        if kind == "float":
            breaches.append(f"column {name!r} holds decimal numbers: no measure values in the return")
            continue
        decimals = [i for i, v in enumerate(column, start=1) if _number_kind(v) == "decimal"]
        if decimals:
            breaches.append(f"column {name!r}, rows {_rows(decimals)}: a measure value (decimal or percentage)")
        if name in IDENTIFIER_COLUMNS:
            continue
        integers = [i for i, v in enumerate(column, start=1) if _number_kind(v) == "integer" and not _is_year(v)]
        if integers:
            breaches.append(f"column {name!r}, rows {_rows(integers)}: a number other than a year (a measure value?)")
    if "pseudonym" in table.columns:
        column = table.cells[table.columns.index("pseudonym")]
        bad = [i for i, v in enumerate(column, start=1) if not (isinstance(v, str) and PSEUDONYM_PATTERN.match(v))]
        if bad:
            breaches.append(f"column 'pseudonym', rows {_rows(bad)}: not a gpaccess pseudonym (GPA- + 16 characters)")
        else:
            icbs = table.cells[table.columns.index("icb_code")] if "icb_code" in table.columns else [""] * len(column)
            keys = [(str(icb), p) for icb, p in zip(icbs, column, strict=True)]
            if keys != sorted(keys):
                breaches.append("rows are not in pseudonym order (an order can carry a ranking)")


def _check_public(table: _Table, known_codes: set[str], breaches: list[str]) -> None:
    for name in table.columns:
        word = _has_word(name, COHORT_WORDS)
        if word:
            breaches.append(f"column {name!r} ({word!r}) would show the cohort: the publication has no cohort flag")
    lowered = [c.strip().lower() for c in table.columns]
    if PUBLIC_CODE_COLUMN not in lowered:
        breaches.append(f"column {PUBLIC_CODE_COLUMN!r} is missing: the publication lists practices in code order")
        return
    codes = [str(v).strip().upper() for v in table.cells[lowered.index(PUBLIC_CODE_COLUMN)]]
    blank = [i for i, c in enumerate(codes, start=1) if not c or c in {"NAN", "NONE", "<NA>"}]
    if blank:
        breaches.append(f"column {PUBLIC_CODE_COLUMN!r}, rows {_rows(blank)}: no practice code")
    out_of_order = [i for i in range(2, len(codes) + 1) if codes[i - 1] < codes[i - 2]]
    if out_of_order:
        breaches.append(
            f"rows {_rows(out_of_order)} are out of practice-code order: the publication is in code order, "
            "never sorted by a measure"
        )
    missing = known_codes - set(codes)
    if missing:
        breaches.append(f"{len(missing)} practice(s) missing: the publication lists every practice")


def _check_aggregate_counts(table: _Table, breaches: list[str]) -> None:
    if AGGREGATE_COUNT_COLUMN not in table.columns:
        return
    column = table.cells[table.columns.index(AGGREGATE_COUNT_COLUMN)]
    bad = []
    for i, v in enumerate(column, start=1):
        try:
            n = float(str(v).strip())
        except ValueError:
            bad.append(i)
            continue
        if not n.is_integer() or n < AGGREGATE_MIN_PRACTICES or int(n) % 5:
            bad.append(i)
    if bad:
        breaches.append(
            f"column {AGGREGATE_COUNT_COLUMN!r}, rows {_rows(bad)}: counts of practices are rounded to 5 and "
            f"describe at least {AGGREGATE_MIN_PRACTICES} practices"
        )


def check_outward(
    frame_or_path: pd.DataFrame | str | os.PathLike[str],
    *,
    kind: Kind,
    known_codes: Iterable[str] = (),
    known_names: Iterable[str] = (),
) -> None:
    """Refuse (`PolicyError`, every breach listed) an outward file that breaks the rules for its `kind`.

    `known_codes` and `known_names` are the practices the file could give away: for ``nhse_return`` no cell
    may hold one (nor anything shaped like an ODS practice code); for ``public`` every known code must appear.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    breaches: list[str] = []
    if isinstance(frame_or_path, pd.DataFrame):
        table, source = _from_frame(frame_or_path), "the table"
    else:
        path = Path(frame_or_path)
        table, source = _from_csv(path, breaches), str(path)
    codes = {c.strip().upper() for c in known_codes if isinstance(c, str) and c.strip()}
    names = {_normalise_name(n) for n in known_names if isinstance(n, str) and n.strip()}
    _check_column_names(table, breaches, PUBLIC_CONTEXT_COLUMNS if kind == "public" else frozenset())
    _check_judgement_words(table, names, breaches)
    if kind == "nhse_return":
        _check_nhse_columns(table, breaches)
        _check_nhse_values(table, breaches)
        _check_codes(table, codes, breaches)
        _check_names(table, names, breaches)
    elif kind == "aggregate":
        _check_codes(table, codes, breaches)
        _check_names(table, names, breaches)
        _check_aggregate_counts(table, breaches)
    else:
        _check_public(table, codes, breaches)
    if breaches:
        raise OutwardFileError(kind, breaches, source)
