"""Printing what a computation determines, and nothing more.

A stored output must be the output of every reader's machine (CONTRIBUTING.md, "Outputs
that hold on every machine"). Digits below a computation's round-off differ from CPU to
CPU, so a quantity that is zero up to round-off is printed as a bound, never as its noise
digits::

    >>> roundoff(3.3e-34, 1e-30)
    'round-off (< 1e-30)'

and a number is printed with the digits that hold (``sig``). ``tests/test_notebooks.py``
fails on a stored output that prints a number below 1e-12 in any other form.
"""

from __future__ import annotations

import math


def roundoff(value: float, limit: float = 1e-12, what: str = "the difference") -> str:
    """``'round-off (< limit)'`` for a quantity that is zero up to round-off.

    Raises AssertionError, with the value, when ``|value|`` is not below ``limit``: the
    claim "this is round-off" is checked, not only printed.
    """
    if not (limit > 0 and math.isfinite(limit)):
        raise ValueError(f"limit must be a positive number, got {limit!r}")
    value = float(value)
    if not abs(value) < limit:
        raise AssertionError(f"{what} is {value:.3g}, not round-off (below {limit:.0e})")
    return f"round-off (< {limit:.0e})"


def sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits (``sig(0.0182349, 3) == '0.0182'``)."""
    if not isinstance(digits, int) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    return f"{float(value):.{digits}g}"
