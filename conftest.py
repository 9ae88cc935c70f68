"""pytest settings shared by the unit tests and by nbval's notebook runs.

Two additions to nbval:

* **Figures are compared too.** nbval skips ``image/png`` outputs, so a stale figure would
  pass. Here every PNG is compared as the image it shows: decoded to pixels and compared
  exactly, so a figure whose data changed fails, while a different PNG encoder setting that
  draws the same pixels does not. The book's figures are drawn with the pinned matplotlib and
  its bundled fonts and FreeType, on one thread, so they are the same to the pixel on every
  run; the matplotlib version and the text drawn in a figure are part of what is compared.
* **Time per notebook.** The durations of a notebook's cells are added up and printed at the
  end of the run, slowest first; a notebook over the budget (60 s) or a median over 15 s
  fails the session.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
from collections import defaultdict

NOTEBOOK_BUDGET_S = 60.0
MEDIAN_BUDGET_S = 15.0

_notebook_seconds: dict[str, float] = defaultdict(float)
_CELL = re.compile(r"\.ipynb::Cell \d+$")


def _pixels(b64: str):
    import numpy as np
    from PIL import Image

    raw = base64.b64decode(b64 if isinstance(b64, str) else "".join(b64))
    with Image.open(io.BytesIO(raw)) as img:
        return np.asarray(img.convert("RGBA"))


def _same_image(ref: str, new: str) -> bool:
    if ref == new:
        return True
    import numpy as np

    a, b = _pixels(ref), _pixels(new)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def pytest_collection_modifyitems(session, config, items):
    """Make nbval compare PNG outputs, as images."""
    try:
        from nbval.plugin import IPyNbCell, IPyNbFile
    except ImportError:  # pragma: no cover - nbval is in requirements.txt
        return
    patched = set()
    for item in items:
        if isinstance(item, IPyNbCell) and isinstance(item.parent, IPyNbFile) and id(item.parent) not in patched:
            item.parent.skip_compare = tuple(k for k in item.parent.skip_compare if k != "image/png")
            patched.add(id(item.parent))
    if not getattr(IPyNbCell, "_optbook_png", False):
        original = IPyNbCell.compare_outputs

        def compare_outputs(self, test, ref, skip_compare=None):
            # Compare PNGs as pixels first, then everything else as nbval does, without PNGs.
            def pngs(outputs):
                return [o.get("data", {}).get("image/png") for o in outputs if "image/png" in o.get("data", {})]

            ref_png, test_png = pngs(ref), pngs(test)
            if len(ref_png) != len(test_png):
                self.comparison_traceback = [
                    f"the cell stored {len(ref_png)} figure(s) but now draws {len(test_png)}: re-run `make execute`"
                ]
                return False
            for i, (r, t) in enumerate(zip(ref_png, test_png)):
                if not _same_image(r, t):
                    self.comparison_traceback = [
                        f"figure {i + 1} of this cell differs from the stored one: its data or drawing changed; "
                        "re-run `make execute` and look at the new figure"
                    ]
                    return False
            skip = tuple(skip_compare or self.parent.skip_compare) + ("image/png",)
            return original(self, test, ref, skip_compare=skip)

        IPyNbCell.compare_outputs = compare_outputs
        IPyNbCell._optbook_png = True


def pytest_runtest_logreport(report):
    if report.when != "call" or not _CELL.search(report.nodeid):
        return
    notebook = report.nodeid.split("::", 1)[0]
    _notebook_seconds[notebook] += report.duration


def _slow_notebooks():
    over = {nb: s for nb, s in _notebook_seconds.items() if s > NOTEBOOK_BUDGET_S}
    median = statistics.median(_notebook_seconds.values()) if _notebook_seconds else 0.0
    return over, median


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("time per notebook (budget: 60 s each, median 15 s)")
    for nb, secs in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        flag = "  OVER BUDGET" if secs > NOTEBOOK_BUDGET_S else ""
        tr.write_line(f"{secs:7.1f} s  {nb}{flag}")
    over, median = _slow_notebooks()
    tr.write_line(f"{median:7.1f} s  median over {len(_notebook_seconds)} notebooks")
    if over or median > MEDIAN_BUDGET_S:
        tr.write_line("notebook time budget exceeded: make the slow notebooks faster", red=True)


def pytest_sessionfinish(session, exitstatus):
    if not _notebook_seconds or hasattr(session.config, "workerinput"):
        return
    over, median = _slow_notebooks()
    if (over or median > MEDIAN_BUDGET_S) and session.exitstatus == 0:
        session.exitstatus = 1
