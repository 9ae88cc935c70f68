"""Second moments of linearized SGD (Chapter 2): multiplicative noise, stability, interpolation.

Near a minimizer ``w*`` of a finite sum ``f = (1/N) Σ f_i``, the gradient of example ``i`` is
``∇f_i(w) ≈ g_i + H_i e`` with ``e = w − w*``, ``g_i = ∇f_i(w*)`` and ``H_i = ∇²f_i(w*)``. A step
of SGD with a batch of ``B`` examples drawn with replacement is then
``e ← e − η (ḡ_B + H̄_B e)``, and the covariance ``P = E[e eᵀ]`` obeys (Chapter 2 derives it)::

    P ← (I − ηH) P (I − ηH) + η² (E[H_i P H_i] − H P H) / B + η² Σ / B

with ``H = mean H_i`` and ``Σ = mean g_i g_iᵀ``. On vectorized matrices ``E[H_i P H_i]`` is
``M vec(P)`` with ``M = mean H_i ⊗ H_i``. Every per-example Hessian here has the form
``H_i = s_i x_i x_iᵀ + λ I`` (least squares: ``s_i = 1, λ = 0``; L2-regularized logistic
regression: ``s_i = σ(z_i)(1 − σ(z_i))``), which makes ``M`` one matrix product;
:class:`LinearizedSGD` solves for ``P``.
"""

from __future__ import annotations

import numpy as np


def _check_data(X, s, lam):
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be an N x d array with N, d >= 1, got shape {X.shape}")
    s = np.ones(X.shape[0]) if s is None else np.asarray(s, dtype=float)
    if s.shape != (X.shape[0],):
        raise ValueError(f"s must have one weight per row of X, shape ({X.shape[0]},), got {s.shape}")
    if np.any(s < 0) or lam < 0:
        raise ValueError("the weights s and lam must be non-negative (convex per-example losses)")
    return X, s


def hessian_moments(X, s=None, lam: float = 0.0):
    """``H = mean H_i`` and ``M = mean H_i ⊗ H_i`` (d² × d²) for ``H_i = s_i x_i x_iᵀ + λI``."""
    X, s = _check_data(X, s, lam)
    n, d = X.shape
    A = (X.T * s) @ X / n                                     # mean s_i x_i x_iᵀ
    V = np.einsum("na,nb->nab", X, X).reshape(n, d * d)       # rows vec(x_i x_iᵀ)
    M = (V.T * s**2) @ V / n
    eye = np.eye(d)
    if lam:
        M += lam * (np.kron(A, eye) + np.kron(eye, A)) + lam**2 * np.eye(d * d)
    return A + lam * eye, M


class LinearizedSGD:
    """The second-moment map of linearized SGD near ``w*``, for a given ``H`` and ``M``.

    ``T_B(P) = (I − ηH) P (I − ηH) + η² (E[H_i P H_i] − HPH) / B`` is the noise-free part of the
    recursion in the module docstring. On vectorized matrices ``T_B = I − ηK + η² N_B`` with
    ``K = H⊗I + I⊗H`` and ``N_B = H⊗H + (M − H⊗H)/B``, so ``I − T_B = η K^½ (I − η S_B) K^½``
    with ``S_B = K^-½ N_B K^-½``: one symmetric eigendecomposition of ``S_B`` (computed once per
    ``B``, in the eigenbasis of ``H``) gives the stationary covariance at every ``η`` and the
    stability limit ``1/λ_max(S_B)``. Covariances are symmetric, so everything is computed on the
    d(d+1)/2-dimensional subspace of symmetric matrices (``T_B`` maps it to itself).
    """

    def __init__(self, H, M):
        H, M = np.asarray(H, float), np.asarray(M, float)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix, got shape {H.shape}")
        d = H.shape[0]
        if M.shape != (d * d, d * d):
            raise ValueError(f"M must be {d * d} x {d * d} for a {d} x {d} H, got {M.shape}")
        h, Q = np.linalg.eigh((H + H.T) / 2)
        if h[0] <= 0:
            raise ValueError("H must be positive definite (a strongly convex minimum)")
        self.H, self.M, self.h, self.Q, self.d = H, M, h, Q, d
        QQ = np.kron(Q, Q)
        self._M_eig = QQ.T @ M @ QQ
        self._sqrt_k = np.sqrt((h[:, None] + h[None, :]).reshape(d * d))
        self._eig = {}
        self._sym = _symmetric_basis(d)                           # d² × d(d+1)/2, orthonormal

    def _check(self, lr, batch):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")

    def _spectrum(self, batch):
        if batch not in self._eig:
            hh = np.kron(self.h, self.h)
            N = (self._M_eig - np.diag(hh)) / batch + np.diag(hh)
            S = N / np.outer(self._sqrt_k, self._sqrt_k)
            S = self._sym.T @ ((S + S.T) / 2) @ self._sym              # restricted to symmetric P
            lam, V = np.linalg.eigh((S + S.T) / 2)
            self._eig[batch] = lam, self._sym @ V
        return self._eig[batch]

    def stability_limit(self, batch: int = 1) -> float:
        """Largest ``η`` for which ``E‖e_k‖²`` stays bounded: ``T_B``'s spectral radius reaches 1.

        ``T_B`` itself need not be positive semi-definite as a d² × d² matrix (``M − H⊗H`` is
        indefinite in general), but ``T_B(P) = E[(I − ηH̄_B) P (I − ηH̄_B)]`` maps positive
        semi-definite matrices to positive semi-definite ones. By the Krein–Rutman theorem for
        that cone, its spectral radius on symmetric matrices is an eigenvalue with a positive
        semi-definite eigenvector, so it first reaches 1 where ``T_B(P) = P``, that is where
        ``(I − ηS_B) K^½ vec P = 0``: at ``η = 1/λ_max(S_B)``, with ``S_B`` restricted to
        symmetric matrices (as it is here).
        """
        self._check(1.0, batch)
        return float(1.0 / self._spectrum(batch)[0][-1])

    def operator(self, lr: float, batch: int = 1) -> np.ndarray:
        """The d² × d² matrix of ``T_B`` (vec P row-major), for checks and small problems."""
        self._check(lr, batch)
        G = np.eye(self.d) - lr * self.H
        HH = np.kron(self.H, self.H)
        return np.kron(G, G) + lr**2 * (self.M - HH) / batch

    def rate(self, lr: float, batch: int = 1) -> float:
        """Spectral radius of ``T_B`` on symmetric matrices: the asymptotic factor by which
        ``E‖e_k‖²`` shrinks per step when Σ = 0."""
        T = self.operator(lr, batch)
        U = _symmetric_basis(self.d)
        T = U.T @ ((T + T.T) / 2) @ U
        return float(np.max(np.abs(np.linalg.eigvalsh((T + T.T) / 2))))

    def stationary(self, Sigma, lr: float, batch: int = 1) -> np.ndarray:
        """Stationary ``P = E[e eᵀ]``: the solution of ``P = T_B(P) + η² Σ / B``.

        Raises ValueError when ``lr`` is at or above :meth:`stability_limit` (no stationary
        covariance exists) or when ``lr · h_max > 1`` (outside what this solver covers).
        """
        self._check(lr, batch)
        Sigma = np.asarray(Sigma, float)
        if Sigma.shape != (self.d, self.d):
            raise ValueError(f"Sigma must be {self.d} x {self.d}, got {Sigma.shape}")
        if lr * self.h[-1] > 1:
            raise ValueError(f"lr = {lr} exceeds 1/h_max = {1 / self.h[-1]:.4g}: outside this solver")
        lam, U = self._spectrum(batch)
        if lr * lam[-1] >= 1:
            raise ValueError(f"lr = {lr} is not mean-square stable for batch {batch} "
                             f"(limit {1 / lam[-1]:.4g}): no stationary covariance")
        s = (self.Q.T @ Sigma @ self.Q).reshape(self.d**2) / self._sqrt_k
        p = (lr / batch) * (U @ ((U.T @ s) / (1 - lr * lam))) / self._sqrt_k
        P = self.Q @ p.reshape(self.d, self.d) @ self.Q.T
        return (P + P.T) / 2


def _symmetric_basis(d: int) -> np.ndarray:
    """Orthonormal basis (columns) of the vectorized symmetric d × d matrices, d² × d(d+1)/2."""
    j, k = np.triu_indices(d)
    U = np.zeros((d * d, len(j)))
    cols = np.arange(len(j))
    U[j * d + k, cols] = np.where(j == k, 1.0, np.sqrt(0.5))
    U[k * d + j, cols] = np.where(j == k, 1.0, np.sqrt(0.5))
    return U


def reshuffling_bias(H, Hs, G, lr: float) -> np.ndarray:
    """First-order bias of random reshuffling (B = 1) at the ends of epochs: ``−(η/2) H⁻¹ C``.

    ``Hs`` is the N × d × d stack of per-example Hessians at ``w*``, ``G`` the N × d per-example
    gradients there (their mean must be 0), ``C = (1/N) Σ_i H_i g_i``.
    """
    Hs, G = np.asarray(Hs, float), np.asarray(G, float)
    if Hs.ndim != 3 or G.ndim != 2 or Hs.shape[:2] != G.shape or Hs.shape[2] != G.shape[1]:
        raise ValueError(f"Hs must be N x d x d and G N x d, got {Hs.shape} and {G.shape}")
    C = np.einsum("nab,nb->a", Hs, G) / len(G)
    return -0.5 * lr * np.linalg.solve(np.asarray(H, float), C)
