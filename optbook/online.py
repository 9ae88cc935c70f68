"""Reddi, Kale and Kumar's online problem (ICLR 2018, Section 3), on which Adam fails.

The loss at round ``t = 1, 2, ...`` is linear on the interval ``[-1, 1]``,

    f_t(x) = C x   if t mod period == 1,   f_t(x) = -x   otherwise,

so its gradient is ``C`` once per period and ``-1`` the other ``period - 1`` rounds. Over a
period the losses add up to ``(C - (period - 1)) x``: for ``C > period - 1`` the best fixed
point is ``x = -1``, and ``x = +1`` is the worst. The paper's example is ``period = 3``,
``C > 2``. An optimizer plays ``x_t``, sees the gradient of ``f_t``, steps, and the point is
projected back onto ``[-1, 1]`` (for an interval the projection is a clamp).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def reddi_gradient(t: int, C: float = 3.0, period: int = 3) -> float:
    """The gradient of f_t (it does not depend on x): ``C`` if ``t % period == 1``, else ``-1``."""
    if t < 1:
        raise ValueError(f"rounds are counted from 1, got t = {t}")
    if period < 2:
        raise ValueError(f"the period must be at least 2, got {period}")
    return C if t % period == 1 else -1.0


def reddi_loss(x, t: int, C: float = 3.0, period: int = 3):
    """f_t(x): linear, so the loss is the gradient times x."""
    return reddi_gradient(t, C, period) * np.asarray(x, dtype=float)


def run_online(make_optimizer: Callable, rounds: int, C: float = 3.0, period: int = 3,
               x0: float = 0.0, lr_decay: bool = True) -> np.ndarray:
    """Play ``rounds`` rounds; return the points ``x_1, ..., x_{rounds + 1}`` (``x_1 = x0``).

    ``make_optimizer([x])`` builds a NumPy optimizer (``optbook.numpy_optim``) on the
    one-element array ``x``; its learning rate ``lr`` is read once and, with ``lr_decay``
    (the paper's setting), replaced by ``lr / sqrt(t)`` before round ``t``. After each step
    ``x`` is clamped to ``[-1, 1]``.
    """
    if rounds < 0:
        raise ValueError(f"rounds must be non-negative, got {rounds}")
    if not -1.0 <= x0 <= 1.0:
        raise ValueError(f"the start must lie in [-1, 1], got {x0}")
    x = np.array([float(x0)])
    opt = make_optimizer([x])
    lr = opt.lr
    path = np.empty(rounds + 1)
    path[0] = x[0]
    for t in range(1, rounds + 1):
        if lr_decay:
            opt.lr = lr / np.sqrt(t)
        opt.step([np.array([reddi_gradient(t, C, period)])])
        np.clip(x, -1.0, 1.0, out=x)
        path[t] = x[0]
    return path


def average_regret(path: np.ndarray, C: float = 3.0, period: int = 3) -> float:
    """R_T / T: the mean loss of the points played, ``path[:-1]`` (x_1 .. x_T), minus the mean
    loss of the best fixed point in [-1, 1] over the same rounds."""
    played = np.asarray(path, dtype=float)[:-1]
    if played.size == 0:
        raise ValueError("the path has no round played")
    g = np.array([reddi_gradient(t, C, period) for t in range(1, played.size + 1)])
    best = -abs(g.sum())                      # a linear total loss is least at x = -sign(sum g)
    return float((g @ played - best) / played.size)
