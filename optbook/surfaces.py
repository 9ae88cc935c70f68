"""Loss surfaces with exact gradients, for trajectories and for analysis.

Every surface takes points as arrays whose last axis holds the coordinates, so the same
call evaluates one point (shape ``(n,)``), a path (``(k, n)``) or a plotting grid
(``(h, w, n)``). ``trace`` runs an optimizer from ``optbook.numpy_optim`` (or any object
with the same ``step(grads)`` interface) on a surface and returns the path it takes;
``trace_torch`` does the same with a ``torch.optim`` optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def _points(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim == 0:
        raise ValueError("a point needs at least one coordinate")
    return w


class Surface:
    """A differentiable function of ``n`` variables with a plotting window."""

    name: str = "surface"
    dim: int = 2
    xlim: tuple[float, float] = (-2.0, 2.0)
    ylim: tuple[float, float] = (-2.0, 2.0)

    def f(self, w) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, w) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def minimizer(self) -> np.ndarray | None:
        return None

    def grid(self, num: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X, Y, Z`` over the plotting window, for ``contour``."""
        if self.dim != 2:
            raise ValueError(f"only a 2-D surface can be drawn, this one has {self.dim} variables")
        x = np.linspace(*self.xlim, num)
        y = np.linspace(*self.ylim, num)
        X, Y = np.meshgrid(x, y)
        Z = self.f(np.stack([X, Y], axis=-1))
        return X, Y, Z


@dataclass
class Quadratic(Surface):
    """``f(w) = ½ wᵀAw − bᵀw`` with symmetric positive definite ``A``.

    The model problem of the book: its Hessian is ``A`` everywhere, so ``L`` and ``μ`` are
    the largest and smallest eigenvalues of ``A`` and ``κ = L/μ`` is its condition number.
    """

    A: np.ndarray
    b: np.ndarray | None = None
    name: str = "quadratic"
    xlim: tuple[float, float] = (-2.0, 2.0)
    ylim: tuple[float, float] = (-2.0, 2.0)
    eigvals: np.ndarray = field(init=False, repr=False)
    eigvecs: np.ndarray = field(init=False, repr=False)
    _minimizer: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        A = np.array(self.A, dtype=float)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if not np.allclose(A, A.T):
            raise ValueError("A must be symmetric")
        self.A = A
        self.dim = A.shape[0]
        self.b = np.zeros(self.dim) if self.b is None else np.array(self.b, dtype=float)
        if self.b.shape != (self.dim,):
            raise ValueError(f"b must have shape ({self.dim},), got {self.b.shape}")
        self.eigvals, self.eigvecs = np.linalg.eigh(A)
        if self.eigvals[0] <= 0:
            raise ValueError(f"A must be positive definite; its smallest eigenvalue is {self.eigvals[0]:g}")
        self._minimizer = np.linalg.solve(A, self.b)
        self._minimizer.setflags(write=False)

    @classmethod
    def from_eigenvalues(cls, L: float, mu: float, angle: float = 0.0, **kwargs) -> Quadratic:
        """A 2-D quadratic with curvatures ``L`` and ``mu`` along axes rotated by ``angle`` (radians)."""
        if not (L >= mu > 0):
            raise ValueError(f"need L >= mu > 0, got L={L}, mu={mu}")
        c, s = np.cos(angle), np.sin(angle)
        Q = np.array([[c, -s], [s, c]])
        return cls(Q @ np.diag([L, mu]) @ Q.T, **kwargs)

    @property
    def L(self) -> float:
        return float(self.eigvals[-1])

    @property
    def mu(self) -> float:
        return float(self.eigvals[0])

    @property
    def kappa(self) -> float:
        return self.L / self.mu

    @property
    def minimizer(self) -> np.ndarray:
        """``w* = A⁻¹b``, solved once (read-only: copy it to change it)."""
        return self._minimizer

    def f(self, w) -> np.ndarray:
        w = _points(w)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.A, w) - w @ self.b

    def grad(self, w) -> np.ndarray:
        w = _points(w)
        return w @ self.A - self.b  # A is symmetric: (A w)ᵀ = wᵀ A


def random_quadratic(eigenvalues, rng: np.random.Generator) -> Quadratic:
    """A quadratic ``½ wᵀAw − bᵀw`` with the given eigenvalues, in a random rotation.

    ``A = Q diag(eigenvalues) Qᵀ``, symmetrized (``(A + Aᵀ)/2``, so that round-off leaves it
    exactly symmetric), where ``Q`` is the orthogonal factor of the QR decomposition of an
    ``n×n`` standard normal matrix; ``b`` is standard normal. Both come from ``rng``, in that
    order (``n² + n`` draws), so a notebook that seeds ``rng`` gets the same problem everywhere.
    """
    lams = np.asarray(eigenvalues, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D sequence, got shape {lams.shape}")
    if not np.all(np.isfinite(lams)) or np.any(lams <= 0):
        raise ValueError("eigenvalues must be positive and finite (A must be positive definite)")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (as optbook.setup returns), got {type(rng).__name__}")
    n = lams.size
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(lams) @ Q.T
    return Quadratic((A + A.T) / 2, b=rng.standard_normal(n))


LESSARD_MU, LESSARD_L = 1.0, 25.0


def lessard_grad(w) -> np.ndarray:
    """The gradient of the counterexample of Lessard, Recht and Packard (2016), elementwise.

    ``f`` is a quadratic on each of the three pieces ``w < 1``, ``1 ≤ w < 2``, ``w ≥ 2``, with
    curvature 25, 1 and 25; its gradient is continuous, so ``f`` is ``LESSARD_MU = 1``-strongly
    convex and ``LESSARD_L = 25``-smooth, with its minimum at ``w = 0``. Heavy ball at Polyak's
    tuning for κ = 25 does not converge on it (a 3-cycle); gradient descent and Nesterov do.
    """
    w = np.asarray(w, dtype=float)
    return np.where(w < 1, 25 * w, np.where(w < 2, w + 24, 25 * w - 24))


@dataclass
class Rosenbrock(Surface):
    """``f(x, y) = (a − x)² + b (y − x²)²``: a curved valley with its minimum at ``(a, a²)``.

    Its Hessian changes from point to point, so no single ``L`` bounds it on the whole plane.
    """

    a: float = 1.0
    b: float = 100.0
    name: str = "Rosenbrock"
    xlim: tuple[float, float] = (-2.0, 2.0)
    ylim: tuple[float, float] = (-1.0, 3.0)

    @property
    def minimizer(self) -> np.ndarray:
        return np.array([self.a, self.a**2])

    def f(self, w) -> np.ndarray:
        w = _points(w)
        x, y = w[..., 0], w[..., 1]
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def grad(self, w) -> np.ndarray:
        w = _points(w)
        x, y = w[..., 0], w[..., 1]
        gx = -2 * (self.a - x) - 4 * self.b * x * (y - x**2)
        gy = 2 * self.b * (y - x**2)
        return np.stack([gx, gy], axis=-1)

    def hessian(self, w) -> np.ndarray:
        w = _points(w)
        x, y = w[..., 0], w[..., 1]
        hxx = 2 - 4 * self.b * (y - x**2) + 8 * self.b * x**2
        hxy = -4 * self.b * x
        hyy = 2 * self.b * np.ones_like(x)
        return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)


@dataclass
class Saddle(Surface):
    """``f(x, y) = ½(a x² − c y²)``: a saddle point at the origin, unbounded below along ``y``."""

    a: float = 1.0
    c: float = 1.0
    name: str = "saddle"

    def f(self, w) -> np.ndarray:
        w = _points(w)
        return 0.5 * (self.a * w[..., 0] ** 2 - self.c * w[..., 1] ** 2)

    def grad(self, w) -> np.ndarray:
        w = _points(w)
        return np.stack([self.a * w[..., 0], -self.c * w[..., 1]], axis=-1)


def trace(surface: Surface, make_optimizer: Callable, w0, steps: int) -> np.ndarray:
    """Run ``steps`` steps of a NumPy optimizer on ``surface`` from ``w0``.

    ``make_optimizer(params)`` receives the list ``[w]`` and returns an optimizer whose
    ``step(grads)`` updates ``w`` in place (the API of ``optbook.numpy_optim``). Returns the
    path, shape ``(steps + 1, n)``, starting at ``w0``. A path that overflows is cut at the
    first non-finite point, so a divergent run can still be drawn.
    """
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    w = np.array(w0, dtype=float)
    opt = make_optimizer([w])
    path = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            opt.step([surface.grad(w)])
            path.append(w.copy())
            if not np.all(np.isfinite(w)):
                break
    return np.array(path)


def trace_torch(surface: Surface, make_optimizer: Callable, w0, steps: int) -> np.ndarray:
    """``trace`` for a ``torch.optim`` optimizer: ``make_optimizer([param])`` builds it.

    The gradient comes from ``surface.grad`` in float64 and is written to ``param.grad``,
    so the NumPy and torch paths see exactly the same numbers.
    """
    import torch

    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    p = torch.tensor(np.array(w0, dtype=float), dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([p])
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.from_numpy(surface.grad(p.detach().numpy()))
        opt.step()
        path.append(p.detach().numpy().copy())
        if not np.all(np.isfinite(path[-1])):
            break
    return np.array(path)
