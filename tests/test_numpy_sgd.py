"""optbook.numpy_optim.SGD (exported from Chapter 3) against torch.optim.SGD: every argument,
every valid combination, learning-rate changes (also at the first step), and PyTorch's errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from optbook.numpy_optim import SGD
from optbook.torch_check import ROUND_OFF, max_deviation

GRID = [
    dict(lr=lr, momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for lr, m, d, wd, n, mx in itertools.product(
        [1e-3, 0.1, 0.7], [0.0, 0.5, 0.9, 0.99], [0.0, 0.3, 0.9], [0.0, 1e-2, 0.5], [False, True], [False, True]
    )
    if not (n and (m <= 0 or d != 0))
]
SCHEDULES = [{}, {0: {"lr": 0.05}}, {1: {"lr": 0.2}, 7: {"lr": 1e-3}}, {4: {"lr": 0.3, "momentum": 0.8}}]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    shapes = [(3, 4), (5,), ()]
    params0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) * 10.0 ** rng.integers(-3, 3) for s in shapes] for _ in range(15)]
    return params0, grads


@pytest.mark.parametrize("kw", GRID, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_torch_on_the_full_grid(kw, problem):
    params0, grads = problem
    for changes in SCHEDULES:
        if "momentum" in changes.get(4, {}) and kw["nesterov"]:
            continue  # nesterov's check is done at construction only; keep the grid to valid states
        dev = max_deviation(lambda ps: SGD(ps, **kw), lambda ps: torch.optim.SGD(ps, **kw), params0, grads, changes)
        assert dev <= ROUND_OFF, (kw, changes, dev)


def test_defaults_are_torchs():
    import inspect

    ours = inspect.signature(SGD).parameters
    theirs = inspect.signature(torch.optim.SGD).parameters
    for name in ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"]:
        assert ours[name].default == theirs[name].default, name
        assert ours[name].kind == theirs[name].kind, name


def test_first_step_ignores_dampening_and_buffer_is_kept():
    w = np.array([1.0, 2.0])
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    g = np.array([1.0, -1.0])
    opt.step([g])
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], g)
    g[:] = 0.0  # the buffer is a copy, not a view of the caller's gradient
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], [1.0, -1.0])
    opt.step([np.array([1.0, 1.0])])
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [0.9 + 0.5, -0.9 + 0.5])


def test_without_momentum_no_buffer_is_created():
    w = np.array([1.0])
    opt = SGD([w], lr=0.5)
    opt.step([np.array([2.0])])
    assert opt.state[0] == {} and w[0] == 0.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": -0.1}, r"^Invalid learning rate: -0\.1$"),
        ({"momentum": -0.5}, r"^Invalid momentum value: -0\.5$"),
        ({"weight_decay": -1e-4}, r"^Invalid weight_decay value: -0\.0001$"),
        ({"nesterov": True}, r"^Nesterov momentum requires a momentum and zero dampening$"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov momentum requires a momentum and zero"),
    ],
)
def test_invalid_arguments_raise_torchs_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([np.zeros(2)], **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], **kwargs)
