"""optbook.tables: the numbers of a heatmap as a text table."""

from __future__ import annotations

import numpy as np
import pytest

from optbook.tables import heatmap_table


def _cells(line: str) -> list[str]:
    return line.split()


def test_every_value_appears_in_its_row_and_column():
    values = np.array([[0.4351, 0.1439, 0.0651], [2.30259, 0.0619, 0.0633]])
    text = heatmap_table(values, [0, 1e-4], [0.001, 0.00316, 0.01], row_name="wd", col_name="lr")
    head, *rows = text.split("\n")
    assert _cells(head) == ["wd", "\\", "lr", "0.001", "0.00316", "0.01"]
    assert [_cells(r) for r in rows] == [["0", "0.435", "0.144", "0.065"], ["0.0001", "2.303", "0.062", "0.063"]]


def test_format_matches_the_heatmap_labels():
    values = np.array([[4.6249, 4.365], [6.8951, 4.7849]])
    text = heatmap_table(values, ["a", "b"], ["x", "y"], fmt=".2f")
    numbers = [c for line in text.split("\n")[1:] for c in _cells(line)[1:]]
    assert numbers == [f"{v:.2f}" for v in values.ravel()]


def test_columns_are_aligned_on_the_right():
    text = heatmap_table([[1.0, 22.5], [333.25, 4.0]], ["short", "a longer row"], ["c1", "c2"], fmt=".2f")
    lines = text.split("\n")
    ends = {len(line) for line in lines}
    assert len(ends) == 1, f"the columns are not aligned:\n{text}"
    assert lines[2].startswith("a longer row") and lines[1].startswith("short       ")


def test_nonfinite_values_and_the_mark():
    text = heatmap_table([[np.inf, 0.2], [np.nan, 0.1]], [1, 2], [3, 4], mark=(1, 1), title="loss")
    lines = text.split("\n")
    assert lines[0] == "loss"
    assert _cells(lines[2]) == ["1", "fail", "0.200"]
    assert _cells(lines[3]) == ["2", "fail", "0.100*"]
    assert text.count("*") == 1
    assert "diverged" in heatmap_table([[np.inf]], [1], [1], nonfinite="diverged")


def test_the_mark_keeps_the_columns_aligned():
    text = heatmap_table([[0.5, 0.25], [0.125, 1.0]], [1, 2], [3, 4], mark=(0, 0))
    lines = text.split("\n")
    # the header's labels end where the numbers end, the '*' column after them
    assert lines[0].rstrip().endswith("4") and lines[1].index("0.500") + 5 == lines[0].index("3") + 1


@pytest.mark.parametrize(
    ("values", "rows", "cols", "kw", "message"),
    [
        ([1.0, 2.0], [1], [1, 2], {}, "2-D grid"),
        ([[1.0, 2.0]], [1, 2], [1, 2], {}, "column labels"),
        ([[1.0, 2.0]], [1], [1, 2], {"fmt": "q"}, "not a format"),
        ([[1.0, 2.0]], [1], [1, 2], {"mark": (0, 2)}, "outside the grid"),
    ],
)
def test_bad_arguments_raise(values, rows, cols, kw, message):
    with pytest.raises(ValueError, match=message):
        heatmap_table(values, rows, cols, **kw)
