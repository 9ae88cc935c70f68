"""Re-run notebooks in place, top to bottom, each in one fresh kernel of this environment.

    python tools/execute.py chapters/en/01-gradient-descent.ipynb [more.ipynb ...]

Outputs are stored in the notebook; the book is built from them and nbval checks that
they are current. Run through `make execute`, which puts .venv first on the PATH and fixes
the thread counts, so the kernel is the book's and the digits are the ones CI will see.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL = "python3"


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same stream (stdout, stderr) into one."""
    merged = []
    for out in outputs:
        if (
            out.get("output_type") == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == out.get("name")
        ):
            merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no timestamps in the stored notebook
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:  # a slow cell's output arrives in pieces: store it as one
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata.get("language_info", {}).pop("version", None)  # not the reader's business
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--timeout", type=int, default=600, help="seconds a cell may take")
    args = ap.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        try:
            secs = execute(path, args.timeout)
            print(f"{secs:6.1f} s  {path}")
        except CellExecutionError as e:
            failed += 1
            print(f"FAILED   {path}\n{e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
