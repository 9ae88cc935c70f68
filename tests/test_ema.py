"""optbook.ema: the window and the half-life of an exponential moving average, and its weights."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from optbook import ema


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_window_is_total_weight_over_newest_and_the_mean_age(decay):
    w = ema.weights(decay, 200_000)
    ages = np.arange(1, len(w) + 1)
    assert w.sum() / w[0] == pytest.approx(ema.window(decay), rel=1e-9)
    assert (ages * w).sum() / w.sum() == pytest.approx(ema.window(decay), rel=1e-9)


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_half_life_halves_the_weight_and_is_the_median_age(decay):
    h = ema.half_life(decay)
    assert decay**h == pytest.approx(0.5, rel=1e-12)
    w = ema.weights(decay, 200_000)
    median = int(np.argmax(np.cumsum(w) >= 0.5 * w.sum())) + 1  # first age with half the weight
    assert median == math.ceil(h)


def test_the_two_numbers_differ_as_the_chapter_says():
    assert ema.window(0.99) == pytest.approx(100.0)
    assert ema.half_life(0.99) == pytest.approx(68.97, abs=0.01)
    assert ema.window(0.9) == pytest.approx(10.0)
    assert ema.half_life(0.9) == pytest.approx(6.58, abs=0.01)
    for decay in (0.99, 0.999):  # close to 1: the half-life is ln 2 ≈ 0.69 of the window
        assert ema.half_life(decay) / ema.window(decay) == pytest.approx(math.log(2), rel=1 - decay)


def test_weights_are_those_of_the_recursion_started_at_zero():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal(50)
    v = 0.0
    for x in xs:
        v = 0.9 * v + 0.1 * x
    w = ema.weights(0.9, 50)
    assert v == pytest.approx(float(w @ xs[::-1]), rel=1e-12)
    assert w.sum() == pytest.approx(1 - 0.9**50, rel=1e-12)


def test_no_memory_at_decay_zero():
    assert ema.window(0.0) == 1.0 and ema.half_life(0.0) == 0.0
    assert ema.weights(0.0, 3).tolist() == [1.0, 0.0, 0.0]


def median_age(decay, n=200_000):
    """The first age by which the newest values carry half of the total weight."""
    w = ema.weights(decay, n)
    return int(np.argmax(np.cumsum(w) >= 0.5 * w.sum())) + 1


@pytest.mark.parametrize("decay", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_the_median_age_is_the_ceiling_of_the_half_life(decay):
    assert median_age(decay) == math.ceil(ema.half_life(decay))
    assert median_age(decay) >= ema.half_life(decay) > median_age(decay) - 1


def test_at_decay_zero_the_ceiling_is_not_the_median_age():
    # the documented convention: half_life(0) = 0 (the limit), while the one value averaged has age 1
    assert median_age(0.0) == 1
    assert math.ceil(ema.half_life(0.0)) == 0
    assert ema.half_life(1e-300) == pytest.approx(0.0, abs=1e-2)  # the limit the convention follows


@pytest.mark.parametrize("decay", [1.0, -0.1, 1.5, float("nan"), "0.9x", None])
def test_a_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        ema.window(decay)
    with pytest.raises(ValueError, match="decay"):
        ema.half_life(decay)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_weights_need_a_positive_integer_count(n):
    with pytest.raises(ValueError, match="positive integer"):
        ema.weights(0.9, n)


def test_the_module_example_holds():
    failures, _ = doctest.testmod(ema)
    assert failures == 0
