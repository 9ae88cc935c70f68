"""Proof that every lab check is real.

For every exercise of every lab, the check must
(a) fail on the stub of the generated lab notebook (the cell's source as `make labs` wrote it),
(b) fail on typical wrong answers with *its* diagnostic message (asserted by a regex), and
(c) pass on the solution (the cell's source in the solutions notebook).
A check that passed a stub, or failed a wrong answer with a generic message, would be caught.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit

from optbook import lab_checks_01 as lab1
from optbook.checks import CheckFailed

from helpers import ROOT, load, source

LAB1 = "01-gd-sgd.ipynb"


def _defining_cell(nb: dict, name: str) -> str:
    """The source of the code cell that defines function ``name``."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and f"def {name}(" in source(cell):
            return source(cell)
    raise AssertionError(f"no cell defines {name}()")


def _namespace(folder: str, names: list[str]) -> dict:
    """Execute the cells defining ``names`` from labs/ or solutions/ in one namespace, with the lab's imports."""
    nb = load(ROOT / folder / LAB1)
    prob = lab1.breast_cancer()
    ns = {"np": np, "torch": torch, "expit": expit, "prob": prob, "X": prob.X, "y": prob.y, "lam": prob.lam,
          "w_star": prob.minimizer()}
    for name in names:
        exec(compile(_defining_cell(nb, name), f"{folder}/{LAB1}:{name}", "exec"), ns)
    return ns


ALL = ["logistic_grad", "gd", "shuffled_batches", "sgd", "torch_sgd", "experiment"]


@pytest.fixture(scope="module")
def solution():
    return _namespace("solutions", ALL)


@pytest.fixture(scope="module")
def stub():
    return _namespace("labs", ALL)


# ---------------------------------------------------------------- wrong answers, one family per exercise
def grad_sum(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) + lam * w


def grad_no_reg(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / len(y)


def grad_half_reg(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / len(y) + 0.5 * lam * w


def grad_sign(w, X, y, lam):
    return X.T @ (y - expit(X @ w)) / len(y) + lam * w


def grad_linear(w, X, y, lam):
    return X.T @ (X @ w - y) / len(y) + lam * w


def grad_none(w, X, y, lam):
    X.T @ (expit(X @ w) - y) / len(y) + lam * w  # forgot the return


def gd_uphill(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        w = w + lr * grad(w)
    return w


def gd_off_by_one(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps + 1):
        w = w - lr * grad(w)
    return w


def gd_in_place(grad, w0, lr, steps):
    w = w0
    for _ in range(steps):
        w -= lr * grad(w)
    return w


def batches_with_replacement(n, batch_size, rng):
    order = rng.integers(0, n, size=n)
    for s in range(0, n, batch_size):
        yield order[s : s + batch_size]


def batches_unshuffled(n, batch_size, rng):
    order = np.arange(n)
    for s in range(0, n, batch_size):
        yield order[s : s + batch_size]


def batches_reseeded(n, batch_size, rng):
    order = np.random.default_rng(0).permutation(n)  # the same order every epoch
    for s in range(0, n, batch_size):
        yield order[s : s + batch_size]


def batches_global_rng(n, batch_size, rng):
    order = np.random.permutation(n)  # ignores the rng argument
    for s in range(0, n, batch_size):
        yield order[s : s + batch_size]


def batches_drop_last(n, batch_size, rng):
    order = rng.permutation(n)
    for s in range(0, n - batch_size + 1, batch_size):
        yield order[s : s + batch_size]


def _sgd_variant(solution, full=False, reshuffle=True, epochs_delta=0):
    grad, batches = solution["logistic_grad"], solution["shuffled_batches"]

    def sgd(w0, X, y, lam, lr, batch_size, epochs, rng):
        w = np.array(w0, dtype=float)
        fixed = None if reshuffle else list(batches(len(y), batch_size, rng))
        for _ in range(epochs + epochs_delta):
            for idx in fixed if fixed is not None else batches(len(y), batch_size, rng):
                w = w - lr * (grad(w, X, y, lam) if full else grad(w, X[idx], y[idx], lam))
        return w

    return sgd


def _torch_variant(zero_grad=True, reduction="mean", weight_decay=True, dtype=torch.float64):
    from torch.utils.data import DataLoader, TensorDataset

    def torch_sgd(w0, X, y, lam, lr, batches):
        model = torch.nn.Linear(len(w0), 1, bias=False, dtype=dtype)
        with torch.no_grad():
            model.weight.copy_(torch.as_tensor(w0, dtype=dtype).reshape(1, -1))
        data = TensorDataset(torch.as_tensor(X, dtype=dtype), torch.as_tensor(y, dtype=dtype))
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=lam if weight_decay else 0.0)
        for xb, yb in DataLoader(data, batch_sampler=batches):
            if zero_grad:
                opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb,
                                                                        reduction=reduction)
            loss.backward()
            opt.step()
        return model.weight.detach().double().numpy().ravel()

    return torch_sgd


def _experiment_variant(solution, equal_steps=False, scale=True):
    sgd = solution["sgd"]
    prob = lab1.breast_cancer()
    w_star = prob.minimizer()

    def experiment(batch_sizes, epochs, eta1, seed):
        out = {}
        for B in batch_sizes:
            e = epochs * B if equal_steps else epochs  # the mistake: as many steps as B = 1 takes
            w = sgd(np.zeros(prob.dim), prob.X, prob.y, prob.lam, eta1 * B if scale else eta1, B, e,
                    np.random.default_rng(seed))
            out[B] = float(np.linalg.norm(w - w_star))
        return out

    return experiment


# ---------------------------------------------------------------- the exercises
EXERCISES = {
    # exercise: (function run by the check, (name in the notebook), wrong answers with their diagnostics)
    "grad": (
        lambda f, ns: lab1.check_grad(f),
        "logistic_grad",
        [
            (lambda ns: grad_sum, r"B times too large: average the loss over the batch"),
            (lambda ns: grad_no_reg, r"regularization term is missing: add lam \* w"),
            (lambda ns: grad_half_reg, r"regularization term is half"),
            (lambda ns: grad_sign, r"data term has the wrong sign"),
            (lambda ns: grad_linear, r"must go through the sigmoid"),
            (lambda ns: grad_none, r"returned None: did you forget the `return`"),
        ],
    ),
    "gd": (
        lambda f, ns: lab1.check_gd(f),
        "gd",
        [
            (lambda ns: gd_uphill, r"steps go uphill: .* minus sign"),
            (lambda ns: gd_off_by_one, r"you took 41 steps instead of 40"),
            (lambda ns: gd_in_place, r"gd changed its argument w0 in place"),
        ],
    ),
    "batches": (
        lambda f, ns: lab1.check_batches(f),
        "shuffled_batches",
        [
            (lambda ns: batches_with_replacement, r"repeats example \d+ within one epoch: sample without replacement"),
            (lambda ns: batches_unshuffled, r"original order 0, 1, 2, …: shuffle with rng.permutation"),
            (lambda ns: batches_reseeded, r"two epochs came out in the same order"),
            (lambda ns: batches_global_rng, r"same seed gave different epochs: .*not from np.random"),
            (lambda ns: batches_drop_last, r"sizes \[8, 8, 8, 8, 8, 8\], expected \[8, 8, 8, 8, 8, 8, 2\]: "
                                         r"the last, smaller batch is dropped"),
        ],
    ),
    "sgd": (
        lambda f, ns: lab1.check_sgd(f, ns["shuffled_batches"]),
        "sgd",
        [
            (lambda ns: _sgd_variant(ns, full=True), r"ignores the mini-batch: compute the gradient on X\[idx\]"),
            (lambda ns: _sgd_variant(ns, reshuffle=False), r"every epoch reuses the first epoch's order"),
            (lambda ns: _sgd_variant(ns, epochs_delta=-1), r"you ran 2 epochs instead of 3"),
        ],
    ),
    "torch": (
        lambda f, ns: lab1.check_torch(f),
        "torch_sgd",
        [
            (lambda ns: _torch_variant(zero_grad=False), r"gradients accumulate across steps: call opt.zero_grad"),
            (lambda ns: _torch_variant(reduction="sum"), r"B times too large: average the loss over the batch"),
            (lambda ns: _torch_variant(weight_decay=False), r"L2 term is missing: pass weight_decay=lam"),
            (lambda ns: _torch_variant(dtype=torch.float32),
             r"right to about \d digits: something is computed in float32"),
        ],
    ),
    "experiment": (
        lambda f, ns: lab1.check_experiment(f),
        "experiment",
        [
            (lambda ns: _experiment_variant(ns, equal_steps=True), r"compare at equal epochs"),
            (lambda ns: _experiment_variant(ns, scale=False), r"use the linear scaling rule, lr = eta1 · B"),
            (lambda ns: (lambda sizes, epochs, eta1, seed: {}), r"no entry for batch size 1"),
        ],
    ),
}

WRONG = [(ex, i) for ex, (_, _, wrongs) in EXERCISES.items() for i in range(len(wrongs))]


def test_every_lab_exercise_is_covered():
    nb = load(ROOT / "solutions" / LAB1)
    code = [source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    defined = [name for name in ALL if any(f"def {name}(" in src for src in code)]
    assert defined == ALL
    marked = [source(c) for c in nb["cells"] if c["cell_type"] == "code" and "# BEGIN SOLUTION" in source(c)]
    assert len(marked) == len(EXERCISES) == len(ALL), "one proof per exercise of the lab"


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_check_fails_on_the_stub(exercise, stub, solution):
    run, name, _ = EXERCISES[exercise]
    assert "NotImplementedError" in _defining_cell(load(ROOT / "labs" / LAB1), name)
    with pytest.raises(CheckFailed, match="is not done yet"):
        run(stub[name], solution)


@pytest.mark.parametrize("exercise, i", WRONG, ids=[f"{e}-{i}" for e, i in WRONG])
def test_check_names_the_mistake(exercise, i, solution, capsys):
    run, _, wrongs = EXERCISES[exercise]
    make, message = wrongs[i]
    with pytest.raises(CheckFailed, match=message):
        run(make(solution), solution)


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_check_passes_on_the_solution(exercise, solution, capsys):
    run, name, _ = EXERCISES[exercise]
    run(solution[name], solution)
    assert capsys.readouterr().out.startswith("✓ Exercise")
