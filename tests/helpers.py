"""Shared by the tests: where things are, and how to read notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EN = ROOT / "chapters" / "en"
ZH = ROOT / "chapters" / "zh"
CJK = re.compile(r"[\u3400-\u9fff]+")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"])


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def markdown(nb: dict) -> str:
    return "\n\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def all_notebooks() -> list[Path]:
    return sorted(
        p
        for d in ("chapters", "labs", "solutions")
        for p in (ROOT / d).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


def chapter_names() -> list[str]:
    return sorted(p.name for p in EN.glob("*.ipynb"))


def numeric_grad(f, w, h=1e-6):
    """Central finite differences of ``f`` at ``w``, to check hand-written gradients."""
    import numpy as np

    g = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g
