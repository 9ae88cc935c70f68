"""The API every NumPy optimizer of optbook.numpy_optim shares with torch.optim: in-place
updates, hyper-parameters as attributes a schedule may change, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optbook import numpy_optim as no
from optbook.torch_check import assert_matches_torch


def _grads(steps, shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in shapes] for _ in range(steps)]


def test_gd_updates_in_place_and_follows_a_schedule():
    w = np.array([1.0, 2.0])
    view = w
    opt = no.GD([w], lr=0.5)
    opt.step([np.array([2.0, 2.0])])
    assert view is w and np.allclose(w, [0.0, 1.0])
    opt.lr = 0.25
    opt.step([np.array([4.0, 4.0])])
    assert np.allclose(w, [-1.0, 0.0])


@pytest.mark.parametrize("lr", [1e-3, 0.1, 2.0])
def test_gd_equals_torch_sgd(lr):
    shapes = [(3,), (2, 4)]
    dev = assert_matches_torch(
        lambda ps: no.GD(ps, lr=lr),
        lambda ps: torch.optim.SGD(ps, lr=lr),
        [np.ones(s) for s in shapes],
        _grads(30, shapes),
        changes={10: {"lr": lr / 3}, 20: {"lr": lr * 2}},
    )
    assert dev <= 1e-12


def test_gd_default_learning_rate_is_torchs():
    assert no.GD([np.zeros(1)]).lr == torch.optim.SGD([torch.zeros(1, requires_grad=True)]).defaults["lr"]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        no.GD([np.zeros(2)], lr=-0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        no.GD([], lr=0.1)
    with pytest.raises(TypeError, match="list of NumPy arrays"):
        no.GD(np.zeros(2), lr=0.1)
    with pytest.raises(TypeError, match="floating dtype"):
        no.GD([np.zeros(2, dtype=int)], lr=0.1)
    opt = no.GD([np.zeros(2), np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="2 parameters"):
        opt.step([np.zeros(2)])
    with pytest.raises(ValueError, match=r"gradient 1 has shape \(2,\), but parameter 1 has shape \(3,\)"):
        opt.step([np.zeros(2), np.zeros(2)])


def test_every_exported_optimizer_has_torchs_signature():
    import inspect

    for name in no.__all__:
        cls = getattr(no, name)
        if not (inspect.isclass(cls) and issubclass(cls, no.Optimizer)) or cls is no.Optimizer:
            continue
        if name == "GD":  # the book's name for torch.optim.SGD without its extras
            continue
        torch_cls = getattr(torch.optim, name)
        ours = inspect.signature(cls.__init__).parameters
        theirs = inspect.signature(torch_cls.__init__).parameters
        for arg, param in ours.items():
            if arg in {"self", "params"}:
                continue
            assert arg in theirs, f"{name}: torch.optim.{name} has no argument {arg!r}"
            assert param.default == theirs[arg].default, f"{name}.{arg}: default differs from torch's"
