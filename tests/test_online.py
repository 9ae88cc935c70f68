"""Reddi et al.'s online problem (optbook.online)."""

import numpy as np
import pytest

from optbook.numpy_optim import SGD, Adam
from optbook.online import average_regret, reddi_gradient, reddi_loss, run_online


def test_gradient_is_C_once_per_period():
    assert [reddi_gradient(t) for t in range(1, 7)] == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]
    assert [reddi_gradient(t, C=5.0, period=4) for t in range(1, 6)] == [5.0, -1.0, -1.0, -1.0, 5.0]
    assert reddi_loss(0.5, 1) == 1.5 and reddi_loss(0.5, 2) == -0.5


@pytest.mark.parametrize("bad", [dict(t=0), dict(t=1, period=1)])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError):
        reddi_gradient(**bad)


def test_run_online_rejects_bad_start_and_rounds():
    with pytest.raises(ValueError):
        run_online(lambda ps: SGD(ps, lr=0.1), 10, x0=2.0)
    with pytest.raises(ValueError):
        run_online(lambda ps: SGD(ps, lr=0.1), -1)


def test_projection_and_decay():
    # SGD with lr 1: the first step is 3 -> clamped to -1; lr / sqrt(2) times +1 at round 2
    path = run_online(lambda ps: SGD(ps, lr=1.0), 2)
    assert path[1] == -1.0
    assert path[2] == pytest.approx(-1.0 + 1 / np.sqrt(2))
    assert np.all(np.abs(run_online(lambda ps: SGD(ps, lr=5.0), 30)) <= 1.0)


def test_regret_of_fixed_points():
    T = 300
    assert average_regret(np.full(T + 1, -1.0)) == pytest.approx(0.0, abs=1e-12)
    assert average_regret(np.full(T + 1, 1.0)) == pytest.approx(2 * (3 - 2) / 3)
    with pytest.raises(ValueError):
        average_regret(np.array([0.0]))


def test_adam_fails_and_amsgrad_does_not():
    adam = run_online(lambda ps: Adam(ps, lr=0.1, betas=(0.0, 0.1)), 3000)
    ams = run_online(lambda ps: Adam(ps, lr=0.1, betas=(0.0, 0.1), amsgrad=True), 3000)
    assert adam[-1] > 0.9 and average_regret(adam) > 0.3
    assert ams[-1] < -0.9 and average_regret(ams) < 0.1
