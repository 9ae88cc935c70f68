"""The checks of Lab 3 (Adagrad and RMSprop from scratch), one per exercise.

Each ``check_*`` function runs the student's code step by step on fixed random gradients,
compares with a reference — ``torch.optim.Adagrad``, ``RMSprop`` and ``Adadelta`` themselves
for the optimizers, the formulas for the rates and the memory of an average — and either
prints one line per language (``✓ Exercise n: ...``) or raises
:class:`optbook.checks.CheckFailed` saying what is wrong and what to do. The classic mistakes
are recognised by simulating each of them and comparing with what the student's code did:
ε inside the root (TensorFlow's RMSprop) or outside the division (operator precedence), ε
missing or fixed in the code instead of taken from the argument, the accumulator of g instead
of g², or of the sum over all coordinates instead of per coordinate, TensorFlow's initial
values (an accumulator from 0.1, a mean square from 1), a state that restarts at every call, a
step taken with the state before its update, a square root missing, α and 1 − α swapped, a
bias correction added to RMSprop (or one stuck at t = 1), a centered denominator that
subtracts ḡ instead of ḡ², takes √v − |ḡ|, uses ḡ before its update or stores the centered
value back into the average, momentum applied before the normalization, the learning rate
folded into the momentum buffer or read once instead of at every step (exposed by changing
it mid-run), Adadelta's learning rate ignored or its ε moved out of a root, the window of an
average confused with its half-life, and more. A wrong state returned with a right step is
named at the first step. Where no simulated mistake matches, the verdict says where the run
parts from the reference and recalls the update to compare with. tests/test_lab_checks_03.py
proves every one of them, and that each run of a check catches a mistake the others miss.

The step functions of Exercises 1, 3 and 6 are functional: they take the state arrays and
return ``(new parameters, *new state)``; updating the *state* in place is allowed (the check
passes the state returned at one step back at the next, as the lab's own loops do), but w and
g must not change, since the caller still holds them. Exercise 5 is a small class that keeps
its state between calls, as ``torch.optim`` optimizers do.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from optbook.checks import (
    CheckFailed,
    as_array,
    call,
    close,
    diagnose,
    distinct,
    fail,
    passed,
    run_steps,
    same,
    shares_memory,
    simulator,
    snapshot,
    torch_path,
)
from optbook.checks import (
    agree as _agree,
)
from optbook.checks import (
    fixed as _fixed,
)
from optbook.checks import (
    kept as _kept,
)
from optbook.checks import (
    num as _num,
)
from optbook.checks import (
    remind as _remind,
)


def _gradients(seed: int, steps: int, dim: int, scale=1.0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return shift + np.asarray(scale) * rng.standard_normal((steps, dim))


def _schedule(steps: int, lr: float, at: int, factor: float) -> np.ndarray:
    """``lr`` for steps 1..at−1, then ``lr * factor``: a change mid-run, as a scheduler makes."""
    return np.where(np.arange(1, steps + 1) < at, lr, lr * factor)


def _setting(hyper: str, hyper_zh: str, lrs, at: int) -> tuple[str, str]:
    """The run a verdict speaks of, in both languages (as Lab 2 writes it): the hyper-parameters and ``lrs``."""
    if lrs[0] == lrs[-1]:
        return f"{hyper}, lr = {lrs[0]:g}", f"{hyper_zh}，lr = {lrs[0]:g}"
    return (f"{hyper}, lr = {lrs[0]:g} changed to {lrs[-1]:g} at step {at}",
            f"{hyper_zh}，lr = {lrs[0]:g}，第 {at} 步改為 {lrs[-1]:g}")


# ---------------------------------------------------------------- running a functional step
_W_FIX = ("return a new array, w - lr * ..., instead of updating w in place (`w -= ...`): the caller keeps the "
          "previous w",
          "請返回一個新數組 w - lr * ...，不要原地更新 w（`w -= ...`），因為調用者還保留著上一步的 w")
_ALIAS_FIX = ("an in-place update of {s} at the next step would change the caller's gradient. Compute a new array "
              "(g * g is one)",
              "下一步原地更新 {s} 時會改掉調用者的梯度。請算出一個新數組（g * g 就是新數組）")
_G_FIX = ("leave g as it is (no `g *= ...`, `g /= ...`, `g **= 2`) and compute g * g into a new array: the caller "
          "still holds its gradient",
          "不要改動 g（不要寫 `g *= ...`、`g /= ...`、`g **= 2`），g * g 要算到一個新數組裡：調用者手裡還拿著這個梯度")


def _order(out, first, name: str, names: tuple[str, ...]) -> None:
    """At step 1: fail if the student returned the expected items in another order."""
    try:
        got = [np.asarray(o, dtype=float) for o in out]
    except (TypeError, ValueError):
        return
    if all(_agree(a, e) for a, e in zip(got, first)):
        return
    ret = "(" + ", ".join(names) + ")"
    for perm in itertools.permutations(range(len(first))):
        if list(perm) != list(range(len(first))) and all(_agree(got[i], first[p]) for i, p in enumerate(perm)):
            fail(f"{name} returned its results in the wrong order: return {ret}, in that order",
                 f"{name} 返回的各項順序不對：應按 {ret} 的順序返回")


class _State:
    """What a state returned by a functional step is, for the verdict on a wrong one.

    ``noun`` names it ("the accumulator"), ``rule`` is its update ("G + g * g"), ``eps`` the
    run's ε, and ``root`` the expression in which it enters the step, as a function and in
    writing (``np.sqrt(G) + eps``, "√G + ε, the denominator"). ``known`` lists the values it
    takes after step 1 with a classic mistake that leaves the first step right, each with the
    verdict of that mistake.
    """

    def __init__(self, noun: tuple[str, str], rule: tuple[str, str], eps: float, root, root_text: tuple[str, str],
                 known=()):
        self.noun, self.rule, self.eps, self.root, self.root_text = noun, rule, eps, root, root_text
        self.known = known


def _wrong_state(name: str, s_name: str, got, expected, given, spec: _State, k: int,
                 setting: tuple[str, str]) -> None:
    """Fail on a state that is not the expected one while w is right, naming what it is if it is a usual slip."""
    head_en, head_zh = f"with {setting[0]}: w is right after step {k}", f"在 {setting[1]} 時，第 {k} 步後 w 是對的"
    for value, (en, zh) in spec.known:
        if _agree(got, value):
            fail(f"{head_en}, but the {s_name} that {name} returned is wrong: {en}",
                 f"{head_zh}，但 {name} 返回的 {s_name} 不對：{zh}")
    eps = spec.eps
    with np.errstate(all="ignore"):
        kinds = [
            (given, f"the {s_name} passed in, not updated", f"傳進來的那個 {s_name}，沒有更新"),
            (np.sqrt(expected), f"its root √{s_name}", f"它的平方根 √{s_name}"),
            (spec.root(expected), spec.root_text[0], spec.root_text[1]),
            (np.where(expected == 0, eps, expected),
             f"{s_name} with ε where it should be 0 (on a coordinate whose gradient has been zero), while ε belongs "
             f"only where {s_name} enters the step",
             f"在應為 0 的坐標（梯度一直為零的坐標）上換成了 ε 的 {s_name}，而 ε 只應出現在 {s_name} 進入步子的地方"),
            (expected + eps, f"{s_name} + ε, while ε belongs only where {s_name} enters the step",
             f"{s_name} + ε，而 ε 只應出現在 {s_name} 進入步子的地方"),
        ]
    for value, en, zh in kinds:
        if _agree(got, value):
            what_en, what_zh = f"is {en}", "是" + (" " if zh[0].isascii() else "") + zh
            break
    else:
        what_en, what_zh = f"is not {spec.noun[0]}", f"不是{spec.noun[1]}"
    fail(f"{head_en}, but the {s_name} that {name} returned {what_en}: return {s_name} itself, updated as "
         f"{s_name} ← {spec.rule[0]}; the caller passes it back to you at the next step",
         f"{head_zh}，但 {name} 返回的 {s_name} {what_zh}：請返回 {s_name} 本身，按 {s_name} ← {spec.rule[1]} 更新；"
         "調用者下一步會把它傳回給你")


def _run(one, w0, states0, grads, lrs, name: str, names: tuple[str, ...], first=None, specs=None,
         setting: tuple[str, str] = ("", "")):
    """Feed ``grads`` to a step ``one(w, g, states, lr)`` that returns ``(w, *states)``; the iterates and states
    (:func:`optbook.checks.run_steps`).

    ``first`` is the expected tuple after step 1, to recognise a return in the wrong order and,
    with ``specs`` (one :class:`_State` per state), a wrong state returned with a right w: the
    state passed back would make the *next* step wrong, and the verdict would speak of the step.
    ``setting`` names the run in that verdict.
    """
    def on_return(k, out):
        if k == 1 and first is not None:
            _order(out, first, name, names)

    def on_states(k, w, states, given):
        if k == 1 and first is not None and specs is not None and _agree(w, first[0]):
            for s_name, s, e, s0, spec in zip(names[1:], states, first[1:], given, specs):
                if not _agree(s, e):
                    _wrong_state(name, s_name, s, np.asarray(e, dtype=float), s0, spec, k, setting)

    return run_steps(one, w0, states0, grads, lrs, name, names, (_W_FIX, _G_FIX), _ALIAS_FIX,
                     on_return=on_return, on_states=on_states)


def _diagnose(got, expected, w0, mistakes: dict, simulate, setting: tuple[str, str], hint: tuple[str, str]) -> None:
    """:func:`optbook.checks.diagnose` with this lab's ways of writing one mistake."""
    diagnose(got, expected, w0, mistakes, simulate, setting, hint, _VARIANTS)


# Several ways of writing one mistake, simulated under one message.
_VARIANTS = {
    "sum_g": ("sum_g", "sum_abs"),
    "eps_precedence": ("eps_on_w", "eps_on_step"),
    "eps_outside": ("eps_outside_both", "eps_outside_num", "eps_outside_den"),
    "bias": ("bias", "bias_both"),
    "cumsum_g": ("cumsum_g", "cumsum_abs"),
    "unseen": ("unseen_zero", "unseen_lr"),
}

_EPS_CONSTANTS = (1e-10, 1e-8, 1e-7, 1e-6)


# ---------------------------------------------------------------- Exercise 1: Adagrad's step

def _scaled_step(mistake: str, lr: float, g, S, eps: float):
    """The step lr·g/(√S + ε) of Adagrad (S = G) and RMSprop (S = v), with the denominator's mistakes
    both exercises share simulated (the step is subtracted; "uphill" returns it negated)."""
    if mistake == "eps_inside":
        step = lr * g / np.sqrt(S + eps)
    elif mistake == "no_eps":
        step = lr * g / np.sqrt(S)
    elif mistake == "no_sqrt":
        step = lr * g / (S + eps)
    elif mistake == "eps_on_w":
        step = lr * g / np.sqrt(S) - eps
    elif mistake == "eps_on_step":
        step = lr * (g / np.sqrt(S) + eps)
    else:
        step = lr * g / (np.sqrt(S) + eps)
    return -step if mistake == "uphill" else step

def adagrad_path(w0, grads, lrs, eps, mistake: str | None = None) -> np.ndarray:
    """PyTorch's Adagrad (G from 0, lr_decay 0) in NumPy, or the same with one classic ``mistake``."""
    w, path = np.array(w0, dtype=float), []
    G = np.full(np.shape(w0), 0.1) if mistake == "init_tf" else np.zeros(np.shape(w0))
    with np.errstate(all="ignore"):
        for g, lr in zip(grads, lrs):
            g = np.asarray(g, dtype=float)
            old = G
            if mistake == "sum_g":
                G = G + g
            elif mistake == "sum_abs":
                G = G + np.abs(g)
            elif mistake == "reset":
                G = g * g
            elif mistake == "global":
                G = G + np.sum(g * g)
            else:
                G = G + g * g
            w = w - _scaled_step(mistake, lr, g, old if mistake == "stale" else G, eps)
            path.append(w.copy())
    return np.array(path)


ADAGRAD_MISTAKES = {
    "eps_inside": ("ε is inside the square root, g/√(G + ε). PyTorch's Adagrad adds ε after the root, "
                   "g/(√G + ε); the two agree while G ≫ ε, which is why this check uses a large eps. "
                   "Write np.sqrt(G) + eps",
                   "ε 放在了平方根裡面，即 g/√(G + ε)。PyTorch 的 Adagrad 是開方之後再加 ε，即 g/(√G + ε)；"
                   "G 遠大於 ε 時兩者幾乎一樣，所以這個檢查特意取了一個大的 eps。請寫成 np.sqrt(G) + eps"),
    "no_eps": ("ε is missing: the step is lr·g/(√G + ε). Without ε, a coordinate whose gradients have all been "
               "zero so far has G = 0 and divides 0 by 0",
               "漏了 ε：步子是 lr·g/(√G + ε)。沒有 ε 的話，在一個至今梯度全為零的坐標上，G = 0，就會出現 0 除以 0"),
    "eps_precedence": ("ε is not in the denominator: by operator precedence, lr * g / np.sqrt(G) + eps adds ε to the "
                       "step (or to w). Put the denominator in parentheses, lr * g / (np.sqrt(G) + eps)",
                       "ε 沒有加到分母上。按運算符優先級，lr * g / np.sqrt(G) + eps 是把 ε 加到了步子（或 w）上；"
                       "分母要加括號，寫成 lr * g / (np.sqrt(G) + eps)"),
    "sum_g": ("G accumulates the gradients g (or |g|), not their squares: G ← G + g * g",
              "G 累加的是梯度 g（或 |g|），而不是它的平方：應為 G ← G + g * g"),
    "global": ("G is summed over all the coordinates (np.sum(g * g), or a norm of g), so every coordinate gets the "
               "same rate. G is per coordinate, G ← G + g * g, and each coordinate gets its own rate "
               "lr/(√G_i + ε): that is the point of Adagrad",
               "G 是對所有坐標求和得到的（np.sum(g * g)，或 g 的某個範數），於是每個坐標的學習率都一樣。"
               "G 應逐坐標計算，G ← G + g * g，每個坐標各有自己的學習率 lr/(√G_i + ε)：這正是 Adagrad 的要點"),
    "init_tf": ("your accumulator starts at 0.1, TensorFlow's initial_accumulator_value: PyTorch's starts at 0 "
                "(initial_accumulator_value=0), and the caller passes np.zeros_like(w) at the first step. Use the "
                "G passed in as it is",
                "你的累加器從 0.1 開始，那是 TensorFlow 的 initial_accumulator_value：PyTorch 的累加器從 0 開始"
                "（initial_accumulator_value=0），第一步時調用者傳入的就是 np.zeros_like(w)。請直接使用傳進來的 G"),
    "reset": ("G starts afresh at every call (G = g * g), so every step is lr·g/(|g| + ε) ≈ lr·sign(g), sign descent "
              "with a fixed step. Add g * g to the G passed in and return the updated G: the caller passes it back "
              "at the next step",
              "每次調用 G 都從頭開始（G = g * g），於是每一步都是 lr·g/(|g| + ε) ≈ lr·sign(g)，成了步長固定的符號下降。"
              "要把 g * g 加到傳進來的 G 上，並返回更新後的 G，調用者下一步會把它傳回給你"),
    "stale": ("the step uses G before this step's g² is added: at the first step G = 0 and the step divides by ε "
              "alone. Update G first (G = G + g * g), then step with the new G",
              "這一步用的是還沒加上本步 g² 的 G：第一步時 G = 0，步子就只除以 ε。要先更新 G（G = G + g * g），"
              "再用新的 G 走這一步"),
    "no_sqrt": ("the square root is missing: the denominator is √G + ε, not G + ε. Without the root, the rate decays "
                "like 1/t instead of 1/√t when |g| is constant, and the step depends on the scale of g",
                "少了平方根：分母是 √G + ε，而不是 G + ε。不開方的話，|g| 恆定時學習率按 1/t 而不是 1/√t 衰減，"
                "步子也會隨 g 的量級變化"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·g/(√G + ε), with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·g/(√G + ε)，是減號"),
}

ADAGRAD_HINT = ("Compare your step with Adagrad's, coordinate by coordinate: G ← G + g * g (from the G passed in, "
                "zeros at the first step), then w ← w − lr·g/(√G + ε)",
                "請逐坐標對照 Adagrad 的一步：G ← G + g * g（從傳進來的 G 開始，第一步是全零），"
                "然後 w ← w − lr·g/(√G + ε)")


def _adagrad_cases():
    steps, at = 30, 11
    sparse = _gradients(12, steps, 4)
    sparse[:8, 0] = 0.0       # a feature that appears only at step 9
    sparse[:, 3] = 0.0        # a feature that never appears
    scales = np.array([1e-3, 1e-1, 1.0, 10.0, 1e2, 1e3, 1e-6])
    return [
        (0.1, np.full(steps, 0.5), _gradients(11, steps, 4), "a large eps = 0.1", "eps 取大值 0.1"),
        (1e-10, np.full(steps, 0.1), sparse, "eps = 1e-10, one coordinate's gradient zero for 8 steps and one's "
         "always zero", "eps = 1e-10，一個坐標的梯度前 8 步為零，另一個始終為零"),
        (1e-10, _schedule(steps, 0.1, at, 0.2), _gradients(13, steps, 7, scales),
         "eps = 1e-10, gradients of sizes 1e-6 to 1e3", "eps = 1e-10，梯度的量級從 1e-6 到 1e3"),
    ], at


def check_adagrad(adagrad_step) -> None:
    """Exercise 1: ``adagrad_step(w, g, G, lr, eps)`` → ``(w, G)``, one step of ``torch.optim.Adagrad``."""
    ex = "Exercise 1"
    cases, at = _adagrad_cases()
    for n, (eps, lrs, grads, what, what_zh) in enumerate(cases):
        w0 = np.random.default_rng(20 + n).standard_normal(grads.shape[1])
        setting = _setting(what, what_zh, lrs, at)
        g0 = grads[0]
        with np.errstate(all="ignore"):
            first = (w0 - lrs[0] * g0 / (np.abs(g0) + eps), g0 * g0)
        spec = _State(("the accumulator", "累加器"), ("G + g * g", "G + g * g"), eps,
                      lambda G, e=eps: np.sqrt(G) + e, ("√G + ε, the denominator", "分母 √G + ε"))
        got, _ = _run(lambda w, g, s, lr, e=eps: call(adagrad_step, w, g, s[0], lr, e, exercise=ex),
                      w0, [np.zeros_like(w0)], grads, lrs, "adagrad_step", ("w", "G"), first=first, specs=[spec],
                      setting=setting)
        expected = torch_path("Adagrad", w0, grads, lrs, eps=eps)
        if not _agree(got, expected):
            mistakes = {**ADAGRAD_MISTAKES, **_fixed("eps", eps, _EPS_CONSTANTS, ("the argument eps", "參數 eps"),
                                                     "ε")}
            _diagnose(got, expected, w0, mistakes, simulator(adagrad_path, w0=w0, grads=grads, lrs=lrs, eps=eps),
                      setting, ADAGRAD_HINT)
    passed(ex, "the steps match torch.optim.Adagrad with a large eps, with coordinates whose gradient is zero and "
               "with gradients from 1e-6 to 1e3, without touching w or g",
           "在 eps 很大、有坐標梯度為零、梯度量級從 1e-6 到 1e3 這幾種情況下，每一步都與 torch.optim.Adagrad 一致，"
           "而且沒有改動 w 和 g")


# ---------------------------------------------------------------- Exercise 2: the effective rates
def adagrad_rates_variant(grads, lr, eps, mistake: str | None = None) -> np.ndarray:
    """The rates lr/(√G_t + ε) for t = 1..T (rows), or a classic ``mistake`` of them."""
    g = np.asarray(grads, dtype=float)
    t = np.arange(1, len(g) + 1)[:, None]
    with np.errstate(all="ignore"):
        if mistake == "cumsum_g":
            G = np.cumsum(g, axis=0)
        elif mistake == "cumsum_abs":
            G = np.cumsum(np.abs(g), axis=0)
        elif mistake == "sum_squared":
            G = np.cumsum(g, axis=0) ** 2
        elif mistake == "global":
            G = np.cumsum(np.sum(g * g, axis=1), axis=0)[:, None] * np.ones(g.shape[1])
        elif mistake == "no_accumulation":
            G = g * g
        elif mistake == "mean":
            G = np.cumsum(g * g, axis=0) / t
        elif mistake == "axis1":
            G = np.cumsum(g * g, axis=1)
        elif mistake == "off_by_one":
            G = np.cumsum(g * g, axis=0) - g * g
        else:
            G = np.cumsum(g * g, axis=0)
        if mistake == "eps_inside":
            return lr / np.sqrt(G + eps)
        if mistake == "no_eps":
            return lr / np.sqrt(G)
        if mistake == "eps_added":
            return lr / np.sqrt(G) + eps
        if mistake == "no_sqrt":
            return lr / (G + eps)
        if mistake == "steps":
            return lr * g / (np.sqrt(G) + eps)
        if mistake == "no_lr":
            return 1.0 / (np.sqrt(G) + eps)
        rates = lr / (np.sqrt(G) + eps)
        if mistake == "unseen_zero":
            return np.where(G == 0, 0.0, rates)
        if mistake == "unseen_lr":
            return np.where(G == 0, lr, rates)
        return rates


RATES_MISTAKES = {
    "no_accumulation": ("your rates use only the current gradient, lr/(|g_t| + ε): Adagrad divides by the root of "
                        "the running sum, G_t = g_1² + … + g_t² (np.cumsum(grads ** 2, axis=0))",
                        "你的學習率只用了當前梯度，即 lr/(|g_t| + ε)：Adagrad 除以的是累加和的平方根，"
                        "G_t = g_1² + … + g_t²（np.cumsum(grads ** 2, axis=0)）"),
    "mean": ("you averaged the squares (G divided by t): Adagrad sums them. An average does not grow, so the rate "
             "would not decay; the sum does, which is Adagrad's 1/√t",
             "你對平方取了平均（G 除以 t）：Adagrad 是求和。平均值不會增長，學習率也就不會衰減；"
             "求和才會增長，這正是 Adagrad 的 1/√t"),
    "cumsum_g": ("you accumulated g (or |g|), not g²: G_t = np.cumsum(grads ** 2, axis=0)",
                 "你累加的是 g（或 |g|），而不是 g²：應為 G_t = np.cumsum(grads ** 2, axis=0)"),
    "sum_squared": ("you squared the sum, (g_1 + … + g_t)² (np.cumsum(grads, axis=0) ** 2, or its absolute value "
                    "in place of the root): Adagrad sums the squares, G_t = g_1² + … + g_t², "
                    "np.cumsum(grads ** 2, axis=0). Gradients of both signs cancel in the sum, not in the sum of "
                    "squares",
                    "你求的是和的平方 (g_1 + … + g_t)²（np.cumsum(grads, axis=0) ** 2，或用它的絕對值代替平方根）："
                    "Adagrad 求的是平方和，G_t = g_1² + … + g_t²，即 np.cumsum(grads ** 2, axis=0)。"
                    "正負梯度在和裡會互相抵消，在平方和裡不會"),
    "global": ("G is summed over the coordinates as well (np.sum(grads ** 2, axis=1)), so every coordinate gets the "
               "same rate: G_t is per coordinate, np.cumsum(grads ** 2, axis=0), and each coordinate gets its own "
               "rate",
               "G 還對各個坐標求了和（np.sum(grads ** 2, axis=1)），於是每個坐標的學習率都一樣：G_t 應逐坐標計算，"
               "即 np.cumsum(grads ** 2, axis=0)，每個坐標各有自己的學習率"),
    "axis1": ("the running sum is over the coordinates (axis=1): Adagrad sums over time, down the rows, axis=0",
              "累加是沿坐標方向做的（axis=1）：Adagrad 是沿時間累加，即逐行往下累加，axis=0"),
    "off_by_one": ("the rate of step t uses G_{t−1}, the sum before g_t: PyTorch adds g_t² to G before it divides, "
                   "so the rate of step t is lr/(√G_t + ε) with g_t included (the first rate is lr/(|g_1| + ε), "
                   "not lr/ε)",
                   "第 t 步的學習率用的是 G_{t−1}，即還沒加上 g_t 的和：PyTorch 先把 g_t² 加進 G 再做除法，"
                   "所以第 t 步的學習率是包含 g_t 的 lr/(√G_t + ε)（第一個學習率是 lr/(|g_1| + ε)，不是 lr/ε）"),
    "eps_inside": ("ε is inside the root, lr/√(G + ε), while PyTorch adds it after the root, lr/(√G + ε). It shows "
                   "on a coordinate that has seen no gradient yet: lr/ε there, not lr/√ε",
                   "ε 放在了根號裡面，即 lr/√(G + ε)，而 PyTorch 是開方之後再加，即 lr/(√G + ε)。"
                   "在還沒收到過梯度的坐標上就能看出差別：那裡應是 lr/ε，而不是 lr/√ε"),
    "no_eps": ("ε is missing: on a coordinate that has seen no gradient yet G = 0 and lr/√G is infinite; the rate is "
               "lr/(√G + ε)",
               "漏了 ε：在還沒收到過梯度的坐標上 G = 0，lr/√G 是無窮大；學習率應是 lr/(√G + ε)"),
    "eps_added": ("ε is not in the denominator: by operator precedence, lr / np.sqrt(G) + eps adds ε to the "
                  "rate. Put the denominator in parentheses, lr / (np.sqrt(G) + eps)",
                  "ε 沒有加到分母上。按運算符優先級，lr / np.sqrt(G) + eps 是把 ε 加到了學習率上；"
                  "分母要加括號，寫成 lr / (np.sqrt(G) + eps)"),
    "unseen": ("on a coordinate that has seen no gradient yet (G = 0) your rate is not lr/ε: the rate is "
               "lr/(√G + ε) there too, lr/ε, a huge number, which multiplies a zero gradient, so the step is 0 "
               "anyway. Do not replace it (by 0 or by lr)",
               "在還沒收到過梯度的坐標上（G = 0），你的學習率不是 lr/ε：那裡的學習率同樣是 lr/(√G + ε)，即 lr/ε，"
               "一個很大的數；它乘的是零梯度，所以步子照樣是 0。不要把它換成別的值（0 或 lr）"),
    "no_sqrt": ("the square root is missing: the rate is lr/(√G + ε), not lr/(G + ε). Without the root a constant "
                "|g| gives a rate that falls like 1/t instead of 1/√t",
                "少了平方根：學習率是 lr/(√G + ε)，而不是 lr/(G + ε)。不開方的話，|g| 恆定時學習率按 1/t "
                "而不是 1/√t 下降"),
    "steps": ("you returned the steps lr·g/(√G + ε): the rate is what multiplies g, lr/(√G + ε), without g",
              "你返回的是步子 lr·g/(√G + ε)：學習率是乘在 g 前面的那個量，即 lr/(√G + ε)，不含 g"),
    "no_lr": ("lr is missing: the rate is lr/(√G + ε)",
              "漏了 lr：學習率是 lr/(√G + ε)"),
}

RATES_HINT = ("The rate of step t is lr/(√G_t + ε), with G_t = g_1² + … + g_t² per coordinate: "
              "lr / (np.sqrt(np.cumsum(grads ** 2, axis=0)) + eps)",
              "第 t 步的學習率是 lr/(√G_t + ε)，其中 G_t = g_1² + … + g_t²，逐坐標計算："
              "lr / (np.sqrt(np.cumsum(grads ** 2, axis=0)) + eps)")


def _rates_cases():
    rng = np.random.default_rng(5)
    law = np.stack([np.where(rng.random(400) < 0.5, -2.0, 2.0), rng.standard_normal(400)], axis=1)
    general = _gradients(6, 50, 4, scale=np.array([1.0, 10.0, 1.0, 1.0]))
    general[:, 2] = np.where(np.arange(50) % 10 == 4, 1.0, 0.0)   # a rare feature: every 10th step, from step 5
    general[:3, 3] = 0.0                                            # a feature that first appears at step 4
    return [
        (law, 0.1, 1e-10, True, "|g| = 2 with random signs on the first coordinate, random gradients on the second",
         "第一個坐標 |g| 恆為 2、符號隨機，第二個坐標梯度隨機"),
        (general, 0.05, 1e-10, False, "a rare feature and a late one", "一個稀有特徵和一個很晚才出現的特徵"),
        (_gradients(7, 20, 3), 0.1, 0.5, False, "eps = 0.5", "eps = 0.5"),
    ]


def _decay_exponent(rates: np.ndarray) -> float | None:
    """The p of rates ∝ tᵖ, fitted over t = 10..T (None if the rates are not positive and finite)."""
    t = np.arange(1, len(rates) + 1)
    r = rates[9:]
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        return None
    return float(np.polyfit(np.log(t[9:]), np.log(r), 1)[0])


def check_rates(adagrad_rates) -> None:
    """Exercise 2: ``adagrad_rates(grads, lr, eps)`` → the (T, d) array of lr/(√G_t + ε)."""
    ex = "Exercise 2"
    for grads, lr, eps, law, what, what_zh in _rates_cases():
        grads_in = grads.copy()
        before = snapshot(grads_in)
        with np.errstate(all="ignore"):
            out = call(adagrad_rates, grads_in, lr, eps, exercise=ex)
        if not same(grads_in, before):
            fail("adagrad_rates changed its argument grads in place: compute from it without writing into it "
                 "(grads ** 2 makes a new array; grads **= 2 or np.square(grads, out=grads) does not)",
                 "adagrad_rates 原地修改了傳入的參數 grads：請根據它計算，但不要寫回去（grads ** 2 會產生新數組；"
                 "grads **= 2 或 np.square(grads, out=grads) 則會改掉原數組）")
        got = as_array(out, "adagrad_rates(grads, lr, eps)")
        T, d = grads.shape
        if got.shape != (T, d):
            if got.shape == (d,):
                fail(f"adagrad_rates returned shape {got.shape}, the rates of one step: return the rates of every "
                     f"step, shape (T, d) = {(T, d)}, row t − 1 for step t",
                     f"adagrad_rates 返回的形狀是 {got.shape}，只是某一步的學習率：請返回每一步的學習率，"
                     f"形狀 (T, d) = {(T, d)}，第 t 步在第 t − 1 行")
            if got.shape == (T,):
                fail(f"adagrad_rates returned shape {got.shape}, one rate per step: each coordinate has its own "
                     f"rate, so do not sum over the coordinates; G_t = np.cumsum(grads ** 2, axis=0) has shape "
                     f"(T, d) = {(T, d)}",
                     f"adagrad_rates 返回的形狀是 {got.shape}，每一步只有一個學習率：每個坐標各有自己的學習率，"
                     f"所以不要對坐標求和；G_t = np.cumsum(grads ** 2, axis=0) 的形狀是 (T, d) = {(T, d)}")
            if got.shape == (T * d,):
                fail(f"adagrad_rates returned a flat array of {T * d} numbers: np.cumsum without axis= sums over the "
                     "flattened array. Sum over time with np.cumsum(..., axis=0)",
                     f"adagrad_rates 返回的是 {T * d} 個數的一維數組：np.cumsum 不給 axis= 就會把數組攤平了再求和。"
                     "請沿時間求和，np.cumsum(..., axis=0)")
            if got.shape == (d, T):
                fail(f"adagrad_rates returned shape {got.shape}, the transpose: one row per step, shape {(T, d)}",
                     f"adagrad_rates 返回的形狀是 {got.shape}，行列顛倒了：應每一步一行，形狀 {(T, d)}")
            fail(f"adagrad_rates returned shape {got.shape}, expected (T, d) = {(T, d)}",
                 f"adagrad_rates 返回的形狀是 {got.shape}，應為 (T, d) = {(T, d)}")
        expected = adagrad_rates_variant(grads, lr, eps)
        if _agree(got, expected, rtol=1e-9, atol=0.0):
            continue
        head = (f"on {what} (lr = {lr:g}, eps = {eps:g})", f"在「{what_zh}」上（lr = {lr:g}，eps = {eps:g}）")
        mistakes = {**RATES_MISTAKES, **_fixed("eps", eps, _EPS_CONSTANTS, ("the argument eps", "參數 eps"), "ε")}
        for mistake, (en, zh) in mistakes.items():
            variants = _VARIANTS.get(mistake, (mistake,))
            if isinstance(mistake, tuple):
                simulated = [adagrad_rates_variant(grads, lr, mistake[2])]
            else:
                simulated = [adagrad_rates_variant(grads, lr, eps, m) for m in variants]
            if any(_agree(got, s, rtol=1e-9, atol=0.0) for s in simulated):
                fail(f"{head[0]}: {en}", f"{head[1]}，{zh}")
        if law:
            p = _decay_exponent(got[:, 0])
            if p is not None and abs(p + 0.5) > 0.02:
                power = f"{p:.2f}".replace("-", "−")
                how_en, how_zh = ("fall", "下降") if p < 0 else ("grow", "上升")
                fail(f"{head[0]}: with a constant |g| = 2 your rates {how_en} like t^{power}; Adagrad's fall like "
                     "t^−0.50, since G_t = t·g² makes the rate lr/(|g|·√t + ε)",
                     f"{head[1]}，|g| 恆為 2 時你的學習率按 t^{power} {how_zh}；Adagrad 的學習率應按 t^−0.50 下降，"
                     "因為 G_t = t·g²，學習率是 lr/(|g|·√t + ε)")
        try:
            close(got, expected, f"the array of rates {head[0]}", rtol=1e-9, atol=0.0, what_zh=f"學習率{head[1]}")
        except CheckFailed as e:
            if "float32" in e.en:
                raise
            _remind(e, RATES_HINT)
    passed(ex, "the rates are lr/(√G_t + ε) at every step and coordinate, with a rare feature, a late one and a large "
               "eps, and with a constant |g| they follow the law lr/(|g|·√t)",
           "每一步、每個坐標的學習率都是 lr/(√G_t + ε)，有稀有特徵、很晚才出現的特徵或 eps 很大時也對；"
           "|g| 恆定時它們符合 lr/(|g|·√t) 的規律")


# ---------------------------------------------------------------- Exercise 3: RMSprop's step
def rmsprop_path(w0, grads, lrs, alpha, eps, mistake: str | None = None) -> np.ndarray:
    """PyTorch's RMSprop (no momentum, not centered) in NumPy, or the same with one classic ``mistake``."""
    w, path = np.array(w0, dtype=float), []
    v = np.ones(np.shape(w0)) if mistake == "init_ones" else np.zeros(np.shape(w0))
    with np.errstate(all="ignore"):
        for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
            g = np.asarray(g, dtype=float)
            old = v
            if mistake == "alpha_swapped":
                v = (1 - alpha) * v + alpha * g * g
            elif mistake == "reset":
                v = (1 - alpha) * g * g
            elif mistake == "no_one_minus_alpha":
                v = alpha * v + g * g
            elif mistake == "adagrad":
                v = v + g * g
            elif mistake == "ema_g":
                v = alpha * v + (1 - alpha) * g
            elif mistake == "global":
                v = alpha * v + (1 - alpha) * np.sum(g * g)
            elif mistake == "init_g2" and t == 1:
                v = g * g
            else:
                v = alpha * v + (1 - alpha) * g * g
            w = w - _scaled_step(mistake, lr, g, old if mistake == "stale" else v, eps)
            path.append(w.copy())
    return np.array(path)


RMSPROP_MISTAKES = {
    "eps_inside": ("ε is inside the square root, g/√(v + ε), as in TensorFlow's and Keras's RMSprop. PyTorch adds "
                   "ε after the root, g/(√v + ε). The two differ wherever √v is not much larger than ε, as with "
                   "small gradients. Write np.sqrt(v) + eps",
                   "ε 放在了平方根裡面，即 g/√(v + ε)，那是 TensorFlow 和 Keras 的 RMSprop 的寫法。PyTorch 是開方之後"
                   "再加 ε，即 g/(√v + ε)。只要 √v 不比 ε 大很多（例如梯度很小時），兩者就不同。"
                   "請寫成 np.sqrt(v) + eps"),
    "eps_precedence": tuple(m.replace("(G)", "(v)") for m in ADAGRAD_MISTAKES["eps_precedence"]),
    "alpha_swapped": ("α and 1 − α are swapped: the old average keeps the weight α and the new g² gets 1 − α, "
                      "v ← α·v + (1 − α)·g²",
                      "α 和 1 − α 放反了：舊的平均值保留權重 α，新的 g² 只得到 1 − α，即 v ← α·v + (1 − α)·g²"),
    "reset": ("v starts afresh at every call (v = (1 − α)·g²), so every step is lr·g/(√(1 − α)·|g|), sign descent "
              "with a fixed step lr/√(1 − α). Use the v passed in, v ← α·v + (1 − α)·g², and return it",
              "每次調用 v 都從頭開始（v = (1 − α)·g²），於是每一步都是 lr·g/(√(1 − α)·|g|)，成了步長固定為 "
              "lr/√(1 − α) 的符號下降。要用傳進來的 v 按 v ← α·v + (1 − α)·g² 更新，並把它返回"),
    "no_one_minus_alpha": ("the new g² enters without its weight 1 − α: v ← α·v + (1 − α)·g² is an average; "
                           "α·v + g² is a leaky sum, 1/(1 − α) times too large in the long run",
                           "新的 g² 進來時少乘了權重 1 − α：v ← α·v + (1 − α)·g² 是平均；α·v + g² 是帶衰減的和，"
                           "長期來看是平均值的 1/(1 − α) 倍"),
    "adagrad": ("this is Adagrad's sum, v ← v + g², while RMSprop averages, v ← α·v + (1 − α)·g², so that old "
                "gradients fade out",
                "這是 Adagrad 的累加和 v ← v + g²，而 RMSprop 取的是平均 v ← α·v + (1 − α)·g²，"
                "這樣舊的梯度才會逐漸淡出"),
    "ema_g": ("v averages g, not g²: v ← α·v + (1 − α)·g * g (the mean square, which is never negative)",
              "v 平均的是 g，而不是 g²：應為 v ← α·v + (1 − α)·g * g（均方，它不會是負數）"),
    "global": ("v averages the sum of g² over all the coordinates (np.sum(g * g)), so every coordinate gets the same "
               "step size: v is per coordinate, v ← α·v + (1 − α)·g * g, and each coordinate is divided by its own "
               "√v_i + ε",
               "v 平均的是所有坐標上 g² 的和（np.sum(g * g)），於是每個坐標的步長都一樣：v 應逐坐標計算，"
               "v ← α·v + (1 − α)·g * g，每個坐標除以它自己的 √v_i + ε"),
    "init_ones": ("your mean square starts at 1, as in TensorFlow 1's RMSPropOptimizer: PyTorch's starts at 0, and "
                  "the caller passes np.zeros_like(w) at the first step. Use the v passed in as it is",
                  "你的均方從 1 開始，那是 TensorFlow 1 的 RMSPropOptimizer 的做法：PyTorch 的均方從 0 開始，"
                  "第一步時調用者傳入的就是 np.zeros_like(w)。請直接使用傳進來的 v"),
    "init_g2": ("at the first step v is set to g² instead of being averaged: PyTorch's v starts at 0 and follows "
                "v ← α·v + (1 − α)·g² from the first step, so v_1 = (1 − α)·g_1², which is why its first step is "
                "1/√(1 − α) times the learning rate",
                "第一步時你把 v 直接設成了 g²，而沒有做平均：PyTorch 的 v 從 0 開始，從第一步起就按 "
                "v ← α·v + (1 − α)·g² 更新，所以 v_1 = (1 − α)·g_1²，這也是它的第一步是學習率的 1/√(1 − α) 倍的原因"),
    "stale": ("the step uses v before this step's g² enters: at the first step v = 0 and the step divides by ε "
              "alone. Update v first, then step with the new v",
              "這一步用的是還沒納入本步 g² 的 v：第一步時 v = 0，步子就只除以 ε。要先更新 v，再用新的 v 走這一步"),
    "no_sqrt": ("the square root is missing: the denominator is √v + ε (the root mean square), not v + ε",
                "少了平方根：分母是 √v + ε（均方根），而不是 v + ε"),
    "uphill": ("your steps go uphill: the update is w ← w − lr·g/(√v + ε), with a minus sign",
               "你的步子在往上走：更新是 w ← w − lr·g/(√v + ε)，是減號"),
}

BIAS_STUCK = ("you divided v by 1 − α in the step: that is a bias correction v/(1 − αᵗ) stuck at t = 1, as with a "
              "step counter that never moves. PyTorch's RMSprop has no bias correction: the step is lr·g/(√v + ε) "
              "with v as it is",
              "你在步子裡把 v 除以了 1 − α：這相當於停在 t = 1 的偏差修正 v/(1 − αᵗ)，就像一個從不增加的步數計數器。"
              "PyTorch 的 RMSprop 沒有偏差修正：步子是 lr·g/(√v + ε)，v 直接使用")

RMSPROP_HINT = ("Compare your step with RMSprop's, coordinate by coordinate: v ← α·v + (1 − α)·g * g (from the v "
                "passed in, zeros at the first step), then w ← w − lr·g/(√v + ε)",
                "請逐坐標對照 RMSprop 的一步：v ← α·v + (1 − α)·g * g（從傳進來的 v 開始，第一步是全零），"
                "然後 w ← w − lr·g/(√v + ε)")


def _rmsprop_cases():
    steps, at = 30, 11
    scales = np.array([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])
    return [
        (0.99, 1e-8, np.full(steps, 0.01), _gradients(31, steps, 4), "alpha = 0.99, eps = 1e-8",
         "alpha = 0.99，eps = 1e-8"),
        (0.9, 1e-8, np.full(steps, 0.01), _gradients(32, steps, 4, 1e-7),
         "alpha = 0.9, eps = 1e-8, gradients of size 1e-7", "alpha = 0.9，eps = 1e-8，梯度量級為 1e-7"),
        (0.9, 1e-4, _schedule(steps, 0.01, at, 0.1), _gradients(33, steps, 6, scales),
         "alpha = 0.9, eps = 1e-4, gradients of sizes 1e-3 to 100", "alpha = 0.9，eps = 1e-4，梯度量級從 1e-3 到 100"),
    ], at


def _ema(grads, alpha: float) -> np.ndarray:
    """The mean squares v_1..v_T of ``grads``, from v = 0."""
    out, v = [], np.zeros(np.shape(grads)[1])
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        out.append(v)
    return np.array(out)


def check_rmsprop(rmsprop_step) -> None:
    """Exercise 3: ``rmsprop_step(w, g, v, lr, alpha, eps)`` → ``(w, v)``, one step of ``torch.optim.RMSprop``."""
    ex = "Exercise 3"
    cases, at = _rmsprop_cases()
    for n, (alpha, eps, lrs, grads, what, what_zh) in enumerate(cases):
        w0 = np.random.default_rng(40 + n).standard_normal(grads.shape[1])
        setting = _setting(what, what_zh, lrs, at)
        g0 = grads[0]
        first = (w0 - lrs[0] * g0 / (np.sqrt((1 - alpha) * g0 * g0) + eps), (1 - alpha) * g0 * g0)
        spec = _State(("the mean square", "均方"), ("α·v + (1 − α)·g * g", "α·v + (1 − α)·g * g"), eps,
                      lambda v, e=eps: np.sqrt(v) + e, ("√v + ε, the denominator", "分母 √v + ε"))
        got, states = _run(lambda w, g, s, lr, a=alpha, e=eps: call(rmsprop_step, w, g, s[0], lr, a, e, exercise=ex),
                           w0, [np.zeros_like(w0)], grads, lrs, "rmsprop_step", ("w", "v"), first=first,
                           specs=[spec], setting=setting)
        expected = torch_path("RMSprop", w0, grads, lrs, alpha=alpha, eps=eps)
        if not _agree(got, expected):
            simulate = simulator(rmsprop_path, w0=w0, grads=grads, lrs=lrs, alpha=alpha, eps=eps)
            # v/(1 − α) in the step takes the steps of α·v + g²; the v returned tells the two apart
            if _agree(got, simulate("no_one_minus_alpha")) and _agree([s[0] for s in states], _ema(grads, alpha)):
                fail(f"with {setting[0]}: {BIAS_STUCK[0]}", f"在 {setting[1]} 時，{BIAS_STUCK[1]}")
            mistakes = {**RMSPROP_MISTAKES,
                        **_fixed("eps", eps, _EPS_CONSTANTS, ("the argument eps", "參數 eps"), "ε"),
                        **_fixed("alpha", alpha, (0.99, 0.9), ("the argument alpha", "參數 alpha"), "α")}
            _diagnose(got, expected, w0, mistakes, simulate, setting, RMSPROP_HINT)
    passed(ex, "the steps match torch.optim.RMSprop with alpha = 0.99 and 0.9, with eps = 1e-8 and 1e-4, with "
               "gradients of size 1e-7, where √v is only a few times eps, and with gradients from 1e-3 to 100",
           "在 alpha = 0.99 和 0.9、eps = 1e-8 和 1e-4、梯度量級為 1e-7（這時 √v 只有 eps 的幾倍）、"
           "梯度量級從 1e-3 到 100 這幾種情況下，每一步都與 torch.optim.RMSprop 一致")


# ---------------------------------------------------------------- Exercise 4: window and half-life
def _whole(x: float) -> tuple[float, ...]:
    return float(round(x)), float(math.floor(x)), float(math.ceil(x))


def _h(a: float) -> float:
    return math.log(2) / math.log(1 / a)


# key: (what window(alpha) returns with the mistake: one value or several, en, zh)
WINDOW_MISTAKES = {
    "rounded": (lambda a: _whole(1 / (1 - a)),
                "you rounded the window to a whole number; return the real number 1/(1 − α)",
                "你把窗口取成了整數，請返回實數 1/(1 − α)"),
    "half_life": (_h,
                  "that is the half-life ln 2/ln(1/α), not the window. The window is 1/(1 − α): the newest value "
                  "has weight 1 − α, as in a plain average over 1/(1 − α) values",
                  "這是半衰期 ln 2/ln(1/α)，不是窗口。窗口是 1/(1 − α)，最新的值權重為 1 − α，"
                  "相當於對 1/(1 − α) 個值取普通平均"),
    "mean_age": (lambda a: a / (1 - a),
                 "that is α/(1 − α), one less than the window: the mean number of steps since the averaged values "
                 "arrived, counting the newest as 0. The window is 1/(1 − α), the total weight over the newest "
                 "value's weight 1 − α",
                 "這是 α/(1 − α)，比窗口少 1，它是被平均的各個值距今步數的平均（最新的值記為 0 步）。"
                 "窗口是 1/(1 − α)，即總權重除以最新值的權重 1 − α"),
    "span": (lambda a: 2 / (1 - a) - 1,
             "that is pandas' span, 2/(1 − α) − 1, the length of a plain average with the same centre of mass. "
             "This lab's window is 1/(1 − α), the plain average whose newest value has the same weight 1 − α",
             "這是 pandas 的 span，2/(1 − α) − 1，即重心相同的普通平均的長度。本實驗的窗口是 1/(1 − α)，"
             "即最新值權重同為 1 − α 的普通平均的長度"),
    "swapped_alpha": (lambda a: 1 / a,
                      "α and 1 − α are swapped. The newest value's weight is 1 − α, so the window is 1/(1 − α), "
                      "not 1/α",
                      "α 和 1 − α 放反了。最新值的權重是 1 − α，所以窗口是 1/(1 − α)，而不是 1/α"),
    "inverse": (lambda a: 1 - a,
                "that is 1 − α, the weight of the newest value; the window is its inverse, 1/(1 − α)",
                "這是 1 − α，即最新值的權重；窗口是它的倒數 1/(1 − α)"),
}

_MIXED = ("the two logarithms have different bases. Use np.log for both (or np.log2, or np.log10, but the same one "
          "above and below)",
          "兩個對數的底不同。上下都用 np.log 即可（都用 np.log2 或都用 np.log10 也行，但上下必須一致）")

HALF_LIFE_MISTAKES = {
    "window": (lambda a: 1 / (1 - a),
               "that is the window 1/(1 − α), not the half-life. The weight αᵏ of a value k steps old halves when "
               "k = ln 2/ln(1/α), about 6.58 steps at α = 0.9, not 10; a well-known textbook confuses the two",
               "這是窗口 1/(1 − α)，不是半衰期。k 步前的值權重為 αᵏ，它在 k = ln 2/ln(1/α) 時減半，"
               "α = 0.9 時約為 6.58 步，而不是 10 步；一本知名教材就把兩者混為一談"),
    "ln2_window": (lambda a: math.log(2) / (1 - a),
                   "that is ln 2·window = ln 2/(1 − α), an approximation for α near 1 (ln(1/α) ≈ 1 − α). Return "
                   "the exact half-life ln 2/ln(1/α); at α = 0.5 the weight halves after exactly 1 step, not 1.386",
                   "這是 ln 2·窗口 = ln 2/(1 − α)，只是 α 接近 1 時的近似（ln(1/α) ≈ 1 − α）。請返回精確的半衰期 "
                   "ln 2/ln(1/α)；α = 0.5 時權重恰好一步就減半，而不是 1.386 步"),
    "half_window": (lambda a: 0.5 / (1 - a),
                    "half the window is not the half-life; the weight αᵏ halves when k = ln 2/ln(1/α)",
                    "窗口的一半並不是半衰期，權重 αᵏ 要到 k = ln 2/ln(1/α) 時才減半"),
    "time_constant": (lambda a: 1 / math.log(1 / a),
                      "that is the time constant 1/ln(1/α), the age at which a value's weight has fallen by a "
                      "factor e. The half-life is the age at which it has halved, ln 2 times as long: ln 2/ln(1/α)",
                      "這是時間常數 1/ln(1/α)，即一個值的權重降到 1/e 時的步數。半衰期是權重減半時的步數，"
                      "是它的 ln 2 倍：ln 2/ln(1/α)"),
    "negative": (lambda a: math.log(2) / math.log(a),
                 "your half-life is negative, since ln α < 0 for α < 1. Divide by ln(1/α) = −ln α",
                 "你的半衰期是負的，因為 α < 1 時 ln α < 0。分母應是 ln(1/α) = −ln α"),
    "inverted": (lambda a: math.log(1 / a) / math.log(2),
                 "the fraction is upside down; from αᵏ = 1/2 the half-life is ln 2/ln(1/α)",
                 "分子分母放反了；由 αᵏ = 1/2 解出的半衰期是 ln 2/ln(1/α)"),
    "complement": (lambda a: math.log(2) / math.log(1 / (1 - a)),
                   "you used 1 − α as the decay factor. A value's weight is multiplied by α at every step, so the "
                   "half-life solves αᵏ = 1/2, k = ln 2/ln(1/α)",
                   "你把 1 − α 當成了衰減因子。每過一步，一個值的權重乘以 α，所以半衰期由 αᵏ = 1/2 解出，"
                   "即 k = ln 2/ln(1/α)"),
    "mixed_bases": (lambda a: (math.log(2) / math.log10(1 / a), math.log10(2) / math.log(1 / a)), *_MIXED),
    "rounded": (lambda a: _whole(_h(a)),
                "you rounded the half-life to a whole number of steps; return the real number ln 2/ln(1/α) "
                "(6.58 at α = 0.9, not 6 or 7)",
                "你把半衰期取成了整數步，請返回實數 ln 2/ln(1/α)（α = 0.9 時是 6.58，不是 6 或 7）"),
}

MEMORY_ALPHAS = (0.9, 0.5, 0.99, 0.97, 0.999, 0.8)
_CLOSED_FORM = {"window": "1/(1 − α)", "half_life": "ln 2/ln(1/α)"}


def _scalar(value, name: str, alpha: float) -> float:
    got = as_array(value, f"{name}({alpha:g})")
    if got.shape != ():
        fail(f"{name}({alpha:g}) returned shape {got.shape}: return one number",
             f"{name}({alpha:g}) 返回的形狀是 {got.shape}：應返回一個數")
    return float(got)


def check_memory(window, half_life) -> None:
    """Exercise 4: ``window(alpha)`` = 1/(1 − α) and ``half_life(alpha)`` = ln 2/ln(1/α)."""
    ex = "Exercise 4"
    for alpha in MEMORY_ALPHAS:
        with np.errstate(all="ignore"):
            W = _scalar(call(window, alpha, exercise=ex), "window", alpha)
            H = _scalar(call(half_life, alpha, exercise=ex), "half_life", alpha)
        W_ok, H_ok = 1 / (1 - alpha), _h(alpha)
        near = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)  # noqa: E731
        if not near(W, W_ok) and not near(H, H_ok) and near(W, H_ok) and near(H, W_ok):
            fail(f"at α = {alpha:g} window and half_life are swapped: window(α) = 1/(1 − α) = {W_ok:.6g} is the "
                 f"length of the plain average with the same newest weight; half_life(α) = ln 2/ln(1/α) = "
                 f"{H_ok:.6g} is the age at which a value's weight has halved",
                 f"α = {alpha:g} 時 window 和 half_life 對調了：window(α) = 1/(1 − α) = {W_ok:.6g}，"
                 f"是最新值權重相同的普通平均的長度；half_life(α) = ln 2/ln(1/α) = {H_ok:.6g}，"
                 "是一個值的權重減半時的步數")
        for name, got, ok, mistakes in (("window", W, W_ok, WINDOW_MISTAKES), ("half_life", H, H_ok,
                                                                              HALF_LIFE_MISTAKES)):
            if near(got, ok):
                continue
            got_s, ok_s = distinct(got, ok)
            head_en = f"{name}({alpha:g}) returned {got_s}, expected {ok_s}"
            head_zh = f"{name}({alpha:g}) 返回了 {got_s}，應為 {ok_s}"
            for f, en, zh in mistakes.values():
                values = f(alpha)
                if any(near(got, x) for x in (values if isinstance(values, tuple) else (values,))):
                    fail(f"{head_en}: {en}", f"{head_zh}：{zh}")
            rel = abs(got - ok) / abs(ok)
            if rel < 1e-3:
                digits = int(round(-math.log10(rel)))
                form = _CLOSED_FORM[name]
                fail(f"{head_en}: right to about {digits} digits only. Return the closed form {form}, computed in "
                     "float64: a search, a truncated sum or float32 stops short of it",
                     f"{head_zh}：只有約 {digits} 位有效數字是對的。請直接返回閉式解 {form}，並用 float64 計算："
                     "搜索求解、截斷的求和或 float32 都達不到這個精度")
            fail(f"{head_en}: the window is 1/(1 − α), the half-life ln 2/ln(1/α)",
                 f"{head_zh}：窗口是 1/(1 − α)，半衰期是 ln 2/ln(1/α)")
    passed(ex, "window(α) = 1/(1 − α) and half_life(α) = ln 2/ln(1/α) from α = 0.5 to 0.999: at α = 0.9 the window is "
               "10 steps, the half-life 6.58",
           "從 α = 0.5 到 0.999，window(α) = 1/(1 − α)、half_life(α) = ln 2/ln(1/α) 都對；α = 0.9 時窗口是 10 步，"
           "半衰期是 6.58 步")


# ---------------------------------------------------------------- Exercise 5: RMSprop as torch has it
def rmsprop_full_path(w0, grads, lrs, alpha, eps, momentum=0.0, centered=False,
                      mistake: str | None = None) -> np.ndarray:
    """PyTorch's RMSprop with momentum and centered in NumPy, or the same with one classic ``mistake``."""
    w = np.array(w0, dtype=float)
    v, m, b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    if mistake == "init_ones":
        v = np.ones_like(w)
    path = []
    with np.errstate(all="ignore"):
        for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
            g = np.asarray(g, dtype=float)
            if mistake == "lr_cached":
                lr = lrs[0]
            if mistake == "reset":
                v, m, b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
            a = 1 - alpha if mistake == "alpha_swapped" else alpha
            old_m = m
            if mistake == "init_g2" and t == 1:
                v, m = g * g, g.copy()
            else:
                v = a * v + (1 - a) * (np.sum(g * g) if mistake == "global" else g * g)
                m = a * m + (1 - a) * g
            vv, mm = v, (old_m if mistake == "centered_stale_mean" else m)
            if mistake in ("bias", "bias_both"):
                vv = v / (1 - alpha**t)
                if mistake == "bias_both":
                    mm = m / (1 - alpha**t)
            if mistake == "bias_t1":
                vv = v / (1 - alpha)
            if centered and mistake != "centered_ignored":
                c = vv - mm if mistake == "centered_mean" else vv - mm * mm
                if mistake == "centered_stored":
                    v = c
            else:
                c = vv
            if mistake == "eps_inside":
                d = np.sqrt(c + eps)
            elif mistake == "centered_root_minus" and centered:
                d = np.sqrt(vv) - np.abs(mm) + eps
            else:
                d = np.sqrt(c) + eps
            if momentum > 0 and mistake != "momentum_ignored":
                if mistake == "momentum_before":
                    b = momentum * b + g
                    step = lr * b / d
                elif mistake == "momentum_ema":
                    b = momentum * b + (1 - momentum) * g / d
                    step = lr * b
                elif mistake == "lr_in_buffer":
                    b = momentum * b + lr * g / d
                    step = b
                elif mistake == "nesterov":
                    b = momentum * b + g / d
                    step = lr * (momentum * b + g / d)
                else:
                    b = momentum * b + g / d
                    step = lr * b
            else:
                step = lr * g / d
            w = w - step
            path.append(w.copy())
    return np.array(path)


FULL_MISTAKES = {
    "eps_inside": ("ε is inside the square root: PyTorch's denominator is √v + ε, or √(v − ḡ²) + ε when centered, "
                   "with ε after the root",
                   "ε 放在了平方根裡面：PyTorch 的分母是 √v + ε，中心化時是 √(v − ḡ²) + ε，ε 都在開方之後"),
    "bias": ("you added a bias correction, v/(1 − αᵗ): that is Adam's. PyTorch's RMSprop has none; its v starts at "
             "0 and is used as it is, so its first steps are larger than later ones",
             "你加了偏差修正 v/(1 − αᵗ)，那是 Adam 的做法。PyTorch 的 RMSprop 沒有偏差修正，v 從 0 開始，直接使用，"
             "所以它最初幾步比後面的大"),
    "bias_t1": ("you divided v by 1 − α, a bias correction v/(1 − αᵗ) stuck at t = 1 as with a step counter that "
                "never moves (or you left out the weight 1 − α of the new g², v ← α·v + g², which takes the same "
                "steps). PyTorch's RMSprop has no bias correction: v ← α·v + (1 − α)·g², used as it is",
                "你把 v 除以了 1 − α，相當於停在 t = 1 的偏差修正 v/(1 − αᵗ)，就像一個從不增加的步數計數器"
                "（或者新的 g² 少乘了權重 1 − α，即 v ← α·v + g²，走出的步子是一樣的）。PyTorch 的 RMSprop "
                "沒有偏差修正：v ← α·v + (1 − α)·g²，直接使用"),
    "init_ones": ("your mean square starts at 1, as in TensorFlow 1's RMSPropOptimizer: PyTorch's v starts at 0, "
                  "like every state of torch.optim.RMSprop",
                  "你的均方從 1 開始，那是 TensorFlow 1 的 RMSPropOptimizer 的做法：PyTorch 的 v 從 0 開始，"
                  "torch.optim.RMSprop 的所有狀態都是如此"),
    "init_g2": ("at the first step v is set to g² (and ḡ to g) instead of being averaged from 0: PyTorch's v "
                "starts at 0, so v_1 = (1 − α)·g_1², which is why its first step is 1/√(1 − α) times the learning "
                "rate",
                "第一步時你把 v 直接設成了 g²（ḡ 設成了 g），而沒有從 0 開始做平均：PyTorch 的 v 從 0 開始，"
                "所以 v_1 = (1 − α)·g_1²，這也是它的第一步是學習率的 1/√(1 − α) 倍的原因"),
    "global": ("v averages the sum of g² over all the coordinates (np.sum(g * g)): v is per coordinate, "
               "v ← α·v + (1 − α)·g * g, and each coordinate is divided by its own root",
               "v 平均的是所有坐標上 g² 的和（np.sum(g * g)）：v 應逐坐標計算，v ← α·v + (1 − α)·g * g，"
               "每個坐標除以它自己的平方根"),
    "reset": ("the state starts afresh at every call, so nothing is averaged. Keep v (and ḡ, and the momentum "
              "buffer) in self.state, create them at the first step only, and update them at every step",
              "每次調用狀態都從頭開始，於是什麼也沒有被平均。請把 v（以及 ḡ 和動量緩衝）保存在 self.state 裡，"
              "只在第一步創建，之後每一步更新"),
    "lr_cached": ("your steps did not follow the learning rate changed at step {at}: from there on they are those of "
                  "the first lr. Read self.lr at every step (a scheduler changes it there), not a copy made in "
                  "__init__ or at the first step",
                  "你的步子沒有跟上第 {at} 步改過的學習率：從那一步起，它們仍是按最初的 lr 走的。"
                  "請在每一步都讀取 self.lr（調度器就是在那裡修改它的），不要用在 __init__ 裡或第一步時複製的值"),
    "centered_mean": ("your centered denominator subtracts ḡ instead of ḡ²: it is √(v − ḡ²) + ε, v − ḡ² being the "
                      "variance estimate (v is a mean of squares, so subtract the square of the mean)",
                      "中心化時你減去的是 ḡ，而應減去 ḡ²。分母是 √(v − ḡ²) + ε，v − ḡ² 才是方差的估計"
                      "（v 是平方的平均，要減去的是平均的平方）"),
    "centered_root_minus": ("your centered denominator is √v − |ḡ| + ε: it is √(v − ḡ²) + ε, the root of the "
                            "difference, v − ḡ² being the variance estimate; a difference of roots is not the root "
                            "of the difference",
                            "你的中心化分母是 √v − |ḡ| + ε，而應是 √(v − ḡ²) + ε，即先求差再開方，v − ḡ² 是方差的"
                            "估計；兩個平方根之差並不等於差的平方根"),
    "centered_stale_mean": ("the denominator uses ḡ before this step's update: update both averages first, "
                            "v ← α·v + (1 − α)·g² and ḡ ← α·ḡ + (1 − α)·g, then take √(v − ḡ²) + ε",
                            "分母用的是還沒更新的 ḡ：要先更新兩個平均值，v ← α·v + (1 − α)·g² 和 "
                            "ḡ ← α·ḡ + (1 − α)·g，再計算 √(v − ḡ²) + ε"),
    "centered_stored": ("the centered value v − ḡ² was written back into the average. Keep v as the plain mean "
                        "square and compute v − ḡ² afresh at every step, for the denominator only",
                        "中心化後的 v − ḡ² 被寫回了平均值裡。v 要一直保持為普通的均方，v − ḡ² 每一步重新計算，"
                        "只用在分母上"),
    "centered_ignored": ("centered=True is ignored: keep the mean ḡ ← α·ḡ + (1 − α)·g as well and divide by "
                         "√(v − ḡ²) + ε",
                         "centered=True 被忽略了：還要維護均值 ḡ ← α·ḡ + (1 − α)·g，分母用 √(v − ḡ²) + ε"),
    "momentum_before": ("the momentum is applied before the normalization (b ← μb + g, then lr·b/(√v + ε)): PyTorch "
                        "buffers the normalized steps, b ← μ·b + g/(√v + ε), then w ← w − lr·b",
                        "動量用在了歸一化之前（b ← μb + g，再走 lr·b/(√v + ε)）：PyTorch 緩衝的是歸一化之後的步子，"
                        "b ← μ·b + g/(√v + ε)，再 w ← w − lr·b"),
    "momentum_ema": ("the momentum buffer is an average, b ← μb + (1 − μ)·g/(√v + ε): PyTorch's has no factor "
                     "1 − μ, b ← μ·b + g/(√v + ε)",
                     "動量緩衝被寫成了平均 b ← μb + (1 − μ)·g/(√v + ε)：PyTorch 的緩衝沒有因子 1 − μ，"
                     "b ← μ·b + g/(√v + ε)"),
    "lr_in_buffer": ("the learning rate is folded into the momentum buffer (b ← μb + lr·g/(√v + ε), w ← w − b, as "
                     "Keras does): that equals PyTorch only while lr is constant, and this check changed lr at step "
                     "{at}, as a scheduler does. Keep lr out of the buffer: w ← w − lr·b",
                     "學習率被併進了動量緩衝（b ← μb + lr·g/(√v + ε)，w ← w − b，Keras 就是這樣做的）："
                     "只有 lr 不變時它才與 PyTorch 相同，而這個檢查像調度器那樣在第 {at} 步改了 lr。"
                     "學習率不要放進緩衝：w ← w − lr·b"),
    "nesterov": ("your step looks ahead, w ← w − lr·(μ·b + g/(√v + ε)), as Nesterov momentum does: "
                 "torch.optim.RMSprop has no Nesterov option; its step is w ← w − lr·b with b ← μ·b + g/(√v + ε)",
                 "你的步子帶了前瞻，w ← w − lr·(μ·b + g/(√v + ε))，那是 Nesterov 動量的做法：torch.optim.RMSprop "
                 "沒有 Nesterov 選項，它的一步是 w ← w − lr·b，其中 b ← μ·b + g/(√v + ε)"),
    "momentum_ignored": ("momentum is ignored: with momentum > 0 keep the buffer b ← μ·b + g/(√v + ε) (from 0) and "
                         "step w ← w − lr·b",
                         "momentum 被忽略了：momentum > 0 時要維護緩衝 b ← μ·b + g/(√v + ε)（從 0 開始），"
                         "並走 w ← w − lr·b"),
    "alpha_swapped": RMSPROP_MISTAKES["alpha_swapped"],
}


def _full_hint(centered: bool, momentum: float) -> tuple[str, str]:
    """The update of torch.optim.RMSprop with these options, to compare with, in both languages."""
    if centered:
        den_en = "v ← α·v + (1 − α)·g², ḡ ← α·ḡ + (1 − α)·g, d = √(v − ḡ²) + ε"
    else:
        den_en = "v ← α·v + (1 − α)·g², d = √v + ε"
    step = "b ← μ·b + g/d, w ← w − lr·b" if momentum > 0 else "w ← w − lr·g/d"
    states = "v, ḡ and b" if centered and momentum > 0 else "v and ḡ" if centered else "v and b" if momentum else "v"
    states_zh = states.replace(" and ", " 和 ").replace(", ", "、") + (" 都" if " " in states else " ")
    return (f"Compare your step with torch.optim.RMSprop's (centered={centered}, momentum={momentum:g}), per "
            f"coordinate, with {states} from 0: {den_en}, {step}",
            f"請逐坐標對照 torch.optim.RMSprop 的一步（centered={centered}，momentum={momentum:g}），"
            f"{states_zh}從 0 開始：{den_en.replace(', ', '，')}，{step.replace(', ', '，')}")


def _full_cases():
    for centered in (False, True):
        for momentum in (0.0, 0.9):
            yield centered, momentum


def _class_path(cls, ex: str, w0, grads, lrs, alpha, eps, momentum, centered, what: str, what_zh: str):
    """Run the student's class: one instance, ``step(w, g)`` at each step, ``opt.lr`` changed as a scheduler does."""
    opt = call(cls, lr=float(lrs[0]), alpha=alpha, eps=eps, momentum=momentum, centered=centered, exercise=ex,
               name="RMSprop(...)")
    w, path = np.array(w0, dtype=float), []
    for k, (g, lr) in enumerate(zip(grads, lrs), start=1):
        if not hasattr(opt, "lr"):
            fail("your RMSprop object has no attribute lr: keep the learning rate in self.lr, as __init__ does (a "
                 "scheduler changes it there)",
                 "你的 RMSprop 對象沒有 lr 屬性：請像 __init__ 那樣把學習率保存在 self.lr 裡（調度器會在那裡修改它）")
        opt.lr = float(lr)
        g = np.array(g, dtype=float)
        w_in = w.copy()
        w_before, g_before = snapshot(w_in), snapshot(g)
        with np.errstate(all="ignore"):
            out = call(opt.step, w_in, g, exercise=ex, name="RMSprop.step")
        if isinstance(out, (tuple, list)):
            fail(f"RMSprop.step returned a {type(out).__name__}: return the new w only (the state stays in "
                 "self.state)",
                 f"RMSprop.step 返回的是 {type(out).__name__}：只需返回新的 w（狀態留在 self.state 裡）")
        _kept("RMSprop.step", "w", w_before, w_in, k, _W_FIX)
        _kept("RMSprop.step", "g", g_before, g, k, _G_FIX)
        if shares_memory(out, g):
            fail(f"at step {k} the w that RMSprop.step returned is the gradient array g itself: return a new array",
                 f"第 {k} 步 RMSprop.step 返回的 w 就是梯度數組 g 本身：請返回一個新數組")
        w = as_array(out, f"the w that RMSprop.step returned at step {k} ({what})")
        if w.shape != np.shape(w0):
            fail(f"at step {k} RMSprop.step returned w of shape {w.shape}, expected {np.shape(w0)}",
                 f"第 {k} 步 RMSprop.step 返回的 w 形狀是 {w.shape}，應為 {np.shape(w0)}")
        path.append(w.copy())
    return np.array(path)


def _own_state(cls, ex: str, alpha: float, eps: float) -> None:
    """Two new objects given the same first step must take the same step: else they share a state."""
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, -1.2, 2.0])
    first = []
    with np.errstate(all="ignore"):
        for _ in range(2):
            opt = call(cls, lr=0.01, alpha=alpha, eps=eps, momentum=0.9, centered=True, exercise=ex, name="RMSprop")
            out = call(opt.step, w.copy(), g.copy(), exercise=ex, name="RMSprop.step")
            try:
                first.append(np.array(out, dtype=float))
            except (TypeError, ValueError):
                return  # not an array: the runs below say what came back
    if not _agree(first[0], first[1]):
        fail("two new RMSprop objects given the same first step took different steps: the second one found the "
             "first one's state, so they share it. Keep the state in self.state (created in __init__), not in a "
             "global or a class variable",
             "兩個新建的 RMSprop 對象，第一步輸入相同，走出的步子卻不同：第二個對象用上了第一個對象的狀態，"
             "也就是兩者共用了狀態。請把狀態保存在 self.state 裡（在 __init__ 中創建），不要放在全局變量或類變量裡")


def check_rmsprop_class(RMSprop) -> None:
    """Exercise 5: class ``RMSprop(lr, alpha, eps, momentum, centered)`` with ``step(w, g)`` → the new w.

    First two new objects take the same first step, to catch a state shared between them (a
    global, a class variable); then every combination of centered and momentum runs against
    ``torch.optim.RMSprop``, with the learning rate changed mid-run through ``opt.lr``, as a
    scheduler would.
    """
    ex = "Exercise 5"
    steps, at, alpha, eps = 30, 11, 0.9, 1e-3
    lrs = _schedule(steps, 0.01, at, 0.3)
    _own_state(RMSprop, ex, alpha, eps)
    for n, (centered, momentum) in enumerate(_full_cases()):
        grads = _gradients(50 + n, steps, 5, shift=0.3)
        w0 = np.random.default_rng(60 + n).standard_normal(5)
        hyper = f"centered={centered}, momentum={momentum:g}, alpha={alpha:g}, eps={eps:g}"
        setting = _setting(hyper, hyper.replace(", ", "，"), lrs, at)
        got = _class_path(RMSprop, ex, w0, grads, lrs, alpha, eps, momentum, centered, *setting)
        expected = torch_path("RMSprop", w0, grads, lrs, alpha=alpha, eps=eps, momentum=momentum, centered=centered)
        if not _agree(got, expected):
            mistakes = {k: (en.format(at=at), zh.format(at=at)) for k, (en, zh) in FULL_MISTAKES.items()}
            mistakes.update(_fixed("eps", eps, _EPS_CONSTANTS, ("self.eps, the eps given to RMSprop(...)",
                                                                 " self.eps，即傳給 RMSprop(...) 的 eps"), "ε"))
            mistakes.update(_fixed("alpha", alpha, (0.99,), ("self.alpha, the alpha given to RMSprop(...)",
                                                              " self.alpha，即傳給 RMSprop(...) 的 alpha"), "α"))
            simulate = simulator(rmsprop_full_path, w0=w0, grads=grads, lrs=lrs, alpha=alpha, eps=eps,
                                  momentum=momentum, centered=centered)
            _diagnose(got, expected, w0, mistakes, simulate, setting, _full_hint(centered, momentum))
    passed(ex, "each object keeps its own state, and the four combinations of centered and momentum match "
               "torch.optim.RMSprop, with lr changed mid-run",
           "每個對象各自保存自己的狀態；centered 與 momentum 的四種組合都與 torch.optim.RMSprop 一致，"
           "學習率中途改變時也對")




# ---------------------------------------------------------------- Exercise 6: Adadelta
def adadelta_path(w0, grads, lrs, rho, eps, mistake: str | None = None) -> np.ndarray:
    """PyTorch's Adadelta in NumPy, or the same with one classic ``mistake``."""
    w, v, u, path = np.array(w0, dtype=float), np.zeros(np.shape(w0)), np.zeros(np.shape(w0)), []
    with np.errstate(all="ignore"):
        for g, lr in zip(grads, lrs):
            g = np.asarray(g, dtype=float)
            if mistake == "reset":
                v, u = np.zeros_like(w), np.zeros_like(w)
            r = 1 - rho if mistake == "rho_swapped" else rho
            old_v = v
            v = r * v + (1 - r) * g * g
            V = old_v if mistake == "stale_v" else v
            num, den = np.sqrt(u + eps), np.sqrt(V + eps)
            if mistake in ("eps_outside_both", "eps_outside_num"):
                num = np.sqrt(u) + eps
            if mistake in ("eps_outside_both", "eps_outside_den"):
                den = np.sqrt(V) + eps
            if mistake == "no_eps_num":
                num = np.sqrt(u)
            delta = den / num * g if mistake == "inverted" else num / den * g
            if mistake == "u_of_g":
                u = r * u + (1 - r) * g * g
            elif mistake == "u_with_lr":
                u = r * u + (1 - r) * (lr * delta) ** 2
            elif mistake == "u_of_delta":
                u = r * u + (1 - r) * delta
            else:
                u = r * u + (1 - r) * delta * delta
            w = w - (delta if mistake == "lr_ignored" else lr * delta)
            path.append(w.copy())
    return np.array(path)


ADADELTA_MISTAKES = {
    "no_eps_num": ("w never moves: the numerator √u has no ε, and u starts at 0, so every step is 0. In Adadelta ε "
                   "sits inside both roots, √(u + ε)/√(v + ε)·g; the ε of the numerator is what sets the first steps",
                   "w 一動不動：分子 √u 裡沒有 ε，而 u 從 0 開始，於是每一步都是 0。Adadelta 的 ε 在兩個根號裡面，"
                   "√(u + ε)/√(v + ε)·g；正是分子裡的 ε 決定了最初幾步的大小"),
    "eps_outside": ("ε is outside a root: in Adadelta (PyTorch and the paper alike) it sits inside both, "
                    "δ = √(u + ε)/√(v + ε)·g, unlike Adagrad and RMSprop, where PyTorch adds it after the root",
                    "ε 放在了根號外面：Adadelta（PyTorch 和原論文都一樣）把它放在兩個根號裡面，"
                    "δ = √(u + ε)/√(v + ε)·g；Adagrad 和 RMSprop 則不同，PyTorch 在那兩者裡是開方之後才加 ε"),
    "inverted": ("the ratio is upside down: δ = √(u + ε)/√(v + ε)·g, the RMS of past updates over the RMS of "
                 "gradients",
                 "比值上下顛倒了：δ = √(u + ε)/√(v + ε)·g，即過去更新量的均方根除以梯度的均方根"),
    "lr_ignored": ("lr is ignored: the paper's Adadelta has no learning rate, but torch.optim.Adadelta keeps one "
                   "(lr = 1.0 by default) and steps w ← w − lr·δ; this check uses lr ≠ 1",
                   "lr 被忽略了：原論文的 Adadelta 沒有學習率，但 torch.optim.Adadelta 保留了一個（默認 lr = 1.0），"
                   "更新是 w ← w − lr·δ；這個檢查用的 lr 不等於 1"),
    "u_with_lr": ("u accumulates (lr·δ)², the squared change of w: PyTorch accumulates δ², before the learning rate, "
                  "u ← ρ·u + (1 − ρ)·δ²",
                  "u 累積的是 (lr·δ)²，即 w 實際變化量的平方：PyTorch 累積的是乘學習率之前的 δ²，"
                  "u ← ρ·u + (1 − ρ)·δ²"),
    "u_of_g": ("u averages g², like v: u is the mean square of the updates, u ← ρ·u + (1 − ρ)·δ², computed after δ",
               "u 平均的是 g²，和 v 一樣：u 是更新量的均方，u ← ρ·u + (1 − ρ)·δ²，要在算出 δ 之後更新"),
    "u_of_delta": ("u averages δ, not δ²: u is a mean square, u ← ρ·u + (1 − ρ)·δ * δ, never negative (an average "
                   "of δ goes negative, and its root is NaN)",
                   "u 平均的是 δ，而不是 δ²：u 是均方，u ← ρ·u + (1 − ρ)·δ * δ，不會是負數"
                   "（δ 的平均會變成負數，對它開方就得到 NaN）"),
    "stale_v": ("δ uses v before this step's g² enters: update v first, v ← ρ·v + (1 − ρ)·g², then compute δ with "
                "the new v",
                "δ 用的是還沒納入本步 g² 的 v：要先更新 v，v ← ρ·v + (1 − ρ)·g²，再用新的 v 計算 δ"),
    "rho_swapped": ("ρ and 1 − ρ are swapped: the old averages keep the weight ρ, v ← ρ·v + (1 − ρ)·g² and "
                    "u ← ρ·u + (1 − ρ)·δ²",
                    "ρ 和 1 − ρ 放反了：舊的平均值保留權重 ρ，v ← ρ·v + (1 − ρ)·g²，u ← ρ·u + (1 − ρ)·δ²"),
    "reset": ("v and u start afresh at every call: use the v and u passed in and return the updated ones",
              "每次調用 v 和 u 都從頭開始：要用傳進來的 v 和 u，並返回更新後的值"),
}

ADADELTA_HINT = ("Compare your step with Adadelta's, coordinate by coordinate, with v and u from the ones passed in "
                 "(zeros at the first step): v ← ρ·v + (1 − ρ)·g², δ = √(u + ε)/√(v + ε)·g, u ← ρ·u + (1 − ρ)·δ², "
                 "w ← w − lr·δ",
                 "請逐坐標對照 Adadelta 的一步，v 和 u 從傳進來的值開始（第一步是全零）：v ← ρ·v + (1 − ρ)·g²，"
                 "δ = √(u + ε)/√(v + ε)·g，u ← ρ·u + (1 − ρ)·δ²，w ← w − lr·δ")


def _adadelta_cases():
    """Each run differs from the others in one thing: lr ≠ 1; ρ = 0.95 and gradients from 1e-2 to 100; a large ε."""
    steps, at = 30, 16
    return [(np.full(steps, 0.5), 0.9, 1e-6, _gradients(71, steps, 4)),
            (np.full(steps, 1.0), 0.95, 1e-6, _gradients(72, steps, 5, np.array([1e-2, 0.1, 1, 10, 100]))),
            (np.full(steps, 1.0), 0.9, 1e-3, _gradients(73, steps, 3))], at


def check_adadelta(adadelta_step) -> None:
    """Exercise 6: ``adadelta_step(w, g, v, u, lr, rho, eps)`` → ``(w, v, u)``, one step of ``torch.optim.Adadelta``."""
    ex = "Exercise 6"
    cases, at = _adadelta_cases()
    for n, (lrs, rho, eps, grads) in enumerate(cases):
        w0 = np.random.default_rng(80 + n).standard_normal(grads.shape[1])
        setting = _setting(f"rho = {rho:g}, eps = {_num(eps)}", f"rho = {rho:g}，eps = {_num(eps)}", lrs, at)
        g0 = grads[0]
        v1 = (1 - rho) * g0 * g0
        d1 = np.sqrt(eps) / np.sqrt(v1 + eps) * g0
        first = (w0 - lrs[0] * d1, v1, (1 - rho) * d1 * d1)
        rule_v, rule_u = "ρ·v + (1 − ρ)·g * g", "ρ·u + (1 − ρ)·δ * δ"
        specs = [_State(("the mean square of the gradients", "梯度的均方"), (rule_v, rule_v), eps,
                        lambda v, e=eps: np.sqrt(v + e), ("√(v + ε), the denominator", "分母 √(v + ε)")),
                 _State(("the mean square of the updates", "更新量的均方"), (rule_u, rule_u), eps,
                        lambda u, e=eps: np.sqrt(u + e), ("√(u + ε), the numerator", "分子 √(u + ε)"),
                        known=[((1 - rho) * (lrs[0] * d1) ** 2, ADADELTA_MISTAKES["u_with_lr"]),
                               ((1 - rho) * g0 * g0, ADADELTA_MISTAKES["u_of_g"]),
                               ((1 - rho) * d1, ADADELTA_MISTAKES["u_of_delta"])])]
        got, _ = _run(lambda w, g, s, lr, r=rho, e=eps: call(adadelta_step, w, g, s[0], s[1], lr, r, e, exercise=ex),
                      w0, [np.zeros_like(w0), np.zeros_like(w0)], grads, lrs, "adadelta_step", ("w", "v", "u"),
                      first=first, specs=specs, setting=setting)
        expected = torch_path("Adadelta", w0, grads, lrs, rho=rho, eps=eps)
        if not _agree(got, expected):
            mistakes = {**ADADELTA_MISTAKES,
                        **_fixed("eps", eps, _EPS_CONSTANTS, ("the argument eps", "參數 eps"), "ε"),
                        **_fixed("rho", rho, (0.9, 0.95), ("the argument rho", "參數 rho"), "ρ")}
            _diagnose(got, expected, w0, mistakes,
                      simulator(adadelta_path, w0=w0, grads=grads, lrs=lrs, rho=rho, eps=eps), setting,
                      ADADELTA_HINT)
    passed(ex, "the steps match torch.optim.Adadelta with lr = 0.5 and 1, with rho = 0.9 and 0.95, with eps = 1e-6 "
               "and 1e-3 and with gradients from 1e-2 to 100",
           "在 lr = 0.5 和 1、rho = 0.9 和 0.95、eps = 1e-6 和 1e-3、梯度量級從 1e-2 到 100 這幾種情況下，"
           "每一步都與 torch.optim.Adadelta 一致")
