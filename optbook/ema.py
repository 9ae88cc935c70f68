"""The memory of an exponential moving average (EMA), in numbers.

RMSProp's mean square, Adadelta's two averages and Adam's two moments are EMAs started at
zero: ``v_k = decay * v_{k-1} + (1 - decay) * x_k``, ``v_0 = 0``. Unrolled, ``v_k`` is a
weighted sum of the past values in which the value of age ``j`` (``j = 1`` for the newest)
has the weight ``(1 - decay) * decay**(j - 1)`` (:func:`weights`). Two numbers describe how
far back it looks, and they are not the same number (Chapter 6 derives both):

* the **window** ``1/(1 - decay)`` (:func:`window`): the total weight divided by the weight
  of the newest value, which is also the mean age of the averaged values (their centre of
  mass); 100 steps for ``decay = 0.99``;
* the **half-life** ``h = ln 2 / ln(1/decay)`` (:func:`half_life`): the age at which a weight
  has fallen to half the newest one; about 69 steps for ``decay = 0.99``, and about
  ``0.69/(1 - decay)`` when ``decay`` is close to 1.

The half-life is a real number; counted in whole values it gives the median age. The newest
``j`` values carry ``1 - decay**j`` of the weight (of 1 in the long run), which reaches one
half first at ``j = ceil(h)``: for ``0 < decay < 1`` the median age is ``ceil(h)`` (69 for
``decay = 0.99``, 7 for 0.9, and 1 for 0.5, where ``h = 1`` and the newest value carries
exactly half). At ``decay = 0`` all the weight is on the newest value, so the median age is
1, while :func:`half_life` returns 0, its limit as ``decay -> 0`` (no memory): there
``ceil(h) = 0`` is *not* the median age.

    >>> round(window(0.9), 6), round(half_life(0.9), 2), math.ceil(half_life(0.9))
    (10.0, 6.58, 7)
"""

from __future__ import annotations

import math

import numpy as np


def _check_decay(decay) -> float:
    try:
        decay = float(decay)
    except (TypeError, ValueError):
        raise ValueError(f"the decay must be a number in [0, 1), got {decay!r}") from None
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"the decay must be in [0, 1) (1 would never forget anything), got {decay!r}")
    return decay


def window(decay: float) -> float:
    """``1/(1 - decay)``: the total weight over the newest weight, and the mean age of the average."""
    return 1.0 / (1.0 - _check_decay(decay))


def half_life(decay: float) -> float:
    """``ln 2 / ln(1/decay)``: the age over which a weight halves.

    For ``0 < decay < 1``, ``ceil(half_life(decay))`` is the median age of the averaged values.
    At ``decay = 0`` it returns 0, the limit of the formula (no memory), although the median
    age there is 1: the one value averaged is the newest.
    """
    decay = _check_decay(decay)
    if decay == 0.0:
        return 0.0
    return math.log(2.0) / math.log(1.0 / decay)


def weights(decay: float, n: int) -> np.ndarray:
    """The weights ``(1 - decay) * decay**(j - 1)`` of the ``n`` newest values, ages ``j = 1..n``.

    They sum to ``1 - decay**n``: an EMA started at zero is short of weight ``decay**n``
    after ``n`` steps, the bias that Adam's bias correction divides out.
    """
    decay = _check_decay(decay)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return (1.0 - decay) * decay ** np.arange(n, dtype=float)
