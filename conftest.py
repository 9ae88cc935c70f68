"""pytest settings shared by the unit tests and by nbval's notebook runs.

What this adds to nbval (CONTRIBUTING.md, "Outputs that hold on every machine", says why):

* **Two kernel sets in one run.** Every English chapter runs under the machine's own
  numerical kernels and every Chinese twin, whose code and outputs parity makes equal to
  the English ones, under a second set (``optbook.kernels``: torch's plain kernels, oneDNN
  capped, MKL compatible, NumPy's baseline loops, glibc's plain libm), so each chapter is
  proven under two kernel sets without running anything twice. ``OPTBOOK_KERNELS`` chooses:
  ``twin`` (the default), ``native`` or ``second`` (everything under that one set).
* **Figures are compared by what they show** (``optbook.figdata``): their texts exactly and
  every plotted point to a twentieth of a pixel, instead of nbval's silence on PNGs or an
  exact pixel comparison that a reader's CPU fails.
* **Declared tolerances.** A cell whose numbers round-off may move says so in its metadata
  (``optbook.tolerance``); its text outputs are then compared number by number within it.
  Every other output is compared exactly, as nbval does.
* **Time per notebook** is the CPU time of its kernel, not wall time, so a busy machine
  does not fail the budget (60 s per notebook, a median of 15 s); a table is printed, with
  the time of each part of the suite (notebooks, unit tests, book build, browser).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

NOTEBOOK_BUDGET_S = 60.0
MEDIAN_BUDGET_S = 15.0
MODES = ("twin", "native", "second")
SECOND_SET_VAR = "OPTBOOK_SECOND_SET"  # the controller computes the set once; workers inherit it

_notebook_cpu: dict[str, float] = {}
_notebook_set: dict[str, str] = {}
_component_s: dict[str, float] = defaultdict(float)
_CELL = re.compile(r"\.ipynb::Cell \d+$")
_START = time.perf_counter()
_SLIDER_FRAME = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def _mode() -> str:
    mode = os.environ.get("OPTBOOK_KERNELS", "twin")
    if mode not in MODES:
        raise pytest.UsageError(f"OPTBOOK_KERNELS must be one of {MODES}, got {mode!r}")
    return mode


def kernel_set_for(path: str) -> str:
    """'native' or 'second': the kernel set a notebook runs under in this session."""
    mode = _mode()
    if mode != "twin":
        return mode
    parts = path.replace("\\", "/").split("/")
    return "second" if "chapters" in parts and "zh" in parts else "native"


def _second_set() -> dict:
    if SECOND_SET_VAR not in os.environ:
        from optbook.kernels import second_set

        env, notes = second_set()
        os.environ[SECOND_SET_VAR] = json.dumps({"env": env, "notes": notes})
    return json.loads(os.environ[SECOND_SET_VAR])


def _running_notebooks(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def pytest_configure(config):
    # In the controller, before the workers start, so that they inherit the set.
    if _running_notebooks(config) and not hasattr(config, "workerinput"):
        if getattr(config.option, "nbval_lax", False):
            raise pytest.UsageError("the book's notebooks are compared in strict mode: never --nbval-lax")
        _mode()
        _second_set()


def pytest_report_header(config):
    if not _running_notebooks(config):
        return None
    spec = _second_set()
    from optbook.kernels import describe

    lines = [f"notebook kernel sets: OPTBOOK_KERNELS={_mode()}; second set: {describe(spec['env'])}"]
    lines += [f"  not switched: {n}" for n in spec["notes"]]
    return lines


# ----------------------------------------------------------------- comparing outputs


def _pixels(b64):
    import numpy as np
    from PIL import Image

    raw = base64.b64decode(b64 if isinstance(b64, str) else "".join(b64))
    with Image.open(io.BytesIO(raw)) as img:
        return np.asarray(img.convert("RGBA"))


def _same_image(ref, new) -> bool:
    if ref == new:
        return True
    import numpy as np

    a, b = _pixels(ref), _pixels(new)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def compare_figures(ref: list, new: list, tol, where: str = "") -> list[str]:
    """Problems between the PNG figures of two output lists (empty: the same figures)."""
    from optbook import figdata
    from optbook import tolerance as tolmod

    def figures(outputs):
        return [o for o in outputs if "image/png" in o.get("data", {})]

    ref_f, new_f = figures(ref), figures(new)
    if len(ref_f) != len(new_f):
        return [f"the cell stored {len(ref_f)} figure(s) but now draws {len(new_f)}: re-run `make execute`"]
    texts = (lambda a, b: tolmod.difference(a, b, tol)) if tol else None
    pixels = tol.pixels if tol and tol.pixels is not None else figdata.PIXEL_TOLERANCE
    problems = []
    for i, (r, n) in enumerate(zip(ref_f, new_f)):
        fr = r.get("metadata", {}).get("image/png", {}).get(figdata.KEY)
        fn = n.get("metadata", {}).get("image/png", {}).get(figdata.KEY)
        if fr is None and fn is None:  # a figure not made by the book's formatter: pixels, exactly
            if not _same_image(r["data"]["image/png"], n["data"]["image/png"]):
                problems.append(f"figure {i + 1}{where} differs from the stored one (compared pixel by pixel)")
            continue
        diffs = figdata.differences(fr, fn, pixels=pixels, texts=texts)
        if diffs:
            problems.append(
                f"figure {i + 1}{where} differs from the stored one: its data or drawing changed "
                f"(re-run `make execute` and look at the new figure):\n    " + "\n    ".join(diffs[:8])
            )
    return problems


def compare_slider(ref_html: str, new_html: str, ref_md: dict, new_md: dict, tol) -> list[str] | None:
    """Problems between two slider outputs, or None when the HTML is not a slider with frame data."""
    from optbook import figdata

    fr, fn = (ref_md or {}).get(figdata.KEY), (new_md or {}).get(figdata.KEY)
    if "optbook-slider" not in ref_html or fr is None:
        return None
    if fn is None or len(fr) != len(fn):
        return ["the slider's frames changed in number, or lost their data: re-run `make execute`"]
    strip = lambda h: _SLIDER_FRAME.sub("data:image/png;base64,...", h)  # noqa: E731
    if strip(ref_html) != strip(new_html):
        return ["the slider's HTML (title, labels, controls) differs from the stored one"]
    problems = []
    for i, (a, b) in enumerate(zip(fr, fn)):
        problems += compare_figures(
            [{"data": {"image/png": ""}, "metadata": {"image/png": {figdata.KEY: a}}}],
            [{"data": {"image/png": ""}, "metadata": {"image/png": {figdata.KEY: b}}}],
            tol,
            where=f" (slider frame {i + 1})",
        )
    return problems


TEXT_KEYS = ("text/plain", "text/html", "text/markdown", "text/latex")


def normalize_outputs(ref: list, new: list, tol) -> tuple[list, list[str]]:
    """A copy of ``new`` in which what equals ``ref`` within the rules is replaced by ``ref``.

    nbval's exact comparison then passes where the book's rules say "the same" (figures by
    their data, sliders by their frames' data, numbers within a declared tolerance) and
    still reports every other difference. Returns the copy and the problems found.
    """
    from optbook import tolerance as tolmod

    new = copy.deepcopy(new)
    problems = compare_figures(ref, new, tol)
    if len(ref) != len(new):
        return new, problems  # nbval reports the different number of outputs
    for r, n in zip(ref, new):
        if r.get("output_type") != n.get("output_type"):
            continue
        if "image/png" in r.get("data", {}) and "image/png" in n.get("data", {}):
            n["data"]["image/png"] = r["data"]["image/png"]  # compared above
        if r.get("output_type") == "stream" and r.get("name") == n.get("name") and tol:
            why = tolmod.difference(_text(r["text"]), _text(n["text"]), tol)
            if why:
                problems.append(f"{r['name']}: {why}")
            else:
                n["text"] = r["text"]
        for key in TEXT_KEYS:
            if key not in r.get("data", {}) or key not in n.get("data", {}):
                continue
            a, b = _text(r["data"][key]), _text(n["data"][key])
            if key == "text/html":
                slider = compare_slider(a, b, r.get("metadata", {}).get(key), n.get("metadata", {}).get(key), tol)
                if slider is not None:
                    problems += slider
                    n["data"][key] = r["data"][key]
                    continue
            if tol and a != b:
                why = tolmod.difference(a, b, tol)
                if why:
                    problems.append(f"{key}: {why}")
                else:
                    n["data"][key] = r["data"][key]
    return new, problems


def _install_nbval_patches():
    try:
        from nbval.plugin import IPyNbCell, IPyNbFile
    except ImportError:  # pragma: no cover - nbval is in requirements.txt
        return
    if getattr(IPyNbCell, "_optbook", False):
        return
    original_compare = IPyNbCell.compare_outputs
    original_setup = IPyNbFile.setup

    def compare_outputs(self, test, ref, skip_compare=None):
        from optbook import tolerance as tolmod

        try:
            tol = tolmod.from_metadata(self.cell.get("metadata", {}))
        except ValueError as e:
            self.comparison_traceback = [f"this cell's tolerance is malformed: {e}"]
            return False
        test, problems = normalize_outputs(ref, test, tol)
        if problems:
            self.comparison_traceback = problems
            return False
        skip = tuple(skip_compare or self.parent.skip_compare) + ("image/png",)
        return original_compare(self, test, ref, skip_compare=skip)

    def setup(self):
        """Start the notebook's kernel under the kernel set this session gives it."""
        kset = kernel_set_for(str(self.path.relative_to(self.config.rootpath)))
        self._optbook_kernel_set = kset
        if kset == "native":
            return original_setup(self)
        extra = _second_set()["env"]
        saved = {k: os.environ.get(k) for k in extra}
        os.environ.update(extra)
        try:
            return original_setup(self)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    original_runtest = IPyNbCell.runtest

    def runtest(self):
        """A cell tagged ``raises-exception`` must raise: nbval lets such a cell pass either way,
        so a lab's tag on a cell that no longer raises would hide that cell's real errors. The
        errors of this cell's execution are counted from the kernel's messages nbval reads."""
        if not self.options.get("check_exception"):
            return original_runtest(self)
        parent, seen = self.parent, []
        original_get = parent.get_kernel_message

        def get_kernel_message(*args, **kwargs):
            msg = original_get(*args, **kwargs)
            if msg.get("msg_type") == "error":
                seen.append(msg["content"].get("ename"))
            return msg

        parent.get_kernel_message = get_kernel_message
        try:
            original_runtest(self)
        finally:
            del parent.get_kernel_message       # back to the class's method
        if not seen:
            self.raise_cell_error("This cell is tagged raises-exception but ran without an error: "
                                  "remove the tag (for a lab: `make labs` sets the tags)")

    IPyNbCell.compare_outputs = compare_outputs
    IPyNbCell.runtest = runtest
    IPyNbFile.setup = setup
    IPyNbCell._optbook = True


def pytest_collection_modifyitems(session, config, items):
    _install_nbval_patches()
    # The files whose tests need the built site run last: the site is built in a process of its
    # own as the session starts (pytest_sessionstart), and the workers run everything else
    # meanwhile instead of waiting for it. Stable: the order within each group is kept.
    site_files = {item.nodeid.split("::")[0] for item in items if "site" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: item.nodeid.split("::")[0] in site_files)


# ------------------------------------------------------------------------- budgets


def _kernel_cpu_seconds(nbfile) -> float | None:
    kernel = getattr(nbfile, "kernel", None)
    try:
        import psutil

        pid = kernel.km.provisioner.pid
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except Exception:  # a kernel that died or never started: no measurement
        return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # The last cell of a notebook: measure its kernel's CPU time before nbval stops it.
    if _CELL.search(item.nodeid) and (nextitem is None or nextitem.parent is not item.parent):
        cpu = _kernel_cpu_seconds(item.parent)
        if cpu is not None:
            item.user_properties.append(("optbook_kernel_cpu_s", cpu))
        item.user_properties.append(("optbook_kernel_set", getattr(item.parent, "_optbook_kernel_set", "native")))
    yield


def _component(nodeid: str) -> str:
    if ".ipynb" in nodeid:
        return "notebooks (nbval)"
    if nodeid.startswith("tests/test_browser.py"):
        return "browser tests"
    if nodeid.startswith(("tests/test_book.py", "tests/test_site.py")):
        return "book build and site checks"
    return "unit and other tests"


def pytest_runtest_logreport(report):
    _component_s[_component(report.nodeid)] += report.duration
    if report.when != "teardown" or not _CELL.search(report.nodeid):
        return
    notebook = report.nodeid.split("::", 1)[0]
    for name, value in report.user_properties:
        if name == "optbook_kernel_cpu_s":
            _notebook_cpu[notebook] = value
        elif name == "optbook_kernel_set":
            _notebook_set[notebook] = value


def _slow_notebooks():
    over = {nb: s for nb, s in _notebook_cpu.items() if s > NOTEBOOK_BUDGET_S}
    median = statistics.median(_notebook_cpu.values()) if _notebook_cpu else 0.0
    return over, median


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    if _notebook_cpu:
        tr.section("CPU time per notebook's kernel (budget: 60 s each, median 15 s)")
        for nb, secs in sorted(_notebook_cpu.items(), key=lambda kv: -kv[1]):
            flag = "  OVER BUDGET" if secs > NOTEBOOK_BUDGET_S else ""
            tr.write_line(f"{secs:7.1f} s  {nb}  [{_notebook_set.get(nb, '?')} kernels]{flag}")
        over, median = _slow_notebooks()
        tr.write_line(f"{median:7.1f} s  median over {len(_notebook_cpu)} notebooks")
        if over or median > MEDIAN_BUDGET_S:
            tr.write_line("notebook time budget exceeded: make the slow notebooks faster", red=True)
    if _component_s:
        tr.section("time per part of the suite (test durations added up over the workers)")
        for name, secs in sorted(_component_s.items(), key=lambda kv: -kv[1]):
            tr.write_line(f"{secs:7.1f} s  {name}")
        tr.write_line(f"{time.perf_counter() - _START:7.1f} s  wall time of this pytest session")


_site_build = None


def pytest_sessionstart(session):
    """When the session runs tests/ under xdist, build the site at once, in a process of its own
    (tests/sitebuild.py), while the workers start on tests that do not need it; the first test
    that needs it waits on the build's lock instead of building it itself."""
    global _site_build
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    tests = (ROOT / "tests").resolve()
    if not any(Path(a.split("::")[0]).resolve() == tests for a in config.args):
        return
    import subprocess
    import sys

    shared = config._tmp_path_factory.getbasetemp()
    log = open(shared / "optbook-site-build.log", "w")  # noqa: SIM115 - the process writes it until it ends
    _site_build = subprocess.Popen([sys.executable, str(tests / "sitebuild.py"), str(shared)], cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)


def pytest_sessionfinish(session, exitstatus):
    if _site_build is not None and _site_build.poll() is None:
        _site_build.terminate()
    if not _notebook_cpu or hasattr(session.config, "workerinput"):
        return
    over, median = _slow_notebooks()
    if (over or median > MEDIAN_BUDGET_S) and session.exitstatus == 0:
        session.exitstatus = 1
