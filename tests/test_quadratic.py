"""optbook.quadratic: the 2×2 recurrences of heavy ball and Nesterov on a quadratic."""

from __future__ import annotations

import numpy as np
import pytest

from optbook import quadratic


@pytest.mark.parametrize("method", quadratic.METHODS)
@pytest.mark.parametrize("lr", [0.003, 0.02, 0.035, 0.05])
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9])
@pytest.mark.parametrize("lam", [0.5, 10.0, 100.0, -1.0])
def test_radius_is_the_spectral_radius_of_the_matrix(method, lr, beta, lam):
    T = quadratic.matrix(lr, beta, lam, method)
    expected = np.max(np.abs(np.linalg.eigvals(T)))
    assert quadratic.radius(lr, beta, lam, method) == pytest.approx(expected, rel=1e-9)
    z1, z2 = quadratic.roots(lr, beta, lam, method)
    assert sorted(np.abs([z1, z2])) == pytest.approx(sorted(np.abs(np.linalg.eigvals(T))), rel=1e-9)


@pytest.mark.parametrize("method", quadratic.METHODS)
def test_rate_matches_iterating_the_method(method):
    lams = np.array([1.0, 7.0, 30.0])
    lr, beta = 0.03, 0.6
    x_prev = x = np.ones(3)
    norms = []
    for _ in range(600):
        if method == "heavy_ball":
            x, x_prev = x - lr * lams * x + beta * (x - x_prev), x
        else:
            y = x + beta * (x - x_prev)
            x, x_prev = y - lr * lams * y, x
        norms.append(np.linalg.norm(x))
    assert quadratic.tail_rate(norms) == pytest.approx(quadratic.rate(lr, beta, lams, method), rel=1e-3)


def test_rate_broadcasts_over_a_grid():
    E, B = np.meshgrid([0.01, 0.02], [0.0, 0.5, 0.9])
    R = quadratic.rate(E, B, [1.0, 100.0])
    assert R.shape == (3, 2)
    assert R[0, 0] == pytest.approx(0.99)  # gradient descent at 1/L: 1 - mu/L


def test_optimal_heavy_ball_is_polyaks_and_double_roots_at_both_ends():
    lr, beta, rho = quadratic.optimal_heavy_ball(1.0, 100.0)
    assert rho == pytest.approx(9 / 11) and beta == pytest.approx((9 / 11) ** 2) and lr == pytest.approx(4 / 121)
    for lam, sign in [(1.0, 1), (100.0, -1)]:
        z1, z2 = quadratic.roots(lr, beta, lam)
        assert z1 == pytest.approx(sign * rho, abs=1e-6) and z2 == pytest.approx(sign * rho, abs=1e-6)
    assert quadratic.rate(lr, beta, np.linspace(1, 100, 50)) == pytest.approx(rho, abs=1e-6)


def test_optimal_tunings_beat_a_grid_search():
    E, B = np.meshgrid(np.linspace(1e-3, 0.045, 400), np.linspace(0, 0.99, 400))
    for method, best in [("heavy_ball", quadratic.optimal_heavy_ball), ("nesterov", quadratic.optimal_nesterov)]:
        lr, beta, rho = best(1.0, 100.0)
        assert quadratic.rate(lr, beta, [1.0, 100.0], method) == pytest.approx(rho, abs=1e-6)
        assert np.min(quadratic.rate(E, B, [1.0, 100.0], method)) >= rho - 1e-6


@pytest.mark.parametrize("method", quadratic.METHODS)
def test_stable_lr_is_the_boundary(method):
    for beta in [0.0, 0.5, 0.9]:
        top = quadratic.stable_lr(beta, 10.0, method)
        assert quadratic.radius(0.999 * top, beta, 10.0, method) < 1 < quadratic.radius(1.001 * top, beta, 10.0, method)


def test_tail_rate_removes_the_factor_k():
    k = np.arange(400)
    errors = (1 + 3 * k) * 0.9**k
    assert quadratic.tail_rate(errors, double_root=True) == pytest.approx(0.9, rel=1e-4)
    assert quadratic.tail_rate(errors) > 0.9 * 1.001


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: quadratic.radius(0.1, 0.5, 1.0, method="adam"), "method must be one of"),
        (lambda: quadratic.rate(0.1, 0.5, [0.0, 1.0]), "positive"),
        (lambda: quadratic.rate(0.1, 0.5, []), "non-empty"),
        (lambda: quadratic.stable_lr(1.0, 1.0), r"\[0, 1\)"),
        (lambda: quadratic.stable_lr(0.5, -1.0), "L must be positive"),
        (lambda: quadratic.optimal_heavy_ball(2.0, 1.0), "L >= mu > 0"),
        (lambda: quadratic.tail_rate([1.0, 0.5]), "at least 8"),
        (lambda: quadratic.tail_rate([1.0] * 9 + [0.0]), "positive and finite"),
        (lambda: quadratic.tail_rate([1.0] * 10, tail=0), "tail must be"),
        (lambda: quadratic.matrix(np.ones(2), 0.5, 1.0), "scalars"),
    ],
)
def test_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("method", quadratic.METHODS)
def test_steps_to_counts_the_recurrence(method):
    lams, lr, beta = np.array([1.0, 10.0]), 0.1, 0.5
    e = e_prev = np.ones(2)
    k = 0
    while np.linalg.norm(e) >= 1e-6 * np.sqrt(2):
        x = e + beta * (e - e_prev) if method == "nesterov" else e
        e, e_prev = (x - lr * lams * x if method == "nesterov" else e - lr * lams * e + beta * (e - e_prev)), e
        k += 1
    assert quadratic.steps_to(lams, lr, beta, method) == k
    rho = quadratic.rate(lr, beta, lams, method)
    assert abs(k - np.log(1e6) / -np.log(rho)) < 0.2 * k  # about log(1/tol) / log(1/rho) steps


def test_steps_to_gradient_descent_and_the_cap():
    # GD on one curvature: e_k = (1 - lr lam)^k exactly, so the count is the smallest k with 0.5^k < 1e-3
    assert quadratic.steps_to([2.0], 0.25, tol=1e-3) == 10
    assert quadratic.steps_to([1.0, 100.0], 0.02, cap=50) == 50  # diverges: eta L = 2 is on the boundary
    lr, beta, _ = quadratic.optimal_heavy_ball(1.0, 100.0)
    assert quadratic.steps_to([1.0, 100.0], lr, beta) < quadratic.steps_to([1.0, 100.0], 2 / 101) / 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lams=[], lr=0.1), "non-empty 1-D"),
        (dict(lams=[1.0], lr=0.0), "lr must be positive"),
        (dict(lams=[1.0], lr=0.1, momentum=1.0), r"momentum must lie in \[0, 1\)"),
        (dict(lams=[1.0], lr=0.1, method="adam"), "method must be one of"),
        (dict(lams=[1.0], lr=0.1, tol=2.0), r"tol must lie in \(0, 1\)"),
        (dict(lams=[1.0], lr=0.1, cap=1.5), "cap must be an integer"),
    ],
)
def test_steps_to_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quadratic.steps_to(**kwargs)


def test_sgdm_errors_follow_torch_and_take_a_custom_step():
    import torch

    from optbook.surfaces import random_quadratic

    q = random_quadratic(np.linspace(1.0, 10.0, 4), np.random.default_rng(3))
    w0 = np.random.default_rng(4).standard_normal(4)
    errs = quadratic.sgdm_errors(q.grad, w0, q.minimizer, 0.05, 0.9, 30)
    p = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.05, momentum=0.9)
    ref = []
    for _ in range(30):
        p.grad = torch.tensor(q.grad(p.detach().numpy()))
        opt.step()
        ref.append(np.linalg.norm(p.detach().numpy() - q.minimizer))
    assert np.allclose(errs, ref, rtol=1e-12, atol=1e-15)
    calls = []

    def gd(w, g, buf, lr, momentum):
        calls.append(buf)
        return w - lr * g, None

    gd_errs = quadratic.sgdm_errors(q.grad, w0, q.minimizer, 0.05, 0.9, 5, step=gd)
    assert len(calls) == 5 and all(b is None for b in calls) and not np.allclose(gd_errs, errs[:5])
    with pytest.raises(ValueError, match="steps"):
        quadratic.sgdm_errors(q.grad, w0, q.minimizer, 0.05, 0.9, 0)
    with pytest.raises(ValueError, match="lr"):
        quadratic.sgdm_errors(q.grad, w0, q.minimizer, -0.1, 0.9, 3)
