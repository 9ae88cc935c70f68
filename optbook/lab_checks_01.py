"""The checks of Lab 1 (GD and SGD from scratch), one per exercise.

Each ``check_*`` function runs the student's function on the book's logistic-regression
problem (:mod:`optbook.problems`), compares with a reference computed here, and either prints
one line (``✓ Exercise n: ...``) or raises :class:`optbook.checks.CheckFailed` with what is
wrong and what to try. The typical mistakes are recognised by computing what each mistake
would return and comparing: a summed instead of averaged gradient, a missing L2 term, a step
uphill, an iterator that repeats examples or never reshuffles, a loop that ignores the batch,
``zero_grad`` forgotten in PyTorch. tests/test_lab_checks.py proves every one of them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from optbook.checks import CheckFailed, as_array, call, close, passed
from optbook.problems import LogisticProblem, breast_cancer


def _problem() -> LogisticProblem:
    return breast_cancer()


def _agrees(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-12))


def _ref_grad(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / len(y) + lam * w


# ---------------------------------------------------------------- Exercise 1: the gradient
def check_grad(logistic_grad) -> None:
    """Exercise 1: ``logistic_grad(w, X, y, lam)`` is the mean-over-the-batch gradient plus ``lam * w``."""
    ex = "Exercise 1"
    prob = _problem()
    rng = np.random.default_rng(1)
    for B in (8, 50, prob.n):
        idx = rng.choice(prob.n, size=B, replace=False)
        X, y, lam = prob.X[idx], prob.y[idx], 0.1
        w = rng.standard_normal(prob.dim)
        got = as_array(call(logistic_grad, w.copy(), X, y, lam, exercise=ex), "logistic_grad(w, X, y, lam)")
        p = expit(X @ w)
        data = X.T @ (p - y) / B
        expected = data + lam * w
        if got.shape != expected.shape:
            raise CheckFailed(f"logistic_grad returned shape {got.shape}; the gradient has the shape of w, "
                              f"{expected.shape}")
        mistakes = [
            (X.T @ (p - y) + lam * w, "the gradient is B times too large: average the loss over the batch "
                                      "(divide the data term by B = len(y)), do not sum it"),
            (B * expected, "the gradient is B times too large: average the loss over the batch "
                           "(divide by B = len(y)), do not sum it"),
            (data, "the regularization term is missing: add lam * w"),
            (data + 0.5 * lam * w, "the regularization term is half what it should be: the derivative of "
                                   "(lam/2)·||w||² is lam * w"),
            (X.T @ (y - p) / B + lam * w, "the data term has the wrong sign: it is Xᵀ(σ(Xw) − y)/B, "
                                          "prediction minus label"),
            (X.T @ (X @ w - y) / B + lam * w, "the prediction must go through the sigmoid: use σ(Xw) "
                                              "(scipy.special.expit), not Xw"),
        ]
        if not _agrees(got, expected):
            for wrong, message in mistakes:
                if _agrees(got, wrong):
                    raise CheckFailed(message)
        close(got, expected, f"logistic_grad(w, X, y, lam) for a batch of {B}", rtol=1e-9, atol=1e-12)
    passed(ex, "the gradient matches the reference on batches of 8, 50 and all 455 examples")


# ---------------------------------------------------------------- Exercise 2: gradient descent
def _ref_gd(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        w = w - lr * grad(w)
    return w


def check_gd(gd) -> None:
    """Exercise 2: ``gd(grad, w0, lr, steps)`` returns the point after ``steps`` GD steps, w0 untouched."""
    ex = "Exercise 2"
    prob = _problem()
    w0 = np.zeros(prob.dim)
    w0_before = w0.copy()
    lr, steps = 0.5, 40
    got = as_array(call(gd, prob.grad, w0, lr, steps, exercise=ex), "gd(grad, w0, lr, steps)")
    if not np.array_equal(w0, w0_before):
        raise CheckFailed("gd changed w0 in place: start from a copy, w = np.array(w0, dtype=float)")
    expected = _ref_gd(prob.grad, w0, lr, steps)
    if got.shape != expected.shape:
        raise CheckFailed(f"gd returned shape {got.shape}, expected {expected.shape} (the final w)")
    if not _agrees(got, expected):
        up = np.array(w0, dtype=float)
        for _ in range(steps):
            up = up + lr * prob.grad(up)
        if _agrees(got, up):
            raise CheckFailed("your steps go uphill: gradient descent is w ← w − lr·grad(w), with a minus sign")
        for k in range(max(0, steps - 3), steps + 4):
            if k != steps and _agrees(got, _ref_gd(prob.grad, w0, lr, k)):
                raise CheckFailed(f"you took {k} steps instead of {steps}: loop `for _ in range(steps)`")
        if _agrees(got, _ref_gd(prob.grad, w0, lr * lr, steps)):
            raise CheckFailed("the step is lr² · grad: multiply the gradient by lr once")
    close(got, expected, "gd(grad, w0, lr, steps)", rtol=1e-9, atol=1e-12)
    passed(ex, f"{steps} steps of gradient descent land where the reference does")


# ---------------------------------------------------------------- Exercise 3: the iterator
def _epoch(shuffled_batches, n, batch_size, rng, ex):
    out = call(shuffled_batches, n, batch_size, rng, exercise=ex)
    if out is None:
        raise CheckFailed("shuffled_batches returned None: `yield` each batch (or return a list of batches)")
    try:
        batches = [np.asarray(b) for b in out]
    except TypeError:
        raise CheckFailed("shuffled_batches must yield index arrays (make it a generator with `yield`)") from None
    except NotImplementedError as e:
        raise CheckFailed(f"{ex} is not done yet: replace the line `raise NotImplementedError(...)` with your "
                          f"code. Hint: {e}") from None
    for b in batches:
        if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer):
            raise CheckFailed("each batch must be a 1-D array of integer indices, e.g. order[start:start + B]")
    return batches


def check_batches(shuffled_batches) -> None:
    """Exercise 3: one call = one epoch, a fresh permutation cut into batches, drawn from ``rng``."""
    ex = "Exercise 3"
    n, B = 50, 8
    rng = np.random.default_rng(7)
    first = _epoch(shuffled_batches, n, B, rng, ex)
    sizes = [len(b) for b in first]
    expected_sizes = [B] * (n // B) + ([n % B] if n % B else [])
    if sizes != expected_sizes:
        raise CheckFailed(f"with n = {n} and batch_size = {B} your batches have sizes {sizes}, expected "
                          f"{expected_sizes}: cut the permutation into consecutive slices of batch_size "
                          "(the last one may be smaller)")
    order = np.concatenate(first)
    counts = np.bincount(order, minlength=n) if order.min() >= 0 else None
    if counts is None or order.max() >= n:
        raise CheckFailed(f"indices must lie in 0..{n - 1}")
    if counts.max() > 1:
        j = int(np.argmax(counts > 1))
        raise CheckFailed(f"your iterator repeats example {j} within one epoch: sample without replacement "
                          "(shuffle with rng.permutation(n))")
    if np.array_equal(order, np.arange(n)):
        raise CheckFailed("your batches come in the original order 0, 1, 2, …: shuffle with rng.permutation(n)")
    second = np.concatenate(_epoch(shuffled_batches, n, B, rng, ex))
    if np.array_equal(order, second):
        raise CheckFailed("two epochs came out in the same order: draw a new permutation from rng at every call "
                          "(do not reseed, and do not reuse one fixed permutation)")
    again = np.concatenate(_epoch(shuffled_batches, n, B, np.random.default_rng(7), ex))
    if not np.array_equal(order, again):
        raise CheckFailed("two generators with the same seed gave different epochs: draw the permutation from the "
                          "rng argument, not from np.random")
    passed(ex, "each epoch is a fresh permutation of all examples, cut into batches of batch_size")


# ---------------------------------------------------------------- Exercise 4: the SGD loop
def _ref_sgd(w0, X, y, lam, lr, batch_size, epochs, rng, batches_fn, reshuffle=True, full=False):
    w = np.array(w0, dtype=float)
    fixed = list(batches_fn(len(y), batch_size, rng)) if not reshuffle else None
    for _ in range(epochs):
        for idx in fixed if fixed is not None else batches_fn(len(y), batch_size, rng):
            g = _ref_grad(w, X, y, lam) if full else _ref_grad(w, X[idx], y[idx], lam)
            w = w - lr * g
    return w


def check_sgd(sgd, shuffled_batches) -> None:
    """Exercise 4: ``sgd(w0, X, y, lam, lr, batch_size, epochs, rng)``, one reshuffled pass per epoch."""
    ex = "Exercise 4"
    prob = _problem()
    X, y, lam = prob.X, prob.y, prob.lam
    w0 = np.zeros(prob.dim)
    lr, B, epochs, seed = 0.1, 32, 3, 11
    got = as_array(call(sgd, w0, X, y, lam, lr, B, epochs, np.random.default_rng(seed), exercise=ex),
                   "sgd(...)")
    if not np.array_equal(w0, np.zeros(prob.dim)):
        raise CheckFailed("sgd changed w0 in place: start from a copy, w = np.array(w0, dtype=float)")

    def ref(**kw):
        return _ref_sgd(w0, X, y, lam, lr, B, kw.pop("epochs", epochs), np.random.default_rng(seed),
                        shuffled_batches, **kw)

    expected = ref()
    if not _agrees(got, expected):
        if _agrees(got, ref(full=True)):
            raise CheckFailed("your loop ignores the mini-batch: compute the gradient on X[idx], y[idx] only")
        if _agrees(got, ref(reshuffle=False)):
            raise CheckFailed("every epoch reuses the first epoch's order: call shuffled_batches again at the "
                              "start of each epoch")
        for e in range(1, epochs + 3):
            if e != epochs and _agrees(got, ref(epochs=e)):
                raise CheckFailed(f"you ran {e} epochs instead of {epochs}: one pass over shuffled_batches "
                                  "per epoch")
    close(got, expected, "sgd(...)", rtol=1e-9, atol=1e-12)
    passed(ex, f"{epochs} epochs of mini-batch SGD match the reference step for step")


# ---------------------------------------------------------------- Exercise 5: PyTorch
def _ref_torch_like(w0, X, y, lam, lr, batches, reduction="mean", decay=True, accumulate=False):
    w = np.array(w0, dtype=float)
    acc = np.zeros_like(w)
    for idx in batches:
        Xb, yb = X[idx], y[idx]
        g = Xb.T @ (expit(Xb @ w) - yb)
        g = g / len(idx) if reduction == "mean" else g
        acc = acc + g if accumulate else g
        w = w - lr * (acc + (lam * w if decay else 0.0))
    return w


def check_torch(torch_sgd) -> None:
    """Exercise 5: ``torch_sgd(w0, X, y, lam, lr, batches)`` with DataLoader + torch.optim.SGD equals NumPy."""
    ex = "Exercise 5"
    prob = _problem()
    X, y, lam = prob.X, prob.y, prob.lam
    rng = np.random.default_rng(5)
    batches = [rng.permutation(prob.n)[:16] for _ in range(30)]
    w0 = 0.1 * rng.standard_normal(prob.dim)
    lr = 0.2
    got = as_array(call(torch_sgd, w0.copy(), X, y, lam, lr, [b.copy() for b in batches], exercise=ex),
                   "torch_sgd(...)")
    got = got.reshape(-1) if got.size == prob.dim else got
    expected = _ref_torch_like(w0, X, y, lam, lr, batches)
    if got.shape != expected.shape:
        raise CheckFailed(f"torch_sgd returned shape {got.shape}: return the weights as a NumPy vector of "
                          f"length {prob.dim}, e.g. model.weight.detach().numpy().ravel()")
    if not _agrees(got, expected, rtol=1e-10):
        variants = [
            (dict(accumulate=True), "gradients accumulate across steps: call opt.zero_grad() before "
                                    "loss.backward()"),
            (dict(reduction="sum"), "the gradient is B times too large: average the loss over the batch "
                                    "(reduction='mean', the default)"),
            (dict(decay=False), "the L2 term is missing: pass weight_decay=lam to torch.optim.SGD (it adds "
                                "lam * w to the gradient)"),
        ]
        for kw, message in variants:
            if _agrees(got, _ref_torch_like(w0, X, y, lam, lr, batches, **kw), rtol=1e-6):
                raise CheckFailed(message)
        if np.allclose(got, expected, rtol=1e-4, atol=1e-6):
            raise CheckFailed("your result agrees only to about 6 digits: compute in float64 "
                              "(torch.float64 for the data and the model)")
    close(got, expected, "torch_sgd(...)", rtol=1e-10, atol=1e-12)
    passed(ex, "torch.optim.SGD fed by a DataLoader gives the NumPy weights to round-off")


# ---------------------------------------------------------------- Exercise 6: the experiment
def check_experiment(experiment) -> None:
    """Exercise 6: ``experiment(batch_sizes, epochs, eta1, seed)`` → {B: ||w − w*||} at equal epochs, lr = eta1·B."""
    ex = "Exercise 6"
    prob = _problem()
    w_star = prob.minimizer()
    sizes, epochs, eta1 = [1, 16, prob.n], 2, 0.001
    got = call(experiment, list(sizes), epochs, eta1, 0, exercise=ex)
    if not isinstance(got, dict):
        raise CheckFailed(f"experiment should return a dict {{batch size: distance}}, got {type(got).__name__}")
    missing = [B for B in sizes if B not in got]
    if missing:
        raise CheckFailed(f"the result has no entry for batch size {missing[0]}: one entry per batch size asked for")
    for B in sizes:
        v = float(got[B])
        if not np.isfinite(v) or v <= 0:
            raise CheckFailed(f"the distance for B = {B} is {v}: it should be ||w − w*||, a positive number")

    def gd_distance(lr, steps):
        return float(np.linalg.norm(_ref_gd(prob.grad, np.zeros(prob.dim), lr, steps) - w_star))

    full = float(got[prob.n])
    expected = gd_distance(eta1 * prob.n, epochs)
    if not np.isclose(full, expected, rtol=1e-6):
        if np.isclose(full, gd_distance(eta1 * prob.n, epochs * prob.n), rtol=1e-6):
            raise CheckFailed("at B = N you took as many steps as at B = 1: compare at equal epochs, "
                              "i.e. epochs · ceil(N / B) steps for batch size B")
        if np.isclose(full, gd_distance(eta1, epochs), rtol=1e-6):
            raise CheckFailed("the learning rate did not grow with the batch: use the linear scaling rule, "
                              "lr = eta1 · B")
        raise CheckFailed(f"at B = N (full batch, {epochs} steps of lr = eta1·N from w = 0) the distance "
                          f"should be {expected:.6f}, you have {full:.6f}")
    passed(ex, "one entry per batch size, compared at equal epochs with lr = eta1 · B")
