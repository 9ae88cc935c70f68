"""Seeds, threads and deterministic algorithms: one call makes a notebook repeatable.

The same notebook gives the same digits on every run only if every random generator is
seeded *and* every library computes in the same order. Reductions in BLAS and in torch are
split across threads, and a sum split two ways rounds differently from a sum split one way
(a 2-thread and a 1-thread run differ around the 8th digit), so the thread count is fixed too.
"""

from __future__ import annotations

import random

import numpy as np
from threadpoolctl import threadpool_limits

DEFAULT_SEED = 0
DEFAULT_THREADS = 1


def seed_everything(seed: int = DEFAULT_SEED, threads: int = DEFAULT_THREADS) -> np.random.Generator:
    """Seed Python, NumPy and torch, fix the thread count, make torch deterministic.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``, the generator the
    book's cells use for their own random numbers.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    random.seed(seed)
    np.random.seed(seed)
    threadpool_limits(limits=threads)
    try:
        import torch
    except ImportError:  # the package works without torch; the chapters need it
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        # Allowed only before the first parallel operation; a second call in the same
        # kernel lands here, and the first call already set it.
        pass
    return np.random.default_rng(seed)


def setup(seed: int = DEFAULT_SEED, threads: int = DEFAULT_THREADS) -> np.random.Generator:
    """What the first cell of every notebook calls: determinism plus the book's plot style."""
    from optbook.kernels import assert_in_effect
    from optbook.plotting import use_book_style

    assert_in_effect()  # under the tests' second kernel set: fail unless it took effect
    use_book_style()
    return seed_everything(seed, threads)
