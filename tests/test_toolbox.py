"""Unit tests of optbook.toolbox: Chapter 9's schedules, study runner and small models."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as L

from optbook import toolbox as T


@pytest.mark.parametrize("name", T.SCHEDULES)
@pytest.mark.parametrize("steps, warmup", [(600, 30), (100, 7), (41, 19)])
def test_torch_schedules_equal_their_closed_forms(name, steps, warmup):
    used = T.lr_sequence(lambda o: T.make_schedule(name, o, steps, warmup), steps)
    formula = [T.closed_form(name, k, steps, warmup) for k in range(steps)]
    assert max(abs(a - b) for a, b in zip(used, formula)) < 1e-12
    assert used[0] == pytest.approx(1.0 / warmup) and max(used) == pytest.approx(1.0)


def test_the_schedules_differ_where_they_should():
    seqs = {n: T.lr_sequence(lambda o, n=n: T.make_schedule(n, o, 600, 30), 600) for n in T.SCHEDULES}
    assert seqs["constant"][-1] == pytest.approx(1.0)
    assert seqs["step"][-1] == pytest.approx(0.01) and seqs["step"][299] == pytest.approx(1.0)
    assert seqs["step"][300] == pytest.approx(0.1)
    assert seqs["cosine"][-1] < 1e-4 and seqs["linear"][-1] == pytest.approx(1 / 570)
    assert seqs["wsd"][480] == pytest.approx(1.0) and seqs["wsd"][481] < 1.0  # the decay: the last 120 steps
    assert seqs["wsd"][-1] == pytest.approx(1 / 120)


def test_lr_sequence_reads_the_rate_before_each_step():
    used = T.lr_sequence(lambda o: L.LinearLR(o, start_factor=0.25, total_iters=3), 5, lr=0.1)
    assert used == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])


@pytest.mark.parametrize("args, match", [
    (("cubic", 600, 30), "unknown schedule"),
    (("cosine", 600, 0), "warmup"),
    (("cosine", 600, 300), "warmup"),
    (("cosine", 1, 1), "steps"),
])
def test_bad_schedules_are_refused(args, match):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=match):
        T.make_schedule(args[0], opt, *args[1:])
    with pytest.raises(ValueError, match=match):
        T.closed_form(args[0], 0, *args[1:])


def test_closed_form_refuses_a_negative_step():
    with pytest.raises(ValueError, match="counts from 0"):
        T.closed_form("cosine", -1, 600, 30)


def test_runs_are_reproducible_and_seeds_pair_them():
    a = T.run("cosine", 0.05, seed=3, steps=20, warmup=2, eval_every=10)
    b = T.run("cosine", 0.05, seed=3, steps=20, warmup=2, eval_every=10)
    c = T.run("cosine", 0.05, seed=4, steps=20, warmup=2, eval_every=10)
    assert a.val_loss == b.val_loss and a.final == b.final
    assert a.eval_steps == [0, 10, 20] and a.val_loss[0] != c.val_loss[0]  # another seed, other weights
    assert a.val_loss[-1] != c.val_loss[-1]
    assert a.val_loss[-1] < a.val_loss[0]  # 20 steps do learn something


def test_averaging_measures_the_averaged_model():
    plain = T.run("constant", 0.05, seed=0, steps=20, warmup=2, eval_every=10)
    ema = T.run("constant", 0.05, seed=0, steps=20, warmup=2, eval_every=10, averaging="ema")
    tail = T.run("constant", 0.05, seed=0, steps=20, warmup=2, eval_every=10, averaging="tail")
    assert plain.val_loss[0] == ema.val_loss[0]  # the same start
    assert ema.final["val_loss"] != plain.final["val_loss"] != tail.final["val_loss"]
    assert tail.val_loss[1] == plain.val_loss[1]  # before the tail starts, the last iterate is measured
    with pytest.raises(ValueError, match="averaging"):
        T.run("constant", 0.05, seed=0, steps=5, warmup=1, averaging="swa")
    with pytest.raises(ValueError, match="positive"):
        T.run("constant", 0.0, seed=0, steps=5, warmup=1)


def _batch(n=32):
    x, y = T.task().data["train"]
    return x[:n].double(), y[:n]


def test_accumulation_equals_the_large_batch_without_batchnorm_only():
    x, y = _batch()
    torch.manual_seed(0)
    net = T.BNMLP().double()
    whole = T.accumulated_grads(net, x, y, micro=1)
    acc = T.accumulated_grads(net, x, y, micro=4)
    undivided = T.accumulated_grads(net, x, y, micro=4, divide=False)
    assert max((a - b).abs().max().item() for a, b in zip(acc, whole)) < 1e-14
    assert all(torch.allclose(u, 4 * w) for u, w in zip(undivided, whole))
    torch.manual_seed(0)
    bn = T.BNMLP(batchnorm=True).double()
    whole, acc = T.accumulated_grads(bn, x, y, micro=1), T.accumulated_grads(bn, x, y, micro=4)
    assert max((a - b).norm().item() / b.norm().item() for a, b in zip(acc, whole)) > 0.05
    with pytest.raises(ValueError, match="equal micro-batches"):
        T.accumulated_grads(bn, x, y, micro=5)


def test_batchnorm_makes_the_loss_scale_invariant_in_the_first_layer():
    x, y = _batch(128)
    torch.manual_seed(0)
    net = T.BNMLP(batchnorm=True, eps=1e-12).double()
    w = net.fc1.weight.detach().clone()

    def loss_grad(c):
        with torch.no_grad():
            net.fc1.weight.copy_(c * w)
        net.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        return loss.item(), net.fc1.weight.grad.clone()

    l1, g1 = loss_grad(1.0)
    l5, g5 = loss_grad(5.0)
    assert abs(l1 - l5) < 1e-9 and (5 * g5 - g1).abs().max().item() < 1e-9
    assert abs((w * g1).sum().item()) < 1e-9 * w.norm().item() * g1.norm().item()
    plain = T.BNMLP(batchnorm=False)
    assert plain.fc1.bias is not None and isinstance(plain.norm, torch.nn.Identity)
    with pytest.raises(ValueError, match="hidden"):
        T.BNMLP(hidden=0)


def test_the_stored_study_is_complete_and_consistent():
    study = T.load()
    assert study["protocol"]["steps"] == T.STEPS and study["protocol"]["final_seeds"] == list(T.FINAL_SEEDS)
    for name in T.SCHEDULES:
        tu = study["tuning"][name]
        best = min(zip(tu["val_loss"], tu["lrs"]))[1]
        assert tu["best_lr"] == best and set(T.GRID) <= set(tu["lrs"])
        assert best not in (min(tu["lrs"]), max(tu["lrs"]))  # the tuning found an interior best
    for name in [*T.SCHEDULES, "constant+ema", "constant+tail"]:
        runs = study["final"][name]
        assert [r["seed"] for r in runs] == list(T.FINAL_SEEDS)
        assert all(math.isfinite(r["final"]["test_loss"]) and not r["diverged"] for r in runs)


def _runs(values, seeds=(1, 2, 3, 4, 5)):
    return [{"seed": s, "lr": 0.1, "final": {"train_loss": v}} for s, v in zip(seeds, values)]


def test_paired_table_gives_the_paired_difference_and_a_wider_adjusted_interval():
    final = {"ref": _runs([1.0, 2.0, 3.0, 4.0, 5.0]),
             "same": _runs([1.0, 2.0, 3.0, 4.0, 5.0]),
             "higher": _runs([1.5, 2.4, 3.6, 4.5, 5.5]),  # + 0.5 on average, paired differences 0.4-0.6
             "noisy": _runs([1.3, 1.8, 3.2, 3.7, 5.0])}
    text = T.paired_table(final, "ref", ["same", "higher", "noisy"], "train_loss")
    lines = text.splitlines()
    assert "Bonferroni-adjusted for 3 comparisons (t = 3.96)" in lines[0] and "(t = 2.78)" in lines[0]
    higher = next(line for line in lines if line.strip().startswith("higher"))
    assert "+0.5000" in higher and higher.endswith("excludes 0")
    same = next(line for line in lines if line.strip().startswith("same"))
    assert "+0.0000" in same and "excludes" not in same
    nums = [float(x) for x in higher.replace("[", " ").replace("]", " ").replace(",", " ").split()[1:]
            if x[0] in "+-"]
    m, lo, hi, alo, ahi = nums
    assert alo < lo < m < hi < ahi and m - lo == pytest.approx(hi - m, abs=1e-4)
    assert (ahi - alo) / (hi - lo) == pytest.approx(3.9608 / 2.7764, rel=1e-3)


@pytest.mark.parametrize("args, match", [
    (("missing", ["a"], "train_loss"), "not among the runs"),
    (("ref", ["missing"], "train_loss"), "not among the runs"),
    (("ref", [], "train_loss"), "no comparisons"),
    (("ref", ["a"], "test_loss"), "unknown metric"),
])
def test_paired_table_rejects_bad_arguments(args, match):
    final = {"ref": _runs([1.0, 2.0, 3.0]), "a": _runs([1.0, 2.5, 3.0])}
    with pytest.raises(ValueError, match=match):
        T.paired_table(final, *args)


def test_paired_table_refuses_unpaired_runs():
    final = {"ref": _runs([1.0, 2.0, 3.0]), "a": _runs([1.0, 2.5, 3.0], seeds=(7, 8, 9))}
    with pytest.raises(ValueError, match="same seeds"):
        T.paired_table(final, "ref", ["a"], "train_loss")
