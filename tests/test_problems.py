"""optbook.problems (the logistic-regression problem of Chapter 2 and Lab 1) and the mini-batch
iterator exported from Chapter 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optbook import problems
from optbook.numpy_optim import minibatches

from helpers import numeric_grad


@pytest.fixture(scope="module")
def prob():
    return problems.breast_cancer()


def test_split_and_standardization(prob):
    assert prob.X.shape == (problems.N_TRAIN, 31) and prob.X_test.shape == (569 - problems.N_TRAIN, 31)
    assert np.allclose(prob.X[:, :30].mean(0), 0, atol=1e-12) and np.allclose(prob.X[:, :30].std(0), 1)
    assert np.all(prob.X[:, 30] == 1) and set(np.unique(prob.y)) == {0.0, 1.0}
    again = problems.breast_cancer()
    assert np.array_equal(prob.X, again.X) and np.array_equal(prob.y, again.y), "the split is fixed"


def test_gradient_and_hessian_match_finite_differences(prob):
    w = np.random.default_rng(0).standard_normal(prob.dim) * 0.3
    assert np.allclose(prob.grad(w), numeric_grad(prob.loss, w), rtol=1e-6, atol=1e-8)
    H = np.stack([numeric_grad(lambda v, i=i: prob.grad(v)[i], w) for i in range(prob.dim)])
    assert np.allclose(prob.hessian(w), H, rtol=1e-5, atol=1e-7)
    idx = np.array([3, 17, 200])
    assert np.allclose(prob.grad(w, idx), numeric_grad(lambda v: prob.loss(v, idx), w), rtol=1e-6, atol=1e-8)


def test_matches_torch_binary_cross_entropy(prob):
    w = torch.tensor(np.random.default_rng(1).standard_normal(prob.dim), requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(prob.X) @ w,
                                                                torch.from_numpy(prob.y)) + 0.5 * prob.lam * w @ w
    loss.backward()
    assert np.isclose(loss.item(), prob.loss(w.detach().numpy()), rtol=1e-13)
    assert np.allclose(w.grad.numpy(), prob.grad(w.detach().numpy()), rtol=1e-12, atol=1e-15)


def test_per_example_gradients_average_to_the_gradient(prob):
    w = np.random.default_rng(2).standard_normal(prob.dim)
    G = prob.per_example_grads(w)
    assert G.shape == (prob.n, prob.dim)
    assert np.allclose(G.mean(0), prob.grad(w), rtol=1e-12, atol=1e-14)
    assert np.allclose(G[[5, 9]].mean(0), prob.grad(w, np.array([5, 9])))


def test_minimizer_is_high_precision_and_constants_bound_the_curvature(prob):
    w = prob.minimizer()
    assert np.linalg.norm(prob.grad(w)) <= 1e-13
    assert np.array_equal(w, prob.minimizer()), "cached"
    h = np.linalg.eigvalsh(prob.hessian(w))
    assert prob.mu <= h[0] and h[-1] <= prob.L
    assert np.isclose(np.linalg.eigvalsh(prob.hessian(np.zeros(prob.dim)))[-1], prob.L)
    assert prob.accuracy(w) > 0.95 and prob.accuracy(w, test=True) > 0.95


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: p.grad(np.zeros(3)), "w must have shape"),
        (lambda p: p.grad(np.zeros(31), np.array([0, 1000])), "indices must lie"),
        (lambda p: p.grad(np.zeros(31), np.array([0.5])), "integer indices"),
        (lambda p: p.loss(np.zeros(31), np.array([], dtype=int)), "non-empty"),
        (lambda p: problems.LogisticProblem(p.X, p.y, lam=0.0), "must be positive"),
        (lambda p: problems.LogisticProblem(p.X, p.y * 2 - 1), "0 or 1"),
        (lambda p: problems.LogisticProblem(p.X, p.y[:5]), "y must have shape"),
        (lambda p: problems.breast_cancer(n_train=569), "n_train"),
        (lambda p: problems.LogisticProblem(p.X, p.y).accuracy(np.zeros(31), test=True), "no test split"),
    ],
)
def test_bad_arguments_raise_clear_errors(prob, call, message):
    with pytest.raises(ValueError, match=message):
        call(prob)


def test_minibatches_is_one_reshuffled_epoch():
    gen = np.random.default_rng(0)
    e1, e2 = list(minibatches(10, 4, gen)), list(minibatches(10, 4, gen))
    assert [len(b) for b in e1] == [4, 4, 2]
    assert sorted(np.concatenate(e1)) == list(range(10)) and sorted(np.concatenate(e2)) == list(range(10))
    assert not np.array_equal(np.concatenate(e1), np.concatenate(e2))
    assert [len(b) for b in minibatches(10, 4, gen, drop_last=True)] == [4, 4]
    assert np.array_equal(np.concatenate(list(minibatches(10, 3, gen, shuffle=False))), np.arange(10))
    r = np.concatenate(list(minibatches(1000, 100, gen, replacement=True)))
    assert len(r) == 1000 and len(np.unique(r)) < 1000, "with replacement, indices repeat"
    again = [list(minibatches(10, 4, np.random.default_rng(5))) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*again)), "the rng alone decides the order"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0, batch_size=1), "n must be"),
        (dict(n=5, batch_size=0), "batch_size must be"),
        (dict(n=5, batch_size=6, drop_last=True), "leaves no batch"),
        (dict(n=5, batch_size=2, rng=0), "numpy.random.Generator"),
        (dict(n=5, batch_size=2, replacement=True, shuffle=False), "cannot be combined"),
    ],
)
def test_minibatches_rejects_bad_arguments(kwargs, message):
    kwargs.setdefault("rng", np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        next(minibatches(**kwargs))


@pytest.fixture(scope="module")
def least_squares():
    rng = np.random.default_rng(3)
    X = torch.from_numpy(rng.standard_normal((50, 3)) * np.array([1.0, 2.0, 3.0]))
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.1 * torch.from_numpy(rng.standard_normal(50))
    return X, y


def test_fit_least_squares_is_sgd_from_zero_and_returns_the_last_loss(least_squares):
    X, y = least_squares
    Xn, yn = X.numpy(), y.numpy()
    lr, beta, steps = 0.02, 0.5, 7
    w, buf, losses = np.zeros(3), None, []
    for _ in range(steps):  # SGD(momentum=beta) by hand on 1/2 mean((Xw - y)^2)
        r = Xn @ w - yn
        losses.append(0.5 * np.mean(r**2))
        g = Xn.T @ r / len(yn)
        buf = g if buf is None else beta * buf + g
        w = w - lr * buf
    assert problems.fit_least_squares(X, y, steps, lr=lr, momentum=beta) == pytest.approx(losses[-1], rel=1e-12)
    assert problems.fit_least_squares(Xn, yn, 1, lr=lr) == pytest.approx(0.5 * np.mean(yn**2), rel=1e-12)


def test_fit_least_squares_reaches_the_least_squares_minimum(least_squares):
    X, y = least_squares
    best = 0.5 * ((X @ torch.linalg.lstsq(X, y).solution - y) ** 2).mean().item()
    L = float(np.linalg.eigvalsh((X.T @ X / len(y)).numpy())[-1])
    gap = problems.fit_least_squares(X, y, 400, lr=1 / L, momentum=0.5, nesterov=True) - best
    # at the minimum both losses are equal up to round-off, which may come out on either side of 0
    assert -1e-14 * best <= gap < 1e-10


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.ones(5), np.ones(5), 10), dict(lr=0.1), r"X must be a non-empty matrix"),
        ((np.ones((5, 2)), np.ones(4), 10), dict(lr=0.1), r"y must have shape \(5,\)"),
        ((np.ones((5, 2)), np.ones(5), 0), dict(lr=0.1), "steps must be a positive integer"),
        ((np.ones((5, 2)), np.ones(5), 10), dict(momentum=0.9), "give the learning rate"),
        ((np.ones((5, 2)), np.ones(5), 10), dict(lr=-1.0), "Invalid learning rate"),  # torch's own check
    ],
)
def test_fit_least_squares_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        problems.fit_least_squares(*args, **kwargs)


def test_scaled_regression_is_one_fixed_data_set_of_the_stated_model():
    X, y = problems.scaled_regression()
    assert X.shape == (500, 4) and y.shape == (500,) and X.dtype == y.dtype == np.float64
    X2, y2 = problems.scaled_regression(seed=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2), "the same seed gives the same data"
    X3, _ = problems.scaled_regression(seed=1)
    assert not np.array_equal(X, X3), "another seed gives other data"
    gen = np.random.default_rng(0)  # drawn from its own generator, in this order
    Z = gen.standard_normal((500, 4))
    assert np.array_equal(X, Z * np.array([1.0, 2.0, 4.0, 10.0]))
    assert np.array_equal(y, X @ np.array([1.0, -1.0, 0.5, 0.2]) + 0.1 * gen.standard_normal(500))
    # the scales set the curvatures: column variances near 1, 4, 16, 100; least squares recovers w_true
    assert np.allclose(X.var(axis=0), [1.0, 4.0, 16.0, 100.0], rtol=0.2)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(w, [1.0, -1.0, 0.5, 0.2], atol=0.03)
    # the book quotes kappa = 100 for seed 0 (Chapters 3 and 4 print it)
    lam = np.linalg.eigvalsh(X.T @ X / 500)
    assert round(lam[-1] / lam[0]) == 100
    assert problems.scaled_regression(n=10)[0].shape == (10, 4)


@pytest.mark.parametrize("kwargs, message", [(dict(seed=-1), "seed must be"), (dict(seed=1.5), "seed must be"),
                                             (dict(n=3), "n must be"), (dict(n=True), "n must be")])
def test_scaled_regression_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        problems.scaled_regression(**kwargs)
