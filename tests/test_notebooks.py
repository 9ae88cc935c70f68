"""House rules of every notebook: the setup cells, execution top to bottom, clean outputs."""

from __future__ import annotations

import re

import pytest

from optbook.colab import SETUP_CELL

from helpers import ROOT, all_notebooks, code_cells, load, source

NOTEBOOKS = all_notebooks()
IDS = [str(p.relative_to(ROOT)) for p in NOTEBOOKS]
# What would make a stored output differ from machine to machine or run to run.
RUN_DEPENDENT = [
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "a memory address (an object's repr)"),
    (re.compile(r"(/home/|/root/|/tmp/|/Users/|/work/|[A-Z]:\\\\)"), "an absolute path"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|µs|us|seconds|sec)\b|Wall time|CPU times"), "a timing"),
    # below 1e-12 a printed value is round-off, whose digits differ from CPU to CPU: print it as a
    # bound, optbook.numbers.roundoff(x) -> "round-off (< 1e-12)"
    (re.compile(r"(?<![<\d.] )(?<![<\d.])\d(\.\d+)?e-(1[3-9]|[2-9]\d|\d{3})\b"), "round-off digits"),
]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebook found under chapters/, labs/ or solutions/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_starts_with_the_setup_cells(path):
    nb = load(path)
    assert nb["cells"][0]["cell_type"] == "markdown" and source(nb["cells"][0]).startswith("# "), (
        "the first cell is the Markdown title ('# ...')"
    )
    code = code_cells(nb)
    assert source(code[0]) == SETUP_CELL, "the first code cell must be optbook.colab.SETUP_CELL, unchanged"
    assert "remove-cell" in code[0].get("metadata", {}).get("tags", []), "the setup cell is tagged remove-cell"
    assert "optbook.setup(" in source(code[1]), "the second code cell calls optbook.setup() (seeds, threads)"


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if "labs" not in p.parts], ids=[i for i in IDS if not i.startswith("labs")]
)
def test_executed_top_to_bottom_with_clean_outputs(path):
    nb = load(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    counts = [c["execution_count"] for c in code_cells(nb) if source(c).strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        "cells were not executed top to bottom in one fresh kernel: run `make execute`"
    )
    for i, cell in enumerate(code_cells(nb)):
        for out in cell.get("outputs", []):
            where = f"code cell {i + 1}"
            assert out["output_type"] != "error", f"{where} stored an error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), (
                f"{where} wrote to stderr (a warning?): {''.join(out['text'])[:200]}"
            )
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            for pattern, what in RUN_DEPENDENT:
                assert not pattern.search(text), f"{where} prints {what}: {pattern.search(text).group(0)!r}"
            assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), (
                f"{where} shows a kernel widget, which the static book cannot run: precompute frames "
                "and use optbook.interactive.slider"
            )
            png = out.get("data", {}).get("image/png")
            assert png is None or len(png) < 400_000, f"{where} stores a figure over 300 kB: lower its size or dpi"
