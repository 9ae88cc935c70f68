"""The generic lab-check helpers and the lab generator (tools/labs.py)."""

from __future__ import annotations

import sys

import nbformat
import numpy as np
import pytest

from optbook import checks

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import labs  # noqa: E402


def test_call_turns_a_stub_into_a_verdict():
    def stub():
        raise NotImplementedError("average over the batch")

    with pytest.raises(checks.CheckFailed, match="Exercise 2 is not done yet.*average over the batch"):
        checks.call(stub, exercise="Exercise 2")
    assert checks.call(lambda x: x + 1, 1, exercise="Exercise 2") == 2


@pytest.mark.parametrize(
    "actual, message",
    [
        (None, "returned None"),
        ("abc", "array of numbers"),
        (np.ones(3), "shape"),
        (-np.arange(1.0, 5.0), "wrong sign"),
        (4 * np.arange(1.0, 5.0), "4 times the expected"),
        (np.array([1.0, 2.0, np.nan, 4.0]), "NaN"),
        (np.array([1.0, 2.0, 3.5, 4.0]), r"index \(2,\) you have 3.5, expected 3"),
    ],
)
def test_close_names_the_mistake(actual, message):
    with pytest.raises(checks.CheckFailed, match=message):
        checks.close(actual, np.arange(1.0, 5.0), "grad(w)")


def test_close_accepts_the_right_answer(capsys):
    checks.close(np.arange(1.0, 5.0) + 1e-12, np.arange(1.0, 5.0), "grad(w)")
    checks.passed("Exercise 1", "the gradient matches")
    assert capsys.readouterr().out == "✓ Exercise 1: the gradient matches\n"


SOLUTION_CELL = """def f(x):
    # BEGIN SOLUTION hint: return twice x
    y = 2 * x
    return y
    # END SOLUTION

def g(x):
    return x + 1"""


def test_stub_source_replaces_blocks_and_keeps_the_rest():
    out = labs.stub_source(SOLUTION_CELL)
    assert "2 * x" not in out
    assert "    # YOUR CODE HERE\n    raise NotImplementedError('return twice x')" in out
    assert out.endswith("def g(x):\n    return x + 1")
    top = labs.stub_source("a = 1\n# BEGIN SOLUTION\nb = a + 1\n# END SOLUTION\nprint(a)")
    assert top == f"a = 1\n# YOUR CODE HERE\nraise NotImplementedError({labs.DEFAULT_HINT!r})\nprint(a)"


@pytest.mark.parametrize(
    "src, message",
    [
        ("# BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n# END SOLUTION", "without BEGIN"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside another"),
    ],
)
def test_stub_source_rejects_broken_markers(src, message):
    with pytest.raises(labs.LabError, match=message):
        labs.stub_source(src)


def _solution(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    return nb


def test_make_lab_clears_outputs_drops_solution_text_and_tags_raising_cells():
    md = nbformat.v4.new_markdown_cell("Discussion of the answer")
    md.metadata["tags"] = ["solution"]
    solution = _solution(
        [
            nbformat.v4.new_markdown_cell("# Lab (solutions / 解答)\nDo this."),
            nbformat.v4.new_code_cell(SOLUTION_CELL),
            nbformat.v4.new_code_cell("assert f(2) == 4\nprint('ok')"),
            nbformat.v4.new_code_cell("print(g(1))"),
            md,
        ]
    )
    solution.cells[2].outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    solution.cells[2].execution_count = 3
    lab = labs.make_lab(solution)
    assert [c.cell_type for c in lab.cells] == ["markdown", "code", "code", "code"]
    assert lab.cells[0].source == "# Lab\nDo this."
    assert all(c.outputs == [] and c.execution_count is None for c in lab.cells if c.cell_type == "code")
    tags = [c.metadata.get("tags", []) for c in lab.cells if c.cell_type == "code"]
    assert tags == [[], ["raises-exception"], []], "only the check that calls the stub raises"


def test_make_lab_refuses_a_solution_with_an_expected_error_or_without_exercises():
    cell = nbformat.v4.new_code_cell(SOLUTION_CELL)
    cell.metadata["tags"] = ["raises-exception"]
    title = nbformat.v4.new_markdown_cell("# Lab (solutions / 解答)")
    with pytest.raises(labs.LabError, match="must run without errors"):
        labs.make_lab(_solution([title, cell]), execute=False)
    with pytest.raises(labs.LabError, match="no '# BEGIN SOLUTION'"):
        labs.make_lab(_solution([title, nbformat.v4.new_code_cell("x = 1")]), execute=False)
    with pytest.raises(labs.LabError, match="title"):
        labs.make_lab(_solution([nbformat.v4.new_markdown_cell("# Lab"), nbformat.v4.new_code_cell(SOLUTION_CELL)]))


def test_labs_are_current():
    assert labs.main(["--check"]) == 0, "labs/ is out of date or has a lab without a solution: run `make labs`"
