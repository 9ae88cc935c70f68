"""The checks of Lab 1 (GD and SGD from scratch), one per exercise.

Each ``check_*`` function runs the student's function on several inputs chosen to expose the
classes of mistakes (random non-zero starting points, batch sizes that divide n and that do
not, B = 1 and B ≥ n, shapes other than the example's), compares with a reference computed
here, and either prints ``✓ Exercise n: ...`` (in English and Chinese) or raises
:class:`optbook.checks.CheckFailed` with what is wrong and what to try, in both languages.
The typical mistakes are recognised by computing what each mistake would return and
comparing: a summed gradient or one divided by N, the L2 term missing, halved or inside the
average, a step uphill, ``w0`` ignored, an iterator that repeats examples, never reshuffles,
yields an empty batch or ignores its rng, a loop that ignores the batch or exhausts its
generator, ``zero_grad`` forgotten or misplaced, ``w0`` not loaded into the model, one
generator shared by all batch sizes, a squared distance or string keys. Exceptions from the
student's code are reported with the student's line (:func:`optbook.checks.call`).
tests/test_lab_checks.py proves every one of them.
"""

from __future__ import annotations

import inspect

import numpy as np
from scipy.special import expit

from optbook.checks import CheckFailed, Inputs, agrees, as_array, call, close, fail, iterate, passed, student_code
from optbook.problems import LogisticProblem, breast_cancer


def _problem() -> LogisticProblem:
    return breast_cancer()


_agrees = agrees


def _ref_grad(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / len(y) + lam * w


# ---------------------------------------------------------------- Exercise 1: the gradient
def _grad_mistakes(w, X, y, lam, N):
    p = expit(X @ w)
    B = len(y)
    data = X.T @ (p - y) / B
    expected = data + lam * w
    sum_msg = ("the gradient is B times too large: average the loss over the batch (divide the data term by "
               "B = len(y)), do not sum it",
               "梯度大了 B 倍：損失要在批量上取平均（數據項除以 B = len(y)），不是求和")
    out = [
        (X.T @ (p - y) + lam * w, *sum_msg),
        (B * expected, *sum_msg),
        (data, "the regularization term is missing: add lam * w",
         "少了正則化項：加上 lam * w"),
        (data + 0.5 * lam * w, "the regularization term is half what it should be: the derivative of "
                               "(lam/2)·||w||² is lam * w",
         "正則化項只有應有的一半：(lam/2)·||w||² 的導數是 lam * w"),
        (data + 2 * lam * w, "the regularization term is twice what it should be: the derivative of "
                             "(lam/2)·||w||² is lam * w, not 2·lam·w",
         "正則化項是應有的兩倍：(lam/2)·||w||² 的導數是 lam * w，不是 2·lam·w"),
        (X.T @ (y - p) / B + lam * w, "the data term has the wrong sign: it is Xᵀ(σ(Xw) − y)/B, prediction minus "
                                      "label",
         "數據項的符號反了：應是 Xᵀ(σ(Xw) − y)/B，預測減標籤"),
        (-expected, "the gradient has the wrong sign: it is Xᵀ(σ(Xw) − y)/B + lam·w, the direction of steepest "
                    "ascent",
         "梯度的符號反了：應是 Xᵀ(σ(Xw) − y)/B + lam·w，即上升最快的方向"),
        (X.T @ (X @ w - y) / B + lam * w, "the prediction must go through the sigmoid: use σ(Xw) "
                                          "(scipy.special.expit), not Xw",
         "預測要先經過 sigmoid：用 σ(Xw)（scipy.special.expit），而不是 Xw"),
        ((X.T @ (p - y) + lam * w) / B, "the regularization term is inside the average: lam * w is added once, "
                                        "after dividing the data term by B, not divided by B with it",
         "正則化項被放進了平均裡：先把數據項除以 B，再加一次 lam * w，不要連它一起除以 B"),
    ]
    if B != N:
        out.append((X.T @ (p - y) / N + lam * w, f"the data term is divided by N = {N}, the size of the whole data "
                                                 "set: divide by the batch size B = len(y)",
                    f"數據項除以的是整個數據集的大小 N = {N}：應除以批量大小 B = len(y)"))
    return out, expected


def check_grad(logistic_grad) -> None:
    """Exercise 1: ``logistic_grad(w, X, y, lam)`` is the mean-over-the-batch gradient plus ``lam * w``."""
    ex = "Exercise 1"
    prob = _problem()
    rng = np.random.default_rng(1)
    cases = []
    for B in (8, 50, 1, prob.n):
        idx = rng.choice(prob.n, size=B, replace=False)
        cases.append((prob.X[idx], prob.y[idx], 0.1, f"a batch of {B}", f"{B} 個樣本的批量"))
    Xs = rng.standard_normal((12, 5))
    cases.append((Xs, (rng.random(12) < 0.5).astype(float), 0.3, "12 random examples in dimension 5",
                  "5 維的 12 個隨機樣本"))
    for X, y, lam, what, what_zh in cases:
        w = rng.standard_normal(X.shape[1])
        inputs = Inputs(w=w, X=X, y=y)
        got = as_array(call(logistic_grad, w, X, y, lam, exercise=ex), "logistic_grad(w, X, y, lam)")
        inputs.untouched("logistic_grad")
        mistakes, expected = _grad_mistakes(w, X, y, lam, prob.n)
        if got.shape != expected.shape:
            fail(f"logistic_grad returned shape {got.shape} on {what}; the gradient has the shape of w, "
                 f"{expected.shape}",
                 f"在{what_zh}上，logistic_grad 返回的形狀是 {got.shape}；梯度的形狀應與 w 相同，即 {expected.shape}")
        if not _agrees(got, expected):
            for wrong, en, zh in mistakes:
                if _agrees(got, wrong):
                    fail(en, zh)
        close(got, expected, f"logistic_grad(w, X, y, lam) on {what}", rtol=1e-9, atol=1e-12,
              what_zh=f"{what_zh}上的 logistic_grad(w, X, y, lam)")
    passed(ex, "the gradient matches the reference on batches of 1, 8, 50 and all 455 examples, and on random data "
               "in dimension 5",
           "梯度在 1、8、50 個樣本和全部 455 個樣本的批量上，以及 5 維隨機數據上，都與參考實現一致")


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
    rng = np.random.default_rng(2)
    A = np.diag([1.0, 3.0, 0.5])

    def quad(w):
        return A @ (np.asarray(w, dtype=float) - 1.0)

    cases = [(prob.grad, 0.3 * rng.standard_normal(prob.dim), 0.5, 40, "the logistic loss", "邏輯損失"),
             (prob.grad, np.zeros(prob.dim), 0.5, 40, "the logistic loss from w0 = 0", "邏輯損失（從 w0 = 0 出發）"),
             (quad, rng.standard_normal(3), 0.2, 1, "a quadratic in dimension 3", "3 維二次函數"),
             (quad, rng.standard_normal(3), 0.2, 0, "a quadratic, steps = 0", "3 維二次函數，steps = 0"),
             (quad, rng.standard_normal(3), 0.2, 7, "a quadratic in dimension 3", "3 維二次函數")]
    for grad, w0, lr, steps, what, what_zh in cases:
        inputs = Inputs(w0=w0)
        got = as_array(call(gd, grad, w0, lr, steps, exercise=ex), "gd(grad, w0, lr, steps)")
        inputs.untouched("gd", "Start from a copy: w = np.array(w0, dtype=float), then w = w - lr * grad(w)",
                         "先複製一份：w = np.array(w0, dtype=float)，再寫 w = w - lr * grad(w)")
        expected = _ref_gd(grad, w0, lr, steps)
        if got.ndim == 2 and got.shape[1:] == expected.shape:
            fail("gd returned the whole history of iterates: return only the last point w",
                 "gd 返回了所有迭代點的歷史：只需要返回最後一個點 w")
        if got.shape != expected.shape:
            fail(f"gd returned shape {got.shape}, expected {expected.shape} (the final w)",
                 f"gd 返回的形狀是 {got.shape}，應為 {expected.shape}（最後的 w）")
        if _agrees(got, expected):
            continue
        if steps == 0:
            fail("with steps = 0 gd must return w0 itself (as a copy): no step taken",
                 "steps = 0 時 gd 應原樣返回 w0（的副本）：一步也不走")
        if np.any(w0 != 0) and _agrees(got, _ref_gd(grad, np.zeros_like(w0), lr, steps)):
            fail("gd ignores w0 and starts from zeros: start from w = np.array(w0, dtype=float)",
                 "gd 忽略了 w0，從零開始走：應從 w = np.array(w0, dtype=float) 出發")
        variants = [
            (_ref_gd(lambda w, grad=grad: -grad(w), w0, lr, steps),
             "your steps go uphill: gradient descent is w ← w − lr·grad(w), with a minus sign",
             "你的步子在往上走：梯度下降是 w ← w − lr·grad(w)，是減號"),
            (_ref_gd(grad, w0, lr * lr, steps), "the step is lr² · grad: multiply the gradient by lr once",
             "步子成了 lr² · grad：梯度只乘一次 lr"),
            (_ref_gd(grad, w0, 1.0, steps), "the step ignores lr: w ← w − lr·grad(w)",
             "步子沒有乘學習率：應是 w ← w − lr·grad(w)"),
        ]
        for wrong, en, zh in variants:
            if _agrees(got, wrong):
                fail(en, zh)
        for k in range(max(0, steps - 3), steps + 4):
            if k != steps and _agrees(got, _ref_gd(grad, w0, lr, k)):
                fail(f"you took {k} steps instead of {steps}: loop `for _ in range(steps)`",
                     f"你走了 {k} 步，而不是 {steps} 步：循環寫成 `for _ in range(steps)`")
        if steps == 1:
            close(got - w0, expected - w0, f"the step w_1 − w0 ({what})", rtol=1e-9, atol=1e-12,
                  what_zh=f"第一步 w_1 − w0（{what_zh}）")
        close(got, expected, f"gd(grad, w0, lr, steps) on {what}", rtol=1e-9, atol=1e-12,
              what_zh=f"{what_zh}上的 gd(grad, w0, lr, steps)")
    passed(ex, "gradient descent lands where the reference does, from random and zero starting points, for 0, 1, 7 "
               "and 40 steps, with w0 left untouched",
           "從隨機起點和零起點出發，走 0、1、7、40 步，梯度下降都落在參考實現的位置，且 w0 保持不變")


# ---------------------------------------------------------------- Exercise 3: the iterator
_YIELD = ("`yield` each batch (or return a list of batches)", "用 `yield` 逐個給出批量（或返回批量的列表）")


def _epoch(shuffled_batches, n, batch_size, rng, ex):
    out = call(shuffled_batches, n, batch_size, rng, exercise=ex)
    raw = iterate(out, ex, "shuffled_batches", *_YIELD)
    batches = []
    for b in raw:
        b = np.asarray(b)
        if b.ndim != 1 or not (np.issubdtype(b.dtype, np.integer) or b.size == 0):
            fail("each batch must be a 1-D array of integer indices, e.g. order[start:start + batch_size]; got "
                 f"one of shape {b.shape} and dtype {b.dtype}",
                 "每個批量都應是一維的整數索引數組，例如 order[start:start + batch_size]；"
                 f"實際得到形狀 {b.shape}、dtype 為 {b.dtype} 的數組")
        batches.append(b.astype(int))
    return batches


def _expected_sizes(n, B):
    return [B] * (n // B) + ([n % B] if n % B else [])


def check_batches(shuffled_batches) -> None:
    """Exercise 3: one call = one epoch, a fresh permutation cut into batches, drawn from ``rng``."""
    ex = "Exercise 3"
    for n, B in ((50, 8), (48, 8), (10, 1), (7, 10), (7, 7)):
        rng = np.random.default_rng(7)
        first = _epoch(shuffled_batches, n, B, rng, ex)
        sizes = [len(b) for b in first]
        expected_sizes = _expected_sizes(n, B)
        if sizes != expected_sizes:
            if sizes == expected_sizes + [0]:
                fail(f"with n = {n} and batch_size = {B} your last batch is empty: when batch_size divides n, "
                     "n // batch_size + 1 slices leave an empty one. Loop `for start in range(0, n, batch_size)`",
                     f"n = {n}、batch_size = {B} 時，你的最後一個批量是空的：batch_size 整除 n 時，"
                     "切 n // batch_size + 1 段會多出一個空批量。循環應寫成 `for start in range(0, n, batch_size)`")
            if n % B and sizes == [B] * (n // B):
                fail(f"with n = {n} and batch_size = {B} your batches have sizes {sizes}, expected {expected_sizes}: "
                     "the last, smaller batch is dropped; keep it, every example is used once per epoch",
                     f"n = {n}、batch_size = {B} 時，你的批量大小是 {sizes}，應為 {expected_sizes}："
                     "最後那個較小的批量被丟掉了；要保留它，每個樣本每輪次都要用到一次")
            fail(f"with n = {n} and batch_size = {B} your batches have sizes {sizes}, expected {expected_sizes}: "
                 "cut the permutation into consecutive slices of batch_size (the last one may be smaller)",
                 f"n = {n}、batch_size = {B} 時，你的批量大小是 {sizes}，應為 {expected_sizes}："
                 "把排列切成連續的、長為 batch_size 的片段（最後一段可以短一些）")
        order = np.concatenate(first)
        if order.min() < 0 or order.max() >= n:
            fail(f"indices must lie in 0..{n - 1}", f"索引應在 0..{n - 1} 之間")
        counts = np.bincount(order, minlength=n)
        if counts.max() > 1:
            j = int(np.argmax(counts > 1))
            fail(f"your iterator repeats example {j} within one epoch: sample without replacement "
                 "(shuffle with rng.permutation(n))",
                 f"你的迭代器在同一輪次裡重複用了樣本 {j}：要無放回抽樣（用 rng.permutation(n) 打亂）")
        if n > 1 and np.array_equal(order, np.arange(n)):
            fail("your batches come in the original order 0, 1, 2, …: shuffle with rng.permutation(n)",
                 "你的批量按原始順序 0, 1, 2, … 給出：要用 rng.permutation(n) 打亂")
        second = np.concatenate(_epoch(shuffled_batches, n, B, rng, ex))
        if np.array_equal(order, second):
            fail("two epochs came out in the same order: draw a new permutation from rng at every call "
                 "(do not reseed, and do not reuse one fixed permutation)",
                 "兩個輪次的順序一模一樣：每次調用都要從 rng 抽一個新的排列（不要重新設種子，也不要重用固定的排列）")
        again = np.concatenate(_epoch(shuffled_batches, n, B, np.random.default_rng(7), ex))
        if not np.array_equal(order, again):
            fail("two generators with the same seed gave different epochs: draw the permutation from the "
                 "rng argument, not from np.random",
                 "兩個種子相同的生成器給出了不同的輪次：排列要從傳入的 rng 參數抽取，而不是從 np.random")
    passed(ex, "each epoch is a fresh permutation of all examples, cut into batches of batch_size, for n = 50, 48, "
               "10 and 7 with batch sizes that divide n and that do not, B = 1 and B ≥ n",
           "每個輪次都是全部樣本的一個新排列，切成 batch_size 大小的批量；n = 50、48、10、7，"
           "批量大小整除與不整除 n、B = 1 和 B ≥ n 都對")


# ---------------------------------------------------------------- Exercise 4: the SGD loop
def _ref_sgd(w0, X, y, lam, lr, batch_size, epochs, rng, batches_fn, reshuffle=True, full=False, once=False):
    w = np.array(w0, dtype=float)
    fixed = list(batches_fn(len(y), batch_size, rng)) if not reshuffle else None
    gen = batches_fn(len(y), batch_size, rng) if once else None
    for _ in range(epochs):
        for idx in fixed if fixed is not None else gen if gen is not None else batches_fn(len(y), batch_size, rng):
            g = _ref_grad(w, X, y, lam) if full else _ref_grad(w, X[idx], y[idx], lam)
            w = w - lr * g
    return w


def check_sgd(sgd, shuffled_batches) -> None:
    """Exercise 4: ``sgd(w0, X, y, lam, lr, batch_size, epochs, rng)``, one reshuffled pass per epoch."""
    ex = "Exercise 4"
    prob = _problem()
    X, y, lam = prob.X, prob.y, prob.lam
    rng0 = np.random.default_rng(12)
    cases = [(0.1 * rng0.standard_normal(prob.dim), 0.1, 32, 3, 11),
             (np.zeros(prob.dim), 0.1, 5, 2, 3),          # 5 divides N = 455
             (0.1 * rng0.standard_normal(prob.dim), 0.5, prob.n, 3, 4),
             (0.1 * rng0.standard_normal(prob.dim), 0.5, 1000, 2, 5)]
    for w0, lr, B, epochs, seed in cases:
        setting = f"batch_size = {B}, {epochs} epochs"
        setting_zh = f"batch_size = {B}，{epochs} 個輪次"
        inputs = Inputs(w0=w0, X=X, y=y)
        got = as_array(call(sgd, w0, X, y, lam, lr, B, epochs, np.random.default_rng(seed), exercise=ex), "sgd(...)")
        inputs.untouched("sgd")

        def ref(w0=w0, lr=lr, B=B, epochs=epochs, seed=seed, **kw):
            return _ref_sgd(w0, X, y, lam, lr, B, epochs, np.random.default_rng(seed), shuffled_batches, **kw)

        expected = ref()
        if got.shape != expected.shape:
            fail(f"sgd returned shape {got.shape}, expected {expected.shape} (the final w)",
                 f"sgd 返回的形狀是 {got.shape}，應為 {expected.shape}（最後的 w）")
        if _agrees(got, expected):
            continue
        if np.any(w0 != 0) and _agrees(got, _ref_sgd(np.zeros_like(w0), X, y, lam, lr, B, epochs,
                                                     np.random.default_rng(seed), shuffled_batches)):
            fail("sgd ignores w0 and starts from zeros: start from w = np.array(w0, dtype=float)",
                 "sgd 忽略了 w0，從零開始：應從 w = np.array(w0, dtype=float) 出發")
        if B < prob.n and _agrees(got, ref(full=True)):
            fail("your loop ignores the mini-batch: compute the gradient on X[idx], y[idx] only",
                 "你的循環沒有用小批量：梯度只在 X[idx]、y[idx] 上計算")
        if epochs > 1 and B < prob.n and _agrees(got, ref(reshuffle=False)):
            fail("every epoch reuses the first epoch's order: call shuffled_batches again at the start of each epoch",
                 "每個輪次都重用了第一個輪次的順序：每個輪次開始時都要重新調用 shuffled_batches")
        if epochs > 1 and _agrees(got, ref(epochs=1)):
            fail(f"w moved only during the first of the {epochs} epochs: a generator is used up after one pass, so "
                 "create it inside the epoch loop, `for idx in shuffled_batches(len(y), batch_size, rng)` under "
                 "`for _ in range(epochs)`, not once before it",
                 f"{epochs} 個輪次裡只有第一個輪次讓 w 動了：生成器走完一遍就用完了，所以要在輪次循環裡面創建它，"
                 "即在 `for _ in range(epochs)` 之下寫 `for idx in shuffled_batches(len(y), batch_size, rng)`，"
                 "而不是在循環之前只建一次")
        for e in range(1, epochs + 3):
            if e != epochs and _agrees(got, ref(epochs=e)):
                fail(f"you ran {e} epochs instead of {epochs}: one pass over shuffled_batches per epoch",
                     f"你跑了 {e} 個輪次，而不是 {epochs} 個：每個輪次走一遍 shuffled_batches")
        other = as_array(call(sgd, w0, X, y, lam, lr, B, epochs, np.random.default_rng(seed + 100), exercise=ex),
                         "sgd(...)")
        if B < prob.n and _agrees(got, other, rtol=1e-12):
            fail("sgd gives the same weights for two different rng: pass the rng argument on to shuffled_batches "
                 "(do not make a new generator inside sgd)",
                 "兩個不同的 rng 給出了相同的權重：把 rng 參數傳給 shuffled_batches（不要在 sgd 裡另建生成器）")
        close(got, expected, f"sgd(...) with {setting}", rtol=1e-9, atol=1e-12, what_zh=f"{setting_zh} 時的 sgd(...)")
    passed(ex, "mini-batch SGD matches the reference step for step, from zero and random w0, with batch sizes 5 "
               "(which divides N), 32, N and more than N",
           "小批量 SGD 逐步與參考實現一致，從零和隨機的 w0 出發、批量大小為 5（整除 N）、32、N 和大於 N 時都對")


# ---------------------------------------------------------------- Exercise 5: PyTorch
def _ref_torch_like(w0, X, y, lam, lr, batches, reduction="mean", decay=1.0, accumulate=False):
    w = np.array(w0, dtype=float)
    acc = np.zeros_like(w)
    for idx in batches:
        Xb, yb = X[idx], y[idx]
        g = Xb.T @ (expit(Xb @ w) - yb)
        g = g / len(idx) if reduction == "mean" else g
        acc = acc + g if accumulate else g
        w = w - lr * (acc + decay * lam * w)
    return w


TORCH_VARIANTS = [
    (dict(accumulate=True), "gradients accumulate across steps: call opt.zero_grad() before loss.backward()",
     "梯度在各步之間累加了：在 loss.backward() 之前調用 opt.zero_grad()"),
    (dict(reduction="sum"), "the gradient is B times too large: average the loss over the batch "
                            "(reduction='mean', the default)",
     "梯度大了 B 倍：損失要在批量上取平均（reduction='mean'，即默認值）"),
    (dict(decay=0.0), "the L2 term is missing: pass weight_decay=lam to torch.optim.SGD (it adds lam * w to the "
                      "gradient)",
     "少了 L2 項：給 torch.optim.SGD 傳 weight_decay=lam（它會在梯度上加 lam * w）"),
    (dict(decay=2.0), "the L2 term is counted twice: either weight_decay=lam or (lam/2)·||w||² in the loss, not both",
     "L2 項算了兩次：要麼用 weight_decay=lam，要麼在損失裡加 (lam/2)·||w||²，不要兩個都用"),
    (dict(decay=0.5), "the L2 term is half what it should be: weight_decay=lam, or (lam/2)·||w||² in the loss",
     "L2 項只有應有的一半：用 weight_decay=lam，或在損失裡加 (lam/2)·||w||²"),
]


def check_torch(torch_sgd) -> None:
    """Exercise 5: ``torch_sgd(w0, X, y, lam, lr, batches)`` with DataLoader + torch.optim.SGD equals NumPy."""
    ex = "Exercise 5"
    prob = _problem()
    X, y, lam = prob.X, prob.y, prob.lam
    rng = np.random.default_rng(5)
    batches = [rng.permutation(prob.n)[:16] for _ in range(30)] + [rng.permutation(prob.n)[:7] for _ in range(3)]
    w0 = 0.1 * rng.standard_normal(prob.dim)

    def run(w0, lr, batches):
        inputs = Inputs(w0=w0, X=X, y=y, batches=batches)
        got = as_array(call(torch_sgd, w0, X, y, lam, lr, batches, exercise=ex), "torch_sgd(...)")
        inputs.untouched("torch_sgd",
                         "torch.from_numpy and torch.as_tensor share memory with the array: copy it into the model "
                         "(model.weight.copy_(...) under torch.no_grad()) or use torch.tensor(w0), which copies",
                         "torch.from_numpy 和 torch.as_tensor 與原數組共用內存：請把它複製進模型"
                         "（在 torch.no_grad() 下用 model.weight.copy_(...)），或用會複製的 torch.tensor(w0)")
        return got.reshape(-1) if got.size == prob.dim else got

    still = run(w0, 0.0, [b.copy() for b in batches[:3]])
    if still.shape == w0.shape and not _agrees(still, w0, rtol=1e-6):
        fail("with lr = 0 your model does not return w0: w0 is not loaded into the model, which keeps its random "
             "initialization. Copy it in: with torch.no_grad(): model.weight.copy_(torch.as_tensor(w0).reshape(1, -1))",
             "lr = 0 時你的模型沒有返回 w0：w0 沒有載入模型，模型用的還是隨機初始化。請把它複製進去："
             "with torch.no_grad(): model.weight.copy_(torch.as_tensor(w0).reshape(1, -1))")
    lr = 0.2
    got = run(w0, lr, [b.copy() for b in batches])
    expected = _ref_torch_like(w0, X, y, lam, lr, batches)
    if got.shape != expected.shape:
        fail(f"torch_sgd returned shape {got.shape}: return the weights as a NumPy vector of length {prob.dim}, "
             "e.g. model.weight.detach().numpy().ravel()",
             f"torch_sgd 返回的形狀是 {got.shape}：請把權重作為長度 {prob.dim} 的 NumPy 向量返回，"
             "例如 model.weight.detach().numpy().ravel()")
    if not _agrees(got, expected, rtol=1e-10):
        if _agrees(got, w0, rtol=1e-6):
            fail("w never moved: the gradient is erased before the step. opt.zero_grad() belongs before "
                 "loss.backward(), not between backward() and step()",
                 "w 完全沒動：梯度在更新之前就被清掉了。opt.zero_grad() 應放在 loss.backward() 之前，"
                 "而不是 backward() 與 step() 之間")
        for kw, en, zh in TORCH_VARIANTS:
            if _agrees(got, _ref_torch_like(w0, X, y, lam, lr, batches, **kw), rtol=1e-6):
                fail(en, zh)
    close(got, expected, "torch_sgd(...)", rtol=1e-10, atol=1e-12)
    passed(ex, "torch.optim.SGD fed by a DataLoader gives the NumPy weights to round-off, and returns w0 when lr = 0",
           "由 DataLoader 餵數據的 torch.optim.SGD 得到的權重與 NumPy 的一致（只差捨入誤差），lr = 0 時返回 w0")


# ---------------------------------------------------------------- Exercise 6: the experiment
def _student_sgd(experiment):
    """The ``sgd`` the student's experiment calls (a global or a closure variable), if it has one."""
    try:
        names = inspect.getclosurevars(experiment)
    except (TypeError, ValueError):  # pragma: no cover - a builtin or a callable object
        return None
    fn = names.nonlocals.get("sgd") or names.globals.get("sgd")
    return fn if callable(fn) else None


def check_experiment(experiment) -> None:
    """Exercise 6: ``experiment(batch_sizes, epochs, eta1, seed)`` → {B: ||w − w*||} at equal epochs, lr = eta1·B."""
    ex = "Exercise 6"
    prob = _problem()
    w_star = prob.minimizer()
    sgd = _student_sgd(experiment)
    if sgd is None:
        def sgd(w0, X, y, lam, lr, B, epochs, rng):
            from optbook.problems import breast_cancer  # noqa: F401 (the same problem)

            return _ref_sgd(w0, X, y, lam, lr, B, epochs, rng, _canonical_batches)

    def dist(B, lr, epochs, rng):
        with student_code(ex, "sgd"):
            w = np.asarray(sgd(np.zeros(prob.dim), prob.X, prob.y, prob.lam, lr, B, epochs, rng), dtype=float)
        return float(np.linalg.norm(w - w_star))

    for sizes, epochs, eta1, seed in (([16, 1, prob.n], 2, 0.001, 0), ([5, prob.n, 64], 1, 0.002, 3)):
        sizes_in = list(sizes)
        got = call(experiment, sizes_in, epochs, eta1, seed, exercise=ex)
        if not isinstance(got, dict):
            fail(f"experiment should return a dict {{batch size: distance}}, got {type(got).__name__}",
                 f"experiment 應返回字典 {{批量大小: 距離}}，實際得到的是 {type(got).__name__}")
        if sizes_in != sizes:
            fail("experiment changed the list batch_sizes in place: leave its argument as it is",
                 "experiment 原地修改了 batch_sizes 這個列表：不要改動傳入的參數")
        for B in sizes:
            if B not in got:
                if str(B) in got:
                    fail(f"the keys of your dict are strings ('{B}'): use the batch size itself, out[B] = ...",
                         f"字典的鍵是字符串（'{B}'）：請直接用批量大小本身作鍵，out[B] = ...")
                fail(f"the result has no entry for batch size {B}: one entry per batch size asked for",
                     f"結果中沒有批量大小 {B} 的條目：每個要求的批量大小都要有一項")
        for B in sizes:
            try:
                v = float(got[B])
            except (TypeError, ValueError):
                fail(f"the entry for B = {B} is a {type(got[B]).__name__}: store the distance ||w − w*||, one number",
                     f"B = {B} 的條目是 {type(got[B]).__name__}：應存距離 ||w − w*||，一個數")
            if not np.isfinite(v) or v <= 0:
                fail(f"the distance for B = {B} is {v}: it should be ||w − w*||, a positive number",
                     f"B = {B} 時的距離是 {v}：它應是 ||w − w*||，一個正數")
        shared = np.random.default_rng(seed)
        for B in sizes:
            v = float(got[B])
            expected = dist(B, eta1 * B, epochs, np.random.default_rng(seed))
            if np.isclose(v, expected, rtol=1e-6):
                dist(B, eta1 * B, epochs, shared)
                continue
            a, e = (f"{x:.6g}" for x in (v, expected))
            if np.isclose(v, expected**2, rtol=1e-6):
                fail(f"for B = {B} you returned the squared distance ||w − w*||² = {a}: return the distance itself, "
                     "np.linalg.norm(w - w_star)",
                     f"B = {B} 時你返回的是距離的平方 ||w − w*||² = {a}：應返回距離本身，np.linalg.norm(w - w_star)")
            if np.isclose(v, dist(B, eta1 * B, epochs, shared), rtol=1e-6):
                fail(f"for B = {B} your distance is {a}, expected {e}: one generator is shared by all batch sizes, so "
                     "each run after the first starts from a different random state. Give each batch size its own "
                     "np.random.default_rng(seed)",
                     f"B = {B} 時你的距離是 {a}，應為 {e}：所有批量大小共用了一個生成器，第一次之後的每次運行"
                     "都從不同的隨機狀態開始。每個批量大小都要用自己的 np.random.default_rng(seed)")
            if np.isclose(v, dist(B, eta1, epochs, np.random.default_rng(seed)), rtol=1e-6):
                fail("the learning rate did not grow with the batch: use the linear scaling rule, lr = eta1 · B",
                     "學習率沒有隨批量變大：請用線性縮放規則，lr = eta1 · B")
            if B > 1 and np.isclose(v, dist(B, eta1 * B, epochs * B, np.random.default_rng(seed)), rtol=1e-6):
                fail(f"at B = {B} you ran epochs · B = {epochs * B} epochs, to take about as many steps as at B = 1: "
                     "compare at equal epochs, i.e. epochs · ceil(N / B) steps for batch size B",
                     f"B = {B} 時你跑了 epochs · B = {epochs * B} 個輪次，想讓步數與 B = 1 時差不多："
                     "應在相同輪次下比較，即批量大小 B 走 epochs · ceil(N / B) 步")
            if np.isclose(v, np.linalg.norm(w_star), rtol=1e-6):
                fail(f"for B = {B} the distance is ||w*||: w never moved from 0; run sgd for each batch size",
                     f"B = {B} 時的距離等於 ||w*||：w 從 0 一步沒動；要對每個批量大小運行 sgd")
            fail(f"for B = {B} ({epochs} epochs of lr = eta1·B = {eta1 * B:g} from w = 0, seed {seed}) the distance "
                 f"should be {e}, you have {a}",
                 f"B = {B} 時（從 w = 0 出發，lr = eta1·B = {eta1 * B:g}，{epochs} 個輪次，種子 {seed}），"
                 f"距離應為 {e}，你的是 {a}")
    passed(ex, "one entry per batch size, each compared at equal epochs with lr = eta1 · B and its own generator",
           "每個批量大小各有一項，每一項都在相同輪次、lr = eta1 · B 和各自的生成器下與參考實現一致")


def _canonical_batches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


__all__ = ["CheckFailed", "check_grad", "check_gd", "check_batches", "check_sgd", "check_torch", "check_experiment"]
