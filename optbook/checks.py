"""Automatic checks for the labs: verdicts a student can act on, not bare assertion errors.

A lab's check cell calls a function of this module with the student's code. A check that
passes prints one line saying what was verified; a check that fails raises ``CheckFailed``
whose message says what is wrong and what to try ("the gradient is B times too large:
average the loss over the batch"). Each lab's own checks are written with the lab, on top
of the helpers here, and tests/test_lab_checks.py proves every check real: it must fail on
the lab's stub, fail with its diagnostic on typical wrong answers, and pass on the solution.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class CheckFailed(AssertionError):
    """A lab check failed; the message tells the student what to fix."""


def call(fn: Callable, *args, exercise: str, **kwargs):
    """Call the student's ``fn``; an unfinished stub becomes a clear verdict."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise CheckFailed(
            f"{exercise} is not done yet: replace the line `raise NotImplementedError(...)` with your code. Hint: {e}"
        ) from None


def as_array(value, what: str) -> np.ndarray:
    """``value`` as a float array, or a verdict saying what came back instead."""
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget the `return` statement?")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be an array of numbers, got {type(value).__name__}") from None
    return arr


def same_shape(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    if actual.shape != expected.shape:
        raise CheckFailed(f"{what} has shape {actual.shape}, expected {expected.shape}")


def ratio(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """The constant c with actual ≈ c · expected, if there is one (else None)."""
    denom = float(np.vdot(expected, expected))
    if denom == 0.0:
        return None
    c = float(np.vdot(actual, expected)) / denom
    if np.allclose(actual, c * expected, rtol=1e-6, atol=1e-12 * max(1.0, float(np.max(np.abs(expected))))):
        return c
    return None


def close(actual, expected, what: str, rtol: float = 1e-7, atol: float = 1e-10) -> None:
    """Fail unless ``actual`` equals ``expected`` to the tolerance, saying how it differs.

    A result off by a constant factor (a sign, a missing 1/B, a factor 2) is named as such,
    since that is the most common mistake and the easiest to fix once named.
    """
    a = as_array(actual, what)
    e = np.asarray(expected, dtype=float)
    same_shape(a, e, what)
    if not np.all(np.isfinite(a)):
        raise CheckFailed(f"{what} contains NaN or infinity: look for a division by zero or an overflow")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return
    c = ratio(a, e)
    if c is not None:
        if np.isclose(c, -1.0):
            raise CheckFailed(f"{what} has the wrong sign: check the direction of the step or of the derivative")
        if np.isclose(c, 0.0):
            raise CheckFailed(f"{what} is zero where it should not be")
        raise CheckFailed(f"{what} is {c:.4g} times the expected value: look for a missing or extra factor")
    worst = int(np.argmax(np.abs(a - e)))
    index = tuple(int(i) for i in np.unravel_index(worst, e.shape))
    raise CheckFailed(
        f"{what} differs from the expected value: at index {index} you have "
        f"{a.flat[worst]:.6g}, expected {e.flat[worst]:.6g}"
    )


def passed(exercise: str, what: str) -> None:
    """The line a passing check prints."""
    print(f"✓ {exercise}: {what}")
