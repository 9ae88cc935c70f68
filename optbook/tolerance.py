"""Declared tolerances: the few cells whose printed numbers round-off may move.

The book's rule (CONTRIBUTING.md, "Outputs that hold on every machine") is to print only
the digits a computation determines, so that a stored output is the output of every
machine. A few computations cannot be printed that way without hiding what they show —
float32 training over hundreds of steps, where round-off grows, is the usual one. Such a
cell declares, next to itself, how far its numbers may move and why, in its metadata::

    "metadata": {"optbook": {"tolerance": {"rtol": 1e-3, "why": "float32 training: round-off grows"}}}

Keys (``why`` and at least one of the others are required):

``rtol``
    relative tolerance of every number in the cell's text outputs: ``|a - b| <= rtol * max(|a|, |b|)``;
``atol``
    absolute tolerance, added to the relative one;
``int_atol``
    absolute tolerance of whole numbers (written without a decimal point or exponent),
    used for them instead of ``rtol`` and ``atol``: a step count that may move by one
    evaluation interval, ``"int_atol": 25``;
``pixels``
    how far a plotted point of the cell's figures may move, in pixels (default
    :data:`optbook.figdata.PIXEL_TOLERANCE`);
``why``
    one line saying why round-off moves these numbers.

Text is compared by splitting it into numbers and the text between them: the text between
must be the same, character for character, and so must the count of numbers; each number
is compared within the tolerance, and its written form (how many digits, an exponent) may
differ. So a table with a changed row label, a missing row or a number outside the
tolerance still fails. ``conftest.py`` applies this to stream, ``text/plain``,
``text/html`` and ``text/markdown`` outputs and to the texts of the cell's figures.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# A number as printed: optional sign, digits with an optional fraction, an optional exponent;
# also nan and inf. A digit glued to a letter (x1, 2nd, float32, 1e-3 is fine) is text.
NUMBER = re.compile(
    r"(?<![\w.])[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+−]?\d+)?(?![\w])"
    r"|(?<![\w])[-+]?(?:nan|inf)(?![\w])"
)
KEYS = {"rtol", "atol", "int_atol", "pixels", "why"}


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 0.0
    atol: float = 0.0
    int_atol: float | None = None
    pixels: float | None = None
    why: str = ""

    def close(self, a: float, b: float, whole: bool = False) -> bool:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        if whole and self.int_atol is not None:
            return abs(a - b) <= self.int_atol
        return abs(a - b) <= self.rtol * max(abs(a), abs(b)) + self.atol


def from_metadata(metadata: dict) -> Tolerance | None:
    """The cell's declared tolerance, or None. A malformed declaration raises ValueError."""
    spec = (metadata or {}).get("optbook", {}).get("tolerance")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError(f"optbook.tolerance must be a mapping with rtol/atol/pixels and why, got {spec!r}")
    unknown = set(spec) - KEYS
    if unknown:
        raise ValueError(f"optbook.tolerance has unknown keys {sorted(unknown)}: the keys are {sorted(KEYS)}")
    why = spec.get("why")
    if not isinstance(why, str) or len(why.strip()) < 10:
        raise ValueError("optbook.tolerance needs 'why': one line saying why round-off moves these numbers")
    values = {}
    for key in ("rtol", "atol", "int_atol", "pixels"):
        if key in spec:
            v = spec[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < math.inf):
                raise ValueError(f"optbook.tolerance.{key} must be a non-negative number, got {v!r}")
            values[key] = float(v)
    if not values:
        raise ValueError("optbook.tolerance declares no tolerance: give rtol, atol, int_atol or pixels")
    if values.get("rtol", 0.0) > 0.1:
        raise ValueError(f"optbook.tolerance.rtol = {values['rtol']} is not a round-off tolerance (at most 0.1)")
    return Tolerance(why=why, **values)


def _value(token: str) -> float:
    return float(token.replace("−", "-"))


def split(text: str) -> tuple[list[str], list[tuple[float, bool]]]:
    """The text between numbers, and the numbers with whether each is written as a whole number."""
    between, numbers, last = [], [], 0
    for m in NUMBER.finditer(text):
        between.append(text[last : m.start()])
        token = m.group(0)
        numbers.append((_value(token), token.lstrip("+-−").isdigit()))
        last = m.end()
    between.append(text[last:])
    return between, numbers


def difference(ref: str, new: str, tol: Tolerance) -> str:
    """Empty when ``new`` equals ``ref`` within ``tol``; otherwise what differs, in words."""
    if ref == new:
        return ""
    ref_text, ref_nums = split(ref)
    new_text, new_nums = split(new)
    if len(ref_nums) != len(new_nums):
        return f"{len(ref_nums)} numbers stored, {len(new_nums)} now"
    for i, (a, b) in enumerate(zip(ref_text, new_text)):
        if a != b:
            return f"the text around number {i + 1} changed: {a!r} stored, {b!r} now"
    for (a, whole_a), (b, whole_b) in zip(ref_nums, new_nums):
        if not tol.close(a, b, whole=whole_a and whole_b):
            limit = f"rtol {tol.rtol:g}" + (f", atol {tol.atol:g}" if tol.atol else "")
            if whole_a and whole_b and tol.int_atol is not None:
                limit = f"int_atol {tol.int_atol:g}"
            return f"{a:g} stored, {b:g} now: outside the declared tolerance ({limit})"
    return ""
