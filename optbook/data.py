"""Offline data sets for the comparison chapters: nothing is downloaded.

* :func:`digits` — scikit-learn's 8×8 handwritten digits (1,797 images, shipped with the
  package), split once into fixed training, validation and test sets.
* :func:`pydoc_corpus` — word-level language modelling on the English text of Python's own
  documentation topics (about 0.45 MB), split into contiguous training, validation and test
  stretches; the token frequencies are heavy-tailed (Zipf-like), as in real language. The
  text is a frozen snapshot shipped in this package (:func:`pydoc_topics`), not the
  ``pydoc_data`` module of the running Python, which every Python release regenerates.
* :func:`mnist1d` — MNIST-1D (Greydanus & Steinbach), 5,000 one-dimensional signals of ten
  classes on which linear models, MLPs and CNNs differ widely; frozen from the ``mnist1d``
  package, split afresh per seed, optionally with a fraction of its training labels flipped.
* :func:`unigram_loss` — the cross-entropy of the best model that ignores context, the
  baseline a language model must beat.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIGITS_SPLIT = (1000, 397, 400)  # train, validation, test: all 1,797 images
SPLIT_SEED = 20240601  # the one permutation that fixes the split; never changed


@dataclass(frozen=True)
class Split:
    """Inputs and integer labels of one split (NumPy arrays; the training loop makes tensors)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def _splits(x: np.ndarray, y: np.ndarray, sizes: tuple[int, int, int]) -> dict[str, Split]:
    """The first ``sizes[0]`` rows train, the next ``sizes[1]`` validate, the next ``sizes[2]`` test."""
    a, b, c = sizes
    return {
        "train": Split(x[:a], y[:a]),
        "val": Split(x[a : a + b], y[a : a + b]),
        "test": Split(x[a + b : a + b + c], y[a + b : a + b + c]),
    }


def _snapshot(path: Path, sha256: str) -> bytes:
    """The decompressed bytes of a frozen file of the package, refused unless they are the book's."""
    raw = lzma.decompress(path.read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"{path.name} is not the book's snapshot (sha256 {digest}): reinstall optbook")
    return raw


def digits(sizes: tuple[int, int, int] = DIGITS_SPLIT) -> dict[str, Split]:
    """scikit-learn's digits as ``{"train", "val", "test"}`` splits of 1×8×8 images in [0, 1].

    The split is a fixed random permutation (seed ``SPLIT_SEED``), the same on every machine;
    pixel values (0–16) are divided by 16. ``sizes`` must add up to at most 1,797.
    """
    from sklearn.datasets import load_digits

    sizes = tuple(int(s) for s in sizes)
    if len(sizes) != 3 or min(sizes) < 1:
        raise ValueError(f"sizes must be three positive integers (train, val, test), got {sizes!r}")
    bunch = load_digits()
    n = len(bunch.target)
    if sum(sizes) > n:
        raise ValueError(f"the splits ask for {sum(sizes)} images but the data set has {n}")
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    x = (bunch.images[order] / 16.0).astype(np.float32)[:, None, :, :]
    y = bunch.target[order].astype(np.int64)
    return _splits(x, y, sizes)


TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]+")
UNK = "<unk>"


def tokenize(text: str) -> list[str]:
    """Lower-cased words, numbers and runs of punctuation (``"x += 1"`` → ``["x", "+=", "1"]``)."""
    return TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Corpus:
    """A tokenized corpus: the vocabulary and the token ids of each split."""

    vocab: tuple[str, ...]
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


# The documentation topics of CPython 3.11.7 (``pydoc_data.topics.topics``, 79 topics), as
# JSON, xz-compressed; see corpus/README.md for the source and the licence. The hash is of
# the decompressed text, so a re-compressed file with the same documents is still valid.
MNIST1D_SNAPSHOT = Path(__file__).resolve().parent / "corpus" / "mnist1d-0.0.2.post1.xz"
MNIST1D_SHA256 = "031e3042190ccdb6e80cbbbdab9932a8f4888314d20bbbed536861a09ec9b2a3"
MNIST1D_SHAPE = (5000, 40)


def mnist1d_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """The frozen layout: the signals as little-endian float32, row by row, then the labels as bytes."""
    if x.shape != MNIST1D_SHAPE or y.shape != MNIST1D_SHAPE[:1]:
        raise ValueError(f"expected {MNIST1D_SHAPE} signals and {MNIST1D_SHAPE[0]} labels, got {x.shape}, {y.shape}")
    return x.astype("<f4").tobytes() + y.astype("u1").tobytes()


def mnist1d_arrays() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D's 5,000 signals (float32, 5000 × 40) and labels (0–9), frozen from ``mnist1d`` 0.0.2.post1.

    The data set of Greydanus & Steinbach: ten 1-D templates, padded, scaled, translated,
    sheared and noised, 40 values each, standardized over the whole set; in the package's
    order (its first 4,000 are its training split). Frozen by ``tools/freeze_mnist1d.py``.
    """
    raw = _snapshot(MNIST1D_SNAPSHOT, MNIST1D_SHA256)
    n, d = MNIST1D_SHAPE
    x = np.frombuffer(raw[: 4 * n * d], dtype="<f4").reshape(n, d).astype(np.float32)
    y = np.frombuffer(raw[4 * n * d :], dtype="u1").astype(np.int64)
    return x, y


def mnist1d(seed: int, sizes: tuple[int, int, int] = (3000, 1000, 1000), label_noise: float = 0.0) -> dict[str, Split]:
    """MNIST-1D as ``{"train", "val", "test"}`` splits of 1×40 signals, drawn afresh for each ``seed``.

    Each seed is another random partition of the 5,000 signals (so that intervals over seeds
    include the noise of the data split, not only of the initial weights); ``label_noise`` is
    the fraction of *training* labels replaced by a different class drawn uniformly (the
    validation and test labels stay clean), the same labels for the same seed.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) != 3 or min(sizes) < 1 or sum(sizes) > MNIST1D_SHAPE[0]:
        raise ValueError(f"sizes must be three positive integers adding up to at most 5000, got {sizes!r}")
    if not 0.0 <= label_noise < 1.0:
        raise ValueError(f"label_noise must be a fraction in [0, 1), got {label_noise!r}")
    x, y = mnist1d_arrays()
    rng = np.random.default_rng([SPLIT_SEED, int(seed)])
    order = rng.permutation(len(y))
    x, y = x[order][:, None, :], y[order].copy()
    if label_noise:
        n_train = sizes[0]
        flip = rng.permutation(n_train)[: round(label_noise * n_train)]
        y[flip] = (y[flip] + rng.integers(1, 10, size=len(flip))) % 10  # another class, uniformly
    return _splits(x, y, sizes)


PYDOC_SNAPSHOT = Path(__file__).resolve().parent / "corpus" / "pydoc-topics-3.11.7.json.xz"
PYDOC_SHA256 = "4717ccc51e2e7bd1eed2feddb0bcb5a7da19a1a923fd2f258cf81e4285e31683"


def pydoc_topics() -> dict[str, str]:
    """The frozen documents: topic name → text, the same on every Python version."""
    raw = _snapshot(PYDOC_SNAPSHOT, PYDOC_SHA256)
    return json.loads(raw.decode("utf-8"))


def pydoc_corpus(vocab_size: int = 1000, fractions: tuple[float, float] = (0.8, 0.1)) -> Corpus:
    """Python's documentation topics as one token stream, split into contiguous stretches.

    The topics are concatenated in sorted order of their names; the first ``fractions[0]``
    of the tokens train, the next ``fractions[1]`` validate, the rest test. The vocabulary is
    id 0 for ``<unk>`` and the ``vocab_size - 1`` most frequent tokens *of the training
    part*, so nothing about the held-out text leaks into it.
    """
    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an integer of at least 2, got {vocab_size!r}")
    f_train, f_val = fractions
    if not (0 < f_train < 1 and 0 < f_val < 1 and f_train + f_val < 1):
        raise ValueError(f"fractions must be two positive numbers adding up to less than 1, got {fractions!r}")
    topics = pydoc_topics()
    tokens = [t for name in sorted(topics) for t in tokenize(topics[name])]
    n = len(tokens)
    a, b = int(n * f_train), int(n * (f_train + f_val))
    counts = Counter(tokens[:a])
    # Ties in frequency are broken alphabetically, so the vocabulary is the same everywhere.
    common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: vocab_size - 1]
    vocab = (UNK,) + tuple(w for w, _ in common)
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.array([index.get(t, 0) for t in tokens], dtype=np.int64)
    return Corpus(vocab, ids[:a], ids[a:b], ids[b:])


def unigram_loss(train: np.ndarray, held_out: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats per token) on ``held_out`` of the add-one unigram model of ``train``."""
    if vocab_size < 1 or len(train) == 0 or len(held_out) == 0:
        raise ValueError("unigram_loss needs a positive vocab_size and non-empty token arrays")
    counts = np.bincount(train, minlength=vocab_size).astype(float) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[held_out].mean())


def zipf_exponent(ids: np.ndarray, top: int = 100) -> float:
    """Slope of log frequency against log rank over the ``top`` most frequent ids (about −1 for Zipf)."""
    freq = np.sort(np.bincount(ids))[::-1]
    freq = freq[freq > 0][:top]
    if len(freq) < 2:
        raise ValueError("need at least two distinct tokens")
    r = np.log(np.arange(1, len(freq) + 1))
    return float(np.polyfit(r, np.log(freq), 1)[0])


def log_uniform_grid(low: float, high: float, per_decade: int = 2) -> list[float]:
    """Learning rates from ``low`` to ``high`` (both included), ``per_decade`` points per factor 10."""
    if not (0 < low < high) or per_decade < 1:
        raise ValueError(f"need 0 < low < high and per_decade >= 1, got {low}, {high}, {per_decade}")
    k = round(math.log10(high / low) * per_decade)
    return [float(f"{low * 10 ** (i / per_decade):.3g}") for i in range(k + 1)]
