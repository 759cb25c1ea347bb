"""`box_table` draws what Rich draws for a table that fits the console: Rich is the reference."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from gpaccess.cli.text_table import box_table

# Printable text without Rich markup brackets or characters whose width is not one column.
cell = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="[]\\"), max_size=12)


def _rich(headers: list[str], rows: list[list[str]]) -> str:
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, color_system=None).print(table)
    return buffer.getvalue()


def _tables(n: int):
    row = st.lists(cell, min_size=n, max_size=n)
    return st.tuples(row, st.lists(row, max_size=6))


@given(st.integers(1, 5).flatmap(_tables))
def test_box_table_draws_what_rich_draws(table: tuple[list[str], list[list[str]]]) -> None:
    headers, rows = table
    # Rich strips surrounding whitespace from cells, so compare tables whose cells have none.
    headers = [h.strip() or "h" for h in headers]
    rows = [[c.strip() for c in row] for row in rows]
    assert box_table(headers, rows) == _rich(headers, rows)


def test_box_table_refuses_a_row_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        box_table(["a", "b"], [["1"]])
