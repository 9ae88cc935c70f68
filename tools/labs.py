"""Generate the lab notebooks from their solutions (`make labs`).

    python tools/labs.py            regenerate labs/ from solutions/
    python tools/labs.py --check    exit 1 if labs/ is not what solutions/ generates

solutions/NN-topic.ipynb is the single source: complete, executed, outputs stored. In its
code cells the code a student writes is marked:

    def grad(w, X, y):
        # BEGIN SOLUTION hint: average the per-example gradients over the batch
        ...
        # END SOLUTION

labs/NN-topic.ipynb is made from it: the title loses its suffix " (solutions / 解答)",
each marked block becomes a stub that raises NotImplementedError with the hint, Markdown
cells tagged ``solution`` are dropped, and every output is cleared. The generated lab is
then executed once, top to bottom without stopping at errors, as nbval does: the cells
that raise (the stubs themselves when they run at top level, and the checks that call
them) get nbval's ``raises-exception`` tag, which therefore lives only in the labs, never
in a solution.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION\b(?:\s*hint:\s*(?P<hint>.*))?$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
SOLUTION_TAG = "solution"
RAISES = "raises-exception"
DEFAULT_HINT = "write this part (see the instructions above)"
# A solution's title ends with this; the lab's title is the same without it.
SOLUTION_SUFFIX = " (solutions / 解答)"


class LabError(Exception):
    pass


def stub_source(src: str, where: str = "cell") -> str:
    """The cell's code with every marked block replaced by a stub."""
    out, inside, hint, indent = [], False, None, ""
    for n, line in enumerate(src.splitlines(), start=1):
        m = BEGIN.match(line)
        if m:
            if inside:
                raise LabError(f"{where}, line {n}: BEGIN SOLUTION inside another solution block")
            inside, indent, hint = True, m.group("indent"), (m.group("hint") or DEFAULT_HINT).strip()
            continue
        if END.match(line):
            if not inside:
                raise LabError(f"{where}, line {n}: END SOLUTION without BEGIN SOLUTION")
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError({hint!r})")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise LabError(f"{where}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "\n".join(out)


def has_solution(src: str) -> bool:
    return any(BEGIN.match(line) for line in src.splitlines())


def make_lab(solution: nbformat.NotebookNode, name: str = "solution", execute: bool = True) -> nbformat.NotebookNode:
    """The lab notebook generated from a solution notebook."""
    lab = copy.deepcopy(solution)
    cells = []
    for i, cell in enumerate(lab.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if RAISES in tags:
            raise LabError(f"{name}, cell {i}: a solution must run without errors; remove the {RAISES} tag")
        if cell.cell_type == "markdown" and SOLUTION_TAG in tags:
            continue
        if cell.cell_type == "code":
            cell.source = stub_source(cell.source, where=f"{name}, cell {i}")
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    lab.cells = cells
    title = lab.cells[0].source.split("\n", 1) if lab.cells and lab.cells[0].cell_type == "markdown" else None
    if not title or not title[0].startswith("# ") or not title[0].endswith(SOLUTION_SUFFIX):
        raise LabError(f"{name}: the first cell must be the title '# ...{SOLUTION_SUFFIX}'")
    lab.cells[0].source = "\n".join([title[0][: -len(SOLUTION_SUFFIX)]] + title[1:])
    if not any(has_solution(c.source) for c in solution.cells if c.cell_type == "code"):
        raise LabError(f"{name}: no '# BEGIN SOLUTION' block: a lab needs at least one exercise")
    if execute:
        tag_raising_cells(lab)
    return lab


def tag_raising_cells(lab: nbformat.NotebookNode, cwd: Path = ROOT / "labs") -> None:
    """Run the lab once, as nbval will, and tag the cells that raise."""
    run = copy.deepcopy(lab)
    NotebookClient(
        run,
        kernel_name="python3",
        allow_errors=True,
        record_timing=False,
        timeout=600,
        resources={"metadata": {"path": str(cwd if cwd.is_dir() else ROOT)}},
    ).execute()
    for cell, ran in zip(lab.cells, run.cells):
        if cell.cell_type != "code":
            continue
        raised = any(o.get("output_type") == "error" for o in ran.get("outputs", []))
        tags = [t for t in cell.metadata.get("tags", []) if t != RAISES]
        if raised:
            tags.append(RAISES)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)


def render(path: Path, execute: bool = True) -> str:
    solution = nbformat.read(path, as_version=4)
    return nbformat.writes(make_lab(solution, name=str(path.relative_to(ROOT)), execute=execute)) + "\n"


def without_raises_tags(text: str) -> str:
    """A lab's text without its ``raises-exception`` tags (the part of it that running it sets)."""
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t != RAISES]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="only check that labs/ is current, without running the labs: the tags "
                         "that running them sets are checked by nbval under `make test` (a cell that "
                         "raises must be tagged; conftest.py: a tagged cell must raise)")
    args = ap.parse_args(argv)
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    stale = []
    for path in solutions:
        target = ROOT / "labs" / path.name
        try:
            text = render(path, execute=not args.check)
        except LabError as e:
            print(f"labs: {e}", file=sys.stderr)
            return 1
        if args.check:
            if not target.exists() or without_raises_tags(target.read_text(encoding="utf-8")) != text:
                stale.append(target.name)
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"labs: wrote {target.relative_to(ROOT)}")
    orphans = sorted({p.name for p in (ROOT / "labs").glob("*.ipynb")} - {p.name for p in solutions})
    if orphans:
        print(f"labs: labs without a solution: {orphans}", file=sys.stderr)
        return 1
    if stale:
        print(f"labs: out of date, run `make labs`: {stale}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
