"""Freeze MNIST-1D (Greydanus & Steinbach) into optbook/corpus/, once, offline (authors only).

    python tools/freeze_mnist1d.py           # rewrite optbook/corpus/mnist1d-0.0.2.post1.xz
    python tools/freeze_mnist1d.py --check   # regenerate and compare with the frozen file

The `mnist1d` package (pinned in requirements.in) generates the data set from ten hand-made
templates with NumPy's global generator and SciPy's interpolation and smoothing. Three of its
habits are kept away from the book: it imports `requests` and downloads a pickle by default in
`get_dataset()` (never called here: only `make_dataset(get_dataset_args())`, the documented
default arguments, with every socket connection refused while it runs); it seeds the global
`np.random` and `random` generators (saved before and restored after); and its numbers depend on
SciPy's kernels, so the book reads the frozen result (`optbook.data.mnist1d`), never a fresh one.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import random
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from optbook import data  # noqa: E402


@contextmanager
def no_network():
    """Refuse every socket connection (and name lookup) while the generator runs."""

    def refuse(*args, **kwargs):
        raise RuntimeError("mnist1d tried to use the network")

    saved = socket.socket.connect, socket.create_connection, socket.getaddrinfo
    socket.socket.connect, socket.create_connection, socket.getaddrinfo = refuse, refuse, refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved


def generate() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 signals (float32, 5000 × 40) and labels in the package's own order."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with no_network():
            from mnist1d.data import get_dataset_args, make_dataset

            d = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.uint8)
    return x, y


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare a fresh generation with the frozen file")
    args = p.parse_args(argv)
    x, y = generate()
    if args.check:
        fx, fy = data.mnist1d_arrays()
        same_labels = np.array_equal(fy, y)
        gap = float(np.max(np.abs(fx - x)))
        print(f"labels identical: {same_labels}; largest difference of a signal value: {gap:.2e}")
        return 0 if same_labels and gap < 1e-5 else 1
    raw = data.mnist1d_bytes(x, y)
    data.MNIST1D_SNAPSHOT.write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    print(f"wrote {data.MNIST1D_SNAPSHOT.relative_to(ROOT)}: sha256 {hashlib.sha256(raw).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
