"""Momentum methods on a quadratic: the 2×2 recurrence of each eigen-direction and its rate.

On ``f(w) = ½ wᵀAw − bᵀw`` the error ``e_k = w_k − w*`` of a momentum method splits, in the
eigenbasis of ``A``, into independent scalar recurrences, one per eigenvalue ``λ``:

* heavy ball (PyTorch's ``SGD(momentum=β)``, zero dampening, constant ``lr = η``)::

      x_{k+1} = (1 + β − ηλ) x_k − β x_{k−1}

* Nesterov (PyTorch's ``SGD(momentum=β, nesterov=True)``)::

      x_{k+1} = (1 + β)(1 − ηλ) x_k − β (1 − ηλ) x_{k−1}

Both are ``x_{k+1} = s x_k − p x_{k−1}``, whose characteristic polynomial is
``z² − s z + p``; the error shrinks like ``ρᵏ`` (times ``k`` when the two roots coincide),
where ``ρ`` is the larger modulus of the two roots, the *spectral radius* of the 2×2
matrix ``[[s, −p], [1, 0]]``. Gradient descent is the case ``β = 0``.

Every function broadcasts over NumPy arrays, so a whole ``(η, β)`` map is one call.
"""

from __future__ import annotations

import numpy as np

METHODS = ("heavy_ball", "nesterov")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def coefficients(lr, momentum, lam, method: str = "heavy_ball"):
    """``(s, p)`` of the recurrence ``x_{k+1} = s x_k − p x_{k−1}`` for eigenvalue ``lam``."""
    _check_method(method)
    lr, momentum, lam = (np.asarray(v, dtype=float) for v in (lr, momentum, lam))
    if method == "heavy_ball":
        return 1.0 + momentum - lr * lam, momentum + 0.0 * (lr * lam)
    a = 1.0 - lr * lam
    return (1.0 + momentum) * a, momentum * a


def matrix(lr: float, momentum: float, lam: float, method: str = "heavy_ball") -> np.ndarray:
    """The 2×2 matrix ``T`` with ``(x_{k+1}, x_k) = T (x_k, x_{k−1})`` for one eigenvalue."""
    s, p = coefficients(lr, momentum, lam, method)
    if s.ndim or p.ndim:
        raise ValueError("matrix() takes scalars; use radius() for arrays")
    return np.array([[float(s), -float(p)], [1.0, 0.0]])


def roots(lr, momentum, lam, method: str = "heavy_ball") -> tuple[np.ndarray, np.ndarray]:
    """The two eigenvalues of ``T``, the roots of ``z² − s z + p`` (complex arrays)."""
    s, p = coefficients(lr, momentum, lam, method)
    disc = np.sqrt((s * s - 4.0 * p).astype(complex))
    return (s + disc) / 2.0, (s - disc) / 2.0


def radius(lr, momentum, lam, method: str = "heavy_ball"):
    """Spectral radius ``max |z|`` over the roots of ``z² − s z + p``, for one eigenvalue.

    When the roots are complex (an under-damped oscillation) both have modulus ``√p``;
    when they are real the larger ``|z|`` is ``(|s| + √(s² − 4p)) / 2``.
    """
    s, p = coefficients(lr, momentum, lam, method)
    disc = s * s - 4.0 * p
    real = (np.abs(s) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    cplx = np.sqrt(np.abs(p))
    out = np.where(disc >= 0.0, real, cplx)
    return float(out) if out.ndim == 0 else out


def rate(lr, momentum, eigenvalues, method: str = "heavy_ball"):
    """The worst spectral radius over ``eigenvalues``: the linear rate of the method on ``A``.

    ``eigenvalues`` is a 1-D sequence (for instance ``[mu, L]``: for both methods the worst
    case over the interval ``[mu, L]`` is attained at an endpoint). ``lr`` and ``momentum``
    may be arrays of any broadcastable shape; the result has their broadcast shape.
    """
    lams = np.asarray(eigenvalues, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError("eigenvalues must be a non-empty 1-D sequence")
    if np.any(lams <= 0):
        raise ValueError("eigenvalues must be positive (a strongly convex quadratic)")
    lr = np.asarray(lr, dtype=float)[..., None]
    momentum = np.asarray(momentum, dtype=float)[..., None]
    out = np.max(radius(lr, momentum, lams, method), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def stable_lr(momentum, L: float, method: str = "heavy_ball"):
    """The largest stable learning rate for ``0 ≤ β < 1`` and top curvature ``L``.

    Heavy ball: ``η < 2(1 + β)/L``; Nesterov: ``η < 2(1 + β)/((1 + 2β)L)``.
    """
    _check_method(method)
    b = np.asarray(momentum, dtype=float)
    if np.any((b < 0) | (b >= 1)):
        raise ValueError("momentum must lie in [0, 1)")
    if L <= 0:
        raise ValueError(f"L must be positive, got {L}")
    out = 2 * (1 + b) / L if method == "heavy_ball" else 2 * (1 + b) / ((1 + 2 * b) * L)
    return float(out) if out.ndim == 0 else out


def _check_mu_L(mu: float, L: float) -> None:
    if not (L >= mu > 0):
        raise ValueError(f"need L >= mu > 0, got mu={mu}, L={L}")


def optimal_heavy_ball(mu: float, L: float) -> tuple[float, float, float]:
    """Polyak's tuning ``(η*, β*, ρ*)`` on a quadratic with curvatures in ``[mu, L]``.

    ``η* = 4/(√L + √μ)²``, ``β* = ((√κ − 1)/(√κ + 1))²``, ``ρ* = √β* = (√κ − 1)/(√κ + 1)``.
    """
    _check_mu_L(mu, L)
    sk = np.sqrt(L / mu)
    r = (sk - 1) / (sk + 1)
    return float(4 / (np.sqrt(L) + np.sqrt(mu)) ** 2), float(r**2), float(r)


def optimal_nesterov(mu: float, L: float) -> tuple[float, float, float]:
    """The best constant ``(η, β, ρ)`` for Nesterov on a quadratic (Lessard et al., 2016).

    ``η = 4/(3L + μ)``, ``β = (√(3κ+1) − 2)/(√(3κ+1) + 2)``, ``ρ = 1 − 2/√(3κ+1)``.
    """
    _check_mu_L(mu, L)
    q = np.sqrt(3 * L / mu + 1)
    return float(4 / (3 * L + mu)), float((q - 2) / (q + 2)), float(1 - 2 / q)


def tail_rate(errors, double_root: bool = False, tail: float = 0.5) -> float:
    """The rate ``r`` of a geometric tail ``‖e_k‖ ≈ C kᵐ rᵏ`` fitted by least squares.

    Fits ``log ‖e_k‖ − m log k = log C + k log r`` (``m = 1`` if ``double_root``, else 0)
    over the last ``tail`` fraction of the sequence. The first steps are a transient and
    must not be used; with a double root the plain step ratio ``‖e_k‖/‖e_{k−1}‖`` is
    ``r (1 + 1/(k−1))``, biased, which the ``log k`` term removes.
    """
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1 or e.size < 8:
        raise ValueError("errors must be a 1-D sequence of at least 8 norms")
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    if np.any(e <= 0) or not np.all(np.isfinite(e)):
        raise ValueError("errors must be positive and finite (stop before round-off or overflow)")
    k = np.arange(e.size, dtype=float)
    start = max(1, int(e.size * (1 - tail)))
    y = np.log(e[start:]) - (np.log(k[start:]) if double_root else 0.0)
    slope = np.polyfit(k[start:], y, 1)[0]
    return float(np.exp(slope))


def steps_to(lams, lr, momentum=0.0, method: str = "heavy_ball", tol: float = 1e-6, cap: int = 300_000) -> int:
    """Steps until ``‖e_k‖ < tol ‖e_0‖`` on the quadratic ``diag(lams)`` (minimum 0), from rest.

    Iterates the error recurrence of the method from ``e_0 = e_{−1} = (1, …, 1)`` (no initial
    velocity): heavy ball ``e_{k+1} = e_k − η λ e_k + β (e_k − e_{k−1})``, Nesterov
    ``e_{k+1} = (1 − ηλ)(e_k + β (e_k − e_{k−1}))``; ``momentum = 0`` is gradient descent.
    Returns the first ``k`` with ``‖e_k‖ < tol ‖e_0‖``, or ``cap`` if no ``k < cap`` reaches it.
    """
    _check_method(method)
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError("lams must be a non-empty 1-D sequence of curvatures")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must lie in (0, 1), got {tol}")
    if not isinstance(cap, (int, np.integer)) or cap < 2:
        raise ValueError(f"cap must be an integer of at least 2, got {cap!r}")
    e = e_prev = np.ones(lams.size)
    e0 = np.linalg.norm(e)
    for k in range(1, cap):
        if method == "heavy_ball":
            e, e_prev = e - lr * lams * e + momentum * (e - e_prev), e
        else:
            e, e_prev = (1 - lr * lams) * (e + momentum * (e - e_prev)), e
        if np.linalg.norm(e) < tol * e0:
            return k
    return cap


def _pytorch_momentum_step(w, g, buf, lr, momentum):
    """One step of ``torch.optim.SGD(momentum=…)``, zero dampening: ``b ← βb + g`` (``b = g`` first), ``w ← w − ηb``."""
    buf = g if buf is None else momentum * buf + g
    return w - lr * buf, buf


def sgdm_errors(grad, w0, w_star, lr, momentum, steps: int, step=None) -> np.ndarray:
    """``‖w_k − w*‖`` for ``k = 1 … steps`` of SGD with momentum from ``w0``, given the gradient ``grad(w)``.

    The update is PyTorch's (``torch.optim.SGD(momentum=momentum)``, zero dampening), or
    ``step(w, g, buf, lr, momentum) -> (w, buf)`` when given: a lab passes the student's own
    step, so that the rates it measures are those of the student's code. ``buf`` starts as
    ``None``. The errors feed ``tail_rate``.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not lr >= 0:
        raise ValueError(f"lr must be non-negative, got {lr}")
    step = _pytorch_momentum_step if step is None else step
    w, buf, w_star, out = np.array(w0, dtype=float), None, np.asarray(w_star, dtype=float), []
    for _ in range(steps):
        w, buf = step(w, grad(w), buf, lr, momentum)
        out.append(np.linalg.norm(w - w_star))
    return np.array(out)
