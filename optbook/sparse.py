"""Sparse features for Chapter 5 (Adagrad): a bag-of-words corpus and a dense twin.

Adagrad was made for problems in which most features are zero most of the time and the
rare ones carry information: text as bags of words, one-hot categories in recommendation.
This module generates such a problem offline, with nothing downloaded:

* :func:`sample_documents` draws documents of ``words_per_doc`` tokens each from a
  vocabulary whose word frequencies follow Zipf's law, ``p_j ∝ 1/(j + 1)^exponent``
  (word 0 the most frequent), by inverting the cumulative distribution of one uniform draw
  per token, so the corpus depends only on the generator's stream;
* :func:`counts_matrix` turns the tokens into the ``N × vocab`` matrix of word counts, the
  design matrix of a linear model on bags of words (the same numbers as summing one
  embedding row per token: ``nn.Embedding(vocab, 1)`` summed over a document);
* :func:`bag_of_words_task` labels the documents with a logistic model whose informative
  words are the *rare* ones (the most frequent ``first_informative`` words, the "stop
  words", have weight 0), and returns an L2-regularized logistic regression
  (:class:`optbook.problems.LogisticProblem`, a constant feature appended last) with a test
  split and the tokens, so that a torch model can read the same documents; with
  ``informative="frequent"`` it makes the control in which the same frequent words carry
  the label and the rare ones do not;
* :func:`dense_task` is the contrast: standard normal features, every one informative,
  well scaled, the same kind of problem;
* :func:`newton_minimizer` finds the minimizer of such a problem as
  :meth:`LogisticProblem.minimizer <optbook.problems.LogisticProblem.minimizer>` does, with
  the Hessian formed from a sparse copy of the design matrix, which is much faster for a
  bag of words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.special import expit

from optbook.problems import LogisticProblem

__all__ = ["SparseTask", "bag_of_words_task", "counts_matrix", "dense_task", "newton_minimizer",
           "sample_documents", "zipf_probabilities"]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (as optbook.setup returns), got {type(rng).__name__}")


def zipf_probabilities(vocab: int, exponent: float = 1.1) -> np.ndarray:
    """Word frequencies ``p_j = (j + 1)^(−exponent) / Σ_k (k + 1)^(−exponent)``, ``j = 0..vocab−1``."""
    vocab = _positive_int("vocab", vocab)
    if not (np.isfinite(exponent) and exponent >= 0):
        raise ValueError(f"exponent must be a finite number >= 0, got {exponent!r}")
    p = np.arange(1, vocab + 1, dtype=float) ** (-float(exponent))
    return p / p.sum()


def sample_documents(n_docs: int, vocab: int, words_per_doc: int, rng: np.random.Generator,
                     exponent: float = 1.1) -> np.ndarray:
    """``n_docs × words_per_doc`` token ids drawn independently from :func:`zipf_probabilities`.

    One uniform number per token (``rng.random``, row by row) is mapped through the
    cumulative distribution, so the same generator state gives the same corpus everywhere.
    A word may occur more than once in a document.
    """
    n_docs = _positive_int("n_docs", n_docs)
    words_per_doc = _positive_int("words_per_doc", words_per_doc)
    _check_rng(rng)
    cdf = np.cumsum(zipf_probabilities(vocab, exponent))
    u = rng.random((n_docs, words_per_doc))
    return np.minimum(np.searchsorted(cdf, u, side="right"), vocab - 1).astype(np.int64)


def counts_matrix(tokens, vocab: int) -> np.ndarray:
    """The ``N × vocab`` matrix of word counts of documents given as rows of token ids."""
    vocab = _positive_int("vocab", vocab)
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise ValueError(f"tokens must be a non-empty matrix (documents × tokens), got shape {tokens.shape}")
    if not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"tokens must be integer word ids, got dtype {tokens.dtype}")
    if tokens.min() < 0 or tokens.max() >= vocab:
        raise ValueError(f"token ids must lie in 0..{vocab - 1}")
    X = np.zeros((tokens.shape[0], vocab))
    rows = np.repeat(np.arange(tokens.shape[0]), tokens.shape[1])
    np.add.at(X, (rows, tokens.ravel()), 1.0)
    return X


def _labels(X: np.ndarray, w_true: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    z = X @ w_true
    return (rng.random(len(z)) < expit(z - z.mean())).astype(float)  # centred: both classes occur


@dataclass
class SparseTask:
    """A bag-of-words classification problem: the regression and the documents behind it.

    ``problem`` has the count features (word ``j`` in column ``j``) and a constant feature 1
    in the last column; ``tokens``/``tokens_test`` are the documents of its training and test
    splits, row for row; ``w_true`` is the weight per word the labels were drawn from.
    """

    problem: LogisticProblem
    tokens: np.ndarray
    tokens_test: np.ndarray
    w_true: np.ndarray

    @property
    def vocab(self) -> int:
        return len(self.w_true)

    def document_frequency(self) -> np.ndarray:
        """Fraction of training documents in which each word occurs."""
        return (self.problem.X[:, :-1] > 0).mean(axis=0)


def bag_of_words_task(rng: np.random.Generator, n_train: int = 2000, n_test: int = 1000, vocab: int = 500,
                      words_per_doc: int = 10, exponent: float = 1.1, first_informative: int = 100,
                      scale: float = 3.0, lam: float = 1e-4, informative: str = "rare") -> SparseTask:
    """Logistic regression on bags of Zipf-distributed words whose rare words decide the label.

    Draws, from ``rng`` and in this order: the documents (training and test together), the
    weights ``w_true[j] ~ N(0, scale²)`` for ``j ≥ first_informative`` (0 for the frequent
    words before), and the labels ``y ~ Bernoulli(σ(x·w_true − mean))``.

    ``informative="frequent"`` is the control: the weights of the words ``j <
    first_informative`` are drawn instead and the rarer words get weight 0. The draws are the
    same in number and order, so the same generator state gives the same documents.
    """
    n_train, n_test = _positive_int("n_train", n_train), _positive_int("n_test", n_test)
    vocab = _positive_int("vocab", vocab)
    if isinstance(first_informative, bool) or not isinstance(first_informative, (int, np.integer)) \
            or not 0 <= first_informative < vocab:
        raise ValueError(f"first_informative must be an integer in 0..{vocab - 1}, got {first_informative!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if informative not in ("rare", "frequent"):
        raise ValueError(f'informative must be "rare" or "frequent", got {informative!r}')
    tokens = sample_documents(n_train + n_test, vocab, words_per_doc, rng, exponent)
    X = counts_matrix(tokens, vocab)
    rare = np.arange(vocab) >= first_informative
    w_true = np.where(rare if informative == "rare" else ~rare, rng.normal(0.0, scale, vocab), 0.0)
    y = _labels(X, w_true, rng)
    X = np.hstack([X, np.ones((len(X), 1))])
    problem = LogisticProblem(X[:n_train], y[:n_train], lam=lam, X_test=X[n_train:], y_test=y[n_train:])
    return SparseTask(problem, tokens[:n_train], tokens[n_train:], w_true)


def dense_task(rng: np.random.Generator, n_train: int = 2000, n_test: int = 1000, dim: int = 50,
               scale: float = 0.5, lam: float = 1e-4) -> LogisticProblem:
    """The dense contrast: standard normal features, ``w_true ~ N(0, scale²)`` for all of them.

    Every feature has unit variance, so ``XᵀX/N`` is close to the identity (its condition
    number is near ``((1 + √(dim/N)) / (1 − √(dim/N)))²``, about 1.9 for the defaults) and
    the Hessian ``XᵀDX/N + λI`` at the minimizer is only mildly ill-conditioned (the weights
    ``D = σ(1 − σ)`` vary from example to example; its condition number is about 6 to 10 for
    the defaults, depending on the draw): no coordinate needs a rate of its own. The same
    order of draws (features, weights, labels) and the same layout as
    :func:`bag_of_words_task`.
    """
    n_train, n_test = _positive_int("n_train", n_train), _positive_int("n_test", n_test)
    dim = _positive_int("dim", dim)
    _check_rng(rng)
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    X = rng.standard_normal((n_train + n_test, dim))
    w_true = rng.normal(0.0, scale, dim)
    y = _labels(X, w_true, rng)
    X = np.hstack([X, np.ones((len(X), 1))])
    return LogisticProblem(X[:n_train], y[:n_train], lam=lam, X_test=X[n_train:], y_test=y[n_train:])


def newton_minimizer(problem: LogisticProblem, tol: float = 1e-9, max_iter: int = 50) -> np.ndarray:
    """The minimizer ``w*`` of ``problem`` to ``‖∇f(w*)‖ ≤ tol``, by damped Newton from ``w = 0``.

    The iteration of :meth:`optbook.problems.LogisticProblem.minimizer` (a Newton step,
    halved until ``f`` does not increase), with the Hessian ``XᵀDX/N + λI`` built from a
    sparse copy of ``X``: for the bag of words the product costs a few thousand operations
    per document instead of ``dim²``. The result is not cached in ``problem``.
    """
    if not isinstance(problem, LogisticProblem):
        raise ValueError(f"problem must be an optbook.problems.LogisticProblem, got {type(problem).__name__}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    max_iter = _positive_int("max_iter", max_iter)
    X = scipy.sparse.csr_matrix(problem.X)
    w = np.zeros(problem.dim)
    for _ in range(max_iter):
        g = problem.grad(w)
        if np.linalg.norm(g) <= tol:
            return w
        p = expit(X @ w)
        H = (X.T @ scipy.sparse.diags(p * (1 - p)) @ X).toarray() / problem.n + problem.lam * np.eye(problem.dim)
        step = np.linalg.solve(H, g)
        t, f0 = 1.0, problem.loss(w)
        while problem.loss(w - t * step) > f0 and t > 1e-8:
            t *= 0.5
        w = w - t * step
    raise RuntimeError(f"Newton's method did not reach ‖∇f‖ ≤ {tol:g} in {max_iter} iterations")
