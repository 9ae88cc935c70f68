"""The book's convex test problem: L2-regularized logistic regression on real data.

Chapter 2 and Lab 1 need a problem that is a *finite sum* of per-example losses (so that a
mini-batch gradient means something), that is strongly convex (so that it has one minimizer
to measure the distance to), and whose minimizer is known to many more digits than any
optimizer reaches. Logistic regression on scikit-learn's breast-cancer data (569 tumours,
30 features, shipped with the package: nothing is downloaded) is such a problem once an L2
term is added; without it the two classes are (nearly) separable and the loss has no
minimum.

With labels ``y_i ∈ {0, 1}``, inputs ``x_i`` (standardized features and a constant 1) and
``p_i = σ(x_iᵀw)``, ``σ(z) = 1/(1 + e^{−z})``, the loss is PyTorch's
``binary_cross_entropy_with_logits`` (mean reduction) plus ``(λ/2)‖w‖²``::

    f(w) = (1/N) Σ_i [log(1 + e^{z_i}) − y_i z_i] + (λ/2)‖w‖²,   z_i = x_iᵀw
    ∇f(w) = (1/N) Xᵀ(p − y) + λw
    ∇²f(w) = (1/N) Xᵀ diag(p(1 − p)) X + λI

Every function takes optional ``idx`` (an array of example indices) to evaluate the same
formulas on a mini-batch: the *mean* over the batch plus the full L2 term, which is what a
training loop computes.

:func:`fit_least_squares` is the other convex problem of Chapters 3 and 4: a linear model
without bias trained by ``torch.optim.SGD`` on ``½ mean((Xw − y)²)``, whose Hessian
``XᵀX/N`` sets the curvatures the momentum tunings need; :func:`scaled_regression` is the one
data set both chapters train it on (features on four scales, κ = 100 for the default seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

SPLIT_SEED = 20240602  # the one permutation that fixes the split; never changed
N_TRAIN = 455  # 80 % of the 569 examples train, the other 114 test
DEFAULT_LAM = 0.1


def _check_w(w, d: int) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.shape != (d,):
        raise ValueError(f"w must have shape ({d},), got {w.shape}")
    return w


@dataclass
class LogisticProblem:
    """``f(w) = mean BCE-with-logits(Xw, y) + (λ/2)‖w‖²`` on fixed data ``X`` (N×d), ``y`` ∈ {0,1}ᴺ."""

    X: np.ndarray
    y: np.ndarray
    lam: float = DEFAULT_LAM
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    _w_star: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.X = np.asarray(self.X, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        if self.X.ndim != 2:
            raise ValueError(f"X must be a matrix (N, d), got shape {self.X.shape}")
        if self.y.shape != (self.X.shape[0],):
            raise ValueError(f"y must have shape ({self.X.shape[0]},), got {self.y.shape}")
        if not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("labels y must be 0 or 1 (PyTorch's convention for binary cross-entropy)")
        if not self.lam > 0:
            raise ValueError(f"the L2 coefficient lam must be positive (else no minimizer), got {self.lam!r}")

    @property
    def n(self) -> int:
        """Number of training examples ``N``."""
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        """Number of parameters ``d`` (features plus the constant)."""
        return self.X.shape[1]

    def _batch(self, idx):
        if idx is None:
            return self.X, self.y
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError("idx must be a non-empty 1-D array of example indices")
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"idx must hold integer indices, got dtype {idx.dtype}")
        if idx.min() < 0 or idx.max() >= self.n:
            raise ValueError(f"indices must lie in 0..{self.n - 1}")
        return self.X[idx], self.y[idx]

    def loss(self, w, idx=None) -> float:
        """``f(w)``, or the same formula on the examples ``idx`` (mean over them, plus the L2 term)."""
        w = _check_w(w, self.dim)
        X, y = self._batch(idx)
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * self.lam * (w @ w))

    def grad(self, w, idx=None) -> np.ndarray:
        """``∇f(w) = Xᵀ(σ(Xw) − y)/N + λw`` (on the batch ``idx`` if given: mean over the batch)."""
        w = _check_w(w, self.dim)
        X, y = self._batch(idx)
        return X.T @ (expit(X @ w) - y) / len(y) + self.lam * w

    def per_example_grads(self, w) -> np.ndarray:
        """The N×d matrix whose row i is ``∇f_i(w) = (p_i − y_i) x_i + λw``; their mean is ``∇f(w)``."""
        w = _check_w(w, self.dim)
        return (expit(self.X @ w) - self.y)[:, None] * self.X + self.lam * w

    def hessian(self, w, idx=None) -> np.ndarray:
        """``∇²f(w) = Xᵀ diag(p(1−p)) X / N + λI``."""
        w = _check_w(w, self.dim)
        X, _ = self._batch(idx)
        p = expit(X @ w)
        return (X.T * (p * (1 - p))) @ X / len(X) + self.lam * np.eye(self.dim)

    @property
    def L(self) -> float:
        """A global smoothness constant: ``λ_max(XᵀX)/(4N) + λ`` (since p(1−p) ≤ 1/4), attained at w = 0."""
        return float(np.linalg.eigvalsh(self.X.T @ self.X / (4 * self.n))[-1] + self.lam)

    @property
    def mu(self) -> float:
        """The global strong-convexity constant ``λ``."""
        return float(self.lam)

    def minimizer(self, tol: float = 1e-13, max_iter: int = 50) -> np.ndarray:
        """The minimizer ``w*`` by Newton's method, to ``‖∇f(w*)‖ ≤ tol`` (cached).

        Newton converges quadratically here; each step is damped by backtracking if it would
        not decrease f, so it converges from w = 0 for any λ > 0.
        """
        if self._w_star is not None:
            return self._w_star.copy()
        w = np.zeros(self.dim)
        for _ in range(max_iter):
            g = self.grad(w)
            if np.linalg.norm(g) <= tol:
                break
            step = np.linalg.solve(self.hessian(w), g)
            t, f0 = 1.0, self.loss(w)
            while self.loss(w - t * step) > f0 and t > 1e-8:
                t *= 0.5
            w = w - t * step
        else:
            raise RuntimeError(f"Newton's method did not reach ‖∇f‖ ≤ {tol:g} in {max_iter} iterations")
        self._w_star = w
        return w.copy()

    def accuracy(self, w, test: bool = False) -> float:
        """Fraction of training (or test) examples classified correctly by ``x ↦ [xᵀw > 0]``."""
        w = _check_w(w, self.dim)
        if test:
            if self.X_test is None:
                raise ValueError("this problem has no test split")
            X, y = self.X_test, self.y_test
        else:
            X, y = self.X, self.y
        return float(np.mean((X @ w > 0) == (y == 1)))


def breast_cancer(lam: float = DEFAULT_LAM, n_train: int = N_TRAIN) -> LogisticProblem:
    """Logistic regression on scikit-learn's breast-cancer data, split and standardized once.

    The 569 examples are permuted with the fixed seed ``SPLIT_SEED``; the first ``n_train``
    train, the rest test. Each of the 30 features is standardized with the *training* mean
    and standard deviation, and a constant feature 1 is appended last (the bias, which the
    L2 term also penalizes, so that λ is the strong-convexity constant). Label 1 = malignant.
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    n = len(data.target)
    if not isinstance(n_train, int) or not 1 < n_train < n:
        raise ValueError(f"n_train must be an integer between 2 and {n - 1}, got {n_train!r}")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    X = data.data[order].astype(float)
    y = (data.target[order] == 0).astype(float)  # sklearn: 0 = malignant, 1 = benign
    mean, std = X[:n_train].mean(axis=0), X[:n_train].std(axis=0)
    X = (X - mean) / std
    X = np.hstack([X, np.ones((n, 1))])
    return LogisticProblem(X[:n_train], y[:n_train], lam=lam, X_test=X[n_train:], y_test=y[n_train:])


def fit_least_squares(X, y, steps: int, **sgd_kwargs) -> float:
    """Train ``w`` from 0 by ``torch.optim.SGD(**sgd_kwargs)`` on ``½ mean((Xw − y)²)``; the last loss.

    ``X`` (N×d) and ``y`` (N,) are float64 tensors (arrays are converted). The model is
    ``torch.nn.Linear(d, 1, bias=False)`` in float64 with its weight zeroed; building it draws
    from torch's generator as any ``Linear`` does. Each of the ``steps`` steps computes the
    full-batch loss, back-propagates and steps, so the value returned is the loss at the start
    of the last step, ``f(w_{steps−1})``. ``sgd_kwargs`` go to ``torch.optim.SGD`` as they are
    (``lr``, ``momentum``, ``nesterov``, ...), which checks them.
    """
    import torch

    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty matrix (N, d), got shape {tuple(X.shape)}")
    if tuple(y.shape) != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if "lr" not in sgd_kwargs:
        raise ValueError("give the learning rate: fit_least_squares(X, y, steps, lr=..., ...)")
    model = torch.nn.Linear(X.shape[1], 1, bias=False).double()
    torch.nn.init.zeros_(model.weight)
    opt = torch.optim.SGD(model.parameters(), **sgd_kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((model(X).squeeze(1) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return loss.item()


def scaled_regression(seed: int = 0, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares data set of Chapters 3 and 4: ``n`` examples, 4 features on scales 1, 2, 4, 10.

    ``X = Z · diag(1, 2, 4, 10)`` with ``Z`` standard normal (n×4) and
    ``y = X w_true + 0.1 ε`` with ``w_true = (1, −1, 0.5, 0.2)`` and ``ε`` standard normal, all
    drawn from ``np.random.default_rng(seed)`` (its own generator, so the data do not depend on
    what a notebook drew before). Returned as float64 arrays ``X`` (n×4) and ``y`` (n,); the loss
    ``½ mean((Xw − y)²)`` has the Hessian ``XᵀX/n``, whose eigenvalues are the curvatures the
    momentum tunings need (:func:`fit_least_squares` trains on it).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise ValueError(f"n must be an integer ≥ 4 (at least as many examples as features), got {n!r}")
    gen = np.random.default_rng(seed)
    scales = np.array([1.0, 2.0, 4.0, 10.0])
    w_true = np.array([1.0, -1.0, 0.5, 0.2])
    X = gen.standard_normal((n, 4)) * scales
    y = X @ w_true + 0.1 * gen.standard_normal(n)
    return X, y
