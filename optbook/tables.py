"""The numbers of a heatmap as a plain-text table, to print right below the figure.

A heatmap's cell labels are small on a desktop and unreadable on a phone; the same numbers
as text can be read, copied and searched at any width. ``heatmap_table`` formats a grid
with labelled rows and columns; the book's heatmaps (Chapters 8, 10 and 11) print one
from the data they draw, so the table and the picture cannot disagree. Column and row
names are English words or symbols, as in every code output of the book (code cells are
identical in both editions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["heatmap_table"]


def _label(v) -> str:
    """A row or column label: numbers in the short form of the heatmaps' ticks (``f"{v:.3g}"``)."""
    if isinstance(v, str):
        return v
    return f"{float(v):.3g}"


def heatmap_table(
    values,
    rows: Sequence,
    cols: Sequence,
    *,
    fmt: str = ".3f",
    row_name: str = "",
    col_name: str = "",
    title: str = "",
    mark: tuple[int, int] | None = None,
    nonfinite: str = "fail",
) -> str:
    """The grid ``values[i][j]`` (row ``rows[i]``, column ``cols[j]``) as an aligned text table.

    ``fmt`` formats every finite value (``format(v, fmt)``, as the heatmap's cell labels do);
    a non-finite value (a diverged run) is written ``nonfinite``. The header reads
    ``row_name \\ col_name`` over the row labels, then the column labels; labels that are
    numbers are written like the heatmaps' ticks (three significant digits). ``mark=(i, j)``
    puts a ``*`` after one cell, the best one, which the figure boxes; ``title`` is a first
    line. Rows are printed in the order given (the heatmaps draw row 0 at the bottom). Returns
    the table as one string, lines joined by newlines, without a trailing newline.
    """
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 2:
        raise ValueError(f"values must be a 2-D grid, got an array of shape {grid.shape}")
    if grid.shape != (len(rows), len(cols)):
        raise ValueError(f"values has shape {grid.shape} but there are {len(rows)} row and {len(cols)} column labels")
    try:
        format(1.0, fmt)
    except ValueError as err:
        raise ValueError(f"fmt {fmt!r} is not a format for a number: {err}") from None
    if mark is not None:
        mark = (int(mark[0]), int(mark[1]))
        i, j = mark
        if not (0 <= i < grid.shape[0] and 0 <= j < grid.shape[1]):
            raise ValueError(f"mark {mark} is outside the grid of shape {grid.shape}")

    def cell(i: int, j: int) -> str:
        v = grid[i, j]
        return format(v, fmt) if math.isfinite(v) else nonfinite

    def suffix(i: int, j: int) -> str:
        """After each column: '*' for the marked cell, a space elsewhere (nothing without a mark)."""
        return "" if mark is None else "*" if mark == (i, j) else " "

    corner = f"{row_name} \\ {col_name}" if (row_name or col_name) else ""
    first = [corner] + [_label(r) for r in rows]
    body = [[_label(c) for c in cols]] + [[cell(i, j) for j in range(len(cols))] for i in range(len(rows))]
    w0 = max(len(s) for s in first)
    widths = [max(len(line[j]) for line in body) for j in range(len(cols))]
    lines = [title] if title else []
    for r, (head, line) in enumerate(zip(first, body)):
        lines.append(
            head.ljust(w0)
            + "".join(
                "  " + s.rjust(w) + (suffix(r - 1, j) if r else suffix(-1, -1))
                for j, (s, w) in enumerate(zip(line, widths))
            )
        )
    return "\n".join(line.rstrip() for line in lines)
