"""More wrong answers and correct alternatives for the checks of Labs 1 and 2.

For every exercise: at least six wrong answers a student really writes, each of which must
fail with its own message (a phrase of the English line and a phrase of the Chinese line),
and two correct but differently written answers, which must pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import test_lab_checks as t1
import test_lab_checks_02 as t2
import torch
from scipy.special import expit
from torch.utils.data import DataLoader, TensorDataset

from optbook import lab_checks_01 as lab1
from optbook import lab_checks_02 as lab2
from optbook.checks import CheckFailed

PROB = lab1.breast_cancer()
W_STAR = PROB.minimizer()


def _sol1():
    return t1._namespace("solutions", t1.ALL)


SOL1 = _sol1()
SOL2 = t2._namespace("solutions")


# ---------------------------------------------------------------- Lab 1
def grad_f32(w, X, y, lam):
    X32, w32 = X.astype(np.float32), w.astype(np.float32)
    return X32.T @ (expit(X32 @ w32) - y.astype(np.float32)) / len(y) + np.float32(lam) * w32


def grad_reg_inside(w, X, y, lam):
    return (X.T @ (expit(X @ w) - y) + lam * w) / len(y)


def grad_over_N(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / 455 + lam * w


def grad_double_reg(w, X, y, lam):
    return X.T @ (expit(X @ w) - y) / len(y) + 2 * lam * w


def grad_in_place(w, X, y, lam):
    w *= lam
    return X.T @ (expit(X @ (w / lam)) - y) / len(y) + w


def grad_hardcoded(w, X, y, lam):
    g = np.zeros(31)
    g[:] = X.T @ (expit(X @ w) - y) / len(y) + lam * w
    return g


def grad_alt_loop(w, X, y, lam):
    g = np.zeros_like(w)
    for xi, yi in zip(X, y):
        g += (1 / (1 + np.exp(-xi @ w)) - yi) * xi
    return g / len(y) + lam * w


def grad_alt_mean(w, X, y, lam):
    return np.mean((expit(X @ w) - y)[:, None] * X, axis=0) + lam * w


def gd_zeros(grad, w0, lr, steps):
    w = np.zeros_like(w0)
    for _ in range(steps):
        w = w - lr * grad(w)
    return w


def gd_no_lr(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        w = w - grad(w)
    return w


def gd_history(grad, w0, lr, steps):
    w, out = np.array(w0, dtype=float), []
    for _ in range(steps):
        w = w - lr * grad(w)
        out.append(w)
    return np.array(out)


def gd_lr2(grad, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        w = w - lr * lr * grad(w)
    return w


def gd_alt_copy(grad, w0, lr, steps):
    w = w0.copy()
    k = 0
    while k < steps:
        w -= lr * grad(w)
        k += 1
    return w


def gd_alt_astype(grad, w0, lr, steps):
    w = np.asarray(w0).astype(float)
    for _ in range(steps):
        w = w - lr * np.asarray(grad(w))
    return w


def batches_empty_last(n, batch_size, rng):
    order = rng.permutation(n)
    for i in range(n // batch_size + 1):
        yield order[i * batch_size:(i + 1) * batch_size]


def batches_float_range(n, batch_size, rng):
    order = rng.permutation(n)
    for i in range(math.ceil(n / batch_size) * 1.0):
        yield order[i * batch_size:(i + 1) * batch_size]


def batches_swapped_range(n, batch_size, rng):
    order = rng.permutation(n)
    for s in range(0, rng, batch_size):
        yield order[s:s + batch_size]


def batches_alt_choice(n, batch_size, rng):
    order = rng.choice(n, size=n, replace=False)
    return [order[s:s + batch_size] for s in range(0, n, batch_size)]


def batches_alt_split(n, batch_size, rng):
    order = np.arange(n)
    rng.shuffle(order)
    yield from np.split(order, range(batch_size, n, batch_size))


def _sgd_wrong(kind):
    grad, batches = SOL1["logistic_grad"], SOL1["shuffled_batches"]

    def sgd(w0, X, y, lam, lr, batch_size, epochs, rng):
        w = np.zeros_like(w0) if kind == "zeros" else np.array(w0, dtype=float)
        gen = batches(len(y), batch_size, rng)
        for _ in range(epochs):
            it = gen if kind == "once" else batches(len(y), batch_size,
                                                    np.random.default_rng(0) if kind == "own_rng" else rng)
            for idx in it:
                yb = y if kind == "full_y" else y[idx]
                w = w - lr * grad(w, X[idx], yb, lam)
        if kind == "in_place":
            w0 += 0.0 * w0 + 1.0
        return w

    return sgd


def sgd_alt_index(w0, X, y, lam, lr, batch_size, epochs, rng):
    w = w0.astype(float, copy=True)
    for _ in range(epochs):
        for idx in SOL1["shuffled_batches"](len(y), batch_size, rng):
            Xb, yb = X[idx], y[idx]
            w -= lr * (Xb.T @ (expit(Xb @ w) - yb) / len(idx) + lam * w)
    return w


def sgd_alt_take(w0, X, y, lam, lr, batch_size, epochs, rng):
    w = np.array(w0, dtype=float)
    for _ in range(epochs):
        for idx in list(SOL1["shuffled_batches"](len(y), batch_size, rng)):
            w = w - lr * SOL1["logistic_grad"](w, np.take(X, idx, axis=0), np.take(y, idx), lam)
    return w


def _torch(kind):
    def torch_sgd(w0, X, y, lam, lr, batches):
        dtype = torch.float64
        model = torch.nn.Linear(len(w0), 1, bias=False, dtype=dtype)
        if kind == "shared":
            model.weight = torch.nn.Parameter(torch.as_tensor(w0).reshape(1, -1))
        elif kind != "no_w0":
            with torch.no_grad():
                model.weight.copy_(torch.as_tensor(w0).reshape(1, -1))
        data = TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
        loader = DataLoader(data, sampler=batches) if kind == "sampler" else DataLoader(data, batch_sampler=batches)
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.0 if kind == "l2_loss" else lam)
        for xb, yb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb)
            if kind in ("l2_loss", "double_l2"):
                loss = loss + lam / 2 * (model.weight ** 2).sum()
            loss.backward()
            if kind == "zero_after":
                opt.zero_grad()
            opt.step()
        if kind == "tensor":
            return model.weight
        return model.weight.detach().numpy().ravel()

    return torch_sgd


def torch_alt_manual(w0, X, y, lam, lr, batches):
    w = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, weight_decay=lam)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for xb, yb in DataLoader(TensorDataset(Xt, yt), batch_sampler=batches):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(xb @ w, yb).backward()
        opt.step()
    return w.detach().numpy().copy()


def _experiment(kind):
    sgd = SOL1["sgd"]

    def experiment(batch_sizes, epochs, eta1, seed):
        out, shared = {}, np.random.default_rng(seed)
        for B in batch_sizes:
            rng = shared if kind == "shared" else np.random.default_rng(seed)
            w = sgd(np.zeros(PROB.dim), PROB.X, PROB.y, PROB.lam, eta1 * B, B, epochs, rng)
            d = float(np.linalg.norm(w - W_STAR))
            out[str(B) if kind == "str_keys" else B] = d ** 2 if kind == "squared" else d
        if kind == "sorted":
            batch_sizes.sort()
        if kind == "only_last":
            return {B: out[batch_sizes[-1]] for B in batch_sizes}
        return out

    return experiment


def experiment_alt_comprehension(batch_sizes, epochs, eta1, seed):
    sgd = SOL1["sgd"]
    return {B: np.linalg.norm(sgd(np.zeros(PROB.dim), PROB.X, PROB.y, PROB.lam, eta1 * B, B, epochs,
                                  np.random.default_rng(seed)) - W_STAR) for B in batch_sizes}


def experiment_alt_sorted(batch_sizes, epochs, eta1, seed):
    sgd = SOL1["sgd"]
    out = {}
    for B in sorted(batch_sizes):
        w = sgd(np.zeros(PROB.dim), PROB.X, PROB.y, PROB.lam, lr=eta1 * B, batch_size=B, epochs=epochs,
                rng=np.random.default_rng(seed))
        out[int(B)] = float(np.sqrt(np.sum((w - W_STAR) ** 2)))
    return out


def _if_none(w, X, y, lam):
    if w == None:  # noqa: E711 - the mistake
        w = np.zeros(X.shape[1])
    return X.T @ (expit(X @ w) - y) / len(y) + lam * w


LAB1 = {
    "grad": (lab1.check_grad, [
        (grad_f32, r"right to about \d digits: something is computed in float32", "用 float32 算的"),
        (grad_reg_inside, r"regularization term is inside the average", "正則化項被放進了平均裡"),
        (grad_over_N, r"divided by N = 455", "應除以批量大小"),
        (grad_double_reg, r"regularization term is twice", "兩倍"),
        (grad_in_place, r"changed its argument w in place", "原地修改了傳入的參數 w"),
        (grad_hardcoded, r"raised ValueError .* in line \d+ of grad_hardcoded", "拋出了 ValueError"),
        (_if_none, r"`== None` .* `is None`", "`is None`"),
        (t1.grad_sum, r"B times too large", "梯度大了 B 倍"),
    ], [grad_alt_loop, grad_alt_mean]),
    "gd": (lab1.check_gd, [
        (gd_zeros, r"gd ignores w0 and starts from zeros", "忽略了 w0"),
        (gd_no_lr, r"the step ignores lr", "沒有乘學習率"),
        (gd_history, r"whole history of iterates", "所有迭代點的歷史"),
        (gd_lr2, r"the step is lr² · grad", "lr²"),
        (t1.gd_uphill, r"steps go uphill", "往上走"),
        (t1.gd_off_by_one, r"you took \d+ steps instead of \d+", "步，而不是"),
        (t1.gd_in_place, r"gd changed its argument w0 in place", "原地修改了傳入的參數 w0"),
    ], [gd_alt_copy, gd_alt_astype]),
    "batches": (lab1.check_batches, [
        (batches_empty_last, r"your last batch is empty: when batch_size divides n", "最後一個批量是空的"),
        (batches_float_range, r"raised TypeError .*range\(\) wants integers", "range() 只接受整數"),
        (batches_swapped_range, r"raised TypeError .*order of its arguments", "參數的順序"),
        (t1.batches_drop_last, r"the last, smaller batch is dropped", "被丟掉了"),
        (t1.batches_with_replacement, r"repeats example \d+", "無放回抽樣"),
        (t1.batches_reseeded, r"two epochs came out in the same order", "兩個輪次的順序一模一樣"),
        (t1.batches_global_rng, r"not from np.random", "不是從 np.random"),
    ], [batches_alt_choice, batches_alt_split]),
    "sgd": (lambda f: lab1.check_sgd(f, SOL1["shuffled_batches"]), [
        (_sgd_wrong("zeros"), r"sgd ignores w0", "忽略了 w0"),
        (_sgd_wrong("once"), r"moved only during the first of the \d epochs: a generator is used up", "生成器走完一遍"),
        (_sgd_wrong("own_rng"), r"same weights for two different rng|two different rng", "不同的 rng"),
        (_sgd_wrong("full_y"), r"raised ValueError .* index the labels with the same indices", "y[idx]"),
        (_sgd_wrong("in_place"), r"changed its argument w0 in place", "原地修改"),
        (t1._sgd_variant(SOL1, full=True), r"ignores the mini-batch", "沒有用小批量"),
        (t1._sgd_variant(SOL1, reshuffle=False), r"reuses the first epoch's order", "重用了第一個輪次"),
    ], [sgd_alt_index, sgd_alt_take]),
    "torch": (lab1.check_torch, [
        (_torch("zero_after"), r"w never moved: .*zero_grad\(\) belongs before", "zero_grad() 應放在"),
        (_torch("no_w0"), r"w0 is not loaded into the model", "w0 沒有載入模型"),
        (_torch("sampler"), r"raised ValueError .*`batch_sampler=`", "batch_sampler="),
        (_torch("shared"), r"changed its argument w0 in place.*torch.as_tensor share memory", "共用內存"),
        (_torch("double_l2"), r"L2 term is counted twice", "算了兩次"),
        (_torch("tensor"), r"returned a torch tensor", "torch 張量"),
        (t1._torch_variant(dtype=torch.float32), r"right to about \d digits: something is computed in float32",
         "float32"),
        (t1._torch_variant(zero_grad=False), r"gradients accumulate", "累加"),
    ], [_torch("l2_loss"), torch_alt_manual]),
    "experiment": (lab1.check_experiment, [
        (_experiment("shared"), r"one generator is shared by all batch sizes", "共用了一個生成器"),
        (_experiment("str_keys"), r"keys of your dict are strings", "鍵是字符串"),
        (_experiment("squared"), r"squared distance", "距離的平方"),
        (_experiment("sorted"), r"changed the list batch_sizes in place", "原地修改了 batch_sizes"),
        (_experiment("only_last"), r"for B = \d+ .*the distance should be", "距離應為"),
        (t1._experiment_variant(SOL1, equal_steps=True), r"compare at equal epochs", "相同輪次"),
        (t1._experiment_variant(SOL1, scale=False), r"linear scaling rule", "線性縮放規則"),
    ], [experiment_alt_comprehension, experiment_alt_sorted]),
}


# ---------------------------------------------------------------- Lab 2
def sgdm_alias(w, g, buf, lr, momentum, dampening):
    if buf is None:
        buf = g
    else:
        buf *= momentum
        buf += (1 - dampening) * g
    return w - lr * buf, buf


def sgdm_eq_none(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf == None else momentum * buf + (1 - dampening) * g  # noqa: E711
    return w - lr * buf, buf


def sgdm_w_in_place(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
    w -= lr * buf
    return w, buf


def sgdm_reset(w, g, buf, lr, momentum, dampening):
    buf = g.copy()
    return w - lr * buf, buf


def sgdm_swapped(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
    return buf, w - lr * buf


def sgdm_ema(w, g, buf, lr, momentum, dampening):
    buf = g.copy() if buf is None else momentum * buf + (1 - momentum) * g
    return w - lr * buf, buf


def sgdm_alt_in_place(w, g, buf, lr, momentum, dampening):
    if buf is None:
        buf = np.array(g, copy=True)
    else:
        buf *= momentum
        buf += (1 - dampening) * g
    return w - lr * buf, buf


def sgdm_alt_where(w, g, buf, lr, momentum, dampening):
    new = g * 1.0 if buf is None else np.add(momentum * buf, (1 - dampening) * g)
    return np.subtract(w, lr * new), new


def textbook_reset(w, g, v, lr, gamma):
    v = lr * g
    return w - v, v


def textbook_in_place(w, g, v, lr, gamma):
    v = gamma * v + lr * g
    w -= v
    return w, v


def textbook_swapped(w, g, v, lr, gamma):
    v = gamma * v + lr * g
    return v, w - v


def textbook_alt(w, g, v, lr, gamma):
    v = v * gamma
    v = v + g * lr
    return w - v, v


def textbook_alt_in_place(w, g, v, lr, gamma):
    v *= gamma
    v += lr * g
    return w - v, v


def nesterov_alias(w, g, buf, lr, momentum):
    if buf is None:
        buf = g
    else:
        buf *= momentum
        buf += g
    return w - lr * (g + momentum * buf), buf


def nesterov_reset(w, g, buf, lr, momentum):
    buf = g.copy()
    return w - lr * buf, buf


def nesterov_lr_in_buffer(w, g, buf, lr, momentum):
    buf = lr * g if buf is None else momentum * buf + lr * g
    return w - (lr * g + momentum * buf), buf


def nesterov_uphill(w, g, buf, lr, momentum):
    buf = g.copy() if buf is None else momentum * buf + g
    return w + lr * (g + momentum * buf), buf


def nesterov_alt(w, g, buf, lr, momentum):
    buf = g + (0 if buf is None else momentum * buf)
    return w - lr * g - lr * momentum * buf, buf


def nesterov_alt_in_place(w, g, buf, lr, momentum):
    if buf is None:
        buf = g.copy()
    else:
        buf *= momentum
        buf += g
    return w - lr * (g + momentum * buf), buf


def lookahead_minus(theta, v, grad, lr, momentum):
    v = momentum * v - lr * grad(theta - momentum * v)
    return theta + v, v


def lookahead_in_place(theta, v, grad, lr, momentum):
    v = momentum * v - lr * grad(theta + momentum * v)
    theta += v
    return theta, v


def lookahead_swapped(theta, v, grad, lr, momentum):
    v = momentum * v - lr * grad(theta + momentum * v)
    return v, theta + v


def lookahead_alt(theta, v, grad, lr, momentum):
    ahead = theta + momentum * v
    v_new = momentum * v - lr * np.asarray(grad(ahead))
    return theta + v_new, v_new


def lookahead_alt_in_place_v(theta, v, grad, lr, momentum):
    g = grad(theta + momentum * v)
    v *= momentum
    v -= lr * g
    return theta + v, v


def sgd_g_in_place(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    if maximize:
        g *= -1
    g += weight_decay * w
    if momentum != 0:
        buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
        d = g + momentum * buf if nesterov else buf
    else:
        d = g
    return w - lr * d, buf


def _sgd_full(mistake):
    def sgd_step(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
        if maximize and mistake != "maximize_ignored":
            g = -g
        if weight_decay and mistake != "wd_ignored":
            g = g + weight_decay * w
        if momentum != 0:
            if mistake == "reset" or buf is None:
                buf = g.copy()
            else:
                buf = momentum * buf + (1 - dampening) * g
            d = g + momentum * buf if nesterov and mistake != "heavy_ball" else buf
        else:
            d = g
        if mistake == "alias":
            buf = g if buf is None else buf
        return w - lr * d, buf

    return sgd_step


def sgd_alt(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    g = (-1.0 if maximize else 1.0) * g + weight_decay * w
    if not momentum:
        return w - lr * g, buf
    buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
    return w - lr * (g + momentum * buf if nesterov else buf), buf


def sgd_alt_torch(w, g, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    p = torch.tensor(w, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                          nesterov=nesterov, maximize=maximize)
    if buf is not None:
        opt.state[p]["momentum_buffer"] = torch.tensor(buf)
    p.grad = torch.tensor(g)
    opt.step()
    b = opt.state[p].get("momentum_buffer")
    return p.detach().numpy().copy(), None if b is None else b.numpy().copy()


def rate_real_sqrt(lr, momentum, eigenvalues):
    worst = 0.0
    for lam in eigenvalues:
        s = 1 + momentum - lr * lam
        disc = math.sqrt(s * s - 4 * momentum)
        worst = max(worst, abs((s + disc) / 2), abs((s - disc) / 2))
    return worst


def rate_np_real_sqrt(lr, momentum, eigenvalues):
    s = 1 + momentum - lr * np.asarray(eigenvalues)
    disc = np.sqrt(s * s - 4 * momentum)
    return float(np.max(np.maximum(abs((s + disc) / 2), abs((s - disc) / 2))))


def rate_real_part(lr, momentum, eigenvalues):
    return max(max(abs(z.real) for z in np.roots([1, -(1 + momentum - lr * lam), momentum])) for lam in eigenvalues)


def rate_squared(lr, momentum, eigenvalues):
    return max(max(abs(z) ** 2 for z in np.roots([1, -(1 + momentum - lr * lam), momentum])) for lam in eigenvalues)


def rate_last_only(lr, momentum, eigenvalues):
    lam = eigenvalues[0]
    return float(max(abs(np.roots([1, -(1 + momentum - lr * lam), momentum]))))


def rate_complex(lr, momentum, eigenvalues):
    lam = max(eigenvalues)
    s = 1 + momentum - lr * lam
    return (s + np.sqrt(complex(s * s - 4 * momentum))) / 2


def rate_alt_roots(lr, momentum, eigenvalues):
    return float(max(np.max(np.abs(np.roots([1.0, -(1 + momentum - lr * lam), momentum]))) for lam in eigenvalues))


def rate_alt_matrix(lr, momentum, eigenvalues):
    return float(max(np.max(np.abs(np.linalg.eigvals(np.array([[1 + momentum - lr * lam, -momentum], [1.0, 0.0]]))))
                     for lam in eigenvalues))


def measure_last_two(errors, double_root=False):
    return float(errors[-1] / errors[-2])


def measure_slope(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    y = np.log(errors) - (np.log(k) if double_root else 0.0)
    h = len(errors) // 2
    return float(np.polyfit(k[h:], y[h:], 1)[0])


def measure_log10(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    y = np.log10(errors) - (np.log10(k) if double_root else 0.0)
    h = len(errors) // 2
    return float(np.exp(np.polyfit(k[h:], y[h:], 1)[0]))


def measure_intercept(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    y = np.log(errors) - (np.log(k) if double_root else 0.0)
    h = len(errors) // 2
    return float(np.exp(np.polyfit(k[h:], y[h:], 1)[1]))


def measure_always_k(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    y = np.log(errors) - np.log(k)
    h = len(errors) // 2
    return float(np.exp(np.polyfit(k[h:], y[h:], 1)[0]))


def measure_in_place(errors, double_root=False):
    k = np.arange(1, len(errors) + 1)
    np.log(errors, out=errors)
    if double_root:
        errors -= np.log(k)
    h = len(errors) // 2
    return float(np.exp(np.polyfit(k[h:], errors[h:], 1)[0]))


def measure_alt_lstsq(errors, double_root=False):
    e = np.asarray(errors, dtype=float)
    k = np.arange(1.0, len(e) + 1)
    y = np.log(e) - double_root * np.log(k)
    h = len(e) // 2
    A = np.stack([k[h:], np.ones(len(e) - h)], axis=1)
    return float(np.exp(np.linalg.lstsq(A, y[h:], rcond=None)[0][0]))


def measure_alt_cov(errors, double_root=False):
    e = np.array(errors, dtype=float)
    n = len(e)
    k = np.arange(1, n + 1)[n // 2:]
    y = np.log(e[n // 2:]) - (np.log(k) if double_root else 0)
    slope = np.cov(k, y, bias=True)[0, 1] / np.var(k)
    return float(np.exp(slope))


LAB2 = {
    "sgdm": (lab2.check_sgdm, [
        (sgdm_alias, r"buf that sgdm_step returned is the gradient array g itself", "梯度數組 g 本身"),
        (sgdm_eq_none, r"raised ValueError .*`is None`", "`is None`"),
        (sgdm_w_in_place, r"changed its argument w in place at step 1", "原地修改了傳入的參數 w"),
        (sgdm_reset, r"buffer starts afresh at every call", "緩衝都從頭開始"),
        (sgdm_swapped, r"returned the pair in the wrong order", "順序反了"),
        (sgdm_ema, r"the buffer is an average", "緩衝被寫成了平均"),
        (t2.sgdm_damp_first, r"dampening was applied on the first step", "第一步就用了阻尼"),
    ], [sgdm_alt_in_place, sgdm_alt_where]),
    "textbook": (lab2.check_textbook, [
        (textbook_reset, r"velocity starts afresh at every call", "速度都從頭開始"),
        (textbook_in_place, r"changed its argument w in place", "原地修改"),
        (textbook_swapped, r"wrong order", "順序反了"),
        (t2.textbook_lr_outside, r"you wrote PyTorch's form", "PyTorch 的形式"),
        (t2.textbook_lr_twice, r"applied twice", "乘了兩次"),
        (t2.textbook_uphill, r"go uphill", "往上走"),
    ], [textbook_alt, textbook_alt_in_place]),
    "nesterov": (lab2.check_nesterov, [
        (nesterov_alias, r"gradient array g itself", "梯度數組 g 本身"),
        (nesterov_reset, r"starts afresh at every call", "從頭開始"),
        (nesterov_lr_in_buffer, r"learning rate is folded into the buffer", "學習率被併進了動量緩衝"),
        (nesterov_uphill, r"go uphill", "往上走"),
        (t2.nesterov_heavy_ball, r"plain heavy ball", "重球法"),
        (t2.nesterov_stale, r"plain heavy ball", "重球法"),
    ], [nesterov_alt, nesterov_alt_in_place]),
    "lookahead": (lab2.check_lookahead, [
        (lookahead_minus, r"taken at θ − momentum·v", "θ − momentum·v"),
        (lookahead_in_place, r"changed its argument theta in place", "原地修改了傳入的參數 theta"),
        (lookahead_swapped, r"wrong order", "順序反了"),
        (t2.lookahead_at_theta, r"gradient is taken at θ, which makes it heavy ball", "重球法"),
        (t2.lookahead_plus_v, r"taken at θ \+ v", "θ + v"),
        (t2.lookahead_two_calls, r"called grad 2 times", "調用了 grad 2 次"),
    ], [lookahead_alt, lookahead_alt_in_place_v]),
    "sgd": (lab2.check_sgd, [
        (sgd_g_in_place, r"changed its argument g in place", "原地修改了傳入的參數 g"),
        (_sgd_full("alias"), r"gradient array g itself", "梯度數組 g 本身"),
        (_sgd_full("reset"), r"starts afresh at every call", "從頭開始"),
        (_sgd_full("maximize_ignored"), r"maximize is ignored", "maximize 被忽略了"),
        (_sgd_full("wd_ignored"), r"weight_decay is ignored", "weight_decay 被忽略了"),
        (_sgd_full("heavy_ball"), r"nesterov=True is ignored", "nesterov=True 被忽略了"),
        (t2.sgd_wd_after, r"weight decay is added after the momentum", "權重衰減加在了動量之後"),
        (t2.sgd_maximize_update, r"negated the update instead of the gradient", "取反的是更新"),
    ], [sgd_alt, sgd_alt_torch]),
    "rate": (lab2.check_rate, [
        (rate_real_sqrt, r"raised ValueError .*complex square root", "複數平方根"),
        (rate_np_real_sqrt, r"you returned NaN: a real square root", "NaN"),
        (rate_real_part, r"you took the real part of the roots", "實部"),
        (rate_squared, r"squared modulus", "模的平方"),
        (rate_last_only, r"used only the first or the last eigenvalue", "只用了第一個或最後一個特徵值"),
        (rate_complex, r"returned a complex number", "返回了複數"),
        (t2.rate_sqrt_beta, r"you returned √momentum", "√momentum"),
        (t2.rate_smaller_root, r"smaller root", "較小的根"),
    ], [rate_alt_roots, rate_alt_matrix]),
    "measure": (lab2.check_measure, [
        (measure_last_two, r"ratio of the last two errors", "最後兩個誤差之比"),
        (measure_slope, r"you returned the slope log r", "斜率 log r"),
        (measure_log10, r"logarithm and the exponential do not match", "對數與指數沒有配對"),
        (measure_intercept, r"\[slope, intercept\]", "截距"),
        (measure_always_k, r"subtracted log k although double_root is False", "也減去了 log k"),
        (measure_in_place, r"changed its argument errors in place", "原地修改了傳入的參數 errors"),
        (t2.measure_first_ratio, r"pulled by the first steps", "瞬態"),
        (t2.measure_no_k, r"at a double root", "重根"),
    ], [measure_alt_lstsq, measure_alt_cov]),
}

ALL = {**{f"lab1-{k}": v for k, v in LAB1.items()}, **{f"lab2-{k}": v for k, v in LAB2.items()}}
WRONG = [(ex, i) for ex, (_, wrongs, _) in ALL.items() for i in range(len(wrongs))]
RIGHT = [(ex, i) for ex, (_, _, rights) in ALL.items() for i in range(len(rights))]


def test_enough_mistakes_per_exercise():
    for ex, (_, wrongs, rights) in ALL.items():
        assert len(wrongs) >= 6 and len(rights) >= 2, ex


@pytest.mark.parametrize("exercise, i", WRONG, ids=[f"{e}-{i}" for e, i in WRONG])
def test_wrong_answer_is_named_in_both_languages(exercise, i, capsys):
    check, wrongs, _ = ALL[exercise]
    wrong, en, zh = wrongs[i]
    with pytest.raises(CheckFailed) as info:
        check(wrong)
    assert info.value.zh is not None and str(info.value) == f"{info.value.en}\n{info.value.zh}"
    assert __import__("re").search(en, info.value.en), info.value.en
    assert zh in info.value.zh, info.value.zh
    assert capsys.readouterr().out == "", "a failing check prints no ✓"


@pytest.mark.parametrize("exercise, i", RIGHT, ids=[f"{e}-{i}" for e, i in RIGHT])
def test_correct_alternative_passes(exercise, i, capsys):
    check, _, rights = ALL[exercise]
    check(rights[i])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ Exercise") and out[1].startswith("✓ 練習")
