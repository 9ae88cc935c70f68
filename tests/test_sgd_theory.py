"""optbook.sgd_theory: the second-moment map of linearized SGD and the reshuffling bias (Chapter 2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optbook import sgd_theory


def _problem(n=7, d=3, seed=0, lam=0.3):
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, d)) * np.array([1.0, 0.6, 0.3])[:d]
    s = gen.uniform(0.1, 0.3, n)
    return X, s, lam


def _hessians(X, s, lam):
    return [s_i * np.outer(x, x) + lam * np.eye(X.shape[1]) for x, s_i in zip(X, s)]


def test_hessian_moments_are_the_means_of_h_and_h_kron_h():
    X, s, lam = _problem()
    Hs = _hessians(X, s, lam)
    H, M = sgd_theory.hessian_moments(X, s, lam)
    assert np.allclose(H, np.mean(Hs, axis=0), rtol=1e-13, atol=1e-15)
    assert np.allclose(M, np.mean([np.kron(h, h) for h in Hs], axis=0), rtol=1e-13, atol=1e-15)


def test_stationary_covariance_is_the_fixed_point_of_the_sgd_recursion():
    """Iterate P <- E[(I - eta Hbar) P (I - eta Hbar)] + eta^2 Sigma / B with explicit matrix sums."""
    X, s, lam = _problem()
    Hs = _hessians(X, s, lam)
    H, M = sgd_theory.hessian_moments(X, s, lam)
    gen = np.random.default_rng(1)
    A = gen.standard_normal((3, 3))
    Sigma = A @ A.T
    lin = sgd_theory.LinearizedSGD(H, M)
    for lr, batch in [(0.3, 1), (0.5, 4)]:
        P = np.zeros((3, 3))
        for _ in range(3000):
            mult = np.mean([h @ P @ h for h in Hs], axis=0) - H @ P @ H
            G = np.eye(3) - lr * H
            P = G @ P @ G + lr**2 * mult / batch + lr**2 * Sigma / batch
        assert np.allclose(lin.stationary(Sigma, lr, batch), P, rtol=1e-9, atol=1e-12)
        # without the multiplicative term it would be smaller: the term is positive semi-definite
        vec = np.linalg.solve(np.eye(9) - np.kron(G, G), lr**2 * Sigma.reshape(9) / batch)
        assert np.trace(P) > np.trace(vec.reshape(3, 3))


def test_stability_limit_is_where_the_spectral_radius_reaches_one():
    gen = np.random.default_rng(0)
    X = gen.standard_normal((20, 3)) * np.array([1.0, 0.6, 0.3])
    X[0] *= 8                                     # one example with a large curvature: a low limit
    H, M = sgd_theory.hessian_moments(X)
    lin = sgd_theory.LinearizedSGD(H, M)
    lim = lin.stability_limit(1)
    assert lim * np.linalg.eigvalsh(H)[-1] < 1    # inside the range where the formula is exact
    assert lim < 2 / np.linalg.eigvalsh(H)[-1]    # and below gradient descent's limit
    for batch in [1, 3]:
        lim = lin.stability_limit(batch)
        assert lin.rate(lim * (1 - 1e-5), batch) < 1 < lin.rate(lim * (1 + 1e-5), batch)
    assert lin.stability_limit(3) > lin.stability_limit(1)
    lin = sgd_theory.LinearizedSGD(H, M)
    with pytest.raises(ValueError, match="not mean-square stable"):
        lin.stationary(np.eye(3), 1.01 * lin.stability_limit(1))


def test_interpolation_rate_meets_its_bound():
    """E||e||^2 of least-squares SGD without noise shrinks at least by 1 - eta (2 - eta L_max) mu."""
    gen = np.random.default_rng(2)
    X = gen.standard_normal((30, 4)) * np.array([1.0, 0.7, 0.5, 0.2])
    H, M = sgd_theory.hessian_moments(X)
    lin = sgd_theory.LinearizedSGD(H, M)
    L_max, mu = np.max(np.sum(X**2, axis=1)), np.linalg.eigvalsh(H)[0]
    for c in [0.2, 0.5, 1.0, 1.5]:
        lr = c / L_max
        assert lin.rate(lr) <= 1 - lr * (2 - lr * L_max) * mu + 1e-12
    # a single step from e: E||(I - lr x x^T) e||^2 = e^T T e computed by hand
    e = gen.standard_normal(4)
    lr = 1 / L_max
    by_hand = np.mean([np.sum((e - lr * x * (x @ e)) ** 2) for x in X])
    T = lin.operator(lr)
    assert np.isclose(np.trace((T @ np.outer(e, e).reshape(16)).reshape(4, 4)), by_hand, rtol=1e-12)


def test_reshuffling_bias_matches_the_exact_mean_over_all_permutations():
    """Least squares, N = 4: the exact mean end-of-epoch fixed point over all 24 orders, as lr -> 0."""
    gen = np.random.default_rng(3)
    X = gen.standard_normal((4, 2))
    y = gen.standard_normal(4)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    G = X * (X @ w_star - y)[:, None]                    # per-example gradients at w*, mean 0
    Hs = np.einsum("na,nb->nab", X, X)
    H = Hs.mean(0)
    for lr in [1e-3, 1e-4]:
        A_bar, c_bar = np.zeros((2, 2)), np.zeros(2)
        perms = list(itertools.permutations(range(4)))
        for perm in perms:                               # one epoch is affine: e -> A e + c
            A, c = np.eye(2), np.zeros(2)
            for i in perm:
                step = np.eye(2) - lr * Hs[i]
                A, c = step @ A, step @ c - lr * G[i]
            A_bar += A / len(perms)
            c_bar += c / len(perms)
        b_exact = np.linalg.solve(np.eye(2) - A_bar, c_bar)
        b = sgd_theory.reshuffling_bias(H, Hs, G, lr)
        assert np.linalg.norm(b - b_exact) < 20 * lr * np.linalg.norm(b_exact)   # first order in lr
        assert np.linalg.norm(2 * b - b_exact) > 0.5 * np.linalg.norm(b_exact)    # the 1/2 matters


def test_bad_arguments_raise_value_error():
    X, s, lam = _problem()
    H, M = sgd_theory.hessian_moments(X, s, lam)
    lin = sgd_theory.LinearizedSGD(H, M)
    with pytest.raises(ValueError, match="one weight per row"):
        sgd_theory.hessian_moments(X, s[:-1], lam)
    with pytest.raises(ValueError, match="non-negative"):
        sgd_theory.hessian_moments(X, -s, lam)
    with pytest.raises(ValueError, match="positive definite"):
        sgd_theory.LinearizedSGD(np.zeros((3, 3)), M)
    with pytest.raises(ValueError, match="M must be"):
        sgd_theory.LinearizedSGD(H, M[:4, :4])
    with pytest.raises(ValueError, match="lr must be positive"):
        lin.stationary(np.eye(3), 0.0)
    with pytest.raises(ValueError, match="batch must be"):
        lin.stability_limit(0)
    with pytest.raises(ValueError, match="Sigma must be"):
        lin.stationary(np.eye(2), 0.1)
    with pytest.raises(ValueError, match="N x d x d"):
        sgd_theory.reshuffling_bias(H, np.zeros((7, 3)), np.zeros((7, 3)), 0.1)


def test_symmetric_basis_is_orthonormal_and_spans_the_symmetric_matrices():
    d = 4
    U = sgd_theory._symmetric_basis(d)
    assert U.shape == (d * d, d * (d + 1) // 2)
    assert np.allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-14)
    A = np.random.default_rng(5).standard_normal((d, d))
    S, K = (A + A.T).reshape(d * d), (A - A.T).reshape(d * d)
    assert np.allclose(U @ (U.T @ S), S, atol=1e-13)      # symmetric: inside the span
    assert np.allclose(U.T @ K, 0, atol=1e-13)            # antisymmetric: orthogonal to it


def test_rate_is_the_growth_of_a_psd_covariance_under_the_map():
    """Power iteration from a PSD start stays PSD and grows or shrinks at rate() per step."""
    gen = np.random.default_rng(4)
    X = gen.standard_normal((25, 3)) * np.array([1.0, 0.5, 0.2])
    X[0] *= 6
    H, M = sgd_theory.hessian_moments(X)
    lin = sgd_theory.LinearizedSGD(H, M)
    for lr in [0.5 * lin.stability_limit(), 1.2 * lin.stability_limit()]:
        T = lin.operator(lr)
        p = np.eye(3).reshape(9)
        for _ in range(3000):
            p = T @ p
            p /= np.linalg.norm(p)
        assert np.linalg.eigvalsh(p.reshape(3, 3))[0] > -1e-12
        assert np.isclose(np.linalg.norm(T @ p), lin.rate(lr), rtol=1e-6)
