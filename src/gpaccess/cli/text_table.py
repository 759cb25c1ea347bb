"""A wide table as text, drawn as Rich draws its default table, without Rich's per-cell measuring.

Rich measures and wraps every cell through its renderables: for an ICB's 150–300 practices by ten measures that
was a third of a second of `gpaccess measures --icb`. These tables are plain strings that are never wrapped (a
pipe or log gets the full line; a narrow terminal wraps it), so their widths are a `max` per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def box_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """`headers` and `rows` (cells as text, left-aligned) in Rich's heavy-headed box, one line per row."""
    body = [[str(cell) for cell in row] for row in rows]
    if any(len(row) != len(headers) for row in body):
        raise ValueError(f"every row needs {len(headers)} cells")
    widths = [max([len(h), *(len(row[i]) for row in body)]) for i, h in enumerate(headers)]

    def rule(left: str, fill: str, joint: str, right: str) -> str:
        return left + joint.join(fill * (w + 2) for w in widths) + right

    def line(cells: Sequence[str], edge: str) -> str:
        return edge + edge.join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + edge

    out = [rule("┏", "━", "┳", "┓"), line(headers, "┃"), rule("┡", "━", "╇", "┩")]
    out += [line(row, "│") for row in body]
    out.append(rule("└", "─", "┴", "┘"))
    return "\n".join(out) + "\n"
