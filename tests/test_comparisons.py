"""Unit tests of the comparison chapters' code: optbook.data, optbook.models, optbook.train."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import optbook
from optbook import data, models
from optbook import train as T


@pytest.fixture(scope="module")
def digits():
    return data.digits()


@pytest.fixture(scope="module")
def corpus():
    return data.pydoc_corpus()


def test_digits_split_is_fixed_disjoint_and_scaled(digits):
    assert [len(digits[k]) for k in ("train", "val", "test")] == list(data.DIGITS_SPLIT)
    assert digits["train"].x.shape[1:] == (1, 8, 8) and digits["train"].x.dtype == np.float32
    assert 0.0 <= digits["train"].x.min() and digits["train"].x.max() <= 1.0
    again = data.digits()
    assert np.array_equal(again["test"].x, digits["test"].x)  # the same split every time
    rows = {k: {s.tobytes() for s in v.x} for k, v in digits.items()}
    assert not rows["train"] & rows["test"] or len(rows["train"] & rows["test"]) < 5  # duplicates in the data only
    assert set(np.unique(digits["val"].y)) == set(range(10))


def test_digits_rejects_bad_sizes():
    with pytest.raises(ValueError, match="three positive"):
        data.digits((10, 0, 10))
    with pytest.raises(ValueError, match="the data set has"):
        data.digits((1000, 1000, 1000))


def test_corpus_is_contiguous_zipf_like_and_leak_free(corpus):
    assert corpus.vocab_size == 1000 and corpus.vocab[0] == data.UNK
    n = len(corpus.train) + len(corpus.val) + len(corpus.test)
    assert abs(len(corpus.train) / n - 0.8) < 1e-3
    assert corpus.train.max() < corpus.vocab_size
    assert -1.3 < data.zipf_exponent(corpus.train) < -0.6
    assert data.tokenize("x += 1, Foo") == ["x", "+=", "1", ",", "foo"]
    base = data.unigram_loss(corpus.train, corpus.val, corpus.vocab_size)
    assert 4.0 < base < math.log(corpus.vocab_size)


def test_corpus_and_unigram_reject_bad_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        data.pydoc_corpus(vocab_size=1)
    with pytest.raises(ValueError, match="fractions"):
        data.pydoc_corpus(fractions=(0.9, 0.2))
    with pytest.raises(ValueError):
        data.unigram_loss(np.array([], dtype=int), np.array([0]), 3)


def test_unigram_loss_of_a_uniform_stream_is_log_v():
    ids = np.arange(4).repeat(100)
    assert data.unigram_loss(ids, ids, 4) == pytest.approx(math.log(4))


def test_log_uniform_grid():
    assert data.log_uniform_grid(0.001, 1.0) == [0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0]
    with pytest.raises(ValueError):
        data.log_uniform_grid(1.0, 0.1)


def test_cnn_shapes_and_batchnorm_switch():
    x = torch.zeros(5, 1, 8, 8)
    assert models.DigitsCNN()(x).shape == (5, 10)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in models.DigitsCNN().modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in models.DigitsCNN(batchnorm=True).modules())
    with pytest.raises(ValueError, match="shape"):
        models.DigitsCNN()(torch.zeros(5, 64))


@pytest.mark.parametrize("pre_ln", [True, False])
def test_transformer_is_causal(pre_ln):
    torch.manual_seed(0)
    m = models.TinyTransformer(50, d=16, heads=2, layers=2, context=8, pre_ln=pre_ln).eval()
    idx = torch.randint(0, 50, (2, 8))
    out = m(idx)
    assert out.shape == (2, 8, 50)
    changed = idx.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 50
    out2 = m(changed)
    assert torch.allclose(out[:, :5], out2[:, :5], atol=1e-6)  # the past does not see the future
    assert not torch.allclose(out[:, 5:], out2[:, 5:])
    with pytest.raises(ValueError, match="context"):
        m(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        models.TinyTransformer(50, d=10, heads=3)


def test_make_optimizer_maps_names_to_torch():
    p = [torch.nn.Parameter(torch.ones(2))]
    assert isinstance(T.make_optimizer("AdamW", p, 1e-3), torch.optim.AdamW)
    nag = T.make_optimizer("Nesterov", p, 0.1)
    assert nag.param_groups[0]["nesterov"] and nag.param_groups[0]["momentum"] == 0.9
    assert T.make_optimizer("Adam", p, 1e-3, weight_decay=0.1).param_groups[0]["weight_decay"] == 0.1
    for name in T.OPTIMIZERS:
        T.make_optimizer(name, p, 0.01)
    with pytest.raises(ValueError, match="unknown optimizer"):
        T.make_optimizer("Lion", p, 0.1)
    with pytest.raises(ValueError, match="positive"):
        T.make_optimizer("SGD", p, 0.0)


def test_schedule_warms_up_then_decays_to_zero():
    f = [T.lr_factor(k, 100, warmup=10) for k in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0) and f[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:])) and f[-1] < 0.01
    assert T.lr_factor(0, 10) == 1.0
    with pytest.raises(ValueError):
        T.lr_factor(0, 10, warmup=10)


def test_training_is_paired_and_repeatable(digits):
    optbook.seed_everything(0)
    task = T.DigitsTask(digits)
    a = T.train(task, "Adam", 3e-3, steps=30, seed=7, eval_every=10, target=10.0)
    b = T.train(task, "Adam", 3e-3, steps=30, seed=7, eval_every=10, target=10.0)
    assert a.val_loss == b.val_loss and a.final == b.final  # bitwise, one thread
    assert a.val_loss[-1] < a.val_loss[0] and a.steps_to_target == 10
    c = T.train(task, "SGD", 3e-3, steps=1, seed=7, eval_every=10)
    assert c.val_loss[0] == a.val_loss[0]  # same seed: same initial weights for every optimizer
    assert "test_loss" not in a.final
    d = T.train(task, "SGD", 1e30, steps=20, seed=7, eval_every=5, final_splits=("val", "test"))
    assert d.diverged and d.final["test_loss"] == math.inf


def test_language_task_trains(corpus):
    task = T.LanguageTask(corpus, context=8, batch_size=4, d=16, heads=2, layers=1)
    r = T.train(task, "Adam", 1e-2, steps=20, seed=0, eval_every=10, warmup=5)
    assert r.val_loss[-1] < r.val_loss[0] and r.eval_steps == [0, 10, 20]


def test_tuning_extends_the_grid_at_an_edge():
    calls = []

    def run(lr):  # a bowl with its minimum at lr = 10, beyond the grid
        calls.append(lr)
        return (math.log10(lr) - 1) ** 2

    res = T.tune(run, [0.01, 0.1, 1.0])
    assert T.best(res) == pytest.approx(10.0, rel=0.01) and len(calls) == 6
    assert T.next_extension({0.1: 2.0, 1.0: 1.0, 10.0: 3.0}) is None
    with pytest.raises(ValueError, match="three"):
        T.tune(run, [0.1, 1.0])


def test_paired_difference_and_t_quantile():
    assert T.t_quantile(0.95, 4) == pytest.approx(2.776, abs=1e-3)
    m, lo, hi = T.paired_difference([1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 1.4, 2.6, 3.5, 4.5])
    assert m == pytest.approx(0.5) and lo < 0.5 < hi
    assert hi - m == pytest.approx(2.776 * np.std([0.5, 0.6, 0.4, 0.5, 0.5], ddof=1) / math.sqrt(5), rel=1e-3)
    with pytest.raises(ValueError):
        T.paired_difference([1.0], [2.0])
    assert T.mean_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))


def test_the_corpus_is_the_frozen_snapshot_not_this_pythons_pydoc_data():
    import hashlib
    import lzma

    raw = lzma.decompress(data.PYDOC_SNAPSHOT.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == data.PYDOC_SHA256
    topics = data.pydoc_topics()
    assert len(topics) == 79 and sum(map(len, topics.values())) == 464_970
    # nothing the book runs reads the running Python's pydoc_data (it changes with every release)
    from helpers import ROOT, all_notebooks, code_cells, load, source

    files = [p for d in ("optbook", "tools") for p in (ROOT / d).rglob("*.py")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    texts += [source(c) for nb in all_notebooks() for c in code_cells(load(nb))]
    assert not [t for t in texts if "import pydoc_data" in t or "from pydoc_data" in t]


def test_a_corrupted_snapshot_is_refused(tmp_path, monkeypatch):
    import lzma

    bad = tmp_path / "topics.json.xz"
    bad.write_bytes(lzma.compress(b'{"if": "changed"}'))
    monkeypatch.setattr(data, "PYDOC_SNAPSHOT", bad)
    with pytest.raises(RuntimeError, match="not the book's snapshot"):
        data.pydoc_topics()


def test_a_censored_run_counts_as_slower_than_every_run_that_reached_the_target():
    """Issue 17: dropping the runs that never reached the target made Adam look faster (125, not
    150, on Chapter 10's runs); a censored run is larger than every observed one."""
    from optbook import compare

    assert compare.censored_median([100, 150, 100, 175, None]) == 150      # not 125 = median of the four
    assert compare.censored_median([100, 250, 75, 200, None]) == 200
    assert compare.censored_median([400, None, 400, 500, 500]) == 500
    assert compare.censored_median([500, None, 500, None, 500]) == 500
    assert compare.censored_median([None, None, 400, 300, 400]) == 400
    assert compare.censored_median([300, None, None, None, 200]) == math.inf
    assert compare.censored_median([100, None]) == math.inf                 # the upper middle is censored
    with pytest.raises(ValueError, match="no runs"):
        compare.censored_median([])
    runs = [{"steps_to_target": s, "seconds_to_target": None if s is None else s / 100} for s in (100, 150, None)]
    assert compare.median_steps(runs, 600) == "150"
    assert compare.median_steps(runs[2:], 600) == ">600"
    table = compare.to_target({"Adam": runs}, 600).splitlines()[1].split()
    assert table[:3] == ["Adam", "2/3", "150"] and table[-1] == "1.50"
