"""nbval skips PNG outputs and compares text exactly; conftest.py compares figures by their
data and numbers within a declared tolerance. Prove both sides through nbval itself: stored
outputs that differ from a fresh run only by round-off pass; a stale figure, a stale slider
frame, a number beyond its tolerance, a changed row, a malformed declaration and a cell tagged
``raises-exception`` that does not raise fail (a tagged cell that raises passes)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from helpers import ROOT

SETUP = """import matplotlib.pyplot as plt
import optbook
from optbook import interactive, plotting
rng = optbook.setup()"""
FIGURE = """fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1, 2], [0, {slope}, 1])
ax.set_title("slope")
plt.show()"""
SLIDER = """frames = []
for s in (1.0, {slope}):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], [0, s, 1])
    frames.append(plotting.to_png(fig))
interactive.slider(frames, ["a", "b"], param="s", title="t")"""
TABLE = 'print("run   loss\\nSGD   {sgd}\\nAdam  {adam}")'
RAISES = {"tags": ["raises-exception"]}   # nbval lets such a cell raise; conftest.py: it must
TOL = {"optbook": {"tolerance": {"rtol": 1e-3, "why": "float32 training: round-off grows over the run"}}}


def _executed(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src, _ in cells]
    for cell, (_, meta) in zip(nb.cells, cells):
        cell.metadata.update(copy.deepcopy(meta))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", record_timing=False, allow_errors=True).execute()
    return nb


def _stored(fresh_cells, stored_cells):
    """A notebook whose code is ``fresh_cells`` and whose stored outputs come from ``stored_cells``
    (only the stored side is executed here: nbval runs the fresh code itself)."""
    assert len(fresh_cells) == len(stored_cells)
    nb = _executed(stored_cells)
    for cell, (src, meta) in zip(nb.cells, fresh_cells):
        cell.source = src
        cell.metadata.clear()
        cell.metadata.update(copy.deepcopy(meta))
    return nb


def _nbval(*paths):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OPTBOOK_KERNELS": "native"}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "--nbval",
         "--nbval-current-env", "-q", "-rf", *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    return res.returncode, re.sub(r"\x1b\[[0-9;]*m", "", res.stdout)


def _failed(out, name):
    return sorted(int(m) for m in re.findall(rf"FAILED \S*{re.escape(name)}::Cell (\d+)", out))


def test_round_off_passes_and_real_changes_fail():
    # The notebooks must sit below the repository so that its conftest.py applies.
    work = ROOT / "_build" / "figure-check"
    work.mkdir(parents=True, exist_ok=True)
    same = _stored(
        [(SETUP, {}), (FIGURE.format(slope=0.5), {}), (SLIDER.format(slope=0.5), {}),
         (TABLE.format(sgd=0.1032, adam=0.0916), TOL), ('raise ValueError("a stub")', RAISES)],
        [(SETUP, {}), (FIGURE.format(slope=0.5 + 1e-9), {}), (SLIDER.format(slope=0.5 + 1e-9), {}),
         (TABLE.format(sgd=0.10325, adam=0.09159), TOL), ('raise ValueError("a stub")', RAISES)],
    )
    (work / "same.ipynb").write_text(json.dumps(same))

    bad_tol = {"optbook": {"tolerance": {"rtol": 1e-3}}}
    stale = _stored(
        [(SETUP, {}), (FIGURE.format(slope=0.5), {}), (SLIDER.format(slope=0.5), {}),
         (TABLE.format(sgd=0.1032, adam=0.0916), TOL), (TABLE.format(sgd=0.1032, adam=0.0916), TOL),
         (TABLE.format(sgd=0.1032, adam=0.0916), bad_tol), ("solved = True", RAISES)],
        [(SETUP, {}), (FIGURE.format(slope=0.55), {}), (SLIDER.format(slope=0.55), {}),
         (TABLE.format(sgd=0.1045, adam=0.0916), TOL),
         (TABLE.format(sgd=0.1032, adam=0.0916).replace("Adam ", "AdamW"), TOL),
         (TABLE.format(sgd=0.1032, adam=0.0916), bad_tol), ("solved = True", RAISES)],
    )
    (work / "stale.ipynb").write_text(json.dumps(stale))
    code, out = _nbval(work / "same.ipynb", work / "stale.ipynb")   # one pytest run for both
    assert code != 0 and _failed(out, "same.ipynb") == [], out[-3000:]
    assert "same.ipynb::" not in out.split("short test summary")[-1], out[-3000:]
    assert _failed(out, "stale.ipynb") == [1, 2, 3, 4, 5, 6], out[-4000:]
    for phrase in ("figure 1 differs from the stored one", "moved by up to 5.6 px", "(slider frame 2)",
                   "outside the declared tolerance", "the text around number", "tolerance is malformed",
                   "tagged raises-exception but ran without an error"):
        assert phrase in out, (phrase, out[-4000:])
