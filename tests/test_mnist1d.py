"""MNIST-1D is frozen package data: the file is the book's, regenerating it offline gives the same
numbers, the generator touches neither the network nor the caller's global random state, and the
per-seed splits and label noise do what their docstring says."""

from __future__ import annotations

import random
import socket
import sys

import numpy as np
import pytest

from optbook import data

from helpers import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import freeze_mnist1d  # noqa: E402


def test_the_frozen_file_is_the_books_snapshot():
    x, y = data.mnist1d_arrays()
    assert x.shape == (5000, 40) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [500] * 10  # the generator makes 500 signals of each class
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-2  # standardized over the set


def test_regenerating_offline_gives_the_frozen_numbers_and_leaves_global_generators_alone():
    np.random.seed(123)
    random.seed(123)
    before = np.random.get_state()[1].copy(), random.getstate()
    x, y = freeze_mnist1d.generate()
    assert np.array_equal(np.random.get_state()[1], before[0]) and random.getstate() == before[1]
    fx, fy = data.mnist1d_arrays()
    assert np.array_equal(y, fy)
    assert float(np.max(np.abs(x - fx))) < 1e-5  # float32 storage; SciPy's kernels may move the last bits


def test_the_network_guard_refuses_a_connection():
    with freeze_mnist1d.no_network(), pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("127.0.0.1", 9))
    s = socket.socket()
    s.close()  # restored: a socket can be made and closed again


def test_splits_are_disjoint_reproducible_and_differ_between_seeds():
    a, b = data.mnist1d(0), data.mnist1d(1)
    assert [len(a[k]) for k in ("train", "val", "test")] == [3000, 1000, 1000]
    rows = {k: {r.tobytes() for r in a[k].x} for k in a}
    assert not (rows["train"] & rows["val"] or rows["train"] & rows["test"] or rows["val"] & rows["test"])
    assert np.array_equal(data.mnist1d(0)["train"].x, a["train"].x)
    assert not np.array_equal(a["train"].x, b["train"].x)


def test_label_noise_flips_that_fraction_of_training_labels_to_other_classes_only():
    clean, noisy = data.mnist1d(3), data.mnist1d(3, label_noise=0.3)
    assert np.array_equal(clean["train"].x, noisy["train"].x)
    changed = clean["train"].y != noisy["train"].y
    assert changed.sum() == 900  # 30 % of 3,000, every one to a different class
    assert np.array_equal(clean["val"].y, noisy["val"].y) and np.array_equal(clean["test"].y, noisy["test"].y)
    assert len(np.unique(noisy["train"].y[changed])) == 10


@pytest.mark.parametrize("kwargs", [dict(sizes=(4000, 1000, 1000)), dict(sizes=(0, 10, 10)), dict(label_noise=1.0),
                                    dict(label_noise=-0.1)])
def test_bad_arguments_are_refused_with_a_message(kwargs):
    with pytest.raises(ValueError, match="must be"):
        data.mnist1d(0, **kwargs)
