"""optbook.decay: Chapter 8's L2-versus-decoupled experiment, its stored sweep and its helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from optbook import decay


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in decay.init(0, hidden=5)]
    x, y = rng.random((7, 64)), rng.integers(0, 10, 7)
    loss, _, grads = decay.loss_and_grads(params, x, y)
    for i, p in enumerate(params):
        idx = tuple(rng.integers(0, s) for s in p.shape)
        h = 1e-6
        p[idx] += h
        up = decay.loss_and_grads(params, x, y, grads=False)[0]
        p[idx] -= 2 * h
        down = decay.loss_and_grads(params, x, y, grads=False)[0]
        p[idx] += h
        assert abs((up - down) / (2 * h) - grads[i][idx]) < 1e-7, i


def test_no_decay_is_the_same_run_for_both_methods():
    a = decay.train("adam_l2", 0.01, 0.0, seed=1, steps=20)
    b = decay.train("adamw", 0.01, 0.0, seed=1, steps=20)
    assert a == b


def test_decay_changes_the_run_and_only_the_weights_are_decayed():
    params = decay.init(0)
    opt = decay.make_optimizer("adamw", params, lr=0.01, decay=0.001)
    assert [g["weight_decay"] for g in opt.param_groups] == [pytest.approx(0.1), 0.0]
    opt = decay.make_optimizer("adam_l2", params, lr=0.01, decay=0.001)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.001, 0.0]
    a = decay.train("adamw", 0.01, 0.0, seed=0, steps=30)
    b = decay.train("adamw", 0.01, 0.01, seed=0, steps=30)
    assert b["weight_norm"] < a["weight_norm"]


def test_runs_are_deterministic():
    assert decay.train("adamw", 0.01, 0.001, seed=2, steps=15) == decay.train("adamw", 0.01, 0.001, seed=2, steps=15)


def test_bad_arguments_raise_value_error():
    params = decay.init(0)
    with pytest.raises(ValueError, match="method"):
        decay.make_optimizer("sgd", params, 0.01, 0.0)
    with pytest.raises(ValueError, match="lr > 0"):
        decay.make_optimizer("adamw", params, 0.0, 0.0)
    with pytest.raises(ValueError, match="steps"):
        decay.train("adamw", 0.01, 0.0, seed=0, steps=0)
    with pytest.raises(ValueError, match="key"):
        decay.table({"runs": {}}, "adamw", "accuracy")


def test_the_stored_sweep_matches_the_module_and_reproduces():
    grid = decay.load()
    cfg = grid["config"]
    assert cfg["lrs"] == decay.LRS and cfg["decays"] == decay.DECAYS and cfg["seeds"] == decay.SEEDS
    assert cfg["steps"] == decay.STEPS and cfg["n_train"] == decay.N_TRAIN
    for m in decay.METHODS:
        assert decay.table(grid, m).shape == (len(decay.LRS), len(decay.DECAYS[m]))
    i, j = 2, 3  # one stored cell, re-run: float64, deterministic
    stored = grid["runs"]["adamw"][i][j][0]
    live = decay.train("adamw", decay.LRS[i], decay.DECAYS["adamw"][j], seed=decay.SEEDS[0])
    for k in decay.METRICS:
        assert math.isclose(live[k], stored[k], rel_tol=1e-6), k


def test_load_refuses_a_missing_or_inconsistent_file(tmp_path):
    with pytest.raises(ValueError, match="no stored sweep"):
        decay.load(tmp_path / "missing.json")
    grid = json.loads(decay.RESULTS.read_text())
    grid["runs"]["adamw"] = grid["runs"]["adamw"][:-1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(grid))
    with pytest.raises(ValueError, match="do not match"):
        decay.load(bad)


def test_best_and_per_seed_agree_with_the_table():
    grid = decay.load()
    for m in decay.METHODS:
        i, j = decay.best(grid, m)
        t = decay.table(grid, m)
        assert t[i, j] == t.min()
        assert decay.per_seed(grid, m, i, j, "val_loss").mean() == pytest.approx(t[i, j])


def test_heatmaps_draw_two_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = decay.heatmaps(decay.load())
    assert len(fig.axes) == 3  # two heatmaps and the colour bar
    plt.close(fig)


def test_a_small_sweep_has_the_stored_layout(tmp_path):
    grid = decay.sweep(lrs=[0.01], decays={"adam_l2": [0.0, 0.001], "adamw": [0.0]}, seeds=[0, 1], steps=3)
    assert [len(grid["runs"]["adam_l2"][0]), len(grid["runs"]["adamw"][0])] == [2, 1]
