"""optbook.sparse: the bag-of-words problem of Chapter 5 and its dense twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optbook import sparse
from optbook.problems import LogisticProblem


def test_zipf_probabilities_sum_to_one_and_decay():
    p = sparse.zipf_probabilities(100, 1.1)
    assert p.shape == (100,) and abs(p.sum() - 1) < 1e-14 and np.all(np.diff(p) < 0)
    assert np.isclose(p[0] / p[9], 10**1.1)
    assert np.allclose(sparse.zipf_probabilities(5, 0.0), 0.2)


def test_documents_follow_the_frequencies():
    rng = np.random.default_rng(0)
    tokens = sparse.sample_documents(20_000, 50, 10, rng, exponent=1.0)
    assert tokens.shape == (20_000, 10) and tokens.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() <= 49
    freq = np.bincount(tokens.ravel(), minlength=50) / tokens.size
    p = sparse.zipf_probabilities(50, 1.0)
    assert np.max(np.abs(freq - p)) < 4 * np.sqrt(p[0] / tokens.size)  # a few standard errors
    again = sparse.sample_documents(20_000, 50, 10, np.random.default_rng(0), exponent=1.0)
    assert np.array_equal(tokens, again), "the corpus depends only on the generator's state"


def test_counts_matrix_counts_repeated_words():
    X = sparse.counts_matrix(np.array([[0, 2, 2], [1, 1, 1]]), 4)
    assert np.array_equal(X, [[1, 0, 2, 0], [0, 3, 0, 0]])


@pytest.mark.parametrize("tokens, vocab, message", [
    (np.array([0, 1]), 3, "non-empty matrix"),
    (np.array([[0.0, 1.0]]), 3, "integer word ids"),
    (np.array([[0, 3]]), 3, "0..2"),
    (np.array([[0, -1]]), 3, "0..2"),
    (np.array([[0, 1]]), 0, "positive integer"),
])
def test_counts_matrix_refuses_bad_input(tokens, vocab, message):
    with pytest.raises(ValueError, match=message):
        sparse.counts_matrix(tokens, vocab)


def test_bag_of_words_task_layout():
    task = sparse.bag_of_words_task(np.random.default_rng(0), n_train=300, n_test=100, vocab=80,
                                    words_per_doc=6, first_informative=20)
    prob = task.problem
    assert isinstance(prob, LogisticProblem)
    assert prob.X.shape == (300, 81) and prob.X_test.shape == (100, 81)
    assert np.all(prob.X[:, -1] == 1) and np.all(prob.X_test[:, -1] == 1)
    assert np.array_equal(prob.X[:, :-1], sparse.counts_matrix(task.tokens, 80))
    assert np.array_equal(prob.X_test[:, :-1], sparse.counts_matrix(task.tokens_test, 80))
    assert np.all(prob.X[:, :-1].sum(axis=1) == 6)
    assert np.all(task.w_true[:20] == 0) and np.all(task.w_true[20:] != 0)
    assert set(np.unique(prob.y)) == {0.0, 1.0}
    freq = task.document_frequency()
    assert freq.shape == (80,) and freq[0] > 0.3 and freq[0] > 10 * freq[-20:].mean(), "frequent and rare words"


def test_the_features_are_sparse_and_the_dense_twin_is_not():
    task = sparse.bag_of_words_task(np.random.default_rng(1))
    nonzero = np.mean(task.problem.X[:, :-1] != 0)
    assert nonzero < 0.03, f"a bag of 10 words over 500 is sparse, got {nonzero:.3f} nonzero"
    dense = sparse.dense_task(np.random.default_rng(1))
    assert dense.X.shape == (2000, 51) and np.all(dense.X[:, -1] == 1)
    assert np.mean(dense.X[:, :-1] != 0) == 1.0
    assert np.allclose(dense.X[:, :-1].std(axis=0), 1, atol=0.1), "well scaled"


def test_the_labels_depend_on_the_rare_words():
    task = sparse.bag_of_words_task(np.random.default_rng(2))
    prob = task.problem
    w = prob.minimizer()
    assert prob.accuracy(w, test=True) > 0.7, "the rare words carry the label"
    frequent_only = w.copy()
    frequent_only[100:-1] = 0.0
    assert prob.accuracy(frequent_only, test=True) < 0.6, "the frequent words alone do not"


def test_counts_match_a_summed_embedding():
    task = sparse.bag_of_words_task(np.random.default_rng(3), n_train=50, n_test=10, vocab=40,
                                    words_per_doc=5, first_informative=5)
    emb = torch.nn.Embedding(40, 1).double()
    z_emb = emb(torch.from_numpy(task.tokens)).sum(dim=(1, 2)).detach().numpy()
    z_lin = task.problem.X[:, :-1] @ emb.weight.detach().numpy()[:, 0]
    assert np.allclose(z_emb, z_lin, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_train": 0}, "n_train"),
    ({"vocab": 2.5}, "vocab"),
    ({"first_informative": 500}, "first_informative"),
    ({"scale": 0.0}, "scale"),
    ({"lam": 0.0}, "lam"),
    ({"exponent": -1.0}, "exponent"),
])
def test_bag_of_words_task_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sparse.bag_of_words_task(np.random.default_rng(0), **kwargs)


def test_dense_task_refuses_bad_arguments():
    with pytest.raises(ValueError, match="rng"):
        sparse.dense_task(0)
    with pytest.raises(ValueError, match="dim"):
        sparse.dense_task(np.random.default_rng(0), dim=0)


def test_the_control_keeps_the_documents_and_moves_the_information_to_the_frequent_words():
    rare = sparse.bag_of_words_task(np.random.default_rng(4))
    frequent = sparse.bag_of_words_task(np.random.default_rng(4), informative="frequent")
    assert np.array_equal(rare.tokens, frequent.tokens) and np.array_equal(rare.tokens_test, frequent.tokens_test)
    assert np.array_equal(rare.problem.X, frequent.problem.X), "the same documents for the same seed"
    assert np.all(frequent.w_true[:100] != 0) and np.all(frequent.w_true[100:] == 0)
    assert not np.array_equal(rare.problem.y, frequent.problem.y), "other labels"
    prob = frequent.problem
    w = prob.minimizer(tol=1e-9)
    frequent_only = w.copy()
    frequent_only[100:-1] = 0.0
    assert prob.accuracy(frequent_only, test=True) > prob.accuracy(w, test=True) - 0.02, "the frequent words decide"
    rare_only = w.copy()
    rare_only[:100] = 0.0
    assert prob.accuracy(rare_only, test=True) < 0.6, "the rare words alone do not"


def test_informative_must_be_rare_or_frequent():
    with pytest.raises(ValueError, match="informative"):
        sparse.bag_of_words_task(np.random.default_rng(0), informative="all")


def test_the_dense_twin_is_well_conditioned_as_its_docstring_says():
    prob = sparse.dense_task(np.random.default_rng(5))
    gram = np.linalg.cond(prob.X.T @ prob.X / prob.n)
    predicted = ((1 + np.sqrt(50 / 2000)) / (1 - np.sqrt(50 / 2000))) ** 2
    assert abs(gram - predicted) < 0.25 * predicted, f"cond(XᵀX/N) = {gram:.2f}, predicted {predicted:.2f}"
    hess = np.linalg.cond(prob.hessian(prob.minimizer(tol=1e-9)))
    assert gram < hess < 15, f"the Hessian's condition number {hess:.1f} is larger than XᵀX/N's but small"


def test_the_sparse_newton_finds_the_same_minimizer():
    task = sparse.bag_of_words_task(np.random.default_rng(6), n_train=400, n_test=100, vocab=120)
    prob = task.problem
    w = sparse.newton_minimizer(prob, tol=1e-10)
    assert np.linalg.norm(prob.grad(w)) <= 1e-10
    assert np.max(np.abs(w - prob.minimizer(tol=1e-10))) < 1e-8
    dense = sparse.dense_task(np.random.default_rng(6), n_train=300, n_test=50, dim=10)
    assert np.max(np.abs(sparse.newton_minimizer(dense) - dense.minimizer(tol=1e-9))) < 1e-7


def test_the_sparse_newton_refuses_bad_input():
    prob = sparse.dense_task(np.random.default_rng(0), n_train=50, n_test=10, dim=3)
    with pytest.raises(ValueError, match="LogisticProblem"):
        sparse.newton_minimizer(prob.X)
    with pytest.raises(ValueError, match="tol"):
        sparse.newton_minimizer(prob, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        sparse.newton_minimizer(prob, max_iter=0)
    with pytest.raises(RuntimeError, match="did not reach"):
        sparse.newton_minimizer(prob, tol=1e-300, max_iter=3)
