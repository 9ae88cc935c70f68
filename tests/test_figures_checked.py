"""nbval skips PNG outputs; conftest.py makes it compare them. Prove it: a notebook with a
current figure passes, the same notebook with a stale figure fails."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from helpers import ROOT

CODE = """import matplotlib.pyplot as plt
import optbook
rng = optbook.setup()
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [0, {slope}])
ax.set_title("slope {slope}")
plt.show()"""


def _notebook(slope):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CODE.format(slope=slope))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", record_timing=False).execute()
    return nb


def _nbval(path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "--nbval", "--nbval-current-env", "-q", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_stale_figure_fails_and_a_current_one_passes(tmp_path):
    # The notebooks must sit below the repository so that its conftest.py applies.
    work = ROOT / "_build" / "figure-check"
    work.mkdir(parents=True, exist_ok=True)
    current = _notebook(1)
    other = _notebook(2)
    stale = copy.deepcopy(current)
    png = lambda nb: next(o for o in nb.cells[0].outputs if "image/png" in o.get("data", {}))  # noqa: E731
    png(stale)["data"]["image/png"] = png(other)["data"]["image/png"]
    (work / "current.ipynb").write_text(json.dumps(current))
    (work / "stale.ipynb").write_text(json.dumps(stale))
    ok = _nbval(work / "current.ipynb")
    assert ok.returncode == 0, ok.stdout[-2000:]
    bad = _nbval(work / "stale.ipynb")
    assert bad.returncode != 0 and "figure 1 of this cell differs" in bad.stdout, bad.stdout[-2000:]
