"""The checks of Lab 5 (schedules and clipping from scratch), one per exercise.

Each ``check_*`` function runs the student's code and compares it with PyTorch itself:
the rates of ``SequentialLR(LinearLR, CosineAnnealingLR)`` (Exercise 1),
``torch.nn.utils.clip_grad_norm_`` (Exercise 2), the gradient of the whole batch computed by
autograd in one pass (Exercise 3), a training run that is never interrupted (Exercise 4) and
the rates the intended training loop uses at each ``optimizer.step()`` (Exercise 5). A check
prints one line per language (``✓ Exercise n: ...``) or raises
:class:`optbook.checks.CheckFailed` saying what is wrong and what to do.

The classic mistakes are recognised by simulating each of them and comparing with what the
student's code did: a warm-up that starts at step 1's rate, from 0, or reaches the peak a step
early, a cosine not shifted by the warm-up, over the whole run, one step short (landing on
eta_min at the last step), without its (1 + cos)/2 or its floor; clipping by value where the
norm was asked, each array by its own norm, without the clamp at 1 (small gradients scaled up),
with the sum of the norms or of the squares, with an ε other than torch's 1e-6 or none, the
norm returned after clipping, arrays rebuilt instead of scaled in place; accumulation without
dividing by the number of micro-batches, divided by it when the sizes differ, from stale
gradients, keeping only the last micro-batch, or in one backward pass over all the
micro-batches (which gives the right gradient but defeats the memory saving: the check counts
the gradient computations on a parameter); a resume that loads the optimizer but not the
scheduler, neither, the scheduler but not the optimizer, or steps the scheduler once more; and
a training loop that calls ``scheduler.step()`` before ``optimizer.step()``, once per epoch (at
its end or at its start), twice, never, or forgets ``zero_grad()``. tests/test_lab_checks_05.py
proves every one of them.

The conventions are PyTorch's: step k (k = 0, 1, …) is the call of ``optimizer.step()`` made
after k earlier calls, and the rate it uses is the scheduler's rate after k calls of
``scheduler.step()``. A 0-d torch tensor is accepted where a number is asked (it is what
``clip_grad_norm_`` itself returns).
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np

from optbook.checks import agree, as_array, call, close, distinct, fail, num, passed, same, snapshot

__all__ = [
    "schedule_variant",
    "torch_rates",
    "clip_variant",
    "torch_clip",
    "check_schedule",
    "check_clip",
    "check_accumulation",
    "check_resume",
    "check_training_loop",
    "resume_variant",
    "resumed_run",
    "loop_variant",
    "rates_used",
]


def _plain(value):
    """A torch tensor as a NumPy array (a 0-d tensor, as clip_grad_norm_ returns, is a number); else as given."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


# ---------------------------------------------------------------- Exercise 1: warm-up and cosine
SCHEDULE_CASES = [
    # peak, warmup, total, start_factor, eta_min
    (0.1, 5, 20, 0.1, 0.001),
    (1.0, 4, 12, 0.25, 0.0),
    (3e-4, 10, 50, 0.01, 1e-5),
]


def _case_text(case) -> tuple[str, str]:
    peak, warmup, total, s, m = case
    text = f"peak = {num(peak)}, warmup = {warmup}, total = {total}, start_factor = {num(s)}, eta_min = {num(m)}"
    return text, text.replace(", ", "，")


def schedule_variant(k: int, peak, warmup, total, start_factor, eta_min, mistake: str | None = None) -> float:
    """The rate used at step ``k``: linear warm-up from start_factor·peak, then cosine to eta_min (or a mistake)."""
    if mistake == "first_skipped":
        k = k + 1
    s = 0.0 if mistake == "warmup_from_zero" else start_factor
    if k < warmup:
        frac = min(1.0, k / (warmup - 1)) if mistake == "warmup_early" else k / warmup
        return peak * (s + (1 - s) * frac)
    m = 0.0 if mistake == "floor_ignored" else eta_min
    t = k if mistake in ("cosine_unshifted", "cosine_whole_run") else k - warmup
    span = total if mistake in ("cosine_over_total", "cosine_whole_run") else total - warmup
    if mistake == "cosine_one_short":
        span = total - warmup - 1
    c = math.cos(math.pi * t / span)
    if mistake == "cosine_no_half":
        return m + (peak - m) * c
    return m + (peak - m) * (1 + c) / 2


def torch_rates(peak, warmup, total, start_factor, eta_min, steps: int | None = None) -> np.ndarray:
    """The rates ``SequentialLR([LinearLR, CosineAnnealingLR], milestones=[warmup])`` gives at steps 0, 1, …"""
    import torch

    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=peak)
    sched = _torch_schedule(opt, warmup, total, start_factor, eta_min)
    rates = []
    for _ in range(total if steps is None else steps):
        rates.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1, dtype=torch.float64)
        opt.step()
        sched.step()
    return np.array(rates)


def _torch_schedule(opt, warmup, total, start_factor, eta_min):
    import torch

    lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warmup)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)
    return torch.optim.lr_scheduler.SequentialLR(opt, [lin, cos], milestones=[warmup])


SCHEDULE_MISTAKES = {
    "first_skipped": (
        "your rates are the intended ones one step early: at step k you return the rate of step k + 1, so the "
        "warm-up's first value, start_factor·peak, is never used. The rate at step k = 0 is start_factor·peak: "
        "use k, not k + 1",
        "你的學習率整體提前了一步：第 k 步返回的是第 k + 1 步的學習率，於是預熱的第一個值 start_factor·peak "
        "從來沒有用上。第 k = 0 步的學習率就是 start_factor·peak：要用 k，而不是 k + 1"),
    "warmup_from_zero": (
        "your warm-up starts at 0: the rate at step 0 is start_factor·peak, as in LinearLR, "
        "peak·(start_factor + (1 − start_factor)·k/warmup)",
        "你的預熱從 0 開始：第 0 步的學習率應是 start_factor·peak，和 LinearLR 一樣，"
        "即 peak·(start_factor + (1 − start_factor)·k/warmup)"),
    "warmup_early": (
        "your warm-up reaches the peak one step early, at step warmup − 1: divide by warmup (LinearLR's "
        "total_iters), so that the rate first equals peak at step k = warmup",
        "你的預熱提前一步到達峰值，在第 warmup − 1 步：要除以 warmup（即 LinearLR 的 total_iters），"
        "這樣學習率在第 k = warmup 步才第一次等於 peak"),
    "cosine_unshifted": (
        "your cosine is not shifted by the warm-up: it starts at step 0, so after the warm-up it is already "
        "part-way down. The cosine phase's clock starts at the end of the warm-up: use k − warmup",
        "你的餘弦沒有按預熱平移：它從第 0 步就開始計時，所以預熱結束時它已經降了一截。"
        "餘弦階段的時鐘從預熱結束時開始：要用 k − warmup"),
    "cosine_over_total": (
        "your cosine lasts total steps instead of total − warmup: it ends far above eta_min, at step total − 1 "
        "it is still at {last}, where torch's schedule is at {expected_last}, just above eta_min = {eta_min}. "
        "The cosine phase is CosineAnnealingLR(T_max = total − warmup)",
        "你的餘弦持續了 total 步，而不是 total − warmup 步，所以結束時離 eta_min 還很遠：第 total − 1 步"
        "還在 {last}，而 torch 的調度這時是 {expected_last}，略高於 eta_min = {eta_min}。"
        "餘弦階段是 CosineAnnealingLR(T_max = total − warmup)"),
    "cosine_one_short": (
        "your cosine lasts total − warmup − 1 steps: it lands on eta_min at the last step, k = total − 1. "
        "CosineAnnealingLR(T_max = total − warmup) reaches eta_min only at step total, one step after the "
        "run; the last step, at {expected_last}, is just above it. Divide k − warmup by total − warmup",
        "你的餘弦只持續了 total − warmup − 1 步：最後一步 k = total − 1 正好落在 eta_min 上。"
        "CosineAnnealingLR(T_max = total − warmup) 要到第 total 步，即訓練結束後的那一步，才降到 eta_min；"
        "最後一步是 {expected_last}，略高於它。k − warmup 要除以 total − warmup"),
    "cosine_whole_run": (
        "your cosine runs over the whole run, cos(π·k/total), with the warm-up laid on top: the cosine phase "
        "starts at the end of the warm-up and lasts total − warmup steps, cos(π·(k − warmup)/(total − warmup))",
        "你的餘弦覆蓋了整個訓練，cos(π·k/total)，預熱只是疊在上面：餘弦階段應從預熱結束時開始，"
        "持續 total − warmup 步，即 cos(π·(k − warmup)/(total − warmup))"),
    "cosine_no_half": (
        "your cosine is not mapped onto [eta_min, peak]: it goes below eta_min, even below 0. Use "
        "eta_min + (peak − eta_min)·(1 + cos(…))/2",
        "你的餘弦沒有映射到 [eta_min, peak] 區間：它會低於 eta_min，甚至小於 0。"
        "要用 eta_min + (peak − eta_min)·(1 + cos(…))/2"),
    "floor_ignored": (
        "eta_min is ignored: your cosine falls to 0. It falls to eta_min: eta_min + (peak − eta_min)·(1 + cos(…))/2",
        "eta_min 被忽略了：你的餘弦降到了 0。它應該降到 eta_min：eta_min + (peak − eta_min)·(1 + cos(…))/2"),
}

SCHEDULE_HINT = (
    "The rate at step k is peak·(start_factor + (1 − start_factor)·k/warmup) for k < warmup, then "
    "eta_min + (peak − eta_min)·(1 + cos(π·(k − warmup)/(total − warmup)))/2",
    "第 k 步的學習率：k < warmup 時是 peak·(start_factor + (1 − start_factor)·k/warmup)，之後是 "
    "eta_min + (peak − eta_min)·(1 + cos(π·(k − warmup)/(total − warmup)))/2")


def _rate(value, name: str, k: int) -> float:
    if value is None:
        fail(f"{name} returned None at step {k}: did you forget the `return` statement?",
             f"{name} 在第 {k} 步返回了 None：是不是忘了寫 `return`？")
    arr = as_array(_plain(value), f"{name} at step {k}")
    if arr.size != 1:
        fail(f"{name} returned {arr.size} numbers at step {k}: return the one rate of that step",
             f"{name} 在第 {k} 步返回了 {arr.size} 個數：只需返回這一步的學習率，一個數")
    return float(arr.reshape(()))


def check_schedule(warmup_cosine) -> None:
    """Exercise 1: ``warmup_cosine(step, peak, warmup, total, start_factor, eta_min)`` → the rate of that step."""
    ex = "Exercise 1"
    for case in SCHEDULE_CASES:
        peak, warmup, total, s, m = case
        got = np.array([_rate(call(warmup_cosine, k, peak, warmup, total, s, m, exercise=ex), "warmup_cosine", k)
                        for k in range(total)])
        expected = torch_rates(*case)
        if agree(got, expected, rtol=1e-9, atol=1e-15 * peak):
            continue
        en_case, zh_case = _case_text(case)
        for key, (en, zh) in SCHEDULE_MISTAKES.items():
            if agree(got, [schedule_variant(k, *case, mistake=key) for k in range(total)], atol=1e-15 * peak):
                values = {"last": f"{got[-1]:.3g}", "expected_last": f"{expected[-1]:.3g}", "eta_min": num(m)}
                fail(f"with {en_case}: {en.format(**values)}", f"（{zh_case}）{zh.format(**values)}")
        k = int(np.argmax(~np.isclose(got, expected, rtol=1e-9, atol=1e-15 * peak)))
        phase_en, phase_zh = ("warm-up", "預熱階段") if k < warmup else ("cosine phase", "餘弦階段")
        a, e = distinct(got[k], expected[k])
        fail(f"with {en_case}: at step {k} ({phase_en}) your rate is {a}, expected {e}. {SCHEDULE_HINT[0]}",
             f"（{zh_case}）第 {k} 步（{phase_zh}）你的學習率是 {a}，應為 {e}。{SCHEDULE_HINT[1]}。")
    passed(ex, "the rates of steps 0 to total − 1 match torch's SequentialLR(LinearLR, CosineAnnealingLR) in three "
               "runs, with start_factor from 0.01 to 0.25 and eta_min zero in one run, not in the others",
           "三組設置下，第 0 步到第 total − 1 步的學習率都與 torch 的 SequentialLR(LinearLR, CosineAnnealingLR) "
           "一致，start_factor 從 0.01 到 0.25，eta_min 有的為 0，有的不為 0")


# ---------------------------------------------------------------- Exercise 2: clip_grad_norm
TORCH_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ scales by max_norm / (total_norm + 1e-6), clamped at 1


def _clip_cases():
    """(the gradients, max_norm, what the run is, in both languages)."""
    rng = np.random.default_rng(5)
    shapes = [(3, 4), (4,), (2, 2, 2)]

    def scaled(norm, seed):
        r = np.random.default_rng(seed)
        gs = [r.standard_normal(s) for s in shapes]
        total = math.sqrt(sum(float(np.sum(g * g)) for g in gs))
        return [g * (norm / total) for g in gs]

    big = [3.0 * rng.standard_normal((5,)) / 1.0, 0.1 * rng.standard_normal((3, 3)), 0.1 * rng.standard_normal(4)]
    big[0] *= 3.0 / np.linalg.norm(big[0])
    return [
        (scaled(5.0, 11), 1.0, ("three arrays of total norm 5, max_norm = 1", "三個數組，總範數為 5，max_norm = 1")),
        (scaled(0.3, 12), 1.0, ("three arrays of total norm 0.3, below max_norm = 1",
                                "三個數組，總範數為 0.3，低於 max_norm = 1")),
        (big, 2.0, ("one array of norm 3 and two small ones, max_norm = 2",
                    "一個範數為 3 的數組加兩個小數組，max_norm = 2")),
    ]


def torch_clip(grads, max_norm):
    """What ``torch.nn.utils.clip_grad_norm_`` does to these gradients (float64): (the clipped arrays, the norm)."""
    import torch

    params = []
    for g in grads:
        p = torch.zeros(np.shape(g), dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(np.array(g, dtype=float))
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad.numpy().copy() for p in params], float(total)


def clip_variant(grads, max_norm, mistake: str | None = None, exact: bool = True):
    """Clipping by the global norm (torch's coefficient if ``exact``, else max_norm/total), or a ``mistake``.

    Returns (the arrays after clipping, the value returned)."""
    gs = [np.array(g, dtype=float) for g in grads]
    norms = [float(np.sqrt(np.sum(g * g))) for g in gs]
    total = math.sqrt(sum(n * n for n in norms))
    if mistake == "not_in_place":
        return gs, total
    if mistake == "by_value":
        return [np.clip(g, -max_norm, max_norm) for g in gs], total
    if mistake == "per_array":
        return [g * min(1.0, max_norm / (n + TORCH_EPS if exact else n)) if n > 0 else g
                for g, n in zip(gs, norms)], total
    measured = {"sum_of_norms": sum(norms), "no_sqrt": total * total}.get(mistake, total)
    coef = max_norm / (measured + TORCH_EPS) if exact else max_norm / measured
    if mistake == "inverted":
        coef = measured / max_norm
    if mistake != "no_clamp":
        coef = min(1.0, coef)
    out = [g * coef for g in gs]
    returned = measured
    if mistake == "returns_clipped":
        returned = math.sqrt(sum(float(np.sum(g * g)) for g in out))
    return out, returned


CLIP_MISTAKES = {
    "by_value": ("you clipped each entry to [−max_norm, max_norm] (clipping by value, like np.clip or "
                 "clip_grad_value_): clipping by norm scales all the arrays by one factor, "
                 "min(1, max_norm/total_norm), which keeps the direction of the gradient",
                 "你把每個元素截斷到了 [−max_norm, max_norm]（按值裁剪，即 np.clip 或 clip_grad_value_ 的做法）："
                 "按範數裁剪是把所有數組乘以同一個因子 min(1, max_norm/total_norm)，梯度的方向保持不變"),
    "per_array": ("you clipped each array by its own norm: clip_grad_norm_ computes one total norm over all the "
                  "arrays, √(Σ‖g_i‖²), and scales every array by the same factor min(1, max_norm/total_norm)",
                  "你按每個數組自己的範數分別裁剪：clip_grad_norm_ 是對所有數組算一個總範數 √(Σ‖g_i‖²)，"
                  "再把每個數組都乘以同一個因子 min(1, max_norm/total_norm)"),
    "no_clamp": ("the gradients were scaled up: the factor max_norm/total_norm is not clamped at 1, so a gradient "
                 "already smaller than max_norm grows to it. Scale by min(1, max_norm/total_norm): clipping only "
                 "ever shrinks",
                 "梯度被放大了：你沒有讓因子 max_norm/total_norm 不超過 1，於是本來就小於 max_norm 的梯度"
                 "被放大到了 max_norm。要乘以 min(1, max_norm/total_norm)：裁剪只會縮小梯度"),
    "sum_of_norms": ("your total norm is the sum of the arrays' norms, Σ‖g_i‖: it is the norm of all the entries "
                     "together, √(Σ‖g_i‖²)",
                     "你的總範數是各數組範數之和 Σ‖g_i‖：它應是全部元素放在一起的範數，即 √(Σ‖g_i‖²)"),
    "no_sqrt": ("your total norm is the sum of squares, without the square root: total_norm = √(Σ‖g_i‖²)",
                "你的總範數是平方和，少了開方：total_norm = √(Σ‖g_i‖²)"),
    "inverted": ("the factor is upside down: you scaled by total_norm/max_norm; scale by max_norm/total_norm "
                 "(at most 1)",
                 "因子上下顛倒了：你乘的是 total_norm/max_norm；應乘 max_norm/total_norm（不超過 1）"),
}


_NORM_HOW = ("as torch.nn.utils.clip_grad_norm_ does", "和 torch.nn.utils.clip_grad_norm_ 一樣")


def _norm_value(value, what_en: str, what_zh: str) -> float:
    if value is None:
        fail(f"clip_grad_norm returned None: return the total norm before clipping, {what_en}",
             f"clip_grad_norm 返回了 None：要返回裁剪之前的總範數，{what_zh}")
    if isinstance(value, (list, tuple)):
        fail("clip_grad_norm returned a list: scale the arrays in place (g *= coef) and return the total norm, one "
             "number, as torch.nn.utils.clip_grad_norm_ does",
             "clip_grad_norm 返回的是一個列表：請原地縮放這些數組（g *= coef），並像 "
             "torch.nn.utils.clip_grad_norm_ 那樣只返回總範數這一個數")
    arr = as_array(_plain(value), "clip_grad_norm")
    if arr.size != 1:
        fail(f"clip_grad_norm returned {arr.size} numbers: return the total norm, one number",
             f"clip_grad_norm 返回了 {arr.size} 個數：只需返回總範數這一個數")
    return float(arr.reshape(()))


def _common_factor(got, grads) -> float | None:
    """The one factor c with got = c · grads, array by array, if there is one (else None)."""
    try:
        a = np.concatenate([np.asarray(x, dtype=float).ravel() for x in got])
        g = np.concatenate([np.asarray(x, dtype=float).ravel() for x in grads])
    except (TypeError, ValueError):
        return None
    if a.shape != g.shape or not np.any(g):
        return None
    c = float(a @ g / (g @ g))
    scale = float(np.max(np.abs(g)))
    return c if np.allclose(a, c * g, rtol=1e-12, atol=1e-15 * scale) else None


def _three_apart(a: float, b: float, c: float) -> tuple[str, str, str]:
    """Three numbers printed with the same, fewest significant digits (at least 6) that tell them all apart."""
    for p in range(6, 18):
        out = tuple(f"{x:#.{p}g}" for x in (a, b, c))
        if len(set(out)) == 3:
            return out
    return repr(float(a)), repr(float(b)), repr(float(c))


def _accepted_factors(total: float, max_norm: float) -> tuple[float, float]:
    """The factors accepted: from torch's min(1, max_norm/(total + 1e-6)) to the exact min(1, max_norm/total)."""
    return min(1.0, max_norm / (total + TORCH_EPS)), min(1.0, max_norm / total)


def check_clip(clip_grad_norm) -> None:
    """Exercise 2: ``clip_grad_norm(grads, max_norm)`` scales the list of arrays in place, returns the total norm.

    The arrays are accepted if they are the gradients times one factor between torch's, max_norm/(total_norm +
    1e-6), and the exact one, max_norm/total_norm, both clamped at 1: that is max_norm/(total_norm + ε) with any
    0 ≤ ε ≤ 1e-6, such as the common 1e-8 (or if they equal torch's or the exact result to 1e-9 relative). A
    single factor outside that range is named with the ε it amounts to. All the runs are made first
    and a mistake is named only if it explains every one of them: clipping by the inverted factor leaves the
    first run's arrays as they are, and must not be taken for a clipping that is not done in place.
    """
    ex = "Exercise 2"
    runs = []
    for grads, max_norm, setting in _clip_cases():
        arrays = [g.copy() for g in grads]
        held = list(arrays)  # the arrays themselves, as an optimizer holds p.grad
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            returned = call(clip_grad_norm, arrays, max_norm, exercise=ex)
        if isinstance(returned, (list, tuple)) or returned is None:
            _norm_value(returned, *_NORM_HOW)
        got = [np.asarray(g, dtype=float) for g in held]
        expected, total = torch_clip(grads, max_norm)
        exact, _ = clip_variant(grads, max_norm, exact=False)
        c = _common_factor(got, grads)
        lo, hi = _accepted_factors(total, max_norm)
        right = (c is not None and lo * (1 - 1e-12) <= c <= hi * (1 + 1e-12)) or \
            all(agree(a, b) for a, b in zip(got, expected)) or all(agree(a, b) for a, b in zip(got, exact))
        runs.append((grads, max_norm, setting, arrays, got, returned, expected, total, right))
    wrong = [r for r in runs if not r[-1]]
    if wrong:
        en_case, zh_case = wrong[0][2]
        if all(all(same(a, b) for a, b in zip(got, grads)) for grads, _, _, _, got, *_ in runs):
            if any(not same(a, b) for grads, _, _, arrays, *_ in runs for a, b in zip(arrays, grads)):
                fail(f"with {en_case}: you put new arrays into the list (grads[i] = grads[i] * coef): whoever "
                     "holds the arrays themselves, as an optimizer holds p.grad, sees no change. Scale each array "
                     "in place: g *= coef",
                     f"（{zh_case}）你往列表裡放了新的數組（grads[i] = grads[i] * coef）：持有原數組的一方"
                     "（就像優化器持有 p.grad）看不到任何變化。請原地縮放每個數組：g *= coef")
            fail(f"with {en_case}: the arrays were not changed: `g = g * coef` makes a new array and rebinds the "
                 "name g only. Scale each array in place, g *= coef (or np.multiply(g, coef, out=g)), as "
                 "clip_grad_norm_ does to every p.grad",
                 f"（{zh_case}）數組沒有被修改：`g = g * coef` 只是新建一個數組，再讓名字 g 指向它。"
                 "請原地縮放每個數組，g *= coef（或 np.multiply(g, coef, out=g)），就像 clip_grad_norm_ "
                 "對每個 p.grad 所做的那樣")
        for key, (en, zh) in CLIP_MISTAKES.items():
            if all(any(all(agree(a, b) for a, b in zip(got, clip_variant(grads, max_norm, key, exact=x)[0]))
                       for x in (True, False))
                   for grads, max_norm, _, _, got, *_ in runs):
                fail(f"with {en_case}: {en}", f"（{zh_case}）{zh}")
        grads, max_norm, _, _, got, _, expected, total, _ = wrong[0]
        c = _common_factor(got, grads)
        lo, hi = _accepted_factors(total, max_norm)
        if c is not None and abs(c - lo) < 1e-4 * lo:
            eps = max_norm / c - total
            a, e_lo, e_hi = _three_apart(c, lo, hi)
            fail(f"with {en_case}: your arrays are scaled by one factor, as they should be, but it is {a}, outside "
                 f"the accepted range from torch's max_norm/(total_norm + 1e-6) = {e_lo} to the exact "
                 f"max_norm/total_norm = {e_hi}: it amounts to max_norm/(total_norm + ε) with ε ≈ {eps:.1e}. "
                 "Use torch's ε = 1e-6, a smaller one (1e-8 is accepted) or none, and compute the norm in float64",
                 f"（{zh_case}）你的數組都乘以了同一個因子，這是對的，但這個因子是 {a}，不在接受的範圍內："
                 f"範圍從 torch 的 max_norm/(total_norm + 1e-6) = {e_lo} 到精確的 max_norm/total_norm = {e_hi}。"
                 f"你的因子相當於 max_norm/(total_norm + ε)，其中 ε ≈ {eps:.1e}。請用 torch 的 ε = 1e-6、"
                 "更小的 ε（1e-8 也接受）或者不加 ε，並用 float64 計算範數")
        for i, (a, b) in enumerate(zip(got, expected)):
            close(a, b, f"array {i} after clipping ({en_case})", rtol=1e-9, atol=1e-15,
                  what_zh=f"裁剪後的第 {i} 個數組（{zh_case}）")
    for _, _, (en_case, zh_case), _, _, returned, expected, total, _ in runs:
        value = _norm_value(returned, *_NORM_HOW)
        if math.isclose(value, total, rel_tol=1e-9):
            continue
        clipped = math.sqrt(sum(float(np.sum(g * g)) for g in expected))
        if math.isclose(value, clipped, rel_tol=1e-6) and not math.isclose(total, clipped, rel_tol=1e-6):
            fail(f"with {en_case}: clip_grad_norm returned the norm after clipping: return the total norm before "
                 "clipping, as torch.nn.utils.clip_grad_norm_ does (it is the number to log, to see how often "
                 "clipping acts)",
                 f"（{zh_case}）clip_grad_norm 返回的是裁剪之後的範數：要像 torch.nn.utils.clip_grad_norm_ "
                 "那樣返回裁剪之前的總範數（這才是值得記錄的數，看得出裁剪多久起一次作用）")
        a, e = distinct(value, total)
        fail(f"with {en_case}: clip_grad_norm returned {a}, but the total norm before clipping is {e}, "
             "√(Σ‖g_i‖²) over all the entries of all the arrays",
             f"（{zh_case}）clip_grad_norm 返回了 {a}，但裁剪之前的總範數是 {e}，"
             "即所有數組全部元素的 √(Σ‖g_i‖²)")
    passed(ex, "the arrays are scaled in place by one factor min(1, max_norm/total_norm), as "
               "torch.nn.utils.clip_grad_norm_ scales them, small gradients are left alone, and the total norm "
               "before clipping is returned",
           "所有數組都被原地乘以同一個因子 min(1, max_norm/total_norm)，與 torch.nn.utils.clip_grad_norm_ "
           "的結果一致；小梯度保持不變；返回的是裁剪之前的總範數")


# ---------------------------------------------------------------- shared by Exercises 3-5: a small model
def _linear(d_in: int, d_out: int, seed: int):
    """A float64 torch.nn.Linear with weights drawn from NumPy (the global torch RNG is left alone)."""
    import torch

    r = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):  # the default initialization draws from torch's RNG: give it back
        model = torch.nn.Linear(d_in, d_out, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(r.standard_normal((d_out, d_in)) * 0.5))
        model.bias.copy_(torch.tensor(r.standard_normal(d_out) * 0.5))
    return model


def _batches(seed: int, sizes, d_in: int, d_out: int):
    import torch

    r = np.random.default_rng(seed)
    w = r.standard_normal((d_in, d_out))
    out = []
    for n in sizes:
        X = r.standard_normal((n, d_in))
        y = X @ w + 0.3 * r.standard_normal((n, d_out))
        out.append((torch.tensor(X), torch.tensor(y)))
    return out


def _grad_vector(model) -> np.ndarray:
    return np.concatenate([p.grad.detach().numpy().ravel() for p in model.parameters()])


def _param_vector(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


# ---------------------------------------------------------------- Exercise 3: gradient accumulation
ACCUM_CASES = [
    ([8, 8, 8, 8], ("four micro-batches of 8 examples", "四個各含 8 個樣本的微批量")),
    ([8, 8, 3], ("micro-batches of 8, 8 and 3 examples", "大小分別為 8、8、3 的微批量")),
]


def _stale(model) -> None:
    """A gradient left in p.grad by an earlier step, as a loop without zero_grad() would leave it."""
    import torch

    for i, p in enumerate(model.parameters()):
        p.grad = torch.full_like(p, 0.7 + 0.1 * i)


def accumulation_variant(sizes, mistake: str | None = None) -> np.ndarray:
    """The gradient the accumulation loop leaves in p.grad (flattened), or the same with a ``mistake``."""
    import torch

    model, batches = _linear(4, 2, 31), _batches(32, sizes, 4, 2)
    loss_fn = torch.nn.MSELoss()
    if mistake == "stale":
        _stale(model)  # the gradient of an earlier step, never cleared
    n_total, m = sum(sizes), len(sizes)
    for X, y in batches:
        if mistake and mistake.startswith("last_only"):
            model.zero_grad()
        weight = {"no_division": 1.0, "count": 1.0 / m, "by_total": 1.0 / n_total, "size_only": float(len(X)),
                  "last_only_count": 1.0 / m, "last_only_none": 1.0}.get(mistake, len(X) / n_total)
        (loss_fn(model(X), y) * weight).backward()
    return _grad_vector(model)


def full_batch_gradient(sizes) -> np.ndarray:
    """The gradient of the mean loss over all the examples of the micro-batches together, in one pass."""
    import torch

    model, batches = _linear(4, 2, 31), _batches(32, sizes, 4, 2)
    X = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    torch.nn.MSELoss()(model(X), y).backward()
    return _grad_vector(model)


ACCUM_MISTAKES = {
    "no_division": ("your gradient is the sum of the micro-batches' mean gradients: it is as many times too large "
                    "as there are micro-batches. Divide each micro-batch's loss by the number of micro-batches "
                    "before backward() (or, when the sizes differ, weight it by its share of the examples)",
                    "你的梯度是各微批量平均梯度之和：有幾個微批量，它就是正確值的幾倍。每個微批量的損失在 backward() "
                    "之前要除以微批量的個數（大小不等時，要按它所佔的樣本比例加權）"),
    "count": ("the micro-batches have different sizes, and you divided each loss by their number: the short "
              "micro-batch gets as much weight as a full one. Weight each micro-batch's mean loss by its share of the "
              "examples, len(X)/N with N the total number of examples",
              "這些微批量大小不等，而你把每個損失都除以微批量的個數：短的微批量得到了和完整微批量一樣的權重。"
              "要按每個微批量所佔的樣本比例給它的平均損失加權，即 len(X)/N，N 是樣本總數"),
    "stale": ("your gradient includes the gradient that was already in p.grad: backward() adds to p.grad. Clear it "
              "first, model.zero_grad(), then accumulate",
              "你的梯度裡還包含 p.grad 中原有的梯度：backward() 是往 p.grad 上累加的。要先清零，"
              "即 model.zero_grad()，再開始累積"),
    "last_only": ("only the last micro-batch is left in p.grad: zero_grad() inside the loop clears what the earlier "
                  "micro-batches accumulated. Call it once, before the loop",
                  "p.grad 裡只剩下最後一個微批量的梯度：循環裡的 zero_grad() 把前面各微批量累積的梯度清掉了。"
                  "只在循環之前調用一次"),
    "by_total": ("each micro-batch's mean loss was divided by the total number of examples N: it is already a mean; "
                 "weight it by len(X)/N",
                 "每個微批量的平均損失都被除以了樣本總數 N：它本身已經是平均值了，應該乘以權重 len(X)/N"),
    "size_only": ("each micro-batch's mean loss was multiplied by its size len(X) but not divided by the total N: "
                  "the gradient is N times too large. Weight it by len(X)/N",
                  "每個微批量的平均損失乘了它的大小 len(X)，卻沒有除以總數 N：梯度是正確值的 N 倍。權重應是 len(X)/N"),
}
_ACCUM_VARIANTS = {"last_only": ("last_only", "last_only_count", "last_only_none")}


def check_accumulation(accumulate_gradients) -> None:
    """Exercise 3: ``accumulate_gradients(model, loss_fn, micro_batches)`` leaves the whole batch's gradient in
    p.grad."""
    import torch

    ex = "Exercise 3"
    for sizes, (en_case, zh_case) in ACCUM_CASES:
        model, batches = _linear(4, 2, 31), _batches(32, sizes, 4, 2)
        _stale(model)
        before = _param_vector(model).copy()
        kept = snapshot(batches)
        passes = [0]  # the gradients autograd computes for the weight: one per backward() over a micro-batch
        hook = model.weight.register_hook(lambda g, n=passes: n.__setitem__(0, n[0] + 1))
        try:
            call(accumulate_gradients, model, torch.nn.MSELoss(), batches, exercise=ex)
        finally:
            hook.remove()
        m = len(sizes)
        if not np.array_equal(_param_vector(model), before):
            fail(f"with {en_case}: accumulate_gradients changed the model's parameters: it only computes the "
                 "gradient; the optimizer's step comes after it",
                 f"（{zh_case}）accumulate_gradients 改動了模型的參數：它只負責算梯度，優化器的那一步在它之後")
        if not same(batches, kept):
            fail(f"with {en_case}: accumulate_gradients changed the micro-batches in place: leave the data as it is",
                 f"（{zh_case}）accumulate_gradients 原地修改了微批量：不要改動數據")
        for name, p in model.named_parameters():
            if p.grad is None:
                fail(f"with {en_case}: {name}.grad is None: call backward() on each micro-batch's loss, and do not "
                     "set the gradients to None after it",
                     f"（{zh_case}）{name}.grad 是 None：要對每個微批量的損失調用 backward()，"
                     "之後也不要把梯度設成 None")
        if passes[0] == 1:
            fail(f"with {en_case}: autograd computed the gradient once, in one backward pass over all the {m} "
                 "micro-batches (one backward() of the concatenated batch, or of the sum of the weighted losses): "
                 "the graphs of all the micro-batches are then held in memory at once, which is what accumulation "
                 "is meant to avoid. Run one forward pass and one backward() per micro-batch, inside the loop",
                 f"（{zh_case}）autograd 只算了一次梯度：對全部 {m} 個微批量只做了一次反向傳播"
                 "（對拼接起來的批量調用一次 backward()，或者對加權損失之和調用一次）。這樣所有微批量的計算圖"
                 "會同時留在內存裡，而梯度累積要避免的正是這一點。請在循環裡對每個微批量各做一次前向計算和一次 "
                 "backward()")
        got = _grad_vector(model)
        expected = full_batch_gradient(sizes)
        if agree(got, expected) and passes[0] != m:
            fail(f"with {en_case}: p.grad holds the right gradient, but autograd computed it {passes[0]} times for "
                 f"{m} micro-batches: run one forward pass and one backward() per micro-batch, no more, no fewer",
                 f"（{zh_case}）p.grad 裡的梯度是對的，但 {m} 個微批量 autograd 卻算了 {passes[0]} 次梯度："
                 "每個微批量恰好做一次前向計算和一次 backward()")
        if agree(got, expected):
            continue
        for key, (en, zh) in ACCUM_MISTAKES.items():
            if any(agree(got, accumulation_variant(sizes, m)) for m in _ACCUM_VARIANTS.get(key, (key,))):
                fail(f"with {en_case}: {en}", f"（{zh_case}）{zh}")
        close(got, expected, f"the accumulated gradient ({en_case})", rtol=1e-9, atol=1e-12,
              what_zh=f"累積的梯度（{zh_case}）")
    passed(ex, "p.grad holds the gradient of the mean loss over all the examples, with four equal micro-batches and "
               "with a short last one, starting from a stale gradient, and it was computed with one backward() per "
               "micro-batch",
           "p.grad 裡是全部樣本平均損失的梯度：四個等大的微批量和最後一個較短的情況都對，"
           "p.grad 裡原有的舊梯度也清掉了；梯度是每個微批量各調用一次 backward() 算出來的")


# ---------------------------------------------------------------- Exercises 4 and 5: a training run
RUN = {"peak": 0.1, "warmup": 4, "total": 12, "start_factor": 0.1, "eta_min": 0.001}


def _training(seed: int = 41, total: int | None = None, warmup: int | None = None):
    """A fresh (model, optimizer, scheduler): SGD with momentum 0.9 and warm-up then cosine."""
    import torch

    model = _linear(3, 1, seed)
    opt = torch.optim.SGD(model.parameters(), lr=RUN["peak"], momentum=0.9)
    sched = _torch_schedule(opt, warmup or RUN["warmup"], total or RUN["total"], RUN["start_factor"], RUN["eta_min"])
    return model, opt, sched


def _train_step(model, opt, sched, batch, loss_fn) -> float:
    X, y = batch
    opt.zero_grad()
    loss_fn(model(X), y).backward()
    lr = opt.param_groups[0]["lr"]
    opt.step()
    sched.step()
    return lr


RESUME_AT = [(2, ("saved after 2 steps, in the warm-up", "在第 2 步後保存，仍在預熱階段")),
             (7, ("saved after 7 steps, in the cosine phase", "在第 7 步後保存，已進入餘弦階段"))]


def _roundtrip(checkpoint):
    """The checkpoint written and read back, as torch.save and torch.load (weights_only=True) would."""
    import torch

    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def resume_variant(at: int, mistake: str | None = None):
    """The rates of steps ``at`` … total − 1 and the final parameters of a run saved after ``at`` steps and resumed
    in fresh objects, loading everything (None) or with a ``mistake``."""
    import torch

    loss_fn, batches = torch.nn.MSELoss(), _batches(42, [6] * RUN["total"], 3, 1)
    model, opt, sched = _training()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(at):
            _train_step(model, opt, sched, batches[k], loss_fn)
        ckpt = _roundtrip({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict()})
        model, opt, sched = _training(seed=43)
        if mistake != "no_model":
            model.load_state_dict(ckpt["model"])
        if mistake not in ("no_optimizer", "model_only"):
            opt.load_state_dict(ckpt["optimizer"])
        if mistake not in ("no_scheduler", "model_only"):
            sched.load_state_dict(ckpt["scheduler"])
        if mistake == "extra_step":
            sched.step()
        lrs = [_train_step(model, opt, sched, batches[k], loss_fn) for k in range(at, RUN["total"])]
    return np.array(lrs), _param_vector(model)


RESUME_MISTAKES = {
    "no_scheduler": ("after resuming, the first rate is right (the optimizer's state holds the current lr), but the "
                     "next ones go astray, here past the peak: the scheduler was not loaded, so it counts its steps "
                     "from 0 again and applies the warm-up's factors to a rate that has already warmed up. Save "
                     "scheduler.state_dict() and load it with scheduler.load_state_dict",
                     "恢復之後，第一個學習率是對的（優化器的狀態裡存著當前的 lr），後面的學習率卻走偏了，這裡甚至"
                     "超過了峰值：調度器沒有加載，它又從 0 開始數步數，把預熱的因子乘到了一個已經預熱過的學習率上。"
                     "要保存 scheduler.state_dict()，並用 scheduler.load_state_dict 加載"),
    "model_only": ("after resuming, the rates restart the warm-up from start_factor·peak: neither the scheduler nor "
                   "the optimizer was loaded, so the new ones start as at step 0, and the momentum buffers are lost. "
                   "Load optimizer.state_dict() and scheduler.state_dict() too",
                   "恢復之後，學習率又從 start_factor·peak 重新預熱：調度器和優化器都沒有加載，新建的對象就像在第 0 步"
                   "一樣從頭開始，動量緩衝也丟了。還要加載 optimizer.state_dict() 和 scheduler.state_dict()"),
    "no_optimizer": ("the first step after resuming used start_factor·peak, the rate a freshly built optimizer and "
                     "scheduler start with, and the momentum buffers are lost: scheduler.load_state_dict restores the "
                     "scheduler's count, but the current lr and the momentum live in the optimizer. Load "
                     "optimizer.state_dict() too",
                     "恢復後的第一步用的是 start_factor·peak，也就是新建的優化器和調度器的初始學習率，動量緩衝也丟了："
                     "scheduler.load_state_dict 恢復的是調度器的計數，而當前的 lr 和動量存在優化器裡。"
                     "還要加載 optimizer.state_dict()"),
    "no_model": ("the rates are right, but the parameters after resuming are those of the freshly built model: "
                 "load model.state_dict() too",
                 "學習率是對的，但恢復後的參數是新建模型的參數：還要加載 model.state_dict()"),
    "extra_step": ("after resuming, the rates are one step ahead: the saved scheduler state is already the state for "
                   "the next step, since scheduler.step() ran after the last optimizer.step(). Do not call "
                   "scheduler.step() when you load",
                   "恢復之後，學習率提前了一步：保存下來的調度器狀態已經是下一步的狀態，因為最後一次 "
                   "optimizer.step() 之後已經調用過 scheduler.step()。加載時不要再調用 scheduler.step()"),
}


def resumed_run(save_checkpoint, load_checkpoint, at: int, exercise: str = "Exercise 4"):
    """Train ``at`` steps, save with the student's ``save_checkpoint``, resume in fresh objects with
    ``load_checkpoint`` and train to the end: (the rates of steps ``at`` … total − 1, the final parameters)."""
    import torch

    ex = exercise
    loss_fn, batches = torch.nn.MSELoss(), _batches(42, [6] * RUN["total"], 3, 1)
    model, opt, sched = _training()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(at):
            _train_step(model, opt, sched, batches[k], loss_fn)
        ckpt = call(save_checkpoint, model, opt, sched, exercise=ex)
        if ckpt is None:
            fail("save_checkpoint returned None: return a dict of the state dicts, e.g. "
                 "{'model': model.state_dict(), 'optimizer': …, 'scheduler': …}",
                 "save_checkpoint 返回了 None：請返回一個由各個 state_dict 組成的字典，例如 "
                 "{'model': model.state_dict(), 'optimizer': …, 'scheduler': …}")
        try:
            ckpt = _roundtrip(ckpt)
        except Exception:
            fail("your checkpoint cannot be read back with torch.load(..., weights_only=True), the default since "
                 "PyTorch 2.6: it holds Python objects (a model, an optimizer, a scheduler) rather than their "
                 "state dicts. Save model.state_dict(), optimizer.state_dict() and scheduler.state_dict()",
                 "你的檢查點無法用 torch.load(..., weights_only=True)（PyTorch 2.6 起的默認設置）讀回來："
                 "裡面存的是 Python 對象（模型、優化器、調度器），而不是它們的 state_dict。要保存 "
                 "model.state_dict()、optimizer.state_dict() 和 scheduler.state_dict()")
        model, opt, sched = _training(seed=43)
        call(load_checkpoint, ckpt, model, opt, sched, exercise=ex)
        lrs = np.array([_train_step(model, opt, sched, batches[k], loss_fn) for k in range(at, RUN["total"])])
    return lrs, _param_vector(model)


def check_resume(save_checkpoint, load_checkpoint) -> None:
    """Exercise 4: a run saved with ``save_checkpoint(model, optimizer, scheduler)`` → a dict and resumed with
    ``load_checkpoint(checkpoint, model, optimizer, scheduler)`` in fresh objects continues as if never stopped."""
    ex = "Exercise 4"
    for at, (en_case, zh_case) in RESUME_AT:
        lrs, params = resumed_run(save_checkpoint, load_checkpoint, at, ex)
        exp_lrs, exp_params = resume_variant(at)
        if agree(lrs, exp_lrs) and agree(params, exp_params):
            continue
        for key, (en, zh) in RESUME_MISTAKES.items():
            m_lrs, m_params = resume_variant(at, key)
            if agree(lrs, m_lrs) and agree(params, m_params):
                fail(f"{en_case}: {en}", f"{zh_case}：{zh}")
        if not agree(lrs, exp_lrs):
            k = int(np.argmax(~np.isclose(lrs, exp_lrs, rtol=1e-9, atol=1e-15)))
            a, e = distinct(lrs[k], exp_lrs[k])
            fail(f"{en_case}: at step {at + k}, step {k + 1} after resuming, the rate is {a}, expected {e}: load "
                 "the optimizer's and the scheduler's state dicts, and step neither when you load",
                 f"{zh_case}：第 {at + k} 步（恢復後的第 {k + 1} 步）的學習率是 {a}，應為 {e}。要加載優化器和調度器"
                 "的 state_dict，加載時兩者都不要調用 step()")
        fail(f"{en_case}: the rates are right, but the parameters at the end differ from a run never interrupted: "
             "load the model's and the optimizer's state dicts (the optimizer's holds the momentum buffers)",
             f"{zh_case}：學習率是對的，但最後的參數與不中斷的訓練不同：要加載模型和優化器的 state_dict"
             "（優化器的 state_dict 裡存著動量緩衝）")
    passed(ex, "runs saved in the warm-up and in the cosine phase and resumed in new objects continue with the same "
               "rates and end with the same parameters as a run never interrupted",
           "在預熱階段和餘弦階段保存、再在新建的對象裡恢復的訓練，學習率和最後的參數都與不中斷的訓練一致")


# ---------------------------------------------------------------- Exercise 5: the training loop
LOOP = {"epochs": 3, "batches": 4}


def _loop_data():
    import torch

    return _batches(51, [5] * LOOP["batches"], 3, 1), torch.nn.MSELoss()


def _fresh_loop():
    return _training(seed=52, total=LOOP["epochs"] * LOOP["batches"], warmup=3)


def loop_variant(mistake: str | None = None):
    """The intended loop (or one with a ``mistake``) run on the check's data: (rates used, final parameters)."""
    batches, loss_fn = _loop_data()
    model, opt, sched = _fresh_loop()
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mistake == "step_before_loop":
            sched.step()
        for _ in range(LOOP["epochs"]):
            if mistake == "per_epoch_first":
                sched.step()
            for X, y in batches:
                if mistake != "no_zero_grad":
                    opt.zero_grad()
                loss_fn(model(X), y).backward()
                if mistake == "zero_after_backward":
                    opt.zero_grad()
                if mistake == "scheduler_first":
                    sched.step()
                rates.append(opt.param_groups[0]["lr"])
                opt.step()
                if mistake in (None, "step_before_loop", "both", "twice", "no_zero_grad", "zero_after_backward"):
                    sched.step()
                if mistake == "twice":
                    sched.step()
            if mistake in ("per_epoch", "both"):
                sched.step()
    return np.array(rates), _param_vector(model)


LOOP_MISTAKES = {
    "one_early": ("your loop uses each rate one step early: the first step already has the rate of step 1, so the "
                  "schedule's first value, the warm-up's start, is skipped. scheduler.step() runs before "
                  "optimizer.step() (or once before the loop); call it after optimizer.step(), at the end of each "
                  "batch",
                  "你的循環把每個學習率都提前了一步使用：第一步用的已經是第 1 步的學習率，調度的第一個值，"
                  "即預熱的起點，被跳過了。scheduler.step() 在 optimizer.step() 之前調用了（或在循環之前多調了一次）；"
                  "應該在 optimizer.step() 之後、每個批量的最後調用它"),
    "per_epoch": ("your loop steps the scheduler once per epoch: each rate is used for a whole epoch, and the "
                  "schedule, built for epochs × batches steps, is far from its end when training stops. Call "
                  "scheduler.step() after every optimizer.step(), inside the batch loop",
                  "你的循環每個輪次才調用一次 scheduler.step()：每個學習率用了整整一個輪次，而按「輪次數 × 批量數」"
                  "步設計的調度，到訓練結束時還遠沒有走完。應該在每次 optimizer.step() 之後、在批量循環裡調用 "
                  "scheduler.step()"),
    "per_epoch_first": ("your loop steps the scheduler once per epoch, at the start of the epoch: each rate is used "
                        "for a whole epoch, and one epoch early, since the first epoch already has the rate of step 1 "
                        "({first}, where the schedule starts at {intended})."
                        " Call scheduler.step() after every optimizer.step(), inside the batch loop",
                        "你的循環在每個輪次開始時調用一次 scheduler.step()：每個學習率用了整整一個輪次，而且提前了"
                        "一個輪次，第一個輪次用的已經是第 1 步的學習率（{first}，而調度的起點是 {intended}）。"
                        "應該在每次 optimizer.step() 之後、在批量循環裡調用 scheduler.step()"),
    "both": ("your loop steps the scheduler after every batch and once more at the end of each epoch: it skips a rate "
             "at every epoch boundary. Call scheduler.step() once per optimizer.step(), in the batch loop only",
             "你的循環在每個批量之後調用 scheduler.step()，每個輪次結束時又多調用一次：每到輪次交界就跳過一個學習率。"
             "每次 optimizer.step() 只配一次 scheduler.step()，只放在批量循環裡"),
    "twice": ("your loop steps the scheduler twice per batch: the schedule runs twice as fast. Call "
              "scheduler.step() once per optimizer.step()",
              "你的循環每個批量調用了兩次 scheduler.step()：調度的速度是預定的兩倍。"
              "每次 optimizer.step() 只配一次 scheduler.step()"),
    "never": ("the rate never changes: scheduler.step() is never called. Call it after every optimizer.step()",
              "學習率從來沒有變過：scheduler.step() 一次也沒有調用。應該在每次 optimizer.step() 之後調用它"),
    "no_zero_grad": ("the rates are right, but the parameters are not: the gradients of all the steps pile up in "
                     "p.grad, since backward() adds to it. Call optimizer.zero_grad() before backward() at every step",
                     "學習率是對的，參數卻不對：backward() 是往 p.grad 上累加的，各步的梯度都堆在了一起。"
                     "每一步都要在 backward() 之前調用 optimizer.zero_grad()"),
    "zero_after_backward": ("the rates are right, but the parameters never move: zero_grad() comes between "
                            "backward() and optimizer.step(), so every step sees a zero gradient. Call it before "
                            "backward()",
                            "學習率是對的，但參數一動不動：zero_grad() 放在了 backward() 和 optimizer.step() 之間，"
                            "每一步看到的梯度都是零。應該在 backward() 之前調用它"),
}
_LOOP_VARIANTS = {"one_early": ("scheduler_first", "step_before_loop")}


def rates_used(train, **kwargs):
    """Run ``train(model, optimizer, scheduler, batches, epochs, loss_fn)`` on the check's setting.

    Returns (the rates used at each optimizer.step(), the intended rates, the warnings it raised).
    """
    batches, loss_fn = _loop_data()
    model, opt, sched = _fresh_loop()
    rates = []
    opt.register_step_pre_hook(lambda o, args, kw: rates.append(o.param_groups[0]["lr"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(model, opt, sched, batches, LOOP["epochs"], loss_fn, **kwargs)
    return np.array(rates), loop_variant()[0], [str(w.message) for w in caught]


def check_training_loop(train) -> None:
    """Exercise 5: the fixed ``train(model, optimizer, scheduler, batches, epochs, loss_fn)`` uses the intended
    rates."""
    ex = "Exercise 5"
    batches, loss_fn = _loop_data()
    model, opt, sched = _fresh_loop()
    rates = []
    opt.register_step_pre_hook(lambda o, args, kw: rates.append(o.param_groups[0]["lr"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call(train, model, opt, sched, batches, LOOP["epochs"], loss_fn, exercise=ex)
    n = LOOP["epochs"] * LOOP["batches"]
    got, params = np.array(rates), _param_vector(model)
    expected, exp_params = loop_variant()
    if len(got) != n:
        fail(f"your loop called optimizer.step() {len(got)} times, expected {n}: one step per batch, "
             f"{LOOP['batches']} batches, {LOOP['epochs']} epochs",
             f"你的循環調用了 {len(got)} 次 optimizer.step()，應為 {n} 次：每個批量一步，共 "
             f"{LOOP['batches']} 個批量、{LOOP['epochs']} 個輪次")
    if agree(got, expected) and agree(params, exp_params):
        passed(ex, f"the {n} steps use the intended rates lr(0), lr(1), …, lr({n - 1}), from the warm-up's first "
                   "value, and the parameters match the intended loop's",
               f"{n} 步用的正是預定的學習率 lr(0)、lr(1)、…、lr({n - 1})，從預熱的第一個值開始；"
               "參數也與預定的循環一致")
        return
    for key, (en, zh) in LOOP_MISTAKES.items():
        for m in _LOOP_VARIANTS.get(key, (key,)):
            m_rates, m_params = loop_variant(m)
            if agree(got, m_rates) and agree(params, m_params):
                values = {"first": f"{got[0]:.4g}", "intended": f"{expected[0]:.4g}"}
                fail(en.format(**values), zh.format(**values))
    if not agree(got, expected):
        k = int(np.argmax(~np.isclose(got, expected, rtol=1e-9, atol=1e-15)))
        a, e = distinct(got[k], expected[k])
        fail(f"at step {k} your loop used the rate {a}, the schedule intended {e}: at every batch, zero_grad(), "
             "backward(), optimizer.step(), then scheduler.step()",
             f"第 {k} 步你的循環用的學習率是 {a}，調度預定的是 {e}。每個批量的順序是：zero_grad()、backward()、"
             "optimizer.step()，然後 scheduler.step()")
    fail("the rates are right, but the parameters differ from the intended loop's: at every batch, zero_grad(), "
         "the loss of that batch, backward(), optimizer.step(), then scheduler.step()",
         "學習率是對的，但參數與預定的循環不同。每個批量的順序是：zero_grad()、算這個批量的損失、backward()、"
         "optimizer.step()，然後 scheduler.step()")
