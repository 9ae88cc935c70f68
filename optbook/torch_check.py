"""The check every optimizer chapter ends with: the NumPy optimizer against ``torch.optim``.

Both optimizers start from the same float64 parameters and receive the same gradients,
step after step; hyper-parameters can be changed between steps (a learning-rate schedule)
on both sides in the same way. The result is the largest relative deviation of the
parameters over the whole run, which for a faithful implementation is float64 round-off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

ROUND_OFF = 1e-12  # relative tolerance: a few hundred float64 ulps after a long run


def max_deviation(
    make_numpy: Callable,
    make_torch: Callable,
    params0: Sequence[np.ndarray],
    grads: Sequence[Sequence[np.ndarray]],
    changes: Mapping[int, Mapping[str, float]] | None = None,
) -> float:
    """Largest relative parameter deviation between a NumPy and a torch optimizer.

    ``make_numpy(params)`` and ``make_torch(params)`` build the two optimizers over lists of
    arrays and of float64 tensors. ``grads[k]`` is the list of gradients fed at step ``k``.
    ``changes[k]`` sets hyper-parameters before step ``k``: on the NumPy optimizer as
    attributes, on torch in ``param_groups[0]``.
    """
    import torch

    changes = changes or {}
    np_params = [np.array(p, dtype=float) for p in params0]
    t_params = [torch.tensor(np.array(p, dtype=float), requires_grad=True) for p in params0]
    np_opt = make_numpy(np_params)
    t_opt = make_torch(t_params)
    worst = 0.0
    for k, gs in enumerate(grads):
        if len(gs) != len(params0):
            raise ValueError(f"step {k}: {len(gs)} gradients for {len(params0)} parameters")
        for name, value in changes.get(k, {}).items():
            if not hasattr(np_opt, name):
                raise ValueError(f"the NumPy optimizer has no hyper-parameter {name!r}")
            setattr(np_opt, name, value)
            for group in t_opt.param_groups:
                group[name] = value
        np_opt.step([np.array(g, dtype=float) for g in gs])
        for p, g in zip(t_params, gs):
            p.grad = torch.tensor(np.array(g, dtype=float))
        t_opt.step()
        for a, t in zip(np_params, t_params):
            b = t.detach().numpy()
            scale = max(1.0, float(np.max(np.abs(b))))
            worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return worst


def assert_matches_torch(*args, tol: float = ROUND_OFF, **kwargs) -> float:
    """``max_deviation`` with an assertion that it is round-off; returns the deviation."""
    dev = max_deviation(*args, **kwargs)
    if not dev <= tol:
        raise AssertionError(
            f"the NumPy optimizer leaves torch.optim by {dev:.3e} (relative), more than round-off ({tol:.0e})"
        )
    return dev
