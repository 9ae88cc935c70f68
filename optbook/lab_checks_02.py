"""The checks of Lab 2 (momentum and Nesterov from scratch), one per exercise.

Each ``check_*`` function runs the student's function step by step on fixed random
gradients (or on a fixed surface), compares with a reference — ``torch.optim.SGD`` itself
wherever PyTorch has the method — and either prints one line (``✓ Exercise n: ...``) or
raises :class:`optbook.checks.CheckFailed` saying what is wrong and what to do. The classic
mistakes are recognised by simulating each of them and comparing with what the student's
code did: dampening applied on the first step, the learning rate folded into PyTorch's
buffer (exposed by changing the learning rate mid-run), plain heavy ball where Nesterov was
asked for (a direction built from the buffer before its update is exactly that), the
gradient taken at the wrong point or twice per step, weight decay added after the momentum,
``maximize`` negating the update instead of the gradient, the wrong root or the wrong
eigenvalue in a rate, a rate measured on the transient or without the factor ``k`` of a
double root. tests/test_lab_checks_02.py proves every one of them.

The step functions of the lab are functional: they take the state (a momentum buffer or a
velocity) and return the pair ``(new parameters, new state)``; the checks pass copies, so
updating arrays in place inside the student's function is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optbook import quadratic
from optbook.checks import Inputs, agrees, as_array, call, close_path, fail, passed, shares_memory, torch_path

_agrees = agrees


def _pair(out, name: str, state: str):
    """The pair ``(w, state)`` a step function returns, or a verdict saying what came back instead."""
    if out is None:
        fail(f"{name} returned None: did you forget the `return` statement? Return the pair (w, {state})",
             f"{name} 返回了 None：是不是忘了寫 `return`？應返回 (w, {state}) 這一對")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"{name} should return the pair (w, {state}), got {type(out).__name__}",
             f"{name} 應返回 (w, {state}) 這一對，實際得到的是 {type(out).__name__}")
    return out


def _run(one: Callable, w0, s0, grads, lrs, name: str, state: str, need_state: bool = True, first=None):
    """Feed ``grads`` to a step function ``one(w, g, s, lr)``; the iterates and the states, as arrays.

    The gradient array itself is passed (not a copy), and kept: the check fails if the step
    changed w or g in place, or returned a state that is the gradient array itself (a later
    in-place update of the state would then change the caller's gradient). ``first`` is the
    expected pair after step 1, to recognise a swapped return.
    """
    w, s, path, states = np.array(w0, dtype=float), s0, [], []
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = np.array(g, dtype=float)
        w_in = w.copy()
        inputs = Inputs(w=w_in, g=g)
        out = one(w_in, g, s, lr)
        w_new, s_new = _pair(out, name, state)
        if k == 1 and first is not None and s_new is not None:
            try:
                a, b = np.asarray(w_new, dtype=float), np.asarray(s_new, dtype=float)
            except (TypeError, ValueError):
                a = b = None
            if a is not None and a.shape == b.shape == np.shape(w0) and not _agrees(a, first[0]) \
                    and _agrees(a, first[1]) and _agrees(b, first[0]):
                fail(f"{name} returned the pair in the wrong order: return (w, {state}), w first",
                     f"{name} 返回的兩項順序反了：應返回 (w, {state})，w 在前")
        inputs.untouched(name, "Return a new array, w - lr * ..., instead of updating w in place (`w -= ...`): "
                               "the caller keeps the previous w",
                         "請返回一個新數組 w - lr * ...，不要原地更新 w（`w -= ...`），因為調用者還保留著上一步的 w",
                         at=f" at step {k}", at_zh=f"（第 {k} 步）")
        if state == "buf" or state == "v":
            if s_new is not None and shares_memory(s_new, g):
                fail(f"at step {k} the {state} that {name} returned is the gradient array g itself (they share "
                     f"memory): an in-place update of {state} at the next step would change the caller's gradient. "
                     f"Start from a copy, {state} = g.copy()",
                     f"第 {k} 步 {name} 返回的 {state} 就是梯度數組 g 本身（兩者共用內存）：下一步原地更新 "
                     f"{state} 時會改掉調用者的梯度。請從副本開始，{state} = g.copy()")
        if shares_memory(w_new, g):
            fail(f"at step {k} the w that {name} returned is the gradient array g itself: return a new array",
                 f"第 {k} 步 {name} 返回的 w 就是梯度數組 g 本身：請返回一個新數組")
        s = s_new
        w = as_array(w_new, f"the w that {name} returned at step {k}")
        if w.shape != np.shape(w0):
            fail(f"at step {k} {name} returned w of shape {w.shape}, expected {np.shape(w0)}",
                 f"第 {k} 步 {name} 返回的 w 形狀是 {w.shape}，應為 {np.shape(w0)}")
        if need_state:
            if s is None:
                fail(f"{name} returned {state} = None at step {k}: return the updated {state}; "
                     f"the caller passes it back to you at the next step",
                     f"第 {k} 步 {name} 返回的 {state} 是 None：請返回更新後的 {state}，調用者下一步會把它傳回給你")
            s = as_array(s, f"the {state} that {name} returned at step {k}")
            if s.shape != np.shape(w0):
                fail(f"at step {k} {name} returned {state} of shape {s.shape}, expected {np.shape(w0)}",
                     f"第 {k} 步 {name} 返回的 {state} 形狀是 {s.shape}，應為 {np.shape(w0)}")
        path.append(w)
        states.append(None if s is None else np.array(s, dtype=float))
    return np.array(path), states


def _first_difference(got: np.ndarray, expected: np.ndarray, setting: str, w0=None, setting_zh: str | None = None
                      ) -> None:
    """Fail at the first step where two paths part, saying how they differ there (the step, then w)."""
    start = expected[0] if w0 is None else w0
    close_path(got, expected, start, setting, setting_zh)


# ---------------------------------------------------------------- references
def momentum_path(w0, grads, lrs, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                  mistake: str | None = None) -> np.ndarray:
    """PyTorch's SGD in NumPy, or the same with one classic ``mistake`` (to recognise it).

    ``mistake`` is one of ``damp_first`` (dampening on the first step), ``lr_in_buffer``
    (b ← βb + lr(1−τ)g, w ← w − b), ``uphill``, ``heavy_ball`` (Nesterov's flag ignored),
    ``wd_after`` (weight decay added to the direction after the momentum), ``wd_ignored``,
    ``maximize_update`` (the update negated instead of the gradient), ``maximize_ignored``.
    """
    w, b, path = np.array(w0, dtype=float), None, []
    for g, lr in zip(grads, lrs):
        g = np.array(g, dtype=float)
        if maximize and mistake not in ("maximize_update", "maximize_ignored"):
            g = -g
        if weight_decay and mistake not in ("wd_after", "wd_ignored"):
            g = g + weight_decay * w
        scale = lr if mistake == "lr_in_buffer" else 1.0
        if momentum:
            if b is None:
                b = g * scale * ((1 - dampening) if mistake == "damp_first" else 1.0)
            else:
                b = momentum * b + (1 - dampening) * scale * g
            if nesterov and mistake != "heavy_ball":
                d = scale * g + momentum * b
            else:
                d = b
        else:
            d = scale * g
        if weight_decay and mistake == "wd_after":
            d = d + weight_decay * w * scale
        step = d if mistake == "lr_in_buffer" else lr * d
        w = w + step if mistake == "uphill" or (maximize and mistake == "maximize_update") else w - step
        path.append(w.copy())
    return np.array(path)


def textbook_path(w0, grads, lrs, gamma, mistake: str | None = None) -> tuple[np.ndarray, list]:
    """The textbook form v ← γv + lr·g, w ← w − v from v = 0, or a classic ``mistake`` of it.

    ``mistake``: ``lr_outside`` (PyTorch's form: v ← γv + g, w ← w − lr·v), ``lr_twice``
    (w ← w − lr·v), ``uphill`` (w ← w + v).
    """
    w, v, path, vs = np.array(w0, dtype=float), np.zeros(np.shape(w0)), [], []
    for g, lr in zip(grads, lrs):
        v = gamma * v + (g if mistake == "lr_outside" else lr * g)
        if mistake in ("lr_outside", "lr_twice"):
            w = w - lr * v
        elif mistake == "uphill":
            w = w + v
        else:
            w = w - v
        path.append(w.copy())
        vs.append(v.copy())
    return np.array(path), vs


def _gradients(seed: int, steps: int, dim: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(rng.standard_normal((steps, dim)))


def _setting(hyper: str, lrs, at: int) -> tuple[str, str]:
    """The run a verdict speaks of, in both languages: the hyper-parameters and the schedule of ``lrs``."""
    if lrs[0] == lrs[-1]:
        return f"{hyper}, lr = {lrs[0]:g}", f"{hyper.replace(', ', '，')}，lr = {lrs[0]:g}"
    return (f"{hyper}, lr = {lrs[0]:g} changed to {lrs[-1]:g} at step {at}",
            f"{hyper.replace(', ', '，')}，lr = {lrs[0]:g}，第 {at} 步改為 {lrs[-1]:g}")


def _schedule(steps: int, lr: float, at: int, factor: float) -> np.ndarray:
    """``lr`` for steps 1..at−1, then ``lr * factor``: a change mid-run."""
    return np.where(np.arange(1, steps + 1) < at, lr, lr * factor)


# ---------------------------------------------------------------- Exercise 1: PyTorch's buffer
SGDM_MISTAKES = {
    "damp_first": ("dampening was applied on the first step: PyTorch starts the buffer as the first gradient "
                   "itself, b₁ = g₁, without the factor (1 − dampening); dampening acts from step 2 on "
                   "(`buf = g.copy()` when buf is None)",
                   "第一步就用了阻尼：PyTorch 的動量緩衝從第一個梯度本身開始，b₁ = g₁，不乘 (1 − dampening)；"
                   "阻尼從第 2 步起才起作用（buf 為 None 時寫 `buf = g.copy()`）"),
    "lr_in_buffer": ("the learning rate is folded into the buffer (b ← βb + lr·(1 − τ)·g, w ← w − b): that equals "
                     "PyTorch only while lr is constant, and this check changed lr at step {at}. Keep lr out of the "
                     "buffer: b ← βb + (1 − τ)·g, then w ← w − lr·b",
                     "學習率被併進了動量緩衝（b ← βb + lr·(1 − τ)·g，w ← w − b）：只有 lr 不變時它才與 PyTorch 相同，"
                     "而這個檢查在第 {at} 步改了 lr。學習率不要放進緩衝：b ← βb + (1 − τ)·g，再 w ← w − lr·b"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·b, with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·b，是減號"),
    "reset": ("the buffer starts afresh at every call, so this is plain SGD: use the buf passed in (it is None only "
              "at the first step) and return the updated one",
              "每次調用緩衝都從頭開始，這就成了普通 SGD：要用傳進來的 buf（只有第一步才是 None），並返回更新後的緩衝"),
    "ema": ("the buffer is an average, b ← βb + (1 − β)·g: PyTorch's buffer is b ← βb + (1 − dampening)·g",
            "緩衝被寫成了平均 b ← βb + (1 − β)·g：PyTorch 的緩衝是 b ← βb + (1 − dampening)·g"),
    "no_dampening": ("dampening is ignored: from step 2 on b ← βb + (1 − dampening)·g",
                     "阻尼被忽略了：從第 2 步起 b ← βb + (1 − dampening)·g"),
}


def _variant_path(w0, grads, lrs, momentum, dampening, mistake, nesterov=False):
    if mistake == "reset":
        return momentum_path(w0, grads, lrs, 0.0, nesterov=False)
    if mistake == "ema":
        return momentum_path(w0, grads, lrs, momentum, momentum, nesterov=nesterov)
    if mistake == "no_dampening":
        return momentum_path(w0, grads, lrs, momentum, 0.0, nesterov=nesterov)
    return momentum_path(w0, grads, lrs, momentum, dampening, nesterov=nesterov, mistake=mistake)


def check_sgdm(sgdm_step) -> None:
    """Exercise 1: ``sgdm_step(w, g, buf, lr, momentum, dampening)`` → ``(w, buf)``, PyTorch's convention.

    ``buf`` is None at the first step. Run against ``torch.optim.SGD(momentum=...)`` with and
    without dampening, at a constant learning rate and with a learning rate changed mid-run,
    in dimension 4 and 7; the gradient array itself is passed, to catch a buffer aliasing it.
    """
    ex = "Exercise 1"
    steps, at = 30, 11
    cases = [(0.9, 0.0, np.full(steps, 0.1), 4), (0.9, 0.5, _schedule(steps, 0.1, at, 0.2), 4),
             (0.5, 0.0, _schedule(steps, 0.05, at, 3.0), 7)]
    for momentum, dampening, lrs, dim in cases:
        grads = _gradients(1, steps, dim)
        w0 = np.random.default_rng(dim).standard_normal(dim)
        setting, setting_zh = _setting(f"momentum={momentum}, dampening={dampening}", lrs, at)
        first = (w0 - lrs[0] * grads[0], grads[0])
        got, _ = _run(lambda w, g, b, lr, m=momentum, d=dampening: call(sgdm_step, w, g, b, lr, m, d, exercise=ex),
                      w0, None, grads, lrs, "sgdm_step", "buf", first=first)
        expected = torch_path("SGD", w0, grads, lrs, momentum=momentum, dampening=dampening)
        if not _agrees(got, expected):
            for mistake, (en, zh) in SGDM_MISTAKES.items():
                if _agrees(got, _variant_path(w0, grads, lrs, momentum, dampening, mistake)):
                    fail(en.format(at=at), zh.format(at=at))
            _first_difference(got, expected, setting, w0, setting_zh)
    passed(ex, "the buffer matches torch.optim.SGD(momentum=...), with dampening and with lr changed mid-run, without "
               "touching w or g",
           "動量緩衝與 torch.optim.SGD(momentum=...) 一致，有阻尼、學習率中途改變時都對，而且沒有改動 w 和 g")


# ---------------------------------------------------------------- Exercise 2: the textbook form
TEXTBOOK_MISTAKES = {
    "lr_outside": ("you wrote PyTorch's form (v ← γv + g, w ← w − lr·v); the two agree at a constant lr, but this "
                   "check changed lr at step {at}. In the textbook form the velocity carries the learning rate: "
                   "v ← γv + lr·g, then w ← w − v",
                   "你寫的是 PyTorch 的形式（v ← γv + g，w ← w − lr·v）；學習率不變時兩者相同，但這個檢查在第 {at} 步"
                   "改了 lr。教科書形式裡速度本身帶著學習率：v ← γv + lr·g，再 w ← w − v"),
    "lr_twice": ("the learning rate is applied twice: v already contains lr·g, so the update is w ← w − v",
                 "學習率乘了兩次：v 裡已經有 lr·g，所以更新是 w ← w − v"),
    "uphill": ("your steps go uphill: the update is w ← w − v, with a minus sign",
               "你的步子在往上走：更新是 w ← w − v，是減號"),
    "reset": ("the velocity starts afresh at every call, so this is plain gradient descent: use the v passed in and "
              "return the updated one",
              "每次調用速度都從頭開始，這就成了普通梯度下降：要用傳進來的 v，並返回更新後的 v"),
}


def check_textbook(textbook_step) -> None:
    """Exercise 2: ``textbook_step(w, g, v, lr, gamma)`` → ``(w, v)``: v ← γv + lr·g, w ← w − v, from v = 0."""
    ex = "Exercise 2"
    steps, at = 30, 16
    vs_all, v_expected_all = [], []
    for lrs, dim in ((np.full(steps, 0.1), 4), (_schedule(steps, 0.1, at, 0.1), 4), (_schedule(steps, 0.2, at, 2), 6)):
        grads = _gradients(2, steps, dim)
        w0 = np.random.default_rng(dim + 10).standard_normal(dim)
        setting, setting_zh = _setting("gamma=0.9", lrs, at)
        first = (w0 - lrs[0] * grads[0], lrs[0] * grads[0])
        got, vs = _run(lambda w, g, v, lr: call(textbook_step, w, g, v, lr, 0.9, exercise=ex),
                       w0, np.zeros(dim), grads, lrs, "textbook_step", "v", first=first)
        expected, v_expected = textbook_path(w0, grads, lrs, 0.9)
        if not _agrees(got, expected):
            if _agrees(got, textbook_path(w0, grads, lrs, 0.0)[0]):
                en, zh = TEXTBOOK_MISTAKES["reset"]
                fail(en, zh)
            for mistake, (en, zh) in TEXTBOOK_MISTAKES.items():
                if mistake != "reset" and _agrees(got, textbook_path(w0, grads, lrs, 0.9, mistake=mistake)[0]):
                    fail(en.format(at=at), zh.format(at=at))
            _first_difference(got, expected, setting, w0, setting_zh)
        vs_all.append(np.array(vs))
        v_expected_all.append(np.array(v_expected))
    if not all(_agrees(a, b) for a, b in zip(vs_all, v_expected_all)):  # w right under every schedule, v not
        if all(_agrees(-a, b) for a, b in zip(vs_all, v_expected_all)):
            fail("w is right but the returned v has the wrong sign: in this exercise's convention v ← γv + lr·g and "
                 "w ← w − v, so return that v",
                 "w 是對的，但返回的 v 符號反了：本練習的約定是 v ← γv + lr·g、w ← w − v，請返回這個 v")
        fail("w is right but the returned v is not: return the velocity v = γv + lr·g itself "
             "(the caller passes it back at the next step)",
             "w 是對的，但返回的 v 不對：請返回速度 v = γv + lr·g 本身（調用者下一步會把它傳回給你）")
    passed(ex, "the textbook form v ← γv + lr·g, w ← w − v is right, at a constant lr and under a schedule",
           "教科書形式 v ← γv + lr·g、w ← w − v 正確，學習率不變和按調度變化時都對")


# ---------------------------------------------------------------- Exercise 3: Nesterov, PyTorch's form
NESTEROV_MISTAKES = {
    # A direction g + momentum·b built from the buffer *before* its update is b_new = momentum·b_old + g: the
    # "stale buffer" mistake is heavy ball exactly, so one message names both.
    "heavy_ball": ("this is plain heavy ball: a step along b, or along g + momentum·b with the buffer taken before its "
                   "update (the same thing, since momentum·b_old + g is the new b). Nesterov in PyTorch's form first "
                   "updates the buffer, b ← momentum·b + g (b = g on the first step), then steps along "
                   "g + momentum·b with the new b",
                   "這是普通的重球法：沿 b 走，或沿用更新前的緩衝算出的 g + momentum·b 走（兩者相同，因為 "
                   "momentum·b_old + g 就是新的 b）。PyTorch 形式的 Nesterov 先更新緩衝，b ← momentum·b + g"
                   "（第一步 b = g），再用新的 b 沿 g + momentum·b 走"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·(g + momentum·b), with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·(g + momentum·b)，是減號"),
}


def check_nesterov(nesterov_step) -> None:
    """Exercise 3: ``nesterov_step(w, g, buf, lr, momentum)`` → ``(w, buf)``, as ``torch.optim.SGD(nesterov=True)``."""
    ex = "Exercise 3"
    steps, at = 30, 11
    for lrs, dim in ((np.full(steps, 0.1), 4), (_schedule(steps, 0.1, at, 0.3), 4), (_schedule(steps, 0.05, at, 2), 5)):
        grads = _gradients(3, steps, dim)
        w0 = np.random.default_rng(dim + 20).standard_normal(dim)
        setting, setting_zh = _setting("momentum=0.9", lrs, at)
        first = (w0 - lrs[0] * 1.9 * grads[0], grads[0])
        got, _ = _run(lambda w, g, b, lr: call(nesterov_step, w, g, b, lr, 0.9, exercise=ex),
                      w0, None, grads, lrs, "nesterov_step", "buf", first=first)
        expected = torch_path("SGD", w0, grads, lrs, momentum=0.9, nesterov=True)
        if not _agrees(got, expected):
            for mistake, (en, zh) in NESTEROV_MISTAKES.items():
                if _agrees(got, momentum_path(w0, grads, lrs, 0.9, nesterov=True, mistake=mistake)):
                    fail(en, zh)
            if _agrees(got, momentum_path(w0, grads, lrs, 0.9, nesterov=True, mistake="lr_in_buffer")):
                en, zh = SGDM_MISTAKES["lr_in_buffer"]
                fail(en.format(at=at), zh.format(at=at))
            if _agrees(got, momentum_path(w0, grads, lrs, 0.0)):
                en, zh = SGDM_MISTAKES["reset"]
                fail(en, zh)
            _first_difference(got, expected, setting, w0, setting_zh)
    passed(ex, "the steps match torch.optim.SGD(momentum=0.9, nesterov=True), with lr changed mid-run too",
           "每一步都與 torch.optim.SGD(momentum=0.9, nesterov=True) 一致，學習率中途改變時也對")


# ---------------------------------------------------------------- Exercise 4: the look-ahead form
def rosenbrock_grad(w):
    """Gradient of Rosenbrock's function (1 − x)² + 100 (y − x²)²: a surface far from quadratic."""
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def lookahead_path(theta0, lr, momentum, steps, at: str = "lookahead"):
    """The look-ahead form, or the same with the gradient taken ``at`` the wrong point."""
    theta, v, thetas, vs = np.array(theta0, dtype=float), np.zeros(2), [], []
    for _ in range(steps):
        point = {"lookahead": theta + momentum * v, "theta": theta, "plus_v": theta + v,
                 "minus_v": theta - momentum * v}[at]
        v = momentum * v - lr * rosenbrock_grad(point)
        theta = theta + v
        thetas.append(theta.copy())
        vs.append(v.copy())
    return np.array(thetas), np.array(vs)


LOOKAHEAD_MISTAKES = {
    "theta": ("the gradient is taken at θ, which makes it heavy ball: Nesterov takes it at the look-ahead point "
              "θ + momentum·v, where the momentum alone would carry θ",
              "梯度是在 θ 處求的，這就成了重球法：Nesterov 在前瞻點 θ + momentum·v 求梯度，"
              "即單靠動量會把 θ 帶到的地方"),
    "plus_v": ("the gradient is taken at θ + v: the look-ahead point is θ + momentum·v",
               "梯度是在 θ + v 處求的：前瞻點是 θ + momentum·v"),
    "minus_v": ("the gradient is taken at θ − momentum·v: the look-ahead point is θ + momentum·v (v already points "
                "where θ is going)",
                "梯度是在 θ − momentum·v 處求的：前瞻點是 θ + momentum·v（v 本身就指向 θ 前進的方向）"),
}


def check_lookahead(lookahead_step) -> None:
    """Exercise 4: ``lookahead_step(theta, v, grad, lr, momentum)`` → ``(theta, v)``, one gradient per step.

    The look-ahead form v ← βv − lr·∇f(θ + βv), θ ← θ + v from v = 0, on Rosenbrock's function;
    the check counts the calls of ``grad`` and verifies that θ + βv follows
    ``torch.optim.SGD(nesterov=True)`` (the change of variables of Chapter 4).
    """
    import torch

    ex = "Exercise 4"
    lr, momentum, steps = 2e-4, 0.9, 300
    theta0 = np.array([-1.2, 1.0])
    calls = [0]

    def grad(p):
        calls[0] += 1
        return rosenbrock_grad(np.array(p, dtype=float))

    theta, v, thetas, vs = theta0.copy(), np.zeros(2), [], []
    for k in range(1, steps + 1):
        calls[0] = 0
        inputs = Inputs(theta=theta)
        out = call(lookahead_step, theta, v, grad, lr, momentum, exercise=ex)
        theta_new, v_new = _pair(out, "lookahead_step", "v")
        inputs.untouched("lookahead_step", "Return a new array, theta + v, instead of `theta += v`: the caller keeps "
                                           "the previous θ",
                         "請返回新數組 theta + v，不要寫 `theta += v`，因為調用者還保留著上一步的 θ",
                         at=f" at step {k}", at_zh=f"（第 {k} 步）")
        if calls[0] != 1:
            fail(f"lookahead_step called grad {calls[0]} times at step {k}: evaluate it once per step, at θ + "
                 "momentum·v only (the look-ahead form costs one gradient per step, like heavy ball: it takes it at "
                 "the look-ahead point instead of at θ, not in addition)",
                 f"第 {k} 步 lookahead_step 調用了 grad {calls[0]} 次：每步只求一次，而且只在 θ + momentum·v 處求"
                 "（前瞻形式每步只花一次梯度，和重球法一樣：它是把求梯度的點換成前瞻點，而不是多求一次）")
        if k == 1:
            t1 = np.asarray(theta_new, dtype=float) if theta_new is not None else None
            if t1 is not None and t1.shape == (2,) and _agrees(t1, -lr * rosenbrock_grad(theta0)) \
                    and _agrees(np.asarray(v_new, dtype=float), theta0 - lr * rosenbrock_grad(theta0)):
                fail("lookahead_step returned the pair in the wrong order: return (theta, v), θ first",
                     "lookahead_step 返回的兩項順序反了：應返回 (theta, v)，θ 在前")
        theta = as_array(theta_new, f"the theta that lookahead_step returned at step {k}")
        v = as_array(v_new, f"the v that lookahead_step returned at step {k}")
        if theta.shape != (2,) or v.shape != (2,):
            fail(f"lookahead_step returned shapes {theta.shape} and {v.shape}, expected (2,) and (2,)",
                 f"lookahead_step 返回的形狀是 {theta.shape} 和 {v.shape}，應為 (2,) 和 (2,)")
        thetas.append(theta)
        vs.append(v)
        v = v.copy()
    thetas, vs = np.array(thetas), np.array(vs)
    expected, v_expected = lookahead_path(theta0, lr, momentum, steps)
    if not _agrees(thetas, expected):
        if np.all(np.isfinite(thetas)):
            for at, (en, zh) in LOOKAHEAD_MISTAKES.items():
                if _agrees(thetas, lookahead_path(theta0, lr, momentum, steps, at=at)[0]):
                    fail(en, zh)
        _first_difference(thetas, expected, f"lr={lr}, momentum={momentum}, on Rosenbrock's function", theta0,
                          f"lr={lr}，momentum={momentum}，Rosenbrock 函數上")
    if not _agrees(vs, v_expected):
        if _agrees(-vs, v_expected):
            fail("θ is right but the returned v has the wrong sign: here v = momentum·v − lr·grad(...) and θ ← θ + v",
                 "θ 是對的，但返回的 v 符號反了：這裡 v = momentum·v − lr·grad(...)，θ ← θ + v")
        fail("θ is right but the returned v is not: return the velocity v = momentum·v − lr·grad(...) "
             "(negative along the gradient, θ ← θ + v)",
             "θ 是對的，但返回的 v 不對：請返回速度 v = momentum·v − lr·grad(...)（沿負梯度方向，θ ← θ + v）")
    p = torch.tensor(theta0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=True)
    ahead = []
    for _ in range(steps):
        p.grad = torch.tensor(rosenbrock_grad(p.detach().numpy()))
        opt.step()
        ahead.append(p.detach().numpy().copy())
    if not _agrees(thetas + momentum * vs, np.array(ahead), rtol=1e-10):  # pragma: no cover - the reference's own check
        fail("θ + momentum·v does not follow torch.optim.SGD(nesterov=True): report this to the authors",
             "θ + momentum·v 沒有跟上 torch.optim.SGD(nesterov=True)：請把這個情況報告給作者")
    passed(ex, f"one gradient per step, and θ + β·v follows torch.optim.SGD(nesterov=True) for {steps} steps on "
               "Rosenbrock's function",
           f"每步只求一次梯度，並且在 Rosenbrock 函數上 {steps} 步內 θ + β·v 都與 torch.optim.SGD(nesterov=True) 一致")


# ---------------------------------------------------------------- Exercise 5: every argument of torch.optim.SGD
FULL_MISTAKES = {
    "wd_after": ("weight decay is added after the momentum: PyTorch adds weight_decay·w to the gradient first, "
                 "g ← g + weight_decay·w, and this g then enters the buffer",
                 "權重衰減加在了動量之後：PyTorch 先把 weight_decay·w 加到梯度上，g ← g + weight_decay·w，"
                 "再讓這個 g 進入緩衝"),
    "wd_ignored": ("weight_decay is ignored: add weight_decay·w to the gradient before the momentum",
                   "weight_decay 被忽略了：在動量之前把 weight_decay·w 加到梯度上"),
    "maximize_update": ("with maximize=True you negated the update instead of the gradient: negate g first "
                        "(g ← −g), then add weight_decay·w, so that weight decay still pulls w towards zero",
                        "maximize=True 時你取反的是更新而不是梯度：應先把 g 取反（g ← −g），再加 weight_decay·w，"
                        "這樣權重衰減仍把 w 拉向零"),
    "maximize_ignored": ("maximize is ignored: with maximize=True negate the gradient first (g ← −g)",
                         "maximize 被忽略了：maximize=True 時先把梯度取反（g ← −g）"),
    "damp_first": SGDM_MISTAKES["damp_first"],
    "lr_in_buffer": ("the learning rate is folded into the buffer: it equals PyTorch only while lr is constant, and "
                     "this check changes lr at steps 2 and 9. Keep lr out of the buffer, w ← w − lr·d",
                     "學習率被併進了緩衝：只有 lr 不變時才與 PyTorch 相同，而這個檢查在第 2 步和第 9 步改了 lr。"
                     "學習率不要放進緩衝，w ← w − lr·d"),
    "heavy_ball": ("nesterov=True is ignored: the direction is then g + momentum·b, not b",
                   "nesterov=True 被忽略了：這時方向應是 g + momentum·b，而不是 b"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·d, with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·d，是減號"),
}


def _full_cases():
    for momentum in (0.0, 0.9):
        for dampening in (0.0, 0.5):
            for weight_decay in (0.0, 0.1):
                for nesterov in (False, True):
                    for maximize in (False, True):
                        if (momentum == 0 and dampening) or (nesterov and (momentum == 0 or dampening)):
                            continue
                        yield dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                   nesterov=nesterov, maximize=maximize)


def check_sgd(sgd_step) -> None:
    """Exercise 5: ``sgd_step(w, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize)`` → ``(w, buf)``.

    Every valid combination of the arguments, each run against ``torch.optim.SGD`` with a
    learning rate changed at steps 2 and 9; ``buf`` is None at the first step and may stay
    None when momentum is 0. The gradient array itself is passed: changing it in place
    (``g += weight_decay * w``, ``g *= -1``) is caught.
    """
    ex = "Exercise 5"
    steps = 15
    grads = _gradients(5, steps, dim=3)
    w0 = np.array([2.0, -1.0, 0.5])
    lrs = np.array([0.1] + [0.05] * 7 + [0.02] * 7)
    n = 0
    for kw in _full_cases():
        setting = ", ".join(f"{k}={v}" for k, v in kw.items())
        got, _ = _run(lambda w, g, b, lr, kw=kw: call(sgd_step, w, g, b, lr, exercise=ex, **kw),
                      w0, None, grads, lrs, "sgd_step", "buf", need_state=bool(kw["momentum"]))
        expected = torch_path("SGD", w0, grads, lrs, **kw)
        n += 1
        if not _agrees(got, expected):
            for mistake, (en, zh) in FULL_MISTAKES.items():
                if _agrees(got, momentum_path(w0, grads, lrs, mistake=mistake, **kw)):
                    fail(f"with {setting}: {en}", f"在 {setting} 時，{zh}")
            if kw["momentum"] and _agrees(got, momentum_path(w0, grads, lrs, **{**kw, "momentum": 0.0,
                                                                               "dampening": 0.0, "nesterov": False})):
                en, zh = SGDM_MISTAKES["reset"]
                fail(f"with {setting}: {en}", f"在 {setting} 時，{zh}")
            _first_difference(got, expected, setting, w0)
    passed(ex, f"all {n} valid combinations of momentum, dampening, weight_decay, nesterov and maximize match "
               "torch.optim.SGD, with lr changed mid-run",
           f"momentum、dampening、weight_decay、nesterov 與 maximize 的全部 {n} 種有效組合都與 torch.optim.SGD 一致，"
           "學習率中途改變時也對")


# ---------------------------------------------------------------- Exercise 6: the predicted rate
def _roots(lr, momentum, lam):
    s, p = 1 + momentum - lr * lam, momentum
    disc = np.sqrt(complex(s * s - 4 * p))
    return (s + disc) / 2, (s - disc) / 2


def _rate_variant(lr, momentum, eigenvalues, mistake):
    if mistake == "sqrt_beta":
        return float(np.sqrt(momentum))
    per = [sorted(abs(z) for z in _roots(lr, momentum, lam)) for lam in eigenvalues]
    if mistake == "smaller_root":
        return max(r[0] for r in per)
    if mistake == "fastest_direction":
        return min(r[1] for r in per)
    if mistake == "squared":
        return max(r[1] for r in per) ** 2
    if mistake == "real_part":
        return max(max(abs(z.real) for z in _roots(lr, momentum, lam)) for lam in eigenvalues)
    if mistake == "one_eigenvalue":
        return [max(abs(z) for z in _roots(lr, momentum, lam)) for lam in (eigenvalues[0], eigenvalues[-1])]
    raise ValueError(mistake)


RATE_MISTAKES = {
    "sqrt_beta": ("you returned √momentum: that is the modulus only when the roots are complex (under-damped, "
                  "(1 − √β)² < lr·λ < (1 + √β)²); outside that band they are real and the larger |z| exceeds √β. "
                  "Solve z² − (1 + β − lr·λ)z + β = 0 and take the larger |z|",
                  "你返回的是 √momentum：只有根是複數時（欠阻尼，(1 − √β)² < lr·λ < (1 + √β)²）模才等於它；"
                  "在這個區間之外根是實數，較大的 |z| 會超過 √β。請解 z² − (1 + β − lr·λ)z + β = 0，取較大的 |z|"),
    "smaller_root": ("you took the smaller root: the error is a combination of z₁ᵏ and z₂ᵏ, so the larger |z| (the "
                     "spectral radius) decides the rate; take max(|z₁|, |z₂|)",
                     "你取了較小的根：誤差是 z₁ᵏ 與 z₂ᵏ 的組合，決定速率的是較大的 |z|（譜半徑）；"
                     "請取 max(|z₁|, |z₂|)"),
    "fastest_direction": ("you returned the rate of the fastest direction: the slowest one decides, so take the "
                          "maximum of the spectral radius over the eigenvalues",
                          "你返回的是最快方向的速率：決定收斂的是最慢的方向，所以要對所有特徵值取譜半徑的最大值"),
    "squared": ("you returned the squared modulus |z|²: the rate is |z| itself (np.abs(z), not z·z̄ or |z|**2)",
                "你返回的是模的平方 |z|²：速率是 |z| 本身（np.abs(z)，而不是 z·z̄ 或 |z|**2）"),
    "real_part": ("you took the real part of the roots: when they are complex the rate is the modulus |z| = "
                  "√(Re² + Im²), np.abs(z), not |Re z|",
                  "你取的是根的實部：根為複數時速率是模 |z| = √(Re² + Im²)，即 np.abs(z)，而不是 |Re z|"),
}


# the cases' descriptions, for the Chinese line of a verdict
_WHAT_ZH = {
    "over-damped in both directions": "兩個方向都過阻尼",
    "under-damped": "欠阻尼",
    "under-damped, near the stability limit": "欠阻尼，接近穩定上限",
    "unstable: both roots real and negative at lambda = 100": "不穩定，lambda = 100 時兩根都是負實數",
    "gradient descent (momentum 0)": "梯度下降，動量為 0",
    "Polyak's tuning (double roots)": "Polyak 的最優參數，重根",
    "unsorted eigenvalues, the slowest in the middle": "特徵值未排序，最慢的在中間",
    "a single eigenvalue": "只有一個特徵值",
    "heavy ball, lr = 0.01, momentum = 0.5 on eigenvalues 1..100":
        "特徵值 1..100 上的重球法，lr = 0.01，momentum = 0.5",
    "(1 + 3k)·0.9ᵏ + 1000·0.8ᵏ, a double root": "(1 + 3k)·0.9ᵏ + 1000·0.8ᵏ，有重根",
    "heavy ball at Polyak's tuning for kappa = 100": "kappa = 100 時取 Polyak 最優參數的重球法",
    "0.95ᵏ·(1.5 + cos 2k), an oscillating sequence": "0.95ᵏ·(1.5 + cos 2k)，一個振盪的序列",
}


def _zh(what: str) -> str:
    return _WHAT_ZH.get(what, what)


def rate_cases():
    """``(lr, momentum, eigenvalues, what)``: every regime of the 2×2 recurrence, and Polyak's tuning."""
    lams = np.array([1.0, 10.0, 100.0])
    lr_s, beta_s, _ = quadratic.optimal_heavy_ball(1.0, 100.0)
    return [
        (0.01, 0.5, np.array([1.0, 5.0]), "over-damped in both directions"),
        (0.01, 0.9, lams, "under-damped"),
        (0.037, 0.9, lams, "under-damped, near the stability limit"),
        (0.0303, 0.5, lams, "unstable: both roots real and negative at lambda = 100"),
        (0.0198, 0.0, lams, "gradient descent (momentum 0)"),
        (lr_s, beta_s, np.array([1.0, 100.0]), "Polyak's tuning (double roots)"),
        (0.01, 0.81, np.array([10.0, 100.0, 1.0, 50.0]), "unsorted eigenvalues, the slowest in the middle"),
        (0.02, 0.3, np.array([40.0]), "a single eigenvalue"),
    ]


_RATE_HINTS = [
    (lambda e, line: isinstance(e, ValueError) and "math domain" in str(e),
     "the discriminant s² − 4β is negative when the roots are complex: take a complex square root, "
     "np.sqrt(complex(s * s - 4 * momentum)) or cmath.sqrt",
     "根為複數時判別式 s² − 4β 是負的，要取複數平方根，即 np.sqrt(complex(s * s - 4 * momentum)) 或 cmath.sqrt"),
]


def check_rate(heavy_ball_rate) -> None:
    """Exercise 6: ``heavy_ball_rate(lr, momentum, eigenvalues)`` → the largest spectral radius over the eigenvalues."""
    ex = "Exercise 6"
    for lr, momentum, lams, what in rate_cases():
        inputs = Inputs(eigenvalues=lams)
        with np.errstate(invalid="ignore"):
            got = call(heavy_ball_rate, lr, momentum, lams, exercise=ex, hints=_RATE_HINTS)
        inputs.untouched("heavy_ball_rate")
        if np.iscomplexobj(got):
            fail("heavy_ball_rate returned a complex number: the rate is the modulus |z| (np.abs), a real number",
                 "heavy_ball_rate 返回了複數：速率是模 |z|（np.abs），一個實數")
        got = as_array(got, "heavy_ball_rate(lr, momentum, eigenvalues)")
        if got.shape != ():
            fail(f"heavy_ball_rate returned shape {got.shape}: return one number, the worst spectral radius over the "
                 "eigenvalues",
                 f"heavy_ball_rate 返回的形狀是 {got.shape}：應返回一個數，即所有特徵值上最差的譜半徑")
        r = float(got)
        if np.isnan(r):
            fail(f"for lr={lr:.6g}, momentum={momentum:.6g} ({what}) you returned NaN: a real square root of a "
                 "negative discriminant. When the roots are complex take a complex square root, "
                 "np.sqrt(complex(s * s - 4 * momentum))",
                 f"lr={lr:.6g}、momentum={momentum:.6g}（{_zh(what)}）時你返回了 NaN：對負的判別式取了實數平方根。"
                 "根為複數時要取複數平方根，np.sqrt(complex(s * s - 4 * momentum))")
        expected = quadratic.rate(lr, momentum, lams)
        if not np.isclose(r, expected, rtol=1e-6, atol=0.0):
            for mistake, (en, zh) in RATE_MISTAKES.items():
                if np.isclose(r, _rate_variant(lr, momentum, lams, mistake), rtol=1e-6, atol=0.0):
                    fail(f"for lr={lr:.6g}, momentum={momentum:.6g} ({what}): {en}",
                         f"lr={lr:.6g}、momentum={momentum:.6g}（{_zh(what)}）時，{zh}")
            if len(lams) > 2 and any(np.isclose(r, x, rtol=1e-6) for x in _rate_variant(lr, momentum, lams,
                                                                                         "one_eigenvalue")):
                fail(f"for eigenvalues {lams.tolist()} ({what}) you used only the first or the last eigenvalue: take "
                     "the maximum of the spectral radius over all of them (they need not be sorted)",
                     f"特徵值為 {lams.tolist()}（{_zh(what)}）時你只用了第一個或最後一個特徵值：要對全部特徵值"
                     "取譜半徑的最大值（它們不一定是排好序的）")
            a, e = (f"{x:.8g}" for x in (r, expected))
            fail(f"for lr={lr:.6g}, momentum={momentum:.6g}, eigenvalues {lams.tolist()} ({what}) the rate is {e}, "
                 f"you have {a}",
                 f"lr={lr:.6g}、momentum={momentum:.6g}、特徵值 {lams.tolist()}（{_zh(what)}）時"
                 f"速率應為 {e}，你的是 {a}")
    passed(ex, "the rate is right in every regime: over-damped, under-damped, unstable, momentum 0 and Polyak's "
               "tuning, where it equals (√κ − 1)/(√κ + 1)",
           "過阻尼、欠阻尼、不穩定、動量為 0 以及 Polyak 的最優參數（此時等於 (√κ − 1)/(√κ + 1)）幾種情形下，速率都對")


# ---------------------------------------------------------------- Exercise 7: the measured rate
def heavy_ball_errors(lams, lr, momentum, steps, seed: int = 0) -> np.ndarray:
    """‖w_k − w*‖ for k = 1..steps, heavy ball from rest on the quadratic diag(lams) from a random start."""
    e = e_prev = np.random.default_rng(seed).standard_normal(len(lams))
    out = []
    for _ in range(steps):
        e, e_prev = e - lr * lams * e + momentum * (e - e_prev), e
        out.append(np.linalg.norm(e))
    return np.array(out)


def measure_cases():
    """``(errors, double_root, true rate, what)``: sequences whose rate is known exactly."""
    lams = np.linspace(1.0, 100.0, 10)
    lr_s, beta_s, rho_s = quadratic.optimal_heavy_ball(1.0, 100.0)
    k = np.arange(1, 201)
    k2 = np.arange(1, 401)
    return [
        (heavy_ball_errors(lams, 0.01, 0.5, 900), False, quadratic.rate(0.01, 0.5, lams),
         "heavy ball, lr = 0.01, momentum = 0.5 on eigenvalues 1..100"),
        ((1 + 3 * k) * 0.9**k + 1000 * 0.8**k, True, 0.9, "(1 + 3k)·0.9ᵏ + 1000·0.8ᵏ, a double root"),
        (heavy_ball_errors(lams, lr_s, beta_s, 200), True, rho_s, "heavy ball at Polyak's tuning for kappa = 100"),
        (0.95**k2 * (1.5 + np.cos(2.0 * k2)), False, 0.95, "0.95ᵏ·(1.5 + cos 2k), an oscillating sequence"),
    ]


def check_measure(measured_rate) -> None:
    """Exercise 7: ``measured_rate(errors, double_root=False)`` → the rate r of a tail ‖e_k‖ ≈ C·kᵐ·rᵏ."""
    ex = "Exercise 7"
    for errors, double, rho, what in measure_cases():
        errors_in = errors.copy()
        inputs = Inputs(errors=errors_in)
        got = as_array(call(measured_rate, errors_in, double_root=double, exercise=ex),
                       "measured_rate(errors, double_root)")
        inputs.untouched("measured_rate", "Compute from the errors without writing into them (np.log(errors) makes a "
                                          "new array; errors /= ... or np.log(errors, out=errors) does not)",
                         "根據 errors 計算，但不要寫回去（np.log(errors) 會產生新數組；errors /= ... 或 "
                         "np.log(errors, out=errors) 則會改掉原數組）")
        if got.shape != ():
            fail(f"measured_rate returned shape {got.shape}: return one number, the rate r",
                 f"measured_rate 返回的形狀是 {got.shape}：應返回一個數，即速率 r")
        r = float(got)
        if abs(r - rho) <= 1e-3 * rho:
            continue
        a, e = f"{r:.6f}", f"{rho:.6f}"
        head_en, head_zh = (f"on {what}, you measured {a}, the true rate is {e}",
                            f"在「{_zh(what)}」上你測得 {a}，真實速率是 {e}")
        k = np.arange(1, len(errors) + 1)
        half = len(errors) // 2
        y = np.log(errors) - (np.log(k) if double else 0.0)
        slope, intercept = np.polyfit(k[half:], y[half:], 1)
        if np.isclose(r, errors[-1] / errors[-2], rtol=1e-9) and not np.isclose(r, errors[1] / errors[0]):
            fail(f"{head_en}: that is the ratio of the last two errors, which swings when the sequence oscillates "
                 "(complex roots). Fit a straight line to log ‖e_k‖ over the last half and return exp(slope)",
                 f"{head_zh}：這是最後兩個誤差之比，序列振盪時（複數根）它會來回擺動。請對後半段的 log ‖e_k‖ "
                 "擬合一條直線，返回 exp(斜率)")
        if np.isclose(r, slope, rtol=1e-6):
            fail(f"{head_en}: you returned the slope log r of the fit; the rate is exp(slope)",
                 f"{head_zh}：你返回的是擬合的斜率 log r；速率是 exp(斜率)")
        if np.isclose(r, np.exp(slope / np.log(10)), rtol=1e-6) or np.isclose(r, 10 ** (slope * np.log(10)), rtol=1e-6):
            fail(f"{head_en}: the logarithm and the exponential do not match: with np.log10 return 10**slope, with "
                 "np.log return np.exp(slope)",
                 f"{head_zh}：對數與指數沒有配對，用 np.log10 就返回 10**slope，用 np.log 就返回 np.exp(slope)")
        if np.isclose(r, np.exp(intercept), rtol=1e-6):
            fail(f"{head_en}: np.polyfit(k, y, 1) returns [slope, intercept]: take the slope, [0]",
                 f"{head_zh}：np.polyfit(k, y, 1) 返回的是 [斜率, 截距]，要取斜率，即 [0]")
        if not double:
            ky = np.polyfit(k[half:], np.log(errors[half:]) - np.log(k[half:]), 1)[0]
            if np.isclose(r, np.exp(ky), rtol=1e-6):
                fail(f"{head_en}: you subtracted log k although double_root is False; do that only when double_root "
                     "is True",
                     f"{head_zh}：double_root 為 False 時你也減去了 log k；只有 double_root 為 True 時才這樣做")
        transient = [errors[1] / errors[0], errors[1] / (2 * errors[0]),
                     (errors[-1] / errors[0]) ** (1 / (len(errors) - 1))]
        for m in (0, 1):
            transient.append(float(np.exp(np.polyfit(k, np.log(errors) - m * np.log(k), 1)[0])))
        if any(np.isclose(r, t, rtol=1e-6) for t in transient):
            fail(f"{head_en}: your number is pulled by the first steps, a transient of the faster modes. Fit log "
                 "‖e_k‖ against k over the last half of the sequence only",
                 f"{head_zh}：你的數被最初幾步拉偏了，那是較快模態的瞬態。只對序列後半段的 log ‖e_k‖ 關於 k 做擬合")
        if double and rho < r < 1.02 * rho:
            fail(f"{head_en}: at a double root the error is ∝ k·rᵏ, and the factor k biases the fit upwards. When "
                 "double_root is True, fit log ‖e_k‖ − log k against k",
                 f"{head_zh}：重根時誤差 ∝ k·rᵏ，因子 k 會把擬合結果往上拉。double_root 為 True 時，"
                 "請對 log ‖e_k‖ − log k 關於 k 做擬合")
        fail(f"on {what}, the rate is {e}, you measured {a}: fit a straight line to log ‖e_k‖ (minus log k for a "
             "double root) over the last half and return exp(slope)",
             f"在「{_zh(what)}」上速率是 {e}，你測得 {a}：對後半段的 log ‖e_k‖（重根時減去 log k）"
             "擬合一條直線，返回 exp(斜率)")
    passed(ex, "the fitted rates are within 0.1 % of the true ones, with and without a double root, and on an "
               "oscillating sequence",
           "擬合出的速率與真實值相差不到 0.1%，有重根、沒有重根以及振盪的序列都對")
